"""Rendered tiles kept in MBTiles files, one per layer and set, shared by worker processes."""

from services.basemaps.cache.mbtiles import BLANK, LevelStatus, TileCache, mbtiles_row

__all__ = ["BLANK", "LevelStatus", "TileCache", "mbtiles_row"]
