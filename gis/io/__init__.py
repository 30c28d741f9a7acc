"""File I/O at the edge: the only code in the platform that opens vector and raster files."""

from gis.io.tables import read_table
from gis.io.vector import Record, VectorSource, read_vector

__all__ = ["Record", "VectorSource", "read_table", "read_vector"]
