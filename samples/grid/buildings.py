"""Building footprints, floors and dwellings of the synthetic city, generated block by block.

A block (街坊) has one land-use *zone* and one orientation. It is covered by a rotated
lattice of plots; each kept plot holds one building of a kind drawn from the zone's mix,
smaller than its plot, so footprints never overlap, and only footprints lying inside the
block shrunk by a street setback are kept, so they never cross a block edge (and therefore
never a cell edge: cells are unions of blocks). Residential slabs face south (long axis
east–west, ±12°), as Chinese housing does. All sizes are metres (metric plane).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import Polygon

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


class Kind(NamedTuple):
    """A kind of building: its stored ``use``, footprint ranges (m) and dwellings."""

    label: str
    use: str
    length: tuple[float, float]
    width: tuple[float, float]
    floors: tuple[tuple[int, ...], tuple[float, ...]]
    rooms_per_floor: int
    first_home_floor: int
    """0: no dwellings; -1: the whole building is one dwelling (a rural house)."""
    occupancy: float


KINDS: Final = (
    Kind("slab", "residential", (40, 80), (12, 15), ((5, 6, 7, 11, 18), (0.15, 0.45, 0.15, 0.15, 0.10)), 2, 1, 0.9),  # noqa: E501
    Kind("tower", "residential", (25, 38), (18, 26), (tuple(range(18, 34)), (1 / 16,) * 16), 4, 1, 0.85),  # noqa: E501
    Kind("ancillary", "other", (8, 30), (6, 10), ((1, 2), (0.85, 0.15)), 0, 0, 0.0),
    Kind("old house", "residential", (9, 12), (8, 11), ((1, 2, 3, 4), (0.3, 0.35, 0.25, 0.1)), 1, 1, 0.88),  # noqa: E501
    Kind("shed", "other", (4, 7), (3, 6), ((1,), (1.0,)), 0, 0, 0.0),
    Kind("commercial", "commercial", (20, 60), (15, 45), ((1, 2, 3, 4, 6, 8), (0.15, 0.25, 0.2, 0.2, 0.1, 0.1)), 0, 0, 0.0),  # noqa: E501
    Kind("mixed", "mixed", (30, 60), (14, 20), ((7, 9, 11, 14, 18), (0.25, 0.25, 0.2, 0.15, 0.15)), 4, 3, 0.8),  # noqa: E501
    Kind("public", "public", (30, 80), (15, 50), ((2, 3, 4, 5, 6), (0.2, 0.3, 0.25, 0.15, 0.1)), 0, 0, 0.0),  # noqa: E501
    Kind("industrial", "industrial", (50, 120), (25, 70), ((1, 2), (0.75, 0.25)), 0, 0, 0.0),
    Kind("rural house", "residential", (10, 14), (8, 11), ((1, 2, 3), (0.45, 0.45, 0.1)), 1, -1, 0.9),  # noqa: E501
)  # fmt: skip
"""Building kinds by index; slabs are 12–15 m deep and 40–80 m long."""

SLAB, TOWER, ANCILLARY, OLD_HOUSE, SHED = 0, 1, 2, 3, 4
COMMERCIAL, MIXED, PUBLIC, INDUSTRIAL, RURAL_HOUSE = 5, 6, 7, 8, 9


class Zone(NamedTuple):
    """A land-use zone: plot size (along, across the orientation), kinds, density."""

    label: str
    plot: tuple[float, float]
    kinds: tuple[int, ...]
    weights: tuple[float, ...]
    keep: float
    turn: float
    """Largest deviation of the orientation from east–west, degrees."""


ZONES: Final = {
    "estate": Zone("estate", (92, 42), (SLAB, TOWER, ANCILLARY), (0.80, 0.08, 0.12), 0.8, 12),
    "oldtown": Zone("oldtown", (14, 17), (OLD_HOUSE, SHED), (0.85, 0.15), 0.75, 20),
    "commercial": Zone("commercial", (70, 55), (COMMERCIAL, MIXED, ANCILLARY), (0.6, 0.25, 0.15), 0.7, 45),  # noqa: E501
    "public": Zone("public", (95, 60), (PUBLIC, ANCILLARY), (0.8, 0.2), 0.55, 30),
    "industrial": Zone("industrial", (135, 85), (INDUSTRIAL, ANCILLARY), (0.85, 0.15), 0.65, 45),
    "park": Zone("park", (40, 30), (ANCILLARY,), (1.0,), 0.03, 45),
    "rural": Zone("rural", (18, 22), (RURAL_HOUSE, SHED), (0.72, 0.28), 0.9, 15),
}  # fmt: skip
"""Zones; a rural zone's ``keep`` is scaled by the hamlet field (villages are clustered)."""

