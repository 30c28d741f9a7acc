"""Rendered tiles kept in MBTiles files, one per layer and set, shared by worker processes;
expired when the data they draw change."""

from services.basemaps.cache.changes import (
    LAYERS_BY_SOURCE,
    ChangedBox,
    ExpiryWatcher,
    expire_changes,
)
from services.basemaps.cache.mbtiles import BLANK, LevelStatus, TileCache, mbtiles_row

__all__ = [
    "BLANK",
    "LAYERS_BY_SOURCE",
    "ChangedBox",
    "ExpiryWatcher",
    "LevelStatus",
    "TileCache",
    "expire_changes",
    "mbtiles_row",
]
