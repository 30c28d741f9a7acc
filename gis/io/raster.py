"""Reading rasters: descriptions, windows in the raster's CRS, windows warped to another grid.

Each function opens the file inside its own ``rasterio.Env`` and closes it before returning,
so GDAL configuration never leaks between callers. Warping picks the overview whose
resolution is just finer than the target grid, so a map tile over a whole city reads a few
overview blocks, not the full-resolution image.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.transform import from_bounds
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from gis.crs.transformers import transform_box
from gis.errors import RasterError
from gis.io.values import Bounds


class RasterInfo(NamedTuple):
    """What a raster is: georeferencing, size, storage layout (tiles, overviews)."""

    path: Path
    driver: str
    crs: str | None
    crs_wkt: str | None
    bounds: Bounds
    width: int
    height: int
    bands: int
    dtype: str
    nodata: float | None
    transform: tuple[float, float, float, float, float, float]
    resolution: tuple[float, float]
    block_size: tuple[int, int]
    tiled: bool
    overviews: tuple[int, ...]
    compression: str | None
    layout: str | None


class RasterWindow(NamedTuple):
    """Pixels read from a raster with the georeferencing of exactly those pixels."""

    array: np.ndarray[Any, Any]
    transform: tuple[float, float, float, float, float, float]
    bounds: Bounds
    crs_wkt: str | None
    nodata: float | None


def open_raster(path: Path | str) -> RasterInfo:
    """Describe the raster at ``path`` without reading its pixels."""
    path = Path(path)
    with rasterio.Env(), _open(path) as src:
        return describe(src, path)


def describe(src: Any, path: Path) -> RasterInfo:
    """A :class:`RasterInfo` for an open rasterio dataset."""
    crs = src.crs
    authority = crs.to_authority() if crs else None
    structure = src.tags(ns="IMAGE_STRUCTURE")
    block = src.block_shapes[0] if src.block_shapes else (0, 0)
    return RasterInfo(
        path=path,
        driver=str(src.driver),
        crs=f"{authority[0]}:{authority[1]}" if authority else None,
        crs_wkt=crs.to_wkt() if crs else None,
        bounds=Bounds(*src.bounds),
        width=int(src.width),
        height=int(src.height),
        bands=int(src.count),
        dtype=str(src.dtypes[0]),
        nodata=None if src.nodata is None else float(src.nodata),
        transform=_six(src.transform),
        resolution=(float(src.res[0]), float(src.res[1])),
        block_size=(int(block[0]), int(block[1])),
        tiled=bool(src.profile.get("tiled", False)),
        overviews=tuple(int(f) for f in src.overviews(1)) if src.count else (),
        compression=src.compression.value if src.compression else None,
        layout=structure.get("LAYOUT"),
    )


def read_window(
    path: Path | str,
    bounds: tuple[float, float, float, float],
    *,
    indexes: list[int] | None = None,
) -> RasterWindow:
    """The pixels covering ``bounds`` (in the raster's CRS), snapped outward to whole pixels.

    The window is clipped to the raster; bounds entirely outside it are an error.
    """
    path = Path(path)
    with rasterio.Env(), _open(path) as src:
        window = src.window(*bounds)
        col0, row0 = math.floor(window.col_off + 1e-9), math.floor(window.row_off + 1e-9)
        col1 = math.ceil(window.col_off + window.width - 1e-9)
        row1 = math.ceil(window.row_off + window.height - 1e-9)
        col0, row0 = max(col0, 0), max(row0, 0)
        col1, row1 = min(col1, src.width), min(row1, src.height)
        if col1 <= col0 or row1 <= row0:
            raise RasterError(f"{path}: bounds {tuple(bounds)} do not overlap the raster")
        snapped = Window(col0, row0, col1 - col0, row1 - row0)
        try:
            array = src.read(indexes or list(range(1, src.count + 1)), window=snapped)
        except Exception as exc:
            raise RasterError(f"{path}: window {snapped} cannot be read ({exc})") from None
        return RasterWindow(
            array=array,
            transform=_six(src.window_transform(snapped)),
            bounds=Bounds(*src.window_bounds(snapped)),
            crs_wkt=src.crs.to_wkt() if src.crs else None,
            nodata=None if src.nodata is None else float(src.nodata),
        )


def warp_window(
    path: Path | str,
    dst_crs: str,
    dst_bounds: tuple[float, float, float, float],
    width: int,
    height: int,
    resampling: str = "bilinear",
    *,
    indexes: list[int] | None = None,
    nodata: float | None = None,
    masked: bool = False,
) -> np.ndarray[Any, Any]:
    """The raster resampled onto a ``width`` x ``height`` grid over ``dst_bounds`` in ``dst_crs``.

    Returns an array of shape (bands, height, width). Pixels the raster does not cover hold
    ``nodata`` (default: the raster's nodata, else NaN for floats and 0 for integers), or
    are masked with ``masked=True``. Only the source blocks under the target are read.
    """
    path = Path(path)
    try:
        method = Resampling[resampling]
    except KeyError:
        raise RasterError(f"unknown resampling {resampling!r}") from None
    if width <= 0 or height <= 0:
        raise RasterError(f"{path}: target grid {width}x{height} is empty")
    dst_transform = from_bounds(*dst_bounds, width=width, height=height)
    with rasterio.Env():
        with _open(path) as src:
            level = _overview_level(src, dst_crs, dst_bounds, width, height)
            fill = _fill_value(src, nodata)
        options = {} if level is None else {"overview_level": level}
        with _open(path, **options) as src:
            try:
                with WarpedVRT(
                    src,
                    crs=dst_crs,
                    transform=dst_transform,
                    width=width,
                    height=height,
                    resampling=method,
                    nodata=fill,
                ) as vrt:
                    bands = indexes or list(range(1, src.count + 1))
                    result: np.ndarray[Any, Any] = vrt.read(bands, masked=masked)
                    return result
            except Exception as exc:
                raise RasterError(f"{path}: cannot be warped to {dst_crs} ({exc})") from None


def _open(path: Path, **options: Any) -> Any:
    if not path.exists():
        raise RasterError(f"{path}: no such file")
    try:
        return rasterio.open(path, **options)
    except Exception as exc:
        raise RasterError(f"{path}: cannot be read as a raster ({exc})") from None


def _six(transform: Any) -> tuple[float, float, float, float, float, float]:
    a, b, c, d, e, f = (float(v) for v in tuple(transform)[:6])
    return a, b, c, d, e, f


def _fill_value(src: Any, nodata: float | None) -> float:
    if nodata is not None:
        return nodata
    if src.nodata is not None:
        return float(src.nodata)
    return math.nan if np.issubdtype(np.dtype(src.dtypes[0]), np.floating) else 0.0


def _overview_level(
    src: Any, dst_crs: str, dst_bounds: tuple[float, float, float, float], width: int, height: int
) -> int | None:
    """The coarsest overview still at least as fine as the target grid, or None (full size)."""
    factors = src.overviews(1) if src.count else []
    if not factors or src.crs is None:
        return None
    try:
        left, bottom, right, top = transform_box(dst_crs, src.crs.to_wkt(), dst_bounds)
    except Exception:
        return None
    source_pixels = min(
        (right - left) / abs(src.res[0]) / width, (top - bottom) / abs(src.res[1]) / height
    )
    level = None
    for index, factor in enumerate(factors):
        if factor <= source_pixels:
            level = index
    return level
