"""Reading vector files (Shapefile, GeoPackage, GeoJSON, CSV/XLSX points) as records.

Streaming: records are yielded one at a time from fiona (or the CSV/XLSX reader), never
collected, so a file of any size reads in constant memory. Every problem raises a
:class:`~gis.errors.VectorReadError` naming the file, the record and what is wrong.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import fiona
import numpy as np
import shapely
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from gis.errors import (
    CoordinateError,
    EncodingError,
    LayerChoiceError,
    MissingCrsError,
    VectorReadError,
)
from gis.io import point_tables, shapefile, spreadsheet_rows
from gis.io.values import Bounds, Record, RecordStream, VectorSource

__all__ = ["Record", "VectorSource", "list_layers", "open_vector", "read_vector"]

_TABULAR = {".csv", ".tsv", ".xlsx"}
_CHUNK = 1024


def list_layers(path: Path | str) -> list[str]:
    """The layers of a file (GeoPackage tables, XLSX sheets; one for other formats)."""
    path = Path(path)
    if path.suffix.lower() in _TABULAR:
        return spreadsheet_rows.list_sheets(path)
    _require_file(path)
    try:
        return list(fiona.listlayers(path))
    except Exception as exc:  # fiona raises several unrelated types for unreadable files
        raise VectorReadError(f"{path}: cannot be read as a vector file ({exc})") from None


def read_vector(
    path: Path | str,
    layer: str | None = None,
    *,
    crs: str | None = None,
    encoding: str | None = None,
    x_field: str | None = None,
    y_field: str | None = None,
) -> tuple[VectorSource, RecordStream]:
    """Open ``path`` (one ``layer`` of it) and return its description and a record stream.

    Parameters
    ----------
    layer
        GeoPackage layer or XLSX sheet; required when the file holds several.
    crs
        The CRS as a string (``"EPSG:4528"``), passed through, never resolved here. It
        overrides the file's and is required when the file has none (a Shapefile without
        .prj, any CSV or XLSX): guessing a CRS misplaces data by metres to hundreds of metres.
    encoding
        Text encoding of a Shapefile's .dbf or a CSV; by default the .cpg, else detected.
    x_field, y_field
        Coordinate columns of a CSV/XLSX; by default found by name (lon/lng/x/经度 ...).

    The stream closes the file when exhausted; use :func:`open_vector` to close it early.
    """
    path = Path(path)
    if path.suffix.lower() in _TABULAR:
        return point_tables.read_points(
            path, layer=layer, crs=crs, encoding=encoding, x_field=x_field, y_field=y_field
        )
    return _read_fiona(path, layer, crs, encoding)


@contextmanager
def open_vector(
    path: Path | str,
    layer: str | None = None,
    *,
    crs: str | None = None,
    encoding: str | None = None,
    x_field: str | None = None,
    y_field: str | None = None,
) -> Iterator[tuple[VectorSource, RecordStream]]:
    """:func:`read_vector` as a context manager: the file is closed on leaving the block."""
    source, records = read_vector(
        path, layer, crs=crs, encoding=encoding, x_field=x_field, y_field=y_field
    )
    with records:
        yield source, records


def _require_file(path: Path) -> None:
    if not path.exists():
        raise VectorReadError(f"{path}: no such file")


def _choose_layer(path: Path, layer: str | None) -> str | None:
    layers = list_layers(path)
    if layer is None:
        if len(layers) > 1:
            raise LayerChoiceError(
                f"{path}: holds {len(layers)} layers ({', '.join(layers)}); name one"
            )
        return layers[0] if layers else None
    if layer not in layers:
        raise LayerChoiceError(f"{path}: no layer {layer!r}; it has {', '.join(layers)}")
    return layer


def _read_fiona(
    path: Path, layer: str | None, crs: str | None, encoding: str | None
) -> tuple[VectorSource, RecordStream]:
    _require_file(path)
    options: dict[str, Any] = {}
    codec, codec_source = "utf-8", "format"  # GeoPackage and GeoJSON text is UTF-8 by spec
    if path.suffix.lower() == ".shp":
        shapefile.check_complete(path)
        codec, codec_source = shapefile.choose_encoding(path, encoding)
        options["encoding"] = codec
    layer = _choose_layer(path, layer)
    try:
        collection = fiona.open(path, layer=layer, **options)
    except UnicodeDecodeError as exc:
        raise EncodingError(f"{path}: field names are not {codec} text ({exc.reason})") from None
    except Exception as exc:
        raise VectorReadError(f"{path}: cannot be read as a vector file ({exc})") from None
    try:
        source = _describe(collection, path, layer, crs, codec, codec_source)
    except BaseException:
        collection.close()
        raise
    return source, RecordStream(_records(collection, path, codec), collection.close)


def _describe(
    collection: Any, path: Path, layer: str | None, crs: str | None, codec: str, origin: str
) -> VectorSource:
    schema = collection.schema or {}
    geometry_type = schema.get("geometry")
    geometry_type = None if geometry_type in (None, "None") else str(geometry_type)
    wkt = collection.crs_wkt or None
    if crs is None and wkt is None and geometry_type is not None:
        raise MissingCrsError(
            f"{path}: has no CRS (a Shapefile keeps it in a .prj file); "
            "name it, e.g. crs='EPSG:4528'"
        )
    try:
        count: int | None = len(collection)
    except Exception:
        count = None
    return VectorSource(
        path=path,
        layer=layer,
        crs_wkt=None if crs is not None else wkt,
        encoding=codec,
        feature_count=count,
        crs=crs if crs is not None else _authority(collection),
        bounds=_bounds(collection) if geometry_type is not None else None,
        geometry_type=geometry_type,
        driver=str(collection.driver),
        fields=dict(schema.get("properties", {})),
        encoding_source=origin,
    )


def _authority(collection: Any) -> str | None:
    try:
        found = collection.crs.to_authority()
    except Exception:
        return None
    return f"{found[0]}:{found[1]}" if found else None


def _bounds(collection: Any) -> Bounds | None:
    try:
        values = tuple(float(v) for v in collection.bounds)
    except Exception:
        return None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        return None
    return Bounds(*values)


def _records(collection: Any, path: Path, codec: str) -> Iterator[Record]:
    """Records in chunks of :data:`_CHUNK` features, so point geometries are built at once.

    Building points one by one costs more than reading them; a chunk keeps memory bounded.
    A failure is raised after the records before it, at its place in the stream.
    """
    features = iter(collection)
    number = 0  # records read before this chunk
    while True:
        chunk: list[Any] = []
        failure: VectorReadError | None = None
        while len(chunk) < _CHUNK:
            try:
                chunk.append(next(features))
            except StopIteration:
                break
            except UnicodeDecodeError as exc:
                failure = EncodingError(
                    f"{path}: record {number + len(chunk) + 1}: text is not {codec} "
                    f"({exc.reason}); name the right encoding"
                )
                break
            except Exception as exc:
                where = f"record {number + len(chunk) + 1}"
                failure = VectorReadError(f"{path}: {where}: cannot be read ({exc})")
                break
        geometries = _geometries([f.geometry for f in chunk], path, number)
        for feature, geometry in zip(chunk, geometries, strict=True):
            if isinstance(geometry, VectorReadError):
                raise geometry
            yield Record(str(feature.id), dict(feature.properties), geometry)
        number += len(chunk)
        if failure is not None:
            raise failure
        if len(chunk) < _CHUNK:
            return


def _geometries(
    values: list[Any], path: Path, before: int
) -> list[BaseGeometry | VectorReadError | None]:
    """Shapely geometries for fiona's, 2-D points vectorised; failures in place as errors."""
    result: list[BaseGeometry | VectorReadError | None] = [None] * len(values)
    flat = [
        i
        for i, v in enumerate(values)
        if v is not None and v.type == "Point" and len(v.coordinates) == 2
    ]
    if flat:
        coords = np.array([values[i].coordinates for i in flat], dtype=float)
        finite = np.isfinite(coords).all(axis=1)
        points = shapely.points(np.where(finite[:, np.newaxis], coords, 0.0))
        for i, point, ok in zip(flat, points, finite, strict=True):
            result[i] = point if ok else _point(values[i].coordinates, path, before + i + 1)
    done = set(flat)
    for i, value in enumerate(values):
        if i not in done and value is not None:
            try:
                result[i] = _geometry(value, path, before + i + 1)
            except VectorReadError as exc:
                result[i] = exc
    return result


