"""Imagery tiles (``img``): the city's COG warped into one tile's grid and encoded as JPEG.

Each tile reads only the blocks under it, from the overview whose resolution is just finer
than the tile's (as :func:`gis.io.warp_window` does), so a level-10 tile over the whole city
reads a few overview blocks, not the full image. The COG is opened lazily, once per thread
and overview level, and kept open: starlette's thread pool and a process pool's workers each
reuse their handles; a GDAL dataset is never shared between threads.

JPEG has no alpha: where the raster has no data (outside it, or its nodata/mask) the tile is
filled with a neutral background. A tile that does not meet the raster at all is ``None``
(the routes answer a blank tile).
"""

from __future__ import annotations

import math
import os
import threading
import warnings
from pathlib import Path
from typing import Any, Final

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile
from rasterio.transform import from_bounds
from rasterio.vrt import WarpedVRT

from gis.crs import transform_box
from gis.errors import RasterError
from gis.io import open_raster
from gis.tms import BoundingBox
from services.basemaps.encode import NO_IMAGERY
from services.basemaps.jobs import TileJob

DEFAULT_BACKGROUND: Final = NO_IMAGERY
"""A light neutral grey, the colour of blank ``img`` tiles too (no seam at the imagery's edge)."""
_GEOGRAPHIC: Final = "EPSG:4490"
_SET_CRS: Final = {"c": "EPSG:4490", "w": "EPSG:3857"}


class ImageryRenderer:
    """Renders ``img`` tiles of either set from one imagery COG (RGB, or grey, ``uint8``).

    Parameters
    ----------
    path
        The COG (any CRS GDAL knows; the city's are CGCS2000 Gauss-Krüger).
    quality
        JPEG quality, 1-100.
    resampling
        ``bilinear`` (the default), ``cubic``, ``lanczos`` or ``nearest``.
    background
        The RGB colour of tile pixels the imagery does not cover.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        quality: int = 85,
        resampling: str = "bilinear",
        background: tuple[int, int, int] = DEFAULT_BACKGROUND,
    ) -> None:
        if not 1 <= quality <= 100:
            raise RasterError(f"JPEG quality must be 1-100, not {quality}")
        try:
            self._resampling = Resampling[resampling]
        except KeyError:
            raise RasterError(f"unknown resampling {resampling!r}") from None
        self.path = Path(path)
        self.quality = quality
        self.background = np.array(background, dtype=np.float32).reshape(3, 1, 1)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[Any] = []
        self._pid = os.getpid()
        self._footprint: _Footprint | None = None

    # -- the Renderer protocol ------------------------------------------------------------

    def render(self, job: TileJob) -> bytes | None:
        """The tile as JPEG bytes, or None when it does not meet the imagery."""
        footprint = self._describe()
        clipped = _intersection(job.geographic_bounds, footprint.lonlat)
        if clipped is None:
            return None
        dst_crs = _SET_CRS[job.tileset]
        level = self._overview_level(footprint, job, dst_crs, clipped)
        src = self._dataset(level)
        transform = from_bounds(*job.bounds, width=job.size, height=job.size)
        with (
            rasterio.Env(GDAL_PAM_ENABLED="NO"),
            WarpedVRT(
                src,
                crs=dst_crs,
                transform=transform,
                width=job.size,
                height=job.size,
                resampling=self._resampling,
                add_alpha=True,
            ) as vrt,
        ):
            try:
                bands = vrt.read([*footprint.bands, vrt.count])
            except Exception as exc:
                raise RasterError(f"{self.path}: cannot be warped to {dst_crs} ({exc})") from None
        alpha = bands[-1]
        if not alpha.any():
            return None
        colour = bands[:-1] if len(footprint.bands) == 3 else np.repeat(bands[:1], 3, axis=0)
        return self._encode(self._over_background(colour, alpha))

    # -- helpers ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close every dataset this renderer opened, in any thread (call when no render runs)."""
        with self._lock:
            for dataset in self._opened:
                dataset.close()
            self._opened.clear()
            self._local = threading.local()

    def _describe(self) -> _Footprint:
        footprint = self._footprint
        if footprint is None:
            with self._lock:
                if self._footprint is None:
                    self._footprint = _Footprint.of(self.path)
                footprint = self._footprint
        return footprint

    def _dataset(self, level: int | None) -> Any:
        """This thread's handle on the COG at an overview level (None: full resolution)."""
        if os.getpid() != self._pid:  # forked: the parent's GDAL handles are not ours to use
            self._pid, self._local, self._opened = os.getpid(), threading.local(), []
        handles: dict[int | None, Any] | None = getattr(self._local, "handles", None)
        if handles is None:
            handles = self._local.handles = {}
        dataset = handles.get(level)
        if dataset is None:
            options = {} if level is None else {"overview_level": level}
            try:
                with rasterio.Env(GDAL_PAM_ENABLED="NO"):
                    dataset = rasterio.open(self.path, **options)
            except Exception as exc:
                raise RasterError(f"{self.path}: cannot be read as a raster ({exc})") from None
            handles[level] = dataset
            with self._lock:
                self._opened.append(dataset)
        return dataset

    def _overview_level(
        self, footprint: _Footprint, job: TileJob, dst_crs: str, clipped: BoundingBox
    ) -> int | None:
        """The coarsest overview still at least as fine as the tile, over the part of the
        tile the imagery covers (a level-1 tile is a hemisphere: only its overlap counts)."""
        if not footprint.overviews:
            return None
        try:
            src_box = transform_box(_GEOGRAPHIC, footprint.crs, clipped)
            dst_box = (
                clipped if dst_crs == _GEOGRAPHIC else transform_box(_GEOGRAPHIC, dst_crs, clipped)
            )
        except Exception:
            return None
        tile = job.bounds
        dst_px = (
            job.size * (dst_box[2] - dst_box[0]) / (tile.right - tile.left),
            job.size * (dst_box[3] - dst_box[1]) / (tile.top - tile.bottom),
        )
        src_px = (
            (src_box[2] - src_box[0]) / footprint.resolution[0],
            (src_box[3] - src_box[1]) / footprint.resolution[1],
        )
        ratio = min(s / d for s, d in zip(src_px, dst_px, strict=True) if d > 0)
        level = None
        for index, factor in enumerate(footprint.overviews):
            if factor <= ratio:
                level = index
        return level

    def _over_background(
        self, colour: np.ndarray[Any, Any], alpha: np.ndarray[Any, Any]
    ) -> np.ndarray[Any, Any]:
        if alpha.min() == 255:
            return colour
        weight = alpha.astype(np.float32) / 255.0
        mixed = colour * weight + self.background * (1.0 - weight)
        blended: np.ndarray[Any, Any] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
        return blended

    def _encode(self, rgb: np.ndarray[Any, Any]) -> bytes:
        _, height, width = rgb.shape
        with (
            warnings.catch_warnings(),
            rasterio.Env(GDAL_PAM_ENABLED="NO"),
            MemoryFile() as memory,
        ):
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with memory.open(
                driver="JPEG",
                width=width,
                height=height,
                count=3,
                dtype="uint8",
                QUALITY=self.quality,
            ) as dst:
                dst.write(rgb)
            return bytes(memory.read())


