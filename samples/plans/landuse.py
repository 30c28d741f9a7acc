"""What each atom is (its theme) and its consistent codes in the three schemes.

The baseline is conflict-free: the land-use plan (土规, GB/T 21010), the urban plan (城规,
GB 50137, two halves per atom inside its coverage) and current use (现状, 2023 codes) agree
on construction versus non-construction and on the 2023 first-level class of every use.
:mod:`samples.plans.design` then breaks that agreement on purpose, atom by atom.
"""

from __future__ import annotations

from typing import Final, NamedTuple

import numpy as np
import shapely
from numpy.typing import NDArray

from gis.crs import GK_CM120_SRID, STORAGE_SRID
from gis.geometry import transform_geometry
from samples.grid.outline import county_polygons
from samples.plans.codes import gbt21010
from samples.plans.fabric import LAND, RESERVOIR, RIVER, ROAD, Fabric
from samples.plans.geography import (
    COVERAGE_FACTOR,
    HILLS,
    PORT,
    RESERVOIRS,
    SALT_PANS,
    TOWNS,
    coast_metres,
    ellipse_distance,
)
from samples.plans.terrain import fbm

Strs = NDArray[np.str_]

URBAN, PORT_AREA, FARM, VILLAGE, ORCHARD, FOREST = 1, 2, 3, 4, 5, 6
WATER, LAKE, POND, TIDAL, SALT, HIGHWAY = 7, 8, 9, 10, 11, 12
THEMES: Final = {
    URBAN: "城镇",
    PORT_AREA: "港口",
    FARM: "耕地",
    VILLAGE: "村庄",
    ORCHARD: "园地",
    FOREST: "林地",
    WATER: "河流",
    LAKE: "水库湖泊",
    POND: "坑塘养殖",
    TIDAL: "沿海滩涂",
    SALT: "盐田",
    HIGHWAY: "高速公路",
}

_URBAN_CORE = {
    "0701": 35,
    "0501": 15,
    "0505": 10,
    "0801": 10,
    "0803": 8,
    "0805": 5,
    "0807": 4,
    "0810": 10,
    "1005": 3,
}
_URBAN_OUTER = {
    "0701": 72,
    "0501": 5,
    "0803": 6,
    "0805": 2,
    "0808": 1,
    "0809": 2,
    "0810": 8,
    "1004": 2,
    "1005": 2,
}
_WORKS = {"0601": 72, "0604": 22, "0809": 6}
_INDUSTRIAL = {"0601": 45, "0604": 20, "0701": 8, "1005": 5, "0809": 7, "0810": 10, "0501": 5}
_FARM_SOUTH = {"0101": 60, "0103": 35, "0102": 5}
_FARM_NORTH = {"0103": 60, "0102": 25, "0101": 15}
_FOREST = {"0301": 65, "0305": 25, "0307": 10}

LETTERS: Final = {
    "0701": {"R2": 85, "R1": 15},
    "0702": {"H14": 1},
    "0501": {"B1": 1},
    "0505": {"B2": 1},
    "0506": {"B3": 1},
    "0601": {"M1": 50, "M2": 50},
    "0602": {"H5": 1},
    "0603": {"H5": 1},
    "0604": {"W1": 60, "W2": 40},
    "0801": {"A1": 1},
    "0803": {"A3": 1},
    "0805": {"A5": 1},
    "0807": {"A2": 1},
    "0808": {"A4": 1},
    "0809": {"U1": 40, "U2": 40, "U9": 20},
    "0810": {"G1": 70, "G2": 30},
    "1003": {"H22": 1},
    "1004": {"S1": 1},
    "1005": {"S4": 1},
    "1008": {"H23": 1},
    "1101": {"E11": 1},
    "1102": {"E11": 1},
    "1103": {"E12": 1},
    "1104": {"E13": 1},
    "1105": {"E11": 1},
}
"""城规 letters consistent with each 土规 code (same construction status and 2023 class);
farmland, orchards and forest are E2."""

