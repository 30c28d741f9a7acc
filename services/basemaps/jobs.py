"""One tile to render: the contract between the WMTS routes, the cache and the renderers.

A renderer is an object with ``render(job) -> bytes | None``: the encoded tile (PNG, or JPEG
for ``img``), or None when nothing of the city's data falls in it (the routes then answer a
blank tile: transparent for overlays, never an error). Renderers never see HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, Protocol

from gis.tms import BoundingBox, Tile, tile_bounds

LAYERS: Final = ("vec", "cva", "img", "cia", "ter")
"""Tianditu's layer names: vector base, its labels, imagery, its labels, terrain."""
SETS: Final = ("c", "w")
"""Tianditu's tile matrix sets: CGCS2000 lon/lat (levels 1-18) and Web Mercator."""
TILE_SIZE: Final = 256

TileSet = Literal["c", "w"]


@dataclass(frozen=True)
class TileJob:
    """A tile of ``layer`` in set ``tileset`` at ``level``, ``row``, ``col`` (Tianditu's
    indices, which are the tile matrix set's)."""

    layer: str
    tileset: TileSet
    level: int
    row: int
    col: int
    size: int = TILE_SIZE

    @property
    def tile(self) -> Tile:
        return Tile(self.col, self.row, self.level)

    @property
    def bounds(self) -> BoundingBox:
        """(left, bottom, right, top) in the set's CRS, x first: lon/lat degrees on
        CGCS2000 (EPSG:4490) for ``c``, Web Mercator metres (EPSG:3857) for ``w``."""
        return tile_bounds(self.tileset, self.tile)

    @property
    def geographic_bounds(self) -> BoundingBox:
        """The same tile as (lon, lat) on CGCS2000, whatever the set."""
        return tile_bounds(self.tileset, self.tile, geographic=True)

    @property
    def srid(self) -> int:
        """The EPSG code of the set's CRS (4490 for ``c``, 3857 for ``w``)."""
        return 4490 if self.tileset == "c" else 3857

    @property
    def media_type(self) -> str:
        return "image/jpeg" if self.layer == "img" else "image/png"


class Renderer(Protocol):
    """What the routes and the seeder call; one per layer."""

    def render(self, job: TileJob) -> bytes | None: ...
