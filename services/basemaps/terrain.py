"""The ``ter`` layer: a hill-shade of the city's DEM, computed per tile.

Each tile reads only the DEM window it covers, from the overview whose cell is the largest
not coarser than the tile's, warps it into the tile's grid (EPSG:4490 for ``c``, EPSG:3857
for ``w``) with one pixel of margin for the slopes, and shades it the usual way (Horn's
gradient; sun at azimuth 315°, altitude 45°). Cell sizes are in metres at each row's
latitude, so geographic and Mercator tiles shade alike. No DEM in the tile: None.
"""

from __future__ import annotations

import math
from functools import cached_property
from pathlib import Path
from typing import Final

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.transform import from_origin
from rasterio.warp import Resampling, reproject
from rasterio.windows import Window, from_bounds

from gis.crs import transform_box
from services.basemaps.encode import encode
from services.basemaps.jobs import TileJob
from services.settings import BasemapSettings

AZIMUTH: Final = 315.0
ALTITUDE: Final = 45.0
EARTH_RADIUS_M: Final = 6378137.0
_M_PER_DEGREE: Final = math.pi / 180 * EARTH_RADIUS_M


def hillshade(
    elevation: np.ndarray,
    dx_m: np.ndarray,
    dy_m: float | np.ndarray,
    *,
    exaggeration: float = 1.0,
    azimuth: float = AZIMUTH,
    altitude: float = ALTITUDE,
) -> np.ndarray:
    """Illumination 0-1 of the inner cells of ``elevation`` (rows north to south, NaN where
    unknown; the result is two rows and columns smaller). ``dx_m``/``dy_m``: cell width and
    height in metres, scalars or one value per row (shape (rows, 1))."""
    z = elevation.astype(np.float64) * exaggeration
    a, b, c = z[:-2, :-2], z[:-2, 1:-1], z[:-2, 2:]
    d, f = z[1:-1, :-2], z[1:-1, 2:]
    g, h, i = z[2:, :-2], z[2:, 1:-1], z[2:, 2:]
    dx = np.broadcast_to(dx_m, z.shape)[1:-1, 1:-1]
    dy = np.broadcast_to(dy_m, z.shape)[1:-1, 1:-1]
    east = ((c + 2 * f + i) - (a + 2 * d + g)) / (8 * dx)  # dz/dx towards east
    north = ((a + 2 * b + c) - (g + 2 * h + i)) / (8 * dy)  # dz/dy towards north
    az, alt = math.radians(azimuth), math.radians(altitude)
    light = (math.sin(az) * math.cos(alt), math.cos(az) * math.cos(alt), math.sin(alt))
    shade = (-east * light[0] - north * light[1] + light[2]) / np.sqrt(1 + east**2 + north**2)
    clipped: np.ndarray = np.clip(shade, 0.0, 1.0)
    return clipped


