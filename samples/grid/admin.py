"""Streets and communities of the synthetic city, with codes by the GB/T 2260 + 12-digit rules.

Counties come from :func:`samples.grid.outline.county_polygons`. Each county is split into
its streets (街道 001–099, 镇 100–199, 乡 200–399): 海州区 and 连云区 get their streets from
``grid/data/admin-divisions.csv`` around approximate real positions; the other counties get a
few streets and towns whose names and codes are invented (``source = "synthetic"``). Streets
are Voronoi cells of their seats clipped to the county; towns are larger than urban streets
because their seats are further apart.

Each street is split into communities the same way: 居委会 (001–199) in the urban core of a
county and around a town's seat, 村委会 (200–399) elsewhere, including the rural outskirts of
a 街道. Urban communities are ≈0.4–1 km², villages ≈4 km².

All geometry here is in the generator's metric plane (:mod:`samples.grid.plane`) and tiles
up to floating point only; :mod:`samples.grid.tiling` makes the shared edges exact.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import Final

import numpy as np
import shapely
from shapely.geometry import Point, Polygon
from shapely.ops import nearest_points

from gis.package_data import data_dir
from grid.codes import LIANYUNGANG_CODES
from samples.grid import names
from samples.grid.outline import county_polygons
from samples.grid.partition import (
    Floats,
    Spacing,
    row_major,
    spaced_points,
    voronoi_partition,
)
from samples.grid.plane import point_to_plane, to_plane

ADMIN_CSV: Final = data_dir("grid") / "admin-divisions.csv"

URBAN_CENTRES: Final = {
    "320706": (119.18, 34.60, 5500.0),
    "320703": (119.38, 34.735, 3000.0),
    "320707": (119.05, 34.88, 2500.0),
    "320722": (118.75, 34.55, 2500.0),
    "320723": (119.30, 34.32, 2500.0),
    "320724": (119.33, 34.09, 2500.0),
}
"""(lon, lat, radius m) of each county's urban core, where communities are 居委会."""

STREET_SEATS: Final = {
    "320706010": (119.175, 34.600), "320706006": (119.195, 34.588),
    "320706001": (119.160, 34.560), "320706011": (119.128, 34.575),
    "320706002": (119.180, 34.578), "320706003": (119.207, 34.604),
    "320706004": (119.196, 34.620), "320706005": (119.150, 34.603),
    "320706007": (119.222, 34.582), "320706008": (119.170, 34.622),
    "320706012": (119.110, 34.602), "320706013": (119.228, 34.622),
    "320706014": (119.270, 34.650), "320706015": (119.300, 34.600),
    "320706100": (119.110, 34.510), "320706101": (119.250, 34.450),
    "320706102": (119.040, 34.440), "320706103": (119.080, 34.700),
    "320703001": (119.380, 34.742), "320703002": (119.450, 34.752),
    "320703003": (119.420, 34.660), "320703004": (119.472, 34.762),
    "320703005": (119.330, 34.690), "320703006": (119.365, 34.712),
    "320703007": (119.400, 34.705), "320703008": (119.480, 34.722),
    "320703009": (119.505, 34.700), "320703010": (119.300, 34.765),
    "320703011": (119.560, 34.550),
}  # fmt: skip
"""Approximate seats of the streets of 海州区 and 连云区 (plausible, not surveyed)."""

EXTRA_STREETS: Final = {"320706103": "浦南镇"}
"""Streets added to the configured list to cover the county (invented codes)."""

SYNTHETIC_STREETS: Final = {
    "320707": (("城东街道", "城西街道"), ("柘汪镇", "石桥镇", "金山镇", "黑林镇", "厉庄镇",
               "海头镇", "塔山镇", "班庄镇", "城头镇", "墩尚镇"), ()),
    "320722": (("牛山街道", "石榴街道"), ("白塔埠镇", "黄川镇", "石梁河镇", "青湖镇", "温泉镇",
               "双店镇", "桃林镇", "洪庄镇", "安峰镇", "房山镇", "平明镇"),
               ("驼峰乡", "李埝乡", "山左口乡")),
    "320723": (("伊山街道", "侍庄街道"), ("杨集镇", "燕尾港镇", "同兴镇", "四队镇", "圩丰镇",
               "龙苴镇", "下车镇", "图河镇", "东王集镇"), ("小伊乡",)),
    "320724": (("新安街道", "硕湖街道"), ("堆沟港镇", "田楼镇", "北陈集镇", "张店镇", "三口镇",
               "孟兴庄镇", "汤沟镇", "百禄镇"), ("李集乡",)),
}  # fmt: skip
"""(街道, 镇, 乡) names of the other counties; their codes are assigned here (synthetic)."""