SETBACK_M: Final = {"urban": 6.0, "towncentre": 5.0, "village": 3.0}
"""Distance kept from a block edge (half a street)."""
GAP_M: Final = 4.0
"""Least space between a footprint and its plot's edge, on each side."""


@dataclass
class Footprints:
    """Buildings of one block (or several, concatenated): arrays of equal length."""

    geom: NDArray[np.object_]
    kind: Ints
    floors: Ints
    units: Ints
    block: Ints

    @classmethod
    def empty(cls) -> Footprints:
        e = np.zeros(0, dtype=np.int64)
        return cls(np.empty(0, dtype=object), e, e.copy(), e.copy(), e.copy())

    def __len__(self) -> int:
        return len(self.kind)

    @staticmethod
    def concat(parts: list[Footprints]) -> Footprints:
        if not parts:
            return Footprints.empty()
        return Footprints(
            np.concatenate([p.geom for p in parts]),
            np.concatenate([p.kind for p in parts]),
            np.concatenate([p.floors for p in parts]),
            np.concatenate([p.units for p in parts]),
            np.concatenate([p.block for p in parts]),
        )

    def take(self, mask: NDArray[np.bool_] | Ints) -> Footprints:
        return Footprints(
            self.geom[mask], self.kind[mask], self.floors[mask], self.units[mask], self.block[mask]
        )


def rectangles(cx: Floats, cy: Floats, length: Floats, width: Floats, angle: Floats) -> Any:
    """Rotated rectangles (``length`` along ``angle`` radians from east) as polygons."""
    c, s = np.cos(angle), np.sin(angle)
    hl, hw = length / 2, width / 2
    du = np.stack([-hl, hl, hl, -hl, -hl], axis=1)
    dv = np.stack([-hw, -hw, hw, hw, -hw], axis=1)
    x = cx[:, None] + du * c[:, None] - dv * s[:, None]
    y = cy[:, None] + du * s[:, None] + dv * c[:, None]
    return shapely.polygons(np.stack([x, y], axis=2))


