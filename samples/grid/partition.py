"""Plane partitions for the synthetic city: spaced seed points and Voronoi tilings of a region.

Everything here works in the generator's metric plane (:mod:`samples.grid.plane`): the
Voronoi cells are then isotropic. The pieces tile the region up to floating point; exact
shared edges are made later, once, for the whole city (see :mod:`samples.grid.tiling`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import MultiPoint, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

Floats = NDArray[np.float64]
Spacing = Callable[[Floats, Floats], Floats]


def spaced_points(
    rng: np.random.Generator,
    region: BaseGeometry,
    spacing: Spacing,
    fixed: Floats | None = None,
    oversample: int = 12,
) -> Floats:
    """Points inside ``region`` no closer than ``spacing(x, y)`` metres to each other.

    Dart throwing: candidates are drawn uniformly and accepted in random order when they
    keep their distance from those already accepted. ``fixed`` points are accepted first.
    """
    minx, miny, maxx, maxy = region.bounds
    mid = np.array([[0.5 * (minx + maxx), 0.5 * (miny + maxy)]])
    typical = float(spacing(mid[:, 0], mid[:, 1])[0])
    expected = max(4, int(region.area / max(typical, 1.0) ** 2 * oversample))
    xs = rng.uniform(minx, maxx, expected * 2)
    ys = rng.uniform(miny, maxy, expected * 2)
    shapely.prepare(region)
    inside = shapely.contains_xy(region, xs, ys)
    xs, ys = xs[inside], ys[inside]
    radius = spacing(xs, ys)
    accepted = [] if fixed is None else [tuple(p) for p in fixed]
    pts = np.empty((len(accepted) + len(xs), 2))
    count = len(accepted)
    if count:
        pts[:count] = np.asarray(accepted)
    for x, y, r in zip(xs.tolist(), ys.tolist(), radius.tolist(), strict=True):
        if count:
            d2 = (pts[:count, 0] - x) ** 2 + (pts[:count, 1] - y) ** 2
            if d2.min() < r * r:
                continue
        pts[count] = (x, y)
        count += 1
    if count == 0:
        point = region.representative_point()
        return np.array([[point.x, point.y]])
    return pts[:count].copy()


def voronoi_partition(region: Polygon, seeds: Floats, relax: int = 0) -> list[Polygon]:
    """Split ``region`` into one polygon per seed (Voronoi cells clipped to the region).

    ``relax`` Lloyd iterations move each seed to its cell's centroid first (rounder cells).
    A cell that the clipping cuts into several parts keeps the part nearest its seed; the
    other parts join the neighbour they share the longest edge with, so every result is a
    single polygon and the results still tile the region.
    """
    if len(seeds) == 1:
        return [region]
    points = seeds.copy()
    for _ in range(relax):
        cells = _clipped_cells(region, points)
        points = shapely.get_coordinates(shapely.centroid(np.array(cells, dtype=object)))
    cells = _clipped_cells(region, points)
    return _merge_strays(cells, points)


def _clipped_cells(region: Polygon, points: Floats) -> list[BaseGeometry]:
    diagram = shapely.voronoi_polygons(MultiPoint(points), extend_to=region, ordered=True)
    parts = shapely.get_parts(diagram)
    clipped = shapely.intersection(parts, region)
    return list(clipped)


def _merge_strays(cells: list[BaseGeometry], seeds: Floats) -> list[Polygon]:
    """Give every non-polygon cell's stray parts to a neighbour; drop empty cells' seeds."""
    result: list[BaseGeometry] = []
    strays: list[Polygon] = []
    for cell, (x, y) in zip(cells, seeds.tolist(), strict=True):
        parts = [p for p in shapely.get_parts(cell) if isinstance(p, Polygon) and p.area > 0]
        if not parts:
            result.append(Polygon())
            continue
        seed = shapely.Point(x, y)
        keep = min(parts, key=lambda p: p.distance(seed))
        result.append(keep)
        strays.extend(p for p in parts if p is not keep)
    for stray in strays:
        best, best_len = -1, 0.0
        for i, cell in enumerate(result):
            if cell.is_empty or not cell.intersects(stray):
                continue
            shared = cell.boundary.intersection(stray.boundary).length
            if shared > best_len:
                best, best_len = i, shared
        if best >= 0:
            merged = shapely.union(result[best], stray)
            if isinstance(merged, MultiPolygon):  # touches at a point only: keep largest
                merged = max(merged.geoms, key=lambda g: g.area)
            result[best] = merged
    return [c if isinstance(c, Polygon) else Polygon() for c in result]


def row_major(xs: Floats, ys: Floats, tolerance: float) -> NDArray[np.intp]:
    """Order of points west→east within rows, rows north→south.

    A row starts at the northernmost point not yet placed and takes every remaining point
    whose y is within ``tolerance`` below it; the row is then read west to east.

    >>> row_major(np.array([2.0, 1.0, 0.0]), np.array([10.0, 9.9, 5.0]), 0.5).tolist()
    [1, 0, 2]
    """
    order = np.lexsort((xs, -ys))
    ranks: list[int] = []
    remaining = order.tolist()
    while remaining:
        top = ys[remaining[0]]
        row = [i for i in remaining if ys[i] >= top - tolerance]
        row.sort(key=lambda i: (xs[i], -ys[i]))
        ranks.extend(row)
        taken = set(row)
        remaining = [i for i in remaining if i not in taken]
    return np.array(ranks, dtype=np.intp)
