"""File I/O at the edge: the only code in the platform that opens vector and raster files.

Vector files (Shapefile, GeoPackage, GeoJSON, CSV/XLSX points) are read as streams of
:class:`Record` with a :class:`VectorSource` description and written from any iterable of
records; rasters are described, read by window, warped onto a target grid, or written as
Cloud-Optimized GeoTIFFs. Errors are :class:`gis.errors.GisError` subclasses naming the
file, the record and the problem.
"""

from gis.io.attribute_tables import read_table, read_table_data
from gis.io.cog import write_cog
from gis.io.encoding import codec_for
from gis.io.raster import RasterInfo, RasterWindow, open_raster, read_window, warp_window
from gis.io.schema import infer_schema, shapefile_field_names
from gis.io.shapefile import EncodingMismatchWarning
from gis.io.values import Bounds, Record, RecordStream, VectorSchema, VectorSource
from gis.io.vector import list_layers, open_vector, read_vector
from gis.io.write import WriteReport, write_vector

__all__ = [
    "Bounds",
    "EncodingMismatchWarning",
    "RasterInfo",
    "RasterWindow",
    "Record",
    "RecordStream",
    "VectorSchema",
    "VectorSource",
    "WriteReport",
    "codec_for",
    "infer_schema",
    "list_layers",
    "open_raster",
    "open_vector",
    "read_table",
    "read_table_data",
    "read_vector",
    "read_window",
    "shapefile_field_names",
    "warp_window",
    "write_cog",
    "write_vector",
]
