"""A detailed community: blocks with land-use zones, buildings, dwellings, households, cells.

Cells follow the social-governance rule of docs/domain.md (a [practice] figure): a cell is a
contiguous group of whole blocks holding about 300–500 households. Blocks are grouped from
the north-west: a cell grows by its nearest neighbouring block until it holds
``CELL_HOUSEHOLDS[1]`` households or reaches the area cap of its community kind (where few
people live: industry, parks, farmland); it does not take a block that would push it past
``CELL_HOUSEHOLDS[2]``. Groups left with under ``CELL_SMALL`` households are merged into a
neighbour. Because cells are unions of blocks and buildings stay inside their block, no
building crosses a cell edge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import Polygon

from samples.grid import names
from samples.grid.admin import Area
from samples.grid.buildings import (
    SETBACK_M,
    ZONES,
    Dwellings,
    Footprints,
    block_footprints,
    expand_dwellings,
    occupancy,
)
from samples.grid.partition import Floats, spaced_points, voronoi_partition

Ints = NDArray[np.int64]

ZONE_MIX: Final = {
    "urban": (("estate", "oldtown", "commercial", "public", "industrial", "park"),
              (0.40, 0.25, 0.13, 0.08, 0.06, 0.08)),
    "towncentre": (("estate", "oldtown", "commercial", "public", "industrial", "park", "rural"),
                   (0.15, 0.30, 0.10, 0.07, 0.08, 0.05, 0.25)),
    "village": (("rural", "industrial", "public"), (0.95, 0.03, 0.02)),
}  # fmt: skip
BLOCK_SPACING_M: Final = {"urban": 250.0, "towncentre": 250.0, "village": 600.0}
HOUSEHOLD_SIZES: Final = {
    "urban": ((1, 2, 3, 4, 5, 6), (0.17, 0.30, 0.30, 0.13, 0.07, 0.03)),
    "towncentre": ((1, 2, 3, 4, 5, 6), (0.16, 0.31, 0.26, 0.14, 0.09, 0.04)),
    "village": ((1, 2, 3, 4, 5, 6), (0.15, 0.33, 0.20, 0.15, 0.11, 0.06)),
}
"""Persons per household [practice-like figures: small urban households, rural 3 generations]."""
CELL_HOUSEHOLDS: Final = (300, 400, 500)
CELL_SMALL: Final = 150
CELL_MAX_KM2: Final = {"urban": 0.35, "towncentre": 0.5, "village": 3.0}
HAMLETS_PER_KM2: Final = 0.8
HAMLET_RADIUS_M: Final = (130.0, 260.0)


@dataclass
class CommunityDetail:
    """Everything generated inside one detailed community (plane metres)."""

    area: Area
    blocks: list[Polygon]
    zones: list[str]
    roads: list[str]
    cell_of_block: Ints
    buildings: Footprints
    dwellings: Dwellings
    household_size: Ints
    """Persons of the household living in each dwelling; 0 when vacant."""

    @property
    def persons(self) -> int:
        return int(self.household_size.sum())

    @property
    def households(self) -> int:
        return int((self.household_size > 0).sum())


def detail_community(seed: int, area: Area, centre: tuple[float, float, float]) -> CommunityDetail:
    """Blocks, buildings, dwellings, household sizes and cells of ``area``, deterministic."""
    rng = np.random.default_rng([seed, int(area.code), 7])
    kind = area.kind
    spacing = BLOCK_SPACING_M[kind]
    seeds = spaced_points(rng, area.geom, lambda x, y: np.full(x.shape, spacing))
    blocks = [b for b in voronoi_partition(area.geom, seeds, relax=1) if not b.is_empty]
    labels, weights = ZONE_MIX[kind]
    zones = [labels[i] for i in rng.choice(len(labels), size=len(blocks), p=weights)]
    inner = shapely.buffer(np.array(blocks, dtype=object), -SETBACK_M[kind], join_style="mitre")
    field = _hamlet_field(rng, area) if kind == "village" else _uniform
    cx, cy, radius = centre
    parts = []
    for i, (block, zone) in enumerate(zip(blocks, zones, strict=True)):
        c = block.centroid
        keep = 0.55 if kind == "towncentre" else 1.0
        if kind == "urban":
            keep = 1.0 - 0.35 * min(1.0, float(np.hypot(c.x - cx, c.y - cy)) / radius)
        parts.append(
            block_footprints(
                rng, block, inner[i], ZONES[zone], keep, i, field if zone == "rural" else None
            )
        )
    buildings = Footprints.concat(parts)
    homes = expand_dwellings(buildings.kind, buildings.floors, buildings.units)
    lived_in = rng.random(len(homes.building)) < occupancy(buildings.kind)[homes.building]
    sizes, size_p = HOUSEHOLD_SIZES[kind]
    household_size = np.where(
        lived_in, np.asarray(sizes)[rng.choice(len(sizes), len(lived_in), p=size_p)], 0
    ).astype(np.int64)
    per_block = np.bincount(
        buildings.block[homes.building], weights=(household_size > 0), minlength=len(blocks)
    )
    cells = group_blocks(blocks, per_block, CELL_MAX_KM2[kind] * 1e6)
    roads = [names.road_name(rng) for _ in blocks]
    return CommunityDetail(area, blocks, zones, roads, cells, buildings, homes, household_size)


def _uniform(x: Floats, y: Floats) -> Floats:
    return np.full(x.shape, 0.6)


def _hamlet_field(rng: np.random.Generator, area: Area) -> Callable[[Floats, Floats], Floats]:
    """Chance that a rural plot is built: villages are clusters of houses (自然村)."""
    count = max(1, round(area.geom.area / 1e6 * HAMLETS_PER_KM2))
    inner = area.geom.buffer(-150)
    region = inner if not inner.is_empty else area.geom
    centres = spaced_points(rng, region, lambda x, y: np.full(x.shape, 700.0))[:count]
    radii = rng.uniform(*HAMLET_RADIUS_M, len(centres))

    def field(x: Floats, y: Floats) -> Floats:
        d2 = (x[:, None] - centres[None, :, 0]) ** 2 + (y[:, None] - centres[None, :, 1]) ** 2
        near = np.exp(-d2 / radii[None, :] ** 2).max(axis=1)
        return np.asarray(0.95 * near + 0.004)

    return field


def group_blocks(blocks: list[Polygon], households: Floats, max_area: float) -> Ints:
    """Cell index of each block (see the module docstring for the rule)."""
    n = len(blocks)
    if n == 1:
        return np.zeros(1, dtype=np.int64)
    geoms = np.array(blocks, dtype=object)
    neighbours = _adjacency(geoms)
    areas = shapely.area(geoms)
    xy = shapely.get_coordinates(shapely.centroid(geoms))
    low, target, high = CELL_HOUSEHOLDS
    group = np.full(n, -1, dtype=np.int64)
    count = 0
    for start in np.lexsort((xy[:, 0], -xy[:, 1])).tolist():
        if group[start] >= 0:
            continue
        group[start] = count
        held, size = float(households[start]), float(areas[start])
        frontier = {j for j in neighbours[start] if group[j] < 0}
        while frontier and held < target and size < max_area:
            best = min(frontier, key=lambda j: (np.hypot(*(xy[j] - xy[start])), j))
            if held >= low and held + households[best] > high:
                break
            group[best] = count
            held += float(households[best])
            size += float(areas[best])
            frontier.discard(best)
            frontier |= {j for j in neighbours[best] if group[j] < 0}
        count += 1
    return _merge_small(group, households, areas, neighbours, max_area)


def _adjacency(geoms: NDArray[np.object_]) -> list[set[int]]:
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    shared = shapely.length(
        shapely.intersection(shapely.boundary(geoms[left]), shapely.boundary(geoms[right]))
    )
    result: list[set[int]] = [set() for _ in range(len(geoms))]
    for i, j in zip(left[shared > 1.0].tolist(), right[shared > 1.0].tolist(), strict=True):
        result[i].add(j)
        result[j].add(i)
    return result


def _merge_small(
    group: Ints, households: Floats, areas: Floats, neighbours: list[set[int]], max_area: float
) -> Ints:
    """Merge groups with too few households into their smallest neighbouring group."""
    high = CELL_HOUSEHOLDS[2] + 100
    for _ in range(3):
        held = np.bincount(group, weights=households)
        size = np.bincount(group, weights=areas)
        changed = False
        for g in np.argsort(held, kind="stable").tolist():
            if held[g] >= CELL_SMALL or size[g] >= max_area / 3 or held[g] < 0:
                continue
            members = np.flatnonzero(group == g)
            around = sorted({int(group[j]) for i in members for j in neighbours[i]} - {g})
            options = [h for h in around if held[h] >= 0 and held[h] + held[g] <= high]
            if not options:
                continue
            into = min(options, key=lambda h: (held[h], h))
            group[members] = into
            held[into] += held[g]
            size[into] += size[g]
            held[g] = -1
            changed = True
        if not changed:
            break
    _, relabelled = np.unique(group, return_inverse=True)
    return relabelled.astype(np.int64)
