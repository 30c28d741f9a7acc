"""Checking geometries that come in from people: type, emptiness, validity, whereabouts.

Everything the grid stores is lon/lat on CGCS2000 (EPSG:4490); a geometry that fails here
raises :class:`InvalidGeometryError` saying what is wrong, before anything is written.
"""

from __future__ import annotations

from typing import Any

import shapely
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from gis.crs import STORAGE_SRID
from grid.errors import InvalidGeometryError
from grid.settings import GridSettings


def checked(
    geom: object, kind: str, settings: GridSettings, what: str = "geometry"
) -> BaseGeometry:
    """``geom`` if it is a valid, non-empty ``kind`` inside the city; else a clear error.

    ``kind`` is a shapely geometry type name; a Polygon is accepted for ``MultiPolygon``.
    """
    if not isinstance(geom, BaseGeometry):
        raise InvalidGeometryError(f"{what} must be a geometry, got {type(geom).__name__}")
    if geom.is_empty:
        raise InvalidGeometryError(f"{what} is empty")
    accepted = {kind, "Polygon"} if kind == "MultiPolygon" else {kind}
    if geom.geom_type not in accepted:
        raise InvalidGeometryError(f"{what} must be a {kind}, got a {geom.geom_type}")
    if not shapely.is_valid(geom):
        raise InvalidGeometryError(f"{what} is invalid: {shapely.is_valid_reason(geom)}")
    west, south, east, north = settings.city_bbox
    minx, miny, maxx, maxy = geom.bounds
    if abs(minx) > 180 or abs(maxy) > 90:
        raise InvalidGeometryError(
            f"{what} has coordinates ({minx:.1f}, {miny:.1f}) that are not lon/lat: grid "
            "geometries are EPSG:4490 longitude/latitude (transform projected data first)"
        )
    if minx < west or maxx > east or miny < south or maxy > north:
        raise InvalidGeometryError(
            f"{what} lies outside Lianyungang (lon {west}–{east}, lat {south}–{north}): "
            f"its bounds are {minx:.5f}, {miny:.5f}, {maxx:.5f}, {maxy:.5f}"
        )
    if kind == "MultiPolygon" and isinstance(geom, Polygon):
        return MultiPolygon([geom])
    return geom


def to_database(geom: BaseGeometry) -> Any:
    """The value to bind for a geometry column (SRID 4490)."""
    return from_shape(geom, srid=STORAGE_SRID)