def _point(coords: Any, path: Path, number: int) -> BaseGeometry:
    values = tuple(coords)
    if not values or all(math.isnan(c) for c in values):
        return Point()  # all-NaN is how GeoPackage and WKB encode POINT EMPTY
    raise CoordinateError(f"{path}: record {number}: coordinates {values} are not finite")


def _geometry(value: Any, path: Path, number: int) -> BaseGeometry | None:
    """A shapely geometry from fiona's, refusing NaN and infinite coordinates.

    Built from type and coordinates rather than ``shape(value)``: twice as fast on fiona's
    geometry objects. A point whose coordinates are all NaN reads as an empty point.
    """
    if value is None:
        return None
    kind = value.type
    try:
        if kind == "Point":
            coords = tuple(value.coordinates)
            if coords and all(math.isfinite(c) for c in coords):
                return Point(coords)
            return _point(coords, path, number)
        if kind == "GeometryCollection":
            geometry = shape(value)
        else:
            geometry = shape({"type": kind, "coordinates": value.coordinates})
    except CoordinateError:
        raise
    except Exception as exc:
        raise VectorReadError(f"{path}: record {number}: bad geometry ({exc})") from None
    coordinates = shapely.get_coordinates(geometry, include_z=geometry.has_z)
    if not np.isfinite(coordinates).all():
        raise CoordinateError(f"{path}: record {number}: NaN or infinite coordinates")
    return geometry
