"""Writing Cloud-Optimized GeoTIFFs: tiled, compressed, with internal overviews.

A COG serves map tiles by reading only the blocks under a tile, at the overview level that
matches the zoom, so it is the one raster format the platform writes.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.crs import CRS

from gis.errors import RasterError
from gis.io.raster import RasterInfo, open_raster


def write_cog(
    path: Path | str,
    array: np.ndarray[Any, Any],
    transform: Any,
    crs: str,
    nodata: float | None = None,
    *,
    blocksize: int = 512,
    overview_resampling: str = "average",
    compress: str = "deflate",
    quality: int = 75,
) -> RasterInfo:
    """Write ``array`` (rows x cols, or bands x rows x cols) as a COG and describe it.

    Parameters
    ----------
    transform
        The affine transform of the top-left pixel corner (``rasterio.transform.from_origin``).
    crs
        WKT or an authority string such as ``"EPSG:4490"``; x is east (longitude) whatever
        the EPSG axis order.
    overview_resampling
        ``"average"`` for continuous values, ``"nearest"`` or ``"mode"`` for classes.
    compress
        ``"deflate"`` (lossless, with a predictor: elevations, classes) or ``"jpeg"`` (RGB
        or grey ``uint8`` photographs: YCbCr, 5-10x smaller than DEFLATE on imagery).
    quality
        JPEG quality, 1-100 (75 is GDAL's default; ignored for DEFLATE).

    The file appears complete or not at all: it is written beside ``path`` and renamed.
    """
    path = Path(path)
    data = array[np.newaxis, ...] if array.ndim == 2 else array
    if data.ndim != 3 or 0 in data.shape:
        raise RasterError(f"{path}: expected a 2-D or 3-D array, got shape {array.shape}")
    if blocksize not in (256, 512):
        raise RasterError(f"{path}: block size must be 256 or 512, not {blocksize}")
    if nodata is not None and math.isnan(nodata) and not np.issubdtype(data.dtype, np.floating):
        raise RasterError(f"{path}: NaN nodata needs a floating-point array, not {data.dtype}")
    compression = _compression(path, data, compress, quality, nodata)
    try:
        target_crs = CRS.from_user_input(crs)
    except Exception as exc:
        raise RasterError(f"{path}: CRS {crs[:80]!r} is not understood ({exc})") from None
    partial = path.with_name(f".{path.name}.partial")
    profile: dict[str, Any] = {
        "driver": "COG",
        "width": data.shape[2],
        "height": data.shape[1],
        "count": data.shape[0],
        "dtype": data.dtype.name,
        "crs": target_crs,
        "transform": transform,
        "nodata": nodata,
        "BLOCKSIZE": blocksize,
        **compression,
        "OVERVIEWS": "AUTO",
        "OVERVIEW_RESAMPLING": overview_resampling.upper(),
        "BIGTIFF": "IF_SAFER",
    }
    try:
        with rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.open(partial, "w", **profile) as dst:
            dst.write(data)
        os.replace(partial, path)
    except Exception as exc:
        partial.unlink(missing_ok=True)
        raise RasterError(f"{path}: cannot be written as a COG ({exc})") from None
    return open_raster(path)


def _compression(
    path: Path, data: np.ndarray[Any, Any], compress: str, quality: int, nodata: float | None
) -> dict[str, Any]:
    """The COG driver's creation options for ``compress``; JPEG only where it is lossy in
    the way photographs tolerate (8-bit grey or RGB, no nodata value to blur)."""
    method = compress.lower()
    if method == "deflate":
        return {"COMPRESS": "DEFLATE", "PREDICTOR": "YES"}
    if method != "jpeg":
        raise RasterError(f"{path}: compression must be deflate or jpeg, not {compress!r}")
    if data.dtype != np.uint8 or data.shape[0] not in (1, 3) or nodata is not None:
        raise RasterError(
            f"{path}: JPEG needs 1 or 3 uint8 bands without nodata, got {data.shape[0]} "
            f"{data.dtype} band(s){' with nodata' if nodata is not None else ''}"
        )
    if not 1 <= quality <= 100:
        raise RasterError(f"{path}: JPEG quality must be 1-100, not {quality}")
    return {"COMPRESS": "JPEG", "QUALITY": quality}
