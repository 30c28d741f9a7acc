"""The parcel fabric every plan layer is cut from: "atoms" in EPSG:4549 metres.

Atoms are Voronoi cells of jittered grids (three times denser inside the urban master
plan's coverage, with each town's grid turned to its own street direction), clipped to the
city outline, with rivers, reservoirs and expressways carved out as atoms of their own.
Every plan layer is a union of atoms (城规 of atom halves), so two layers share their
boundaries exactly and every overlay piece is either a whole atom (half) or a deliberate
defect: designed conflicts are far above any sliver threshold by construction.
"""

from __future__ import annotations

from typing import Final, NamedTuple

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import MultiPoint, Polygon

from samples.plans.geography import (
    COVERAGE_FACTOR,
    RESERVOIRS,
    RIVERS,
    ROADS,
    TOWNS,
    ellipse_distance,
    ellipse_polygon,
    line_metres,
    outline_metres,
    to_metres,
)

Geoms = NDArray[np.object_]

LAND: Final = 0
RIVER: Final = 1
RESERVOIR: Final = 2
ROAD: Final = 3

URBAN_DENSITY: Final = 3.0
"""Urban spacing is the rural spacing divided by this (nine times as many atoms per km²)."""

_JITTER_RURAL = 0.32
_JITTER_URBAN = 0.18
_MIN_PIECE_M2 = 1.0


class Fabric(NamedTuple):
    """The atoms and what they are.

    ``kind`` is LAND, RIVER, RESERVOIR or ROAD; ``source`` indexes RIVERS, RESERVOIRS or
    ROADS (-1 for land); ``pristine`` marks whole convex Voronoi cells (not clipped by the
    outline nor carved), the only ones designed conflicts and defects are placed on.
    """

    atoms: Geoms
    kind: NDArray[np.int8]
    source: NDArray[np.int16]
    pristine: NDArray[np.bool_]
    spacing: float


def build_fabric(rng: np.random.Generator, target_atoms: int) -> Fabric:
    """Atoms covering the city outline, about ``target_atoms`` of them."""
    outline = outline_metres()
    covered_area = _coverage(outline).area
    spacing = float(np.sqrt((outline.area + (URBAN_DENSITY**2 - 1) * covered_area) / target_atoms))
    points = np.concatenate([_rural_points(rng, outline, spacing), _urban_points(rng, spacing)])
    cells = _voronoi(points, outline)
    atoms, clipped = _clip(cells, outline)
    kind = np.full(len(atoms), LAND, dtype=np.int8)
    source = np.full(len(atoms), -1, dtype=np.int16)
    pristine = ~clipped
    for carver_kind, index, polygon in _carvers():
        atoms, kind, source, pristine = _carve(
            atoms, kind, source, pristine, polygon, carver_kind, index
        )
    return Fabric(atoms, kind, source, pristine, spacing)


def split_halves(atoms: Geoms) -> tuple[Geoms, Geoms]:
    """Cut each atom in two across the long side of its minimum rotated rectangle.

    Both halves of an atom meet exactly on the cut line; an atom whose smaller half would
    hold under 5 % of its area is not cut (its second half is None).
    """
    env = shapely.oriented_envelope(atoms)
    ring = shapely.get_coordinates(shapely.get_exterior_ring(env)).reshape(len(atoms), 5, 2)[:, :4]
    centre = ring.mean(axis=1, keepdims=True)
    ring = centre + (ring - centre) * 1.02  # a margin so clipping never shaves a real edge
    c0, c1, c2, c3 = (ring[:, i] for i in range(4))
    long01 = (np.hypot(*(c1 - c0).T) >= np.hypot(*(c2 - c1).T))[:, None]
    m01, m32 = (c0 + c1) / 2, (c3 + c2) / 2
    m12, m03 = (c1 + c2) / 2, (c0 + c3) / 2
    a = np.where(
        long01[:, :, None], np.stack([c0, m01, m32, c3], 1), np.stack([c0, c1, m12, m03], 1)
    )
    b = np.where(
        long01[:, :, None], np.stack([m01, c1, c2, m32], 1), np.stack([m03, m12, c2, c3], 1)
    )
    half_a = shapely.intersection(atoms, shapely.polygons(a))
    half_b = shapely.intersection(atoms, shapely.polygons(b))
    area = shapely.area(atoms)
    small = np.minimum(shapely.area(half_a), shapely.area(half_b)) < 0.05 * area
    half_a = np.where(small, atoms, half_a)
    half_b = np.where(small, None, half_b)
    return _polygonal(half_a), np.asarray(half_b, dtype=object)


def _polygonal(geoms: Geoms) -> Geoms:
    """Drop lines and points an intersection may add next to the polygons."""
    types = shapely.get_type_id(geoms)
    mixed = np.flatnonzero(types == 7)
    for i in mixed.tolist():
        parts = [p for p in shapely.get_parts(geoms[i]) if p.geom_type == "Polygon"]
        geoms[i] = parts[0] if len(parts) == 1 else shapely.multipolygons(parts)
    return geoms


def _coverage(outline: Polygon) -> Polygon:
    shapes = [ellipse_polygon(t.shape, COVERAGE_FACTOR) for t in TOWNS]
    result: Polygon = shapely.intersection(shapely.union_all(shapes), outline)
    return result


def _in_coverage(x: NDArray[np.float64], y: NDArray[np.float64], towns: int) -> NDArray[np.bool_]:
    inside = np.zeros(x.shape, dtype=bool)
    for town in TOWNS[:towns]:
        inside |= ellipse_distance(town.shape, x, y, COVERAGE_FACTOR) < 1.0
    return inside


