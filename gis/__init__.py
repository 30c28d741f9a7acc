"""Spatial foundation: coordinate systems, geometry, file I/O, tile matrix sets, PostGIS access.

Knows no table and no web. File I/O is its own subpackage, ``gis.io``; tile matrix sets are
``gis.tms``.
"""

from gis.crs import STORAGE_SRID, CrsRef, resolve, transform_xy, transformer
from gis.engine import ServerInfo, create_engine, database_url, server_info
from gis.errors import (
    DatabaseError,
    GisError,
    InvalidCoordinateError,
    NoTransformationError,
    OutOfAreaError,
    UnknownCrsError,
)
from gis.geometry import (
    geodesic_area,
    geodesic_length,
    planar_area,
    point_on_surface,
    repair,
    transform_geometry,
)
from gis.settings import DatabaseSettings

__all__ = [
    "STORAGE_SRID",
    "CrsRef",
    "DatabaseError",
    "DatabaseSettings",
    "GisError",
    "InvalidCoordinateError",
    "NoTransformationError",
    "OutOfAreaError",
    "ServerInfo",
    "UnknownCrsError",
    "create_engine",
    "database_url",
    "geodesic_area",
    "geodesic_length",
    "planar_area",
    "point_on_surface",
    "repair",
    "resolve",
    "server_info",
    "transform_geometry",
    "transform_xy",
    "transformer",
]