class TerrainRenderer:
    """Renderer of ``ter`` from ``settings.dem``, shaded with ``settings.exaggeration``."""

    def __init__(self, settings: BasemapSettings) -> None:
        self.path = Path(settings.dem)
        self.exaggeration = settings.exaggeration

    @cached_property
    def _extent(self) -> tuple[float, float, float, float] | None:
        """The DEM's (lon, lat) box on CGCS2000; None when there is no DEM file."""
        if not self.path.is_file():
            return None
        with rasterio.open(self.path) as src:
            return transform_box(src.crs.to_wkt(), "EPSG:4490", tuple(src.bounds))

    def render(self, job: TileJob) -> bytes | None:
        extent = self._extent
        west, south, east, north = job.geographic_bounds
        if extent is None or west >= extent[2] or east <= extent[0]:
            return None
        if south >= extent[3] or north <= extent[1]:
            return None
        size = job.size
        left, bottom, right, top = job.bounds
        res_x, res_y = (right - left) / size, (top - bottom) / size
        grid = from_origin(left - res_x, top + res_y, res_x, res_y)  # one cell of margin
        dst_crs = CRS.from_epsg(job.srid)
        elevation = self._warp(job, grid, dst_crs, size + 2)
        if not np.isfinite(elevation).any():
            return None
        dx_m, dy_m = self._cell_metres(job, top + res_y, res_x, res_y, size + 2)
        shade = hillshade(elevation, dx_m, dy_m, exaggeration=self.exaggeration)
        known = np.isfinite(elevation[1:-1, 1:-1]) & np.isfinite(shade)
        if not known.any():
            return None
        grey = np.where(known, np.round(shade * 255), 0).astype(np.uint8)
        alpha = np.where(known, 255, 0).astype(np.uint8)
        return encode(np.stack([grey, alpha]), job.media_type)

    def _warp(self, job: TileJob, grid: rasterio.Affine, dst_crs: CRS, cells: int) -> np.ndarray:
        out = np.full((cells, cells), np.nan, np.float32)
        margin_left = grid.c
        margin_top = grid.f
        margin_right = grid.c + grid.a * cells
        margin_bottom = grid.f + grid.e * cells
        with rasterio.open(self.path) as full:
            src_box = transform_box(
                f"EPSG:{job.srid}",
                full.crs.to_wkt(),
                (margin_left, margin_bottom, margin_right, margin_top),
            )
            level = _overview_level(full, (src_box[2] - src_box[0]) / cells)
        opened = {} if level is None else {"overview_level": level}
        with rasterio.open(self.path, **opened) as src:
            window = _window(src, src_box)
            if window is None:
                return out
            data = src.read(1, window=window, masked=True).astype(np.float32).filled(np.nan)
            reproject(
                source=data,
                destination=out,
                src_transform=src.window_transform(window),
                src_crs=src.crs,
                src_nodata=np.nan,
                dst_transform=grid,
                dst_crs=dst_crs,
                dst_nodata=np.nan,
                resampling=Resampling.bilinear,
                init_dest_nodata=True,
            )
        return out

    @staticmethod
    def _cell_metres(
        job: TileJob, top: float, res_x: float, res_y: float, cells: int
    ) -> tuple[np.ndarray, np.ndarray | float]:
        """Cell width and height in metres per row (shape (cells, 1)), from the row's latitude."""
        row_y = top - (np.arange(cells) + 0.5) * res_y
        if job.tileset == "c":
            cos_lat = np.cos(np.radians(row_y))
            return (res_x * _M_PER_DEGREE * cos_lat)[:, None], res_y * _M_PER_DEGREE
        # Web Mercator stretches both axes by 1/cos(lat): the true size is res · cos(lat).
        lat = np.degrees(2 * np.arctan(np.exp(row_y / EARTH_RADIUS_M)) - math.pi / 2)
        cos_lat = np.cos(np.radians(lat))[:, None]
        return res_x * cos_lat, res_y * cos_lat


def _overview_level(src: rasterio.DatasetReader, wanted_res: float) -> int | None:
    """The index of the coarsest overview whose cell is not coarser than ``wanted_res``
    (source units); None for the full resolution."""
    level = None
    for index, factor in enumerate(src.overviews(1)):
        if src.res[0] * factor <= wanted_res:
            level = index
    return level


def _window(src: rasterio.DatasetReader, box: tuple[float, float, float, float]) -> Window | None:
    """The source window covering ``box`` with two cells of margin, clipped; None if empty."""
    window = from_bounds(*box, transform=src.transform).round_offsets().round_lengths()
    col, row = int(window.col_off) - 2, int(window.row_off) - 2
    width, height = int(window.width) + 4, int(window.height) + 4
    col0, row0 = max(col, 0), max(row, 0)
    col1, row1 = min(col + width, src.width), min(row + height, src.height)
    if col1 <= col0 or row1 <= row0:
        return None
    return Window(col0, row0, col1 - col0, row1 - row0)