URBAN_SIZE_KM2: Final = (0.3, 0.7)
"""Urban community size at the centre and at the edge of the urban core."""
TOWN_CENTRE_KM2: Final = 0.8
TOWN_CENTRE_RADIUS_M: Final = 1300.0
VILLAGE_KM2: Final = 5.0
TOWN_SPACING_KM: Final = 9.0


@dataclass
class Area:
    """One administrative area in the metric plane. ``kind``: county; street/town/township;
    urban/towncentre/village for communities."""

    code: str
    name: str
    level: str
    parent: str | None
    source: str
    kind: str
    geom: Polygon
    seed: tuple[float, float]


@dataclass
class AdminPlan:
    counties: list[Area]
    streets: list[Area]
    communities: list[Area]
    centres: dict[str, tuple[float, float, float]]
    """County code → urban centre (x, y) in plane metres and radius."""


def _configured_streets() -> dict[str, list[tuple[str, str, str]]]:
    """County → [(9-digit code, name, source)] from grid/data/admin-divisions.csv."""
    result: dict[str, list[tuple[str, str, str]]] = {}
    with ADMIN_CSV.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["level"] != "street":
                continue
            source = "checked" if "[checked]" in row["source"] else "unverified"
            result.setdefault(row["parent"], []).append((row["code"], row["name"], source))
    for code, name in EXTRA_STREETS.items():
        result.setdefault(code[:6], []).append((code, name, "synthetic"))
    return result


def _kind_of(code9: str) -> str:
    number = int(code9[6:])
    return "street" if number < 100 else "town" if number < 200 else "township"


def _inside(region: Polygon, xy: tuple[float, float], margin: float = 800.0) -> tuple[float, float]:
    """``xy`` moved into ``region`` (at least ``margin`` from its edge) when it lies outside."""
    point = Point(xy)
    inner = region.buffer(-margin)
    if inner.contains(point):
        return xy
    target = nearest_points(inner, point)[0]
    return (target.x, target.y)


def _street_seeds(
    rng: np.random.Generator, county: str, region: Polygon, centre: tuple[float, float, float]
) -> list[tuple[str, str, str, tuple[float, float]]]:
    configured = _configured_streets().get(county)
    if configured:
        return [
            (code, name, source, _inside(region, point_to_plane(*STREET_SEATS[code])))
            for code, name, source in sorted(configured)
        ]
    streets, towns, townships = SYNTHETIC_STREETS[county]
    cx, cy, _ = centre
    result = []
    for i, name in enumerate(streets):
        angle = np.pi * i + rng.uniform(-0.4, 0.4)
        xy = (cx + 1500 * np.cos(angle), cy + 1500 * np.sin(angle))
        result.append((f"{county}{i + 1:03d}", name, "synthetic", _inside(region, xy)))
    fixed = np.array([seat for *_, seat in result] + [(cx, cy)])
    spacing = TOWN_SPACING_KM * 1000.0
    pts = spaced_points(rng, region.buffer(-1500), lambda x, y: np.full(x.shape, spacing), fixed)
    pts = pts[len(fixed) :]
    rural = [(n, 100 + i) for i, n in enumerate(towns)] + [
        (n, 200 + i) for i, n in enumerate(townships)
    ]
    # The furthest points first would leave gaps near the seat; take them in draw order.
    for (name, number), xy in zip(rural, pts.tolist(), strict=False):
        result.append((f"{county}{number:03d}", name, "synthetic", (xy[0], xy[1])))
    return result