_CURRENT = {
    "0809": {"1301": 40, "1303": 40, "1309": 20},
    "0305": {"0303": 1},
    "0307": {"0304": 1},
    "0101": {"0101": 90, "0602": 5, "1704": 5},
    "0103": {"0103": 88, "0201": 7, "0602": 5},
    "0102": {"0102": 1},
    "1103": {"1703": 1},
    "1102": {"1702": 1},
}
"""现状 codes where the 21010 → 2023 table has no single answer or 现状 differs from plan."""


class Zoning(NamedTuple):
    """Per-atom geography: theme, nearest town (and normalised distance to its planned
    ellipse), hill, county code, and whether the urban master plan covers it."""

    theme: NDArray[np.int8]
    town: NDArray[np.int16]
    town_d: NDArray[np.float64]
    hill: NDArray[np.int16]
    hill_d: NDArray[np.float64]
    county: Strs
    covered: NDArray[np.bool_]
    built: NDArray[np.bool_]
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    lat: NDArray[np.float64]


class Codes(NamedTuple):
    """Baseline codes: 土规 per atom, 城规 per half (empty outside coverage), 现状 per atom."""

    landuse: Strs
    urban_a: Strs
    urban_b: Strs
    current: Strs


def zone(rng: np.random.Generator, fabric: Fabric) -> Zoning:
    """Assign every atom a theme from where it lies (towns, hills, coast, water)."""
    n = len(fabric.atoms)
    rep = shapely.point_on_surface(fabric.atoms)
    x, y = shapely.get_x(rep), shapely.get_y(rep)
    wobble = rng.uniform(-1.0, 1.0, n)
    town_dist = np.stack([ellipse_distance(t.shape, x, y) for t in TOWNS])
    town = np.argmin(town_dist, axis=0).astype(np.int16)
    town_d = town_dist.min(axis=0) * (1 + 0.05 * wobble)
    hill_dist = np.stack([ellipse_distance(h.shape, x, y) for h in HILLS])
    hill = np.argmin(hill_dist, axis=0).astype(np.int16)
    hill_d = hill_dist.min(axis=0) * (1 + 0.15 * wobble)
    coast = shapely.distance(coast_metres(), rep)
    lat = shapely.get_y(transform_geometry(rep, GK_CM120_SRID, STORAGE_SRID))
    north = lat > 34.75
    draw = rng.random(n)

    theme = np.full(n, FARM, dtype=np.int8)
    theme[draw < 0.07] = VILLAGE
    theme[(draw >= 0.07) & (draw < 0.10)] = POND
    theme[(draw >= 0.10) & (draw < 0.13)] = ORCHARD
    theme[(hill_d < 1.7) & (draw < 0.35) & (draw >= 0.13)] = ORCHARD
    theme[(coast < 4000) & north & (draw < 0.6)] = POND
    theme[coast < 1200] = TIDAL
    theme[(coast < 6000) & (ellipse_distance(SALT_PANS, x, y) < 1)] = SALT
    theme[town_d < 1] = URBAN
    theme[(town_d < 1) & (ellipse_distance(PORT, x, y) < 1)] = PORT_AREA
    theme[hill_d < 1] = FOREST
    theme[fabric.kind == RIVER] = WATER
    theme[fabric.kind == RESERVOIR] = LAKE
    theme[fabric.kind == ROAD] = HIGHWAY

    county = np.full(n, "", dtype="<U6")
    for code, polygon in county_polygons().items():
        metric = transform_geometry(polygon, STORAGE_SRID, GK_CM120_SRID)
        county[shapely.contains_xy(metric, x, y)] = code
    nearest = np.argmin(
        np.stack(
            [
                shapely.distance(transform_geometry(p, STORAGE_SRID, GK_CM120_SRID), rep)
                for p in county_polygons().values()
            ]
        ),
        axis=0,
    )
    county[county == ""] = np.array(list(county_polygons()))[nearest[county == ""]]

    covered = town_d < COVERAGE_FACTOR
    share = np.array([t.built for t in TOWNS])[town]
    built = (town_d < share) & (fabric.kind == LAND)
    return Zoning(theme, town, town_d, hill, hill_d, county, covered, built, x, y, lat)