def block_footprints(
    rng: np.random.Generator,
    block: Polygon,
    inner: Polygon,
    zone: Zone,
    keep: Floats | float,
    block_index: int,
    keep_field: Callable[[Floats, Floats], Floats] | None = None,
) -> Footprints:
    """The buildings of one block: plots on a rotated lattice, one footprint per kept plot.

    ``inner`` is the block shrunk by the setback; ``keep_field`` (rural zones) gives the
    probability that a plot at (x, y) is built, times ``zone.keep``.
    """
    if inner.is_empty or zone.keep <= 0:
        return Footprints.empty()
    angle = np.deg2rad(rng.uniform(-zone.turn, zone.turn))
    pu, pv = zone.plot
    centre = block.centroid
    minx, miny, maxx, maxy = block.bounds
    radius = float(np.hypot(maxx - minx, maxy - miny)) / 2 + max(pu, pv)
    us = np.arange(-radius, radius, pu) + rng.uniform(0, pu)
    vs = np.arange(-radius, radius, pv) + rng.uniform(0, pv)
    uu, vv = (a.ravel() for a in np.meshgrid(us, vs))
    c, s = np.cos(angle), np.sin(angle)
    px = centre.x + uu * c - vv * s
    py = centre.y + uu * s + vv * c
    shapely.prepare(inner)
    inside = shapely.contains_xy(inner, px, py)
    px, py = px[inside], py[inside]
    n = len(px)
    if n == 0:
        return Footprints.empty()
    p_keep = np.full(n, zone.keep) * keep
    if keep_field is not None:
        p_keep = p_keep * keep_field(px, py)
    built = rng.random(n) < p_keep
    px, py = px[built], py[built]
    n = len(px)
    kinds = np.asarray(zone.kinds)[rng.choice(len(zone.kinds), size=n, p=zone.weights)]
    length = np.empty(n)
    width = np.empty(n)
    floors = np.empty(n, dtype=np.int64)
    for k in np.unique(kinds).tolist():
        mask = kinds == k
        kind = KINDS[k]
        m = int(mask.sum())
        length[mask] = rng.uniform(*kind.length, m)
        width[mask] = rng.uniform(*kind.width, m)
        values, weights = kind.floors
        floors[mask] = np.asarray(values)[rng.choice(len(values), size=m, p=weights)]
    length = np.minimum(length, pu - 2 * GAP_M)
    width = np.minimum(width, pv - 2 * GAP_M)
    slack_u = (pu - 2 * GAP_M - length) / 2
    slack_v = (pv - 2 * GAP_M - width) / 2
    du = rng.uniform(-1, 1, n) * slack_u
    dv = rng.uniform(-1, 1, n) * slack_v
    cx = px + du * c - dv * s
    cy = py + du * s + dv * c
    geoms = rectangles(cx, cy, length, width, np.full(n, angle))
    ok = shapely.contains_properly(inner, geoms)
    units = np.where(
        kinds == SLAB,
        np.clip(np.round(length / 20), 2, 4),
        np.where((kinds == TOWER) | (kinds == MIXED), np.where(length > 32, 2, 1), 1),
    ).astype(np.int64)
    return Footprints(
        geoms[ok], kinds[ok], floors[ok], units[ok], np.full(int(ok.sum()), block_index)
    )


def dwellings(kind: Ints, floors: Ints, units: Ints) -> Ints:
    """Number of dwellings (户室) of each building."""
    table_rooms = np.array([k.rooms_per_floor for k in KINDS])
    table_first = np.array([k.first_home_floor for k in KINDS])
    first = table_first[kind]
    rooms = table_rooms[kind]
    home_floors = np.where(first > 0, np.maximum(floors - first + 1, 0), 0)
    count = units * home_floors * rooms
    return np.where(first == -1, 1, count).astype(np.int64)


def occupancy(kind: Ints) -> Floats:
    """Share of a building's dwellings that a household lives in."""
    return np.array([k.occupancy for k in KINDS])[kind]


def uses(kind: Ints) -> NDArray[np.str_]:
    """The stored ``use`` of each building."""
    return np.array([k.use for k in KINDS])[kind]


class Dwellings(NamedTuple):
    """Dwellings (户室) of a set of buildings, one row each: owner index, unit, floor, room."""

    building: Ints
    unit: Ints
    floor: Ints
    room: Ints


def expand_dwellings(kind: Ints, floors: Ints, units: Ints) -> Dwellings:
    """Every dwelling: floors from the kind's first home floor up, units, rooms per floor.

    Rooms are numbered floor·100 + n (``301``, ``3304``); a rural house is one dwelling
    ``1/1/101``.
    """
    count = dwellings(kind, floors, units)
    owner = np.repeat(np.arange(len(kind)), count)
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    i = np.arange(int(count.sum())) - start[owner]
    rooms = np.array([max(k.rooms_per_floor, 1) for k in KINDS])[kind][owner]
    first = np.array([max(k.first_home_floor, 1) for k in KINDS])[kind][owner]
    per_floor = rooms * units[owner]
    room = i % rooms + 1
    unit = (i // rooms) % units[owner] + 1
    floor = first + i // per_floor
    return Dwellings(owner, unit.astype(np.int64), floor.astype(np.int64), floor * 100 + room)
