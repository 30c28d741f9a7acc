"""Synthetic terrain: an elevation function of position, evaluated on any grid or block.

Plains rise gently from the coast (≈ 2 m) to the west (≈ 40 m); the hill ranges of
:data:`samples.plans.geography.HILLS` stand on them with ridged noise (云台山 ≈ 600 m);
rivers are cut 2–3 m into the plain; the sea east of the coast is 1–25 m deep (negative).
Noise is hashed from the lattice coordinates, so any block of any grid gives the same
values where grids overlap, without holding a lattice in memory.
"""

from __future__ import annotations

from functools import cache
from typing import Final

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import Polygon

from samples.plans.geography import COAST_VERTICES, HILLS, ellipse_distance

Floats = NDArray[np.float64]

SEA_LONLAT: Final = (*COAST_VERTICES, (119.98, 34.40), (119.98, 35.30), (119.25, 35.30))
"""The sea: east of the outline's coastal edge (lon, lat)."""

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)


def _hash(ix: NDArray[np.int64], iy: NDArray[np.int64], seed: int) -> Floats:
    """A uniform value in [0, 1) for each integer lattice point (splitmix64 mixing)."""
    with np.errstate(over="ignore"):
        h = ix.astype(np.uint64) * _M1 ^ (iy.astype(np.uint64) + np.uint64(seed)) * _M2
        h ^= h >> np.uint64(31)
        h *= _M3
        h ^= h >> np.uint64(29)
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def value_noise(x: Floats, y: Floats, cell: float, seed: int) -> Floats:
    """Smooth value noise in [0, 1] with features ``cell`` units apart.

    The lattice values under the points are hashed once into a small table and gathered,
    so the cost is per point, not per point and corner hash.
    """
    if x.size == 0:
        return np.zeros(0)
    gx, gy = x / cell, y / cell
    ix, iy = np.floor(gx).astype(np.int64), np.floor(gy).astype(np.int64)
    fx, fy = gx - ix, gy - iy
    fx, fy = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy)
    x0, y0 = int(ix.min()), int(iy.min())
    nx, ny = int(ix.max()) - x0 + 2, int(iy.max()) - y0 + 2
    if nx * ny <= 4 * ix.size + 64:  # a dense lattice: hash each node once, then gather
        lx, ly = np.meshgrid(np.arange(x0, x0 + nx), np.arange(y0, y0 + ny))
        table = _hash(lx, ly, seed)
        a, b = ix - x0, iy - y0
        v00, v10, v01, v11 = table[b, a], table[b, a + 1], table[b + 1, a], table[b + 1, a + 1]
    else:  # scattered points over a wide area: hash the corners directly
        v00, v10 = _hash(ix, iy, seed), _hash(ix + 1, iy, seed)
        v01, v11 = _hash(ix, iy + 1, seed), _hash(ix + 1, iy + 1, seed)
    return (v00 * (1 - fx) + v10 * fx) * (1 - fy) + (v01 * (1 - fx) + v11 * fx) * fy


def fbm(x: Floats, y: Floats, cell: float, seed: int, octaves: int = 5) -> Floats:
    """Fractal noise in [0, 1]: octaves of value noise, each half the size and weight."""
    total, weight, norm = np.zeros_like(x), 1.0, 0.0
    for k in range(octaves):
        total += weight * value_noise(x, y, cell / 2**k, seed + 7919 * k)
        norm += weight
        weight /= 2
    return total / norm


@cache
def sea_polygon() -> Polygon:
    """The sea east of the coast in lon/lat."""
    return Polygon(SEA_LONLAT)


def elevation(lon: Floats, lat: Floats, x: Floats, y: Floats, seed: int) -> Floats:
    """Elevation (m) at lon/lat with metric coordinates ``x``, ``y`` (EPSG:4549)."""
    plain = 2.0 + 38.0 * np.clip((119.30 - lon) / 0.9, 0, 1) ** 1.6
    plain += 4.0 * (fbm(x, y, 12_000.0, seed, 3) - 0.5)
    hills = np.zeros_like(lon)
    near = np.zeros(lon.shape, dtype=bool)
    for hill in HILLS:  # the noise below is only worth computing near a hill
        near |= ellipse_distance(hill.shape, x, y) < 1.5 / 0.7
    if near.any():
        xn, yn = x[near], y[near]
        ridged = 1 - np.abs(2 * fbm(xn, yn, 2_500.0, seed + 1, 5) - 1)
        warp = 0.7 + 0.6 * fbm(xn, yn, 4_000.0, seed + 2, 3)
        top = np.zeros(xn.shape)
        for hill in HILLS:
            d = ellipse_distance(hill.shape, xn, yn) * warp
            shape = np.clip(1 - d / 1.5, 0, 1) ** 1.8
            top = np.maximum(top, hill.peak * shape * (0.45 + 0.55 * ridged) ** 1.5)
        hills[near] = top
    hills += 25.0 * fbm(x, y, 6_000.0, seed + 3, 4) ** 3 * np.clip((119.35 - lon) / 0.6, 0, 1)
    height = plain + hills
    sea = shapely.contains_xy(sea_polygon(), lon, lat)
    if sea.any():
        from_coast = shapely.distance(_coast_line(), shapely.points(lon[sea], lat[sea]))
        height[sea] = -1.0 - 24.0 * (1 - np.exp(-from_coast / 0.15))
    return height


@cache
def _coast_line() -> shapely.LineString:
    return shapely.LineString(COAST_VERTICES)


def hillshade(
    z: Floats, dx: float, dy: float, azimuth: float = 315.0, altitude: float = 45.0
) -> Floats:
    """Lambertian shading in [0, 1] of a north-up grid (row 0 north) with cells dx × dy m,
    lit from ``azimuth`` (degrees clockwise from north) at ``altitude`` degrees."""
    d_row, d_col = np.gradient(z, dy, dx)
    east, north = -d_col, d_row  # the normal's horizontal components (rows run south)
    az, alt = np.radians(azimuth), np.radians(altitude)
    light = np.sin(az) * np.cos(alt) * east + np.cos(az) * np.cos(alt) * north + np.sin(alt)
    return np.asarray(np.clip(light / np.sqrt(east**2 + north**2 + 1), 0, 1))
