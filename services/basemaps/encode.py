"""Tile bytes from pixel arrays (PNG with alpha, JPEG), and the blank tiles answered where a
layer has nothing to draw. GDAL's PNG and JPEG drivers do the encoding."""

from __future__ import annotations

import warnings
from functools import cache

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile

from services.basemaps.jobs import TILE_SIZE

NO_IMAGERY = (236, 236, 232)
"""The colour of ``img`` where there is no imagery: a light neutral grey, so the edge of the
imagery reads as 'no data', not as black or white land, in blank and partial tiles alike."""


def encode(pixels: np.ndarray, media_type: str) -> bytes:
    """``pixels`` (bands, rows, cols) of uint8 as PNG (1-4 bands: grey, grey+alpha, RGB,
    RGBA) or JPEG (1 or 3 bands)."""
    driver, options = ("JPEG", {"quality": 85}) if media_type == "image/jpeg" else ("PNG", {})
    bands, height, width = pixels.shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.Env(GDAL_PAM_ENABLED="NO"), MemoryFile() as memory:
            with memory.open(
                driver=driver,
                width=width,
                height=height,
                count=bands,
                dtype="uint8",
                **options,
            ) as dataset:
                dataset.write(pixels.astype(np.uint8, copy=False))
            return bytes(memory.read())


@cache
def blank_tile(media_type: str, size: int = TILE_SIZE) -> bytes:
    """A tile with nothing on it: fully transparent PNG, or a JPEG of :data:`NO_IMAGERY`
    (JPEG has no alpha)."""
    if media_type == "image/jpeg":
        colour = np.array(NO_IMAGERY, np.uint8).reshape(3, 1, 1)
        return encode(np.broadcast_to(colour, (3, size, size)).copy(), media_type)
    return encode(np.zeros((2, size, size), np.uint8), "image/png")
