"""Layer schemas for writing: inferred from sample records, fitted to the target format.

Shapefile limits drive most of this: one shape type per file (but single and multi
polygons share one), field names of at most 10 *bytes* in the file's encoding (地类名称 is
8 bytes in GBK, 12 in UTF-8), text widths in bytes, no datetime type.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from gis.errors import FieldNameError, VectorWriteError
from gis.io.values import Record, VectorSchema

SHAPEFILE = "ESRI Shapefile"
SHAPEFILE_NAME_BYTES = 10
SHAPEFILE_TEXT_BYTES = 254

_FAMILY = {
    "Point": "Point",
    "MultiPoint": "Point",
    "LineString": "LineString",
    "MultiLineString": "LineString",
    "LinearRing": "LineString",
    "Polygon": "Polygon",
    "MultiPolygon": "Polygon",
}


def infer_schema(
    records: Sequence[Record], *, driver: str = "GPKG", codec: str = "utf-8"
) -> VectorSchema:
    """A schema that holds ``records`` (a sample of what will be written) in ``driver``.

    Text widths for a Shapefile are twice the longest sample value in ``codec`` bytes (at
    least 16, at most 254), leaving room for longer values later in the stream.

    >>> from shapely.geometry import Point, Polygon, MultiPolygon
    >>> square = Polygon([(0, 0), (1, 0), (1, 1)])
    >>> rows = [Record("1", {"n": 1, "名称": "海州"}, square),
    ...         Record("2", {"n": 2.5, "名称": None}, MultiPolygon([square]))]
    >>> infer_schema(rows)
    VectorSchema(geometry='MultiPolygon', fields={'n': 'float', '名称': 'str'})
    >>> infer_schema(rows, driver="ESRI Shapefile", codec="gbk")
    VectorSchema(geometry='Polygon', fields={'n': 'float', '名称': 'str:16'})
    """
    kinds: dict[str, set[str]] = {}
    widths: dict[str, int] = {}
    for record in records:
        for name, value in record.properties.items():
            seen = kinds.setdefault(name, set())
            if value is not None:
                seen.add(_kind(value))
                if isinstance(value, str):
                    size = len(value.encode(codec, errors="replace"))
                    widths[name] = max(widths.get(name, 0), size)
    fields = {name: _field_type(seen, driver) for name, seen in kinds.items()}
    if driver == SHAPEFILE:
        for name, kind in fields.items():
            if kind == "str":
                width = min(SHAPEFILE_TEXT_BYTES, max(2 * widths.get(name, 0), 16))
                fields[name] = f"str:{width}"
    geometries = [r.geometry for r in records if r.geometry is not None]
    geometry_type = _geometry_type([g.geom_type for g in geometries], driver)
    if geometry_type not in (None, "Unknown") and any(g.has_z for g in geometries):
        geometry_type = f"3D {geometry_type}"
    return VectorSchema(geometry_type, fields)


def shapefile_field_names(
    names: Iterable[str], codec: str, *, strict: bool = False
) -> dict[str, str]:
    """Map each field name to one a Shapefile can hold: at most 10 bytes in ``codec``.

    Long names are cut at a character boundary; a cut that collides with an earlier name
    (case-insensitively, as dBASE compares) gets ``_1``, ``_2``... With ``strict`` a long
    name is an error instead.

    >>> shapefile_field_names(["地类名称", "地类名称代码", "name"], "utf-8")
    {'地类名称': '地类名', '地类名称代码': '地类_1', 'name': 'name'}
    >>> shapefile_field_names(["地类名称", "地类名称代码"], "gbk")
    {'地类名称': '地类名称', '地类名称代码': '地类名称代'}
    """
    result: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        try:
            size = len(name.encode(codec))
        except UnicodeEncodeError:
            raise FieldNameError(f"field name {name!r} cannot be written in {codec}") from None
        if size > SHAPEFILE_NAME_BYTES and strict:
            raise FieldNameError(
                f"field name {name!r} is {size} bytes in {codec}; a Shapefile allows "
                f"{SHAPEFILE_NAME_BYTES}"
            )
        candidate, number = clip(name, SHAPEFILE_NAME_BYTES, codec), 0
        while candidate.casefold() in taken:
            number += 1
            suffix = f"_{number}"
            candidate = clip(name, SHAPEFILE_NAME_BYTES - len(suffix), codec) + suffix
        taken.add(candidate.casefold())
        result[name] = candidate
    return result


def clip(text: str, limit: int, codec: str) -> str:
    """``text`` cut to at most ``limit`` bytes in ``codec``, never inside a character.

    >>> clip("永久基本农田", 10, "utf-8"), clip("永久基本农田", 10, "gbk")
    ('永久基', '永久基本农')
    """
    if len(text.encode(codec, errors="replace")) <= limit:
        return text
    total, end = 0, 0
    for end, char in enumerate(text):  # noqa: B007 - end is used after the loop
        total += len(char.encode(codec, errors="replace"))
        if total > limit:
            break
    return text[:end]


def multi_of(geometry_type: str) -> str | None:
    """The multi type single geometries are promoted to for a schema, or None."""
    base = geometry_type.removeprefix("3D ")
    return base if base.startswith("Multi") else None


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float | Decimal):
        return "float"
    if isinstance(value, dt.datetime):
        return "datetime"
    if isinstance(value, dt.date):
        return "date"
    return "str"


def _field_type(kinds: set[str], driver: str) -> str:
    if kinds == {"datetime"} or kinds == {"date", "datetime"}:
        return "str" if driver == SHAPEFILE else "datetime"
    if kinds and kinds <= {"int", "bool"}:
        return "bool" if kinds == {"bool"} else "int"
    if kinds and kinds <= {"int", "float"}:
        return "float"
    if kinds == {"date"}:
        return "date"
    return "str"


def _geometry_type(types: Sequence[str], driver: str) -> str | None:
    """One declared type for the sample's geometry types (None for no geometry at all)."""
    if not types:
        return None
    distinct = set(types)
    families = {_FAMILY.get(t, t) for t in distinct}
    if len(families) > 1:
        if driver == SHAPEFILE:
            raise VectorWriteError(
                f"a Shapefile holds one kind of geometry; the records mix {sorted(distinct)}"
            )
        return "Unknown"
    family = families.pop()
    if driver == SHAPEFILE and family in ("Polygon", "LineString"):
        return family  # one shape type holds both the single and multi form
    if len(distinct) == 1:
        return distinct.pop()
    return f"Multi{family}" if family in _FAMILY else "Unknown"


def declared(schema: VectorSchema, names: Mapping[str, str]) -> dict[str, object]:
    """The fiona schema dict for ``schema`` with fields renamed by ``names``."""
    properties = {names.get(n, n): t for n, t in schema.fields.items()}
    return {"geometry": schema.geometry or "None", "properties": properties}
