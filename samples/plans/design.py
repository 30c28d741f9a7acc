"""Control lines and deliberate disagreements between the plans.

On top of the conflict-free baseline of :mod:`samples.plans.landuse` this module draws
the three control lines (永久基本农田, 生态保护红线, 城镇开发边界) as sets of atoms and then
changes chosen atoms so that every conflict type of docs/plans.md occurs. Designed atoms are
whole convex Voronoi cells of ordinary size, so every designed patch is an atom or an atom
half: hundreds of metres wide, never near a sliver threshold.

Designs (each a set of atoms, all sets disjoint):

==========  =====================================================================
T1          城规 construction (R/M/B) on a 土规 farmland atom inside the boundary
T2          城规 farmland (E2/E9) on a 土规 construction atom
T3-land     土规 village or industry (0702/0601) on permanent basic farmland
T3-urban    城规 industry (M1/W1) on basic farmland (also T1 and T5)
T4-land     土规 quarry (0602) in the ecological red line
T4-urban    城规 resort (B3) in the red line (also T1 and T5)
T5          土规 and 城规 both industry (0601/M) outside the development boundary
T6          土规 housing/industry with 城规 industry/commerce/housing (different use)
==========  =====================================================================
"""

from __future__ import annotations

from typing import Final, NamedTuple

import numpy as np
import shapely
from numpy.typing import NDArray

from layers.errors import LayerError
from samples.plans.fabric import LAND, Fabric
from samples.plans.geography import RESERVOIRS, RIVERS
from samples.plans.landuse import (
    FARM,
    FOREST,
    HIGHWAY,
    LAKE,
    ORCHARD,
    PORT_AREA,
    TIDAL,
    URBAN,
    WATER,
    Codes,
    Strs,
    Zoning,
    pick,
)

Index = NDArray[np.intp]

UNKNOWN_CODES: Final = {"0130": "旱地", "9999": "待定", "0199": "其他耕地", "1013": "公路用地"}
"""Codes that are not GB/T 21010-2017 (a typo of 0103, placeholders, a made-up 10xx)."""


class Control(NamedTuple):
    """The three control lines as atom flags."""

    basic_farmland: NDArray[np.bool_]
    eco: NDArray[np.bool_]
    boundary: NDArray[np.bool_]


class Design(NamedTuple):
    """Codes and control lines after the deliberate changes, and where they were made."""

    codes: Codes
    control: Control
    designed: dict[str, Index]
    bowtie: Index
    spike: Index
    unknown: Index


def control_lines(rng: np.random.Generator, fabric: Fabric, z: Zoning, codes: Codes) -> Control:
    """Basic farmland on most farmland away from towns, the red line on hill cores, water
    sources and tidal flats, the development boundary around each town's planned area."""
    draw = rng.random(len(fabric.atoms))
    farm = (z.theme == FARM) & (z.town_d >= 1.15)
    bf = farm & np.where(z.covered, draw < 0.5, draw < 0.8)
    eco = (z.theme == FOREST) & (z.hill_d < 0.85)
    src = fabric.source
    lake, river = z.theme == LAKE, z.theme == WATER
    eco[lake] |= np.array([r.redline for r in RESERVOIRS])[src[lake]]
    eco[river] |= np.array([r.redline for r in RIVERS])[src[river]]
    eco |= (z.theme == TIDAL) & (draw < 0.7)
    through = np.isin(z.theme, [WATER, LAKE, HIGHWAY]) & (z.town_d < 1)
    boundary = np.isin(z.theme, [URBAN, PORT_AREA]) | through
    return Control(bf, eco, boundary)


