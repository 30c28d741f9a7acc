"""The root of every error the ``gis`` package raises on purpose."""


class GisError(Exception):
    """A spatial-foundation error with a message meant for the person at the keyboard."""


class DatabaseError(GisError):
    """The database cannot be reached, started or used; the message says what to do."""


class UnknownTileMatrixSetError(GisError):
    """A tile matrix set name the platform does not serve; the message lists the known ones."""


class TileRangeError(GisError):
    """A level, tile, point or bounding box outside what a tile matrix set covers."""


class VectorReadError(GisError):
    """A vector or tabular file cannot be opened, or one of its records cannot be read.

    Messages name the file, the record (``record N`` counts from 1; ``line N`` for CSV,
    ``row N`` for XLSX) and the problem.
    """


class EncodingError(VectorReadError):
    """Attribute text does not decode in the encoding given, declared or detected."""


class MissingCrsError(VectorReadError):
    """A file carries no coordinate reference system and the caller named none."""


class LayerChoiceError(VectorReadError):
    """The layer (or sheet) asked for does not exist, or several exist and none was named."""


class CoordinateColumnsError(VectorReadError):
    """A table has no recognisable coordinate columns, or the named ones are missing."""


class CoordinateError(VectorReadError):
    """A coordinate is missing, not a number, NaN or infinite."""


class VectorWriteError(GisError):
    """A vector file cannot be written: bad schema, CRS, encoding or record."""


class FieldNameError(VectorWriteError):
    """A field name does not fit the format (Shapefile: 10 bytes in the target encoding)."""


class RasterError(GisError):
    """A raster cannot be opened, read, warped or written."""


class UnknownCrsError(GisError):
    """A CRS spelling that no resolver rule, EPSG code or configured local system matches."""


class NoTransformationError(GisError):
    """No real operation links two CRSs; a ballpark (tens of metres off) is refused on purpose."""


class InvalidCoordinateError(GisError):
    """A coordinate is NaN or infinite: transforming it would hide the fault."""


class OutOfAreaError(GisError):
    """A coordinate lies outside the area of use of a CRS (beyond the allowed margin)."""


class FitError(GisError):
    """Local parameters cannot be fitted: too few or degenerate points, or residuals too big."""


class BackupError(GisError):
    """A backup, restore or drill cannot be done; the message names the cause and the fix."""
