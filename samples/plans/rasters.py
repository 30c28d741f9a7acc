"""The DEM and the imagery of the synthetic city, written as Cloud-Optimized GeoTIFFs.

* ``rasters/dem.tif``: float32 elevation (m, 0.1 m steps) on a lon/lat grid in EPSG:4490
  over the whole city; the sea is negative (bathymetry), there is no nodata.
* ``rasters/imagery.tif``: RGB uint8 in EPSG:4549 (square ground pixels), current land
  use rendered with texture and hill shading; the Haizhou–Lianyun core for ``small``, the
  whole city for bigger scales.

Both are computed in blocks of rows, so the large scale needs memory for the output
arrays only, and go through :func:`gis.io.write_cog` (tiled, with overviews; DEFLATE for
the DEM, JPEG in YCbCr for the imagery, as imagery is delivered).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Final

import numpy as np
import shapely
from numpy.typing import NDArray
from rasterio.features import rasterize
from rasterio.transform import from_origin

from gis.crs import GK_CM120_SRID, STORAGE_SRID, transform_xy
from gis.geometry import transform_geometry
from gis.io import RasterInfo, write_cog
from samples.plans.geography import outline_metres, to_metres
from samples.plans.imagery import OTHER, SEA, render, style_of
from samples.plans.plans import PlanCity
from samples.plans.scales import Scale
from samples.plans.terrain import elevation, hillshade, sea_polygon

Floats = NDArray[np.float64]

DEM_BOUNDS: Final = (118.35, 33.95, 119.85, 35.15)
"""Lon/lat box of the DEM: the city outline with a margin."""
CORE_LONLAT: Final = (119.10, 34.545, 119.46, 34.78)
"""Haizhou, Xinpu, 云台山 and Lianyun: the imagery of the small city."""
_BLOCK_PIXELS = 2_000_000
TERRAIN_CELL_M: Final = 40.0
"""Terrain under the imagery is computed on this grid and interpolated."""


def write_dem(out: Path, scale: Scale, seed: int) -> RasterInfo:
    """Write the DEM; returns its description."""
    res = scale.dem_deg
    west, south, east, north = DEM_BOUNDS
    width, height = round((east - west) / res), round((north - south) / res)
    dem = np.empty((height, width), dtype=np.float32)
    cols = west + (np.arange(width) + 0.5) * res
    for top, bottom in _blocks(height, width):
        lat = north - (np.arange(top, bottom) + 0.5) * res
        lon2, lat2 = np.meshgrid(cols, lat)
        x, y = to_metres(lon2.ravel(), lat2.ravel())
        z = elevation(lon2.ravel(), lat2.ravel(), x, y, seed).reshape(lon2.shape)
        dem[top:bottom] = np.round(z, 1)
    path = out / "rasters" / "dem.tif"
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_cog(
        path,
        dem,
        from_origin(west, north, res, res),
        f"EPSG:{STORAGE_SRID}",
        blocksize=_blocksize(width, height),
    )


def write_imagery(out: Path, scale: Scale, city: PlanCity, seed: int) -> RasterInfo:
    """Write the imagery of current land use; returns its description."""
    res = scale.imagery_m
    west, south, east, north = _imagery_bounds(scale.imagery_city, res)
    width, height = round((east - west) / res), round((north - south) / res)
    rgb = np.empty((3, height, width), dtype=np.uint8)
    atoms = city.fabric.atoms
    tree = shapely.STRtree(atoms)
    rng = np.random.default_rng(seed)
    styles = np.array([style_of(c) for c in city.design.codes.current.tolist()], dtype=np.intp)
    theta = rng.choice([0.0, np.pi / 2], len(atoms)) + rng.normal(0.0, 0.25, len(atoms))
    tone = rng.random(len(atoms))
    anchor = shapely.point_on_surface(atoms)
    ax, ay = shapely.get_x(anchor), shapely.get_y(anchor)
    sea = transform_geometry(sea_polygon(), STORAGE_SRID, GK_CM120_SRID)
    shapely.prepare(sea)
    cols = west + (np.arange(width) + 0.5) * res
    for top, bottom in _blocks(height, width):
        x, y = np.meshgrid(cols, north - (np.arange(top, bottom) + 0.5) * res)
        z, shade = _terrain(west, north, res, top, bottom, width, seed)
        ids = _atom_ids(atoms, tree, west, north - top * res, res, bottom - top, width)
        inside = ids >= 0
        pick = np.maximum(ids, 0)
        style = np.where(inside, styles[pick], OTHER)
        out_side = ~inside
        style[out_side] = np.where(shapely.contains_xy(sea, x[out_side], y[out_side]), SEA, OTHER)
        origin = (np.where(inside, ax[pick], west), np.where(inside, ay[pick], north))
        rgb[:, top:bottom] = render(
            style,
            np.where(inside, theta[pick], 0.2),
            np.where(inside, tone[pick], 0.5),
            origin,
            x,
            y,
            shade,
            z,
            res,
            seed,
        )
    path = out / "rasters" / "imagery.tif"
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_cog(
        path,
        rgb,
        from_origin(west, north, res, res),
        f"EPSG:{GK_CM120_SRID}",
        blocksize=_blocksize(width, height),
        compress="jpeg",  # as imagery is delivered; a third of DEFLATE's size here
    )


def _terrain(
    west: float, north: float, res: float, top: int, bottom: int, width: int, seed: int
) -> tuple[Floats, Floats]:
    """Elevation and hill shade of a block of imagery rows, computed on a grid of about
    :data:`TERRAIN_CELL_M` and interpolated bilinearly to the pixels."""
    k = max(1, round(TERRAIN_CELL_M / res))
    cell = k * res
    r0, r1 = top // k - 1, bottom // k + 2
    rows, cols = np.arange(r0, r1), np.arange(-1, width // k + 2)
    xc, yc = np.meshgrid(west + (cols + 0.5) * cell, north - (rows + 0.5) * cell)
    lon, lat = transform_xy(xc.ravel(), yc.ravel(), GK_CM120_SRID, STORAGE_SRID)
    zc = elevation(lon, lat, xc.ravel(), yc.ravel(), seed).reshape(xc.shape)
    shade_c = hillshade(zc, cell, cell)
    fi = (np.arange(top, bottom) + 0.5) / k - 0.5 - r0
    fj = (np.arange(width) + 0.5) / k - 0.5 + 1
    return _bilinear(zc, fi, fj), _bilinear(shade_c, fi, fj)


def _bilinear(grid: Floats, fi: Floats, fj: Floats) -> Floats:
    """``grid`` sampled at fractional rows ``fi`` × columns ``fj``."""
    i0 = np.clip(np.floor(fi).astype(int), 0, grid.shape[0] - 2)
    j0 = np.clip(np.floor(fj).astype(int), 0, grid.shape[1] - 2)
    wi, wj = (fi - i0)[:, None], (fj - j0)[None, :]
    top = grid[i0][:, j0] * (1 - wj) + grid[i0][:, j0 + 1] * wj
    low = grid[i0 + 1][:, j0] * (1 - wj) + grid[i0 + 1][:, j0 + 1] * wj
    return np.asarray(top * (1 - wi) + low * wi)


def describe(info: RasterInfo, what: str) -> dict[str, Any]:
    """The manifest entry of a written raster."""
    return {
        "file": f"rasters/{info.path.name}",
        "description": what,
        "driver": "COG (GTiff)",
        "crs": info.crs,
        "width": info.width,
        "height": info.height,
        "bands": info.bands,
        "dtype": info.dtype,
        "nodata": info.nodata,
        "resolution": list(info.resolution),
        "bounds": list(info.bounds),
        "tiled": info.tiled,
        "block_size": list(info.block_size),
        "overviews": list(info.overviews),
        "compression": info.compression,
        "layout": info.layout,
    }


def _imagery_bounds(whole_city: bool, res: float) -> tuple[float, float, float, float]:
    if whole_city:
        minx, miny, maxx, maxy = outline_metres().buffer(1000).bounds
    else:
        lon = np.array([CORE_LONLAT[0], CORE_LONLAT[2], CORE_LONLAT[0], CORE_LONLAT[2]])
        lat = np.array([CORE_LONLAT[1], CORE_LONLAT[1], CORE_LONLAT[3], CORE_LONLAT[3]])
        x, y = to_metres(lon, lat)
        minx, miny, maxx, maxy = x.min(), y.min(), x.max(), y.max()
    return (
        math.floor(minx / res) * res,
        math.floor(miny / res) * res,
        math.ceil(maxx / res) * res,
        math.ceil(maxy / res) * res,
    )


def _atom_ids(
    atoms: Any, tree: shapely.STRtree, west: float, top: float, res: float, rows: int, cols: int
) -> NDArray[np.intp]:
    """Index of the atom under each pixel of a block (-1 outside every atom)."""
    box = shapely.box(west, top - rows * res, west + cols * res, top)
    hit = tree.query(box, predicate="intersects")
    if hit.size == 0:
        return np.full((rows, cols), -1, dtype=np.intp)
    burnt = rasterize(
        zip(atoms[hit], (hit + 1).tolist(), strict=True),
        out_shape=(rows, cols),
        transform=from_origin(west, top, res, res),
        fill=0,
        dtype="int32",
    )
    ids: NDArray[np.intp] = np.asarray(burnt, dtype=np.intp) - 1
    return ids


def _blocks(height: int, width: int) -> list[tuple[int, int]]:
    step = max(1, _BLOCK_PIXELS // width)
    return [(top, min(top + step, height)) for top in range(0, height, step)]


def _blocksize(width: int, height: int) -> int:
    return 256 if max(width, height) < 4096 else 512
