"""Writing records to GeoPackage, GeoJSON and Shapefile, streamed in batches.

Values are checked before GDAL sees them, because GDAL forgives silently: characters GBK
cannot hold vanish, text longer than a Shapefile field is cut mid-character, a field name
over 10 bytes is cut inside a UTF-8 sequence. Here the first two raise or are cut at a
character boundary and counted, and field names are shortened predictably and reported.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from itertools import chain, islice
from pathlib import Path
from typing import Any, NamedTuple

import fiona
from fiona.crs import CRS
from shapely.geometry import MultiLineString, MultiPoint, MultiPolygon
from shapely.geometry.base import BaseGeometry

from gis.errors import GisError, VectorWriteError
from gis.io.encoding import WRITE_ENCODINGS, codec_for
from gis.io.schema import SHAPEFILE, clip, declared, infer_schema, shapefile_field_names
from gis.io.values import Record, VectorSchema

_DRIVERS = {".shp": SHAPEFILE, ".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON"}
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
_BATCH = 1000
_PROMOTE: dict[str, Any] = {
    "Point": MultiPoint,
    "LineString": MultiLineString,
    "Polygon": MultiPolygon,
}


class WriteReport(NamedTuple):
    """What was written: where, how many records, with which schema and encoding.

    ``features`` counts the records written. ``renamed`` maps original field names to the
    ones written where they differ (Shapefile names are at most 10 bytes); ``truncated``
    counts text values cut to a field's width.
    """

    path: Path
    layer: str | None
    driver: str
    features: int
    encoding: str
    schema: VectorSchema
    renamed: dict[str, str]
    truncated: dict[str, int]


def write_vector(
    path: Path | str,
    records: Iterable[Record],
    *,
    crs: str,
    layer: str | None = None,
    schema: VectorSchema | None = None,
    encoding: str | None = None,
    sample_size: int = 1000,
    strict_field_names: bool = False,
) -> WriteReport:
    """Write ``records`` to ``path``; the format follows the suffix (.gpkg, .geojson, .shp).

    Parameters
    ----------
    crs
        WKT or an authority string such as ``"EPSG:4528"``.
    layer
        GeoPackage layer name (default: the file name); other layers of the file are kept.
    schema
        Field types in fiona notation; by default inferred from the first ``sample_size``
        records, which are held in memory while the rest stream through.
    encoding
        Shapefile text encoding, ``"UTF-8"`` (default), ``"GBK"`` or ``"GB18030"``, written
        to the .cpg. GeoPackage and GeoJSON are always UTF-8.
    strict_field_names
        Refuse Shapefile field names over 10 bytes instead of shortening them.
    """
    path = Path(path)
    driver = _DRIVERS.get(path.suffix.lower())
    if driver is None:
        raise VectorWriteError(f"{path}: unknown format; use .gpkg, .geojson or .shp")
    codec, cpg = _encoding(path, driver, encoding)
    target_crs = _crs(path, crs)
    stream = iter(records)
    head = list(islice(stream, sample_size))
    try:
        if schema is None:
            schema = infer_schema(head, driver=driver, codec=codec)
        if driver == SHAPEFILE:
            names = shapefile_field_names(schema.fields, codec, strict=strict_field_names)
        else:
            names = {name: name for name in schema.fields}
    except VectorWriteError as exc:
        raise type(exc)(f"{path}: {exc}") from None
    plan = _Plan(path, driver, codec, schema, names, len(head))
    parts = [path.with_suffix(s) for s in _SHAPEFILE_PARTS] if driver == SHAPEFILE else [path]
    created = [p for p in parts if not p.exists()]
    options: dict[str, Any] = {"driver": driver, "crs": target_crs}
    options["schema"] = declared(schema, names)
    if driver == "GPKG":
        layer = layer or path.stem
        options["layer"] = layer
    else:
        layer = None
    if driver == SHAPEFILE:
        options["encoding"] = cpg
    try:
        count = _write(path, options, (plan.feature(r, n) for n, r in _numbered(head, stream)))
    except BaseException:
        for part in created:
            part.unlink(missing_ok=True)
        raise
    if driver == SHAPEFILE:
        path.with_suffix(".cpg").write_text(cpg, encoding="ascii")
    written = VectorSchema(schema.geometry, {names[n]: t for n, t in schema.fields.items()})
    renamed = {old: new for old, new in names.items() if old != new}
    return WriteReport(path, layer, driver, count, cpg, written, renamed, dict(plan.truncated))


def _numbered(head: list[Record], rest: Iterator[Record]) -> Iterator[tuple[int, Record]]:
    return enumerate(chain(head, rest), start=1)


def _encoding(path: Path, driver: str, encoding: str | None) -> tuple[str, str]:
    codec = codec_for(encoding) if encoding is not None else "utf-8"
    if driver != SHAPEFILE and codec != "utf-8":
        raise VectorWriteError(f"{path}: {driver} text is always UTF-8, not {encoding}")
    if codec not in WRITE_ENCODINGS:
        choices = ", ".join(WRITE_ENCODINGS.values())
        raise VectorWriteError(f"{path}: cannot write text as {encoding!r}; use one of {choices}")
    return codec, WRITE_ENCODINGS[codec]


def _crs(path: Path, crs: str) -> Any:
    try:
        return CRS.from_user_input(crs)
    except Exception as exc:
        raise VectorWriteError(f"{path}: CRS {crs[:80]!r} is not understood ({exc})") from None


def _write(path: Path, options: dict[str, Any], features: Iterator[Any]) -> int:
    try:
        sink = fiona.open(path, "w", **options)
    except Exception as exc:
        raise VectorWriteError(f"{path}: cannot be created ({exc})") from None
    count = 0
    with sink:
        while batch := list(islice(features, _BATCH)):
            try:
                sink.writerecords(batch)
            except GisError:
                raise
            except Exception as exc:
                first, last = count + 1, count + len(batch)
                raise VectorWriteError(f"{path}: records {first}-{last}: {exc}") from None
            count += len(batch)
    return count


class _Plan:
    """How each record becomes a fiona feature for one output; counts cut values."""

    def __init__(
        self,
        path: Path,
        driver: str,
        codec: str,
        schema: VectorSchema,
        names: Mapping[str, str],
        sampled: int,
    ) -> None:
        self.path, self.driver, self.codec, self.names = path, driver, codec, names
        self.fields = dict(schema.fields)
        self.geometry_type = schema.geometry
        self.sampled = sampled
        self.truncated: dict[str, int] = {}
        base = (schema.geometry or "").removeprefix("3D ")
        self.multi = base.startswith("Multi")
        self.allowed = _allowed_types(base, driver)

    def feature(self, record: Record, number: int) -> Any:
        extra = [name for name in record.properties if name not in self.fields]
        if extra:
            raise VectorWriteError(
                f"{self.path}: record {number}: fields {extra} are not in the schema "
                f"(inferred from the first {self.sampled} records unless given); pass schema="
            )
        properties = {
            self.names[name]: self._value(record.properties.get(name), name, kind, number)
            for name, kind in self.fields.items()
        }
        geometry = self._geometry(record.geometry, number)
        return fiona.Feature.from_dict({"geometry": geometry, "properties": properties})

    def _geometry(self, geometry: BaseGeometry | None, number: int) -> Any:
        if geometry is None or geometry.is_empty:
            return None
        kind = geometry.geom_type
        if self.allowed is not None and kind not in self.allowed:
            raise VectorWriteError(
                f"{self.path}: record {number}: a {kind} cannot go in a {self.geometry_type} "
                f"layer (inferred from the first {self.sampled} records unless given)"
            )
        if self.multi and kind in _PROMOTE:
            geometry = _PROMOTE[kind]([geometry])
        return geometry.__geo_interface__

    def _value(self, value: Any, name: str, kind: str, number: int) -> Any:
        if value is None:
            return None
        base, _, width = kind.partition(":")
        try:
            converted = _convert(value, base)
        except (TypeError, ValueError):
            raise VectorWriteError(
                f"{self.path}: record {number}: field {name!r}: {value!r} is not a {base}"
            ) from None
        if not isinstance(converted, str) or self.driver != SHAPEFILE:
            return converted
        try:
            size = len(converted.encode(self.codec))
        except UnicodeEncodeError as exc:
            raise VectorWriteError(
                f"{self.path}: record {number}: field {name!r}: {exc.object[exc.start]!r} "
                f"cannot be written in {self.codec}; write UTF-8 or GB18030"
            ) from None
        limit = int(width.split(".")[0]) if width else 80  # GDAL's default text width
        if size > limit:
            self.truncated[name] = self.truncated.get(name, 0) + 1
            return clip(converted, limit, self.codec)
        return converted


def _convert(value: Any, base: str) -> Any:
    """``value`` as fiona expects it for a field of type ``base``; ValueError if it can't be."""
    if base == "str":
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if base == "int":
        if isinstance(value, float | Decimal) and not float(value).is_integer():
            raise ValueError(value)
        return int(value.strip() if isinstance(value, str) else value)
    if base == "float":
        if isinstance(value, bool):
            raise ValueError(value)
        return float(value)
    if base == "bool":
        if isinstance(value, bool) or value in (0, 1):
            return bool(value)
        raise ValueError(value)
    if base == "date":
        if isinstance(value, dt.datetime):
            return value.date()
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
    if base == "datetime":
        if isinstance(value, dt.datetime):
            return value
        if isinstance(value, dt.date):
            return dt.datetime.combine(value, dt.time())
        return dt.datetime.fromisoformat(value)
    return value


def _allowed_types(base: str, driver: str) -> set[str] | None:
    """Geometry types a layer of declared type ``base`` accepts (None: any)."""
    if base in ("", "Unknown", "Geometry", "GeometryCollection"):
        return None
    single = base.removeprefix("Multi")
    if base.startswith("Multi") or (driver == SHAPEFILE and single != "Point"):
        return {single, f"Multi{single}"}
    return {base}