def _community_spacing(
    kind: str, seat: tuple[float, float], centre: tuple[float, float, float]
) -> Spacing:
    cx, cy, radius = centre
    sx, sy = seat

    def spacing(x: Floats, y: Floats) -> Floats:
        d_centre = np.hypot(x - cx, y - cy)
        urban = URBAN_SIZE_KM2[0] + (URBAN_SIZE_KM2[1] - URBAN_SIZE_KM2[0]) * np.clip(
            d_centre / radius, 0, 1
        )
        size = np.where(d_centre < radius, urban, VILLAGE_KM2)
        if kind != "street":
            near_seat = np.hypot(x - sx, y - sy) < TOWN_CENTRE_RADIUS_M
            size = np.where(near_seat, TOWN_CENTRE_KM2, VILLAGE_KM2)
        return np.sqrt(size * 1e6 / 1.6)

    return spacing


def _communities(
    rng: np.random.Generator, street: Area, centre: tuple[float, float, float]
) -> list[Area]:
    spacing = _community_spacing(street.kind, street.seed, centre)
    fixed = None if street.kind == "street" else np.array([street.seed])
    seeds = spaced_points(rng, street.geom, spacing, fixed)
    pieces = voronoi_partition(street.geom, seeds, relax=2)
    cx, cy, radius = centre
    kinds = []
    for piece in pieces:
        c = piece.centroid if not piece.is_empty else Point(0, 0)
        if street.kind == "street":
            kinds.append("urban" if np.hypot(c.x - cx, c.y - cy) < radius else "village")
        else:
            near = np.hypot(c.x - street.seed[0], c.y - street.seed[1]) < TOWN_CENTRE_RADIUS_M
            kinds.append("towncentre" if near else "village")
    if street.kind != "street" and "towncentre" not in kinds:
        kinds[0] = "towncentre"  # the fixed seed at the town seat
    kept = [(p, k) for p, k in zip(pieces, kinds, strict=True) if not p.is_empty]
    result: list[Area] = []
    taken: set[str] = set()
    for group, first in (("urban towncentre", 1), ("village", 200)):
        mine = [(p, k) for p, k in kept if k in group.split()]
        if not mine:
            continue
        cent = shapely.get_coordinates(shapely.centroid(np.array([p for p, _ in mine])))
        order = row_major(cent[:, 0], cent[:, 1], 300.0)
        for n, i in enumerate(order.tolist()):
            piece, kind = mine[i]
            code = f"{street.code[:9]}{first + n:03d}"
            name = (
                names.village_name(rng, taken)
                if kind == "village"
                else names.community_name(rng, taken)
            )
            seed = (float(cent[i, 0]), float(cent[i, 1]))
            result.append(
                Area(code, name, "community", street.code, street.source, kind, piece, seed)
            )
    return result


def build_admin(seed: int) -> AdminPlan:
    """The whole administrative hierarchy of the city (raw plane geometry), deterministic."""
    counties: list[Area] = []
    streets: list[Area] = []
    communities: list[Area] = []
    centres: dict[str, tuple[float, float, float]] = {}
    for county, polygon in county_polygons().items():
        region = to_plane(polygon)
        lon, lat, radius = URBAN_CENTRES[county]
        centre = (*point_to_plane(lon, lat), radius)
        centres[county] = centre
        code = f"{county}000000"
        counties.append(
            Area(code, LIANYUNGANG_CODES[county], "county", None, "checked", "county", region,
                 centre[:2])
        )  # fmt: skip
        rng = np.random.default_rng([seed, int(county)])
        seeds = _street_seeds(rng, county, region, centre)
        xy = np.array([s for *_, s in seeds])
        for (code9, name, source, seat), piece in zip(
            seeds, voronoi_partition(region, xy), strict=True
        ):
            if piece.is_empty:
                continue
            street = Area(f"{code9}000", name, "street", code, source, _kind_of(code9), piece,
                          seat)  # fmt: skip
            streets.append(street)
            street_rng = np.random.default_rng([seed, int(code9)])
            communities.extend(_communities(street_rng, street, centre))
    return AdminPlan(counties, streets, communities, centres)