def apply(
    rng: np.random.Generator,
    fabric: Fabric,
    z: Zoning,
    codes: Codes,
    control: Control,
    split: NDArray[np.bool_],
    per_design: int,
    defects: int,
) -> Design:
    """Choose the designed atoms and the atoms carrying import defects, and change them."""
    lu, ua, ub, cur = (a.copy() for a in codes)
    bf, eco, udb = (a.copy() for a in control)
    free = ordinary(fabric, z)
    designed: dict[str, Index] = {}

    def take(
        name: str, mask: NDArray[np.bool_], fallback: NDArray[np.bool_] | None = None
    ) -> Index:
        """Up to ``per_design`` free atoms of ``mask`` (topped up from ``fallback``)."""
        chosen = rng.permutation(np.flatnonzero(mask & free))[:per_design]
        if chosen.size < per_design and fallback is not None:
            more = np.flatnonzero(fallback & free & ~mask)
            chosen = np.concatenate([chosen, rng.permutation(more)[: per_design - chosen.size]])
        if chosen.size == 0:
            raise LayerError(f"no atom can carry conflict design {name}: the city is too small")
        chosen = np.sort(chosen)
        free[chosen] = False
        designed[name] = chosen
        return chosen

    def halves(idx: Index, letters: dict[str, int] | Strs) -> None:
        """Change one or both 城规 halves of each atom (never neither)."""
        mode = rng.integers(0, 3, idx.size)  # 0 both, 1 first only, 2 second only
        new = letters if isinstance(letters, np.ndarray) else pick(rng, letters, idx.size)
        ua[idx[mode != 2]] = new[mode != 2]
        ub[idx[mode != 1]] = new[mode != 1]

    fringe = z.covered & (z.town_d >= 1.0) & split & ~bf & ~eco
    near = fringe & (z.town_d < 1.4)
    open_land = np.isin(z.theme, [FARM, ORCHARD])
    d = take("T1", open_land & near, open_land & fringe)
    halves(d, {"R2": 40, "M1": 35, "B1": 25})
    udb[d] = True
    d = take("T2", (z.theme == URBAN) & np.isin(lu, ["0701", "0601", "0501", "0604"]) & split)
    halves(d, {"E2": 70, "E9": 30})
    d = take("T3-land", (z.theme == FARM) & ~z.covered & bf)
    lu[d] = pick(rng, {"0702": 60, "0601": 40}, d.size)
    d = take("T3-urban", (z.theme == FARM) & z.covered & split & bf)
    halves(d, {"M1": 60, "W1": 40})
    d = take("T4-urban", (z.theme == FOREST) & eco & z.covered & split)
    halves(d, {"B3": 1})
    d = take("T4-land", (z.theme == FOREST) & eco & ~z.covered, (z.theme == FOREST) & eco)
    lu[d] = "0602"
    cur[d[: d.size // 2]] = "1002"
    d = take("T5", open_land & near, open_land & fringe)
    lu[d] = "0601"
    ua[d] = pick(rng, {"M1": 50, "M2": 50}, d.size)
    ub[d] = ua[d]
    cur[d[: d.size // 2]] = "1001"
    d = take("T6", (z.theme == URBAN) & np.isin(lu, ["0701", "0601"]) & split)
    housing = lu[d] == "0701"
    other = np.where(housing, pick(rng, {"M1": 50, "B1": 50}, d.size), "R2")
    halves(d, np.asarray(other, dtype="<U4"))

    plain = np.flatnonzero(free & ~z.covered & ~bf & ~eco)
    plain = rng.permutation(plain)
    bowtie = np.sort(plain[:defects])
    spike = np.sort(plain[defects : defects + max(1, defects // 2)])
    unknown = np.sort(plain[defects + max(1, defects // 2) :][: max(3, defects)])
    keys = list(UNKNOWN_CODES)
    lu[unknown] = [keys[i % len(keys)] for i in range(unknown.size)]
    return Design(Codes(lu, ua, ub, cur), Control(bf, eco, udb), designed, bowtie, spike, unknown)


def ordinary(fabric: Fabric, z: Zoning) -> NDArray[np.bool_]:
    """Land atoms of typical size for their density and (nearly) convex: candidates for
    designs and defects (a bowtie of a convex atom stays inside it when repaired)."""
    area = shapely.area(fabric.atoms)
    ok = (fabric.kind == LAND) & (area > 0.999 * shapely.area(shapely.convex_hull(fabric.atoms)))
    for dense in (True, False):
        group = ok & (z.covered == dense)
        if group.any():
            median = float(np.median(area[group]))
            ok &= ~(z.covered == dense) | ((area > 0.4 * median) & (area < 2.5 * median))
    return np.asarray(ok, dtype=bool)
