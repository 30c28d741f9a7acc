"""Small values shared by the readers and writers: records, source descriptions, bounds."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple, Self

from shapely.geometry.base import BaseGeometry


class Bounds(NamedTuple):
    """An axis-aligned box in the coordinates of its CRS (x = easting or longitude)."""

    minx: float
    miny: float
    maxx: float
    maxy: float


class Record(NamedTuple):
    """One feature: its id in the source, its attributes and its geometry (None if absent)."""

    fid: str
    properties: dict[str, Any]
    geometry: BaseGeometry | None


class VectorSource(NamedTuple):
    """What is known about an opened file before its records are read.

    ``crs`` is the caller's CRS string when one was given (it overrides the file's), else the
    file's authority code (``"EPSG:4528"``) when it can be identified; ``crs_wkt`` is the
    file's own CRS when that is the one in use. ``encoding`` is the Python codec the text is
    read with (GBK is read as its superset ``gb18030``) and ``encoding_source`` says why:
    ``"cpg"``, ``"detected"``, ``"caller"`` or ``"format"`` (UTF-8 by specification).
    ``feature_count`` and ``bounds`` are None where knowing them would mean reading the
    whole file first (CSV, XLSX).
    """

    path: Path
    layer: str | None
    crs_wkt: str | None
    encoding: str | None
    feature_count: int | None
    crs: str | None = None
    bounds: Bounds | None = None
    geometry_type: str | None = None
    driver: str = ""
    fields: Mapping[str, str] | None = None
    encoding_source: str | None = None
    coordinate_fields: tuple[str, str] | None = None


class VectorSchema(NamedTuple):
    """A layer's geometry type and fields, in fiona notation (``"str:80"``, ``"int"``...)."""

    geometry: str | None
    fields: Mapping[str, str]


class RecordStream(Iterator[Record]):
    """Records read lazily from an open file, which is closed when they run out.

    It also closes on ``close()`` or at the end of a ``with`` block, so a caller that stops
    early does not leave the file open until garbage collection.
    """

    def __init__(self, records: Iterator[Record], closer: Callable[[], None]) -> None:
        self._records = records
        self._closer: Callable[[], None] | None = closer

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> Record:
        try:
            return next(self._records)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Release the file; further iteration ends at once."""
        if self._closer is not None:
            closer, self._closer = self._closer, None
            records, self._records = self._records, iter(())
            close_records = getattr(records, "close", None)
            if close_records is not None:
                close_records()
            closer()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