class _Footprint:
    """What the renderer needs of the COG, read once: its lon/lat box, CRS, pixel size,
    overview factors and colour bands."""

    def __init__(
        self,
        lonlat: BoundingBox,
        crs: str,
        resolution: tuple[float, float],
        overviews: tuple[int, ...],
        bands: list[int],
    ) -> None:
        self.lonlat, self.crs, self.resolution = lonlat, crs, resolution
        self.overviews, self.bands = overviews, bands

    @classmethod
    def of(cls, path: Path) -> _Footprint:
        info = open_raster(path)
        if info.crs_wkt is None:
            raise RasterError(f"{path}: imagery has no CRS")
        if info.dtype != "uint8" or info.bands < 1:
            raise RasterError(f"{path}: imagery must be uint8 grey or RGB, not {info.dtype}")
        left, bottom, right, top = info.bounds
        lonlat = transform_box(info.crs_wkt, _GEOGRAPHIC, (left, bottom, right, top))
        if not all(math.isfinite(v) for v in lonlat):
            raise RasterError(f"{path}: its bounds cannot be placed on CGCS2000")
        bands = [1, 2, 3] if info.bands >= 3 else [1]
        return cls(BoundingBox(*lonlat), info.crs_wkt, info.resolution, info.overviews, bands)


def _intersection(a: BoundingBox, b: BoundingBox) -> BoundingBox | None:
    left, bottom = max(a.left, b.left), max(a.bottom, b.bottom)
    right, top = min(a.right, b.right), min(a.top, b.top)
    if left >= right or bottom >= top:
        return None
    return BoundingBox(left, bottom, right, top)