def _rural_points(
    rng: np.random.Generator, outline: Polygon, spacing: float
) -> NDArray[np.float64]:
    minx, miny, maxx, maxy = outline.bounds
    gx, gy = np.meshgrid(
        np.arange(minx - spacing, maxx + spacing, spacing),
        np.arange(miny - spacing, maxy + spacing, spacing),
    )
    x = gx.ravel() + rng.uniform(-_JITTER_RURAL, _JITTER_RURAL, gx.size) * spacing
    y = gy.ravel() + rng.uniform(-_JITTER_RURAL, _JITTER_RURAL, gy.size) * spacing
    near = shapely.buffer(outline, 2 * spacing)
    keep = shapely.contains_xy(near, x, y) & ~_in_coverage(x, y, len(TOWNS))
    return np.column_stack([x[keep], y[keep]])


def _urban_points(rng: np.random.Generator, spacing: float) -> NDArray[np.float64]:
    step = spacing / URBAN_DENSITY
    out = []
    for i, town in enumerate(TOWNS):
        cx, cy = to_metres(np.array([town.shape.lon]), np.array([town.shape.lat]))
        reach = max(town.shape.a, town.shape.b) * COVERAGE_FACTOR + step
        u, v = np.meshgrid(np.arange(-reach, reach, step), np.arange(-reach, reach, step))
        t = np.radians(town.shape.angle + rng.uniform(-8.0, 8.0))
        u = u.ravel() + rng.uniform(-_JITTER_URBAN, _JITTER_URBAN, u.size) * step
        v = v.ravel() + rng.uniform(-_JITTER_URBAN, _JITTER_URBAN, v.size) * step
        x = cx[0] + u * np.cos(t) - v * np.sin(t)
        y = cy[0] + u * np.sin(t) + v * np.cos(t)
        keep = (ellipse_distance(town.shape, x, y, COVERAGE_FACTOR) < 1.0) & ~_in_coverage(x, y, i)
        out.append(np.column_stack([x[keep], y[keep]]))
    return np.concatenate(out)


def _voronoi(points: NDArray[np.float64], outline: Polygon) -> Geoms:
    cells = shapely.voronoi_polygons(
        MultiPoint(points), extend_to=shapely.envelope(outline).buffer(10_000), ordered=True
    )
    return np.asarray(shapely.get_parts(cells), dtype=object)


def _clip(cells: Geoms, outline: Polygon) -> tuple[Geoms, NDArray[np.bool_]]:
    shapely.prepare(outline)
    inside = shapely.contains(outline, cells)
    crossing = ~inside & shapely.intersects(outline, cells)
    cut = shapely.intersection(cells[crossing], outline)
    parts = shapely.get_parts(cut)
    parts = parts[(shapely.get_type_id(parts) == 3) & (shapely.area(parts) >= _MIN_PIECE_M2)]
    atoms = np.concatenate([cells[inside], parts])
    clipped = np.concatenate([np.zeros(int(inside.sum()), bool), np.ones(len(parts), bool)])
    return atoms, clipped


def _carvers() -> list[tuple[int, int, Polygon]]:
    """Water first (reservoirs, then rivers), then expressways on the land that is left."""
    out: list[tuple[int, int, Polygon]] = []
    for i, res in enumerate(RESERVOIRS):
        out.append((RESERVOIR, i, ellipse_polygon(res.shape)))
    for i, river in enumerate(RIVERS):
        out.append(
            (RIVER, i, shapely.buffer(line_metres(river.line), river.width / 2, quad_segs=4))
        )
    for i, road in enumerate(ROADS):
        out.append((ROAD, i, shapely.buffer(line_metres(road.line), road.width / 2, quad_segs=4)))
    return out


def _carve(
    atoms: Geoms,
    kind: NDArray[np.int8],
    source: NDArray[np.int16],
    pristine: NDArray[np.bool_],
    polygon: Polygon,
    carver_kind: int,
    index: int,
) -> tuple[Geoms, NDArray[np.int8], NDArray[np.int16], NDArray[np.bool_]]:
    """Cut ``polygon`` out of the land atoms it touches; the cut pieces become its atoms."""
    shapely.prepare(polygon)
    tree = shapely.STRtree(atoms)
    hit = tree.query(polygon, predicate="intersects")
    hit = np.sort(hit[kind[hit] == LAND])
    if hit.size == 0:
        return atoms, kind, source, pristine
    inner = shapely.get_parts(shapely.intersection(atoms[hit], polygon))
    outer, owner = shapely.get_parts(shapely.difference(atoms[hit], polygon), return_index=True)
    inner = inner[(shapely.get_type_id(inner) == 3) & (shapely.area(inner) >= _MIN_PIECE_M2)]
    keep = (shapely.get_type_id(outer) == 3) & (shapely.area(outer) >= _MIN_PIECE_M2)
    outer, owner = outer[keep], owner[keep]
    rest = np.ones(len(atoms), dtype=bool)
    rest[hit] = False
    atoms = np.concatenate([atoms[rest], outer, inner])
    kind = np.concatenate([kind[rest], kind[hit][owner], np.full(len(inner), carver_kind, np.int8)])
    source = np.concatenate(
        [source[rest], source[hit][owner], np.full(len(inner), index, np.int16)]
    )
    pristine = np.concatenate([pristine[rest], np.zeros(len(outer) + len(inner), bool)])
    return atoms, kind, source, pristine
