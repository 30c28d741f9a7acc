"""Reading vector files (GeoJSON, Shapefile, GeoPackage) as records with shapely geometry.

Streaming: records are yielded one at a time from fiona, never collected, so a file of any
size reads in constant memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import fiona
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from gis.errors import GisError


class VectorReadError(GisError):
    """A vector file cannot be opened or one of its records cannot be read."""


class Record(NamedTuple):
    """One feature: its id in the source, its attributes and its geometry (None if absent)."""

    fid: str
    properties: dict[str, Any]
    geometry: BaseGeometry | None


class VectorSource(NamedTuple):
    """What is known about an opened file before its records are read."""

    path: Path
    layer: str | None
    crs_wkt: str | None
    encoding: str | None
    feature_count: int


def read_vector(
    path: Path | str, layer: str | None = None
) -> tuple[VectorSource, Iterator[Record]]:
    """Open ``path`` (one ``layer`` of it) and return its description and a record iterator."""
    path = Path(path)
    try:
        collection = fiona.open(path, layer=layer)
    except Exception as exc:  # fiona raises several unrelated types for unreadable files
        raise VectorReadError(f"{path}: cannot be read as a vector file ({exc})") from None
    source = VectorSource(
        path=path,
        layer=layer,
        crs_wkt=collection.crs_wkt or None,
        encoding=getattr(collection, "encoding", None),
        feature_count=len(collection),
    )

    def records() -> Iterator[Record]:
        with collection:
            for index, feature in enumerate(collection):
                try:
                    geometry = shape(feature.geometry) if feature.geometry else None
                except Exception as exc:
                    raise VectorReadError(f"{path}: record {index}: bad geometry ({exc})") from None
                yield Record(str(feature.id), dict(feature.properties), geometry)

    return source, records()
