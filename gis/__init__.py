"""Spatial foundation: coordinate systems, geometry, file I/O, tile matrix sets, PostGIS access.

Knows no table and no web.
"""

from gis.engine import ServerInfo, create_engine, database_url, server_info
from gis.errors import DatabaseError, GisError
from gis.settings import DatabaseSettings

__all__ = [
    "DatabaseError",
    "DatabaseSettings",
    "GisError",
    "ServerInfo",
    "create_engine",
    "database_url",
    "server_info",
]