def pick(rng: np.random.Generator, weights: dict[str, int], n: int) -> Strs:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return np.asarray(np.array(keys)[rng.choice(len(keys), size=n, p=p / p.sum())], dtype="<U4")


def baseline(rng: np.random.Generator, fabric: Fabric, z: Zoning) -> Codes:
    """Consistent codes for every atom in the three schemes."""
    n = len(fabric.atoms)
    lat_south = z.lat < 34.45
    lu = np.full(n, "0103", dtype="<U4")
    industrial = np.array([t.industrial for t in TOWNS])[z.town]
    urban = z.theme == URBAN
    core = urban & (z.town_d < 0.35) & ~industrial
    # industrial estates come in clusters away from the centre, as in real towns
    estates = fbm(z.x, z.y, 3000.0, int(rng.integers(1 << 30)), 3) > 0.6
    works = urban & ~core & ~industrial & estates & (z.town_d > 0.4)
    outer = urban & ~core & ~industrial & ~works
    lu[core] = pick(rng, _URBAN_CORE, int(core.sum()))
    lu[works] = pick(rng, _WORKS, int(works.sum()))
    lu[outer] = pick(rng, _URBAN_OUTER, int(outer.sum()))
    lu[urban & industrial] = pick(rng, _INDUSTRIAL, int((urban & industrial).sum()))
    farm = z.theme == FARM
    lu[farm & lat_south] = pick(rng, _FARM_SOUTH, int((farm & lat_south).sum()))
    lu[farm & ~lat_south] = pick(rng, _FARM_NORTH, int((farm & ~lat_south).sum()))
    forest = z.theme == FOREST
    lu[forest] = pick(rng, _FOREST, int(forest.sum()))
    tea = (z.theme == ORCHARD) & (z.hill == 0)
    lu[z.theme == ORCHARD] = "0201"
    lu[tea] = "0202"
    fixed = {
        PORT_AREA: "1008",
        VILLAGE: "0702",
        WATER: "1101",
        POND: "1104",
        TIDAL: "1105",
        SALT: "0603",
        HIGHWAY: "1003",
        LAKE: "1103",
    }
    for theme, code in fixed.items():
        lu[z.theme == theme] = code
    lakes = np.flatnonzero((z.theme == LAKE) & (fabric.source >= 0))
    lu[lakes[[RESERVOIRS[s].name.endswith("湖") for s in fabric.source[lakes]]]] = "1102"

    urban_a = np.full(n, "", dtype="<U4")
    urban_b = np.full(n, "", dtype="<U4")
    for half in (urban_a, urban_b):
        for code in np.unique(lu[z.covered]).tolist():
            sel = z.covered & (lu == code)
            half[sel] = pick(rng, LETTERS.get(code, {"E2": 1}), int(sel.sum()))
        heavy = z.covered & industrial & (lu == "0601")
        half[heavy] = pick(rng, {"M2": 50, "M3": 50}, int(heavy.sum()))

    return Codes(lu, urban_a, urban_b, current(rng, lu, z))


def current(rng: np.random.Generator, landuse: Strs, z: Zoning) -> Strs:
    """现状 (2023 codes): the plan where it is built or natural, farmland where not yet built."""
    table = gbt21010()
    out = np.array([table.codes[c].code_2023 for c in landuse.tolist()], dtype="<U6")
    for code, options in _CURRENT.items():
        sel = landuse == code
        out[sel] = pick(rng, options, int(sel.sum()))
    unbuilt = ((z.theme == URBAN) | (z.theme == PORT_AREA)) & ~z.built
    out[unbuilt] = pick(rng, {"0103": 60, "0101": 25, "2301": 10, "0703": 5}, int(unbuilt.sum()))
    out[(z.theme == PORT_AREA) & ~z.built] = "0505"
    return out
