"""The conflict types of docs/plans.md as rules over the synthetic city's layers.

Construction land: GB/T 21010-2017 建设用地 of the 三大类 table (05–09, 10 except 1006 农村道路,
1109 水工建筑用地, 1201 空闲地); GB 50137-2011 H and R/A/B/M/W/S/U/G, of which only R…G are
城市建设用地 ("urban construction"); the 2023 classes 07–15 plus 0601/0602 (docs/domain.md). The
use of a code is the 2023 first-level class it maps to (``code_2023`` in
layers/data/classification), so "different use" compares e.g. 0701 城镇住宅用地 → 07 with M1 → 10.

A numpy copy of the rule table, kept apart from ``layers/data/conflict_rules.yaml`` on purpose so
the expected figures do not share a mistake with :mod:`layers.rules`. It stays with the
generator, not under tests/, because the generator needs it: :mod:`samples.plans.manifest`
measures the designed conflicts with it and writes them, with the classification lists,
into the sample's manifest.json.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from samples.plans.codes import Scheme, gb50137, gbt21010
from samples.plans.conflicts_expected import ConflictType, Ints, LayerInput, Mask, Rule


def _codes(scheme: Scheme, construction: bool | None = None, urban: bool = False) -> list[str]:
    return sorted(
        c.code
        for c in scheme.codes.values()
        if (construction is None or c.construction is construction) and (not urban or c.urban)
    )


def _rows(codes: list[str]) -> Any:
    def rows(layer: LayerInput) -> Mask:
        assert layer.codes is not None
        return np.isin(layer.codes, codes)

    return rows


def _every(layer: LayerInput) -> Mask:
    return np.ones(len(layer.geoms), dtype=bool)


def _use_differs(a: LayerInput, b: LayerInput, pa: Ints, pb: Ints) -> Mask:
    assert a.codes is not None and b.codes is not None
    land, urban = gbt21010(), gb50137()
    ua = np.array([land.use_class(c) for c in a.codes[pa].tolist()], dtype="<U2")
    ub = np.array([urban.use_class(c) for c in b.codes[pb].tolist()], dtype="<U2")
    return np.asarray(ua != ub)


LANDUSE_BUILD: Final = _codes(gbt21010(), True)
LANDUSE_OPEN: Final = _codes(gbt21010(), False)
URBAN_BUILD: Final = _codes(gb50137(), True)
URBAN_OPEN: Final = _codes(gb50137(), False)
URBAN_CITY: Final = [c for c in _codes(gb50137(), True, urban=True) if c != "H11"]

TYPES: Final = (
    ConflictType(
        "urbanplan_build_on_landuse_nonbuild",
        "城规建设 ∩ 土规非建设",
        "major",
        "intersection",
        (Rule("urban_plan", "landuse_plan", _rows(URBAN_BUILD), _rows(LANDUSE_OPEN)),),
        "Intersection of an urban_plan feature whose YDDM is construction land (GB 50137: H…, "
        "R, A, B, M, W, S, U, G) with a landuse_plan feature whose DLBM is not construction "
        "land (GB/T 21010-2017 三大类 农用地/未利用地).",
    ),
    ConflictType(
        "landuse_build_on_urbanplan_nonbuild",
        "土规建设 ∩ 城规非建设",
        "major",
        "intersection",
        (Rule("landuse_plan", "urban_plan", _rows(LANDUSE_BUILD), _rows(URBAN_OPEN)),),
        "Intersection of a landuse_plan construction feature with an urban_plan feature whose "
        "YDDM is non-construction (E, E1…E9).",
    ),
    ConflictType(
        "build_on_basic_farmland",
        "建设占用永久基本农田",
        "hard",
        "intersection",
        (
            Rule("landuse_plan", "basic_farmland", _rows(LANDUSE_BUILD), _every),
            Rule("urban_plan", "basic_farmland", _rows(URBAN_BUILD), _every),
        ),
        "Intersection of a construction feature of either plan (landuse_plan DLBM or "
        "urban_plan YDDM construction) with any basic_farmland feature; counted per plan "
        "(by_pair) and summed (the designed patches of the two plans do not overlap).",
    ),
    ConflictType(
        "build_on_eco_redline",
        "建设占用生态保护红线",
        "hard",
        "intersection",
        (
            Rule("landuse_plan", "eco_redline", _rows(LANDUSE_BUILD), _every),
            Rule("urban_plan", "eco_redline", _rows(URBAN_BUILD), _every),
        ),
        "Intersection of a construction feature of either plan with any eco_redline feature; "
        "counted per plan and summed (the plans' designed patches do not overlap).",
    ),
    ConflictType(
        "urban_build_outside_dev_boundary",
        "城镇建设超出城镇开发边界",
        "major",
        "difference",
        (Rule("urban_plan", "dev_boundary", _rows(URBAN_CITY), _every),),
        "Each urban_plan feature of urban construction land (城市建设用地 R, A, B, M, W, S, U, "
        "G; not H, which is regional or village construction) minus the union of all "
        "dev_boundary polygons.",
    ),
    ConflictType(
        "build_use_mismatch",
        "两规均为建设但用途不一致",
        "minor",
        "intersection",
        (
            Rule(
                "landuse_plan", "urban_plan", _rows(LANDUSE_BUILD), _rows(URBAN_BUILD), _use_differs
            ),
        ),
        "Intersection of a landuse_plan construction feature with an urban_plan construction "
        "feature whose codes map to different 2023 first-level classes (use_class_2023).",
    ),
)
"""Every conflict type of docs/plans.md, in the order it lists them."""


def classification(landuse_codes: list[str], urban_codes: list[str]) -> dict[str, Any]:
    """The code tables the rules use, restricted to the codes that occur in the layers."""
    land, urban = gbt21010(), gb50137()
    return {
        "landuse_plan": {
            "scheme": land.name,
            "construction_rule": "GB/T 21010-2017 三大类 建设用地: 05, 06, 07, 08, 09, "
            "10 except 1006, 1109, 1201",
            "codes": {
                c: {
                    "name": land.name_of(c),
                    "construction": bool(land.codes[c].construction),
                    "use_class_2023": land.use_class(c),
                }
                for c in landuse_codes
            },
        },
        "urban_plan": {
            "scheme": urban.name,
            "construction_rule": "GB 50137-2011: H (城乡建设用地 outside the city) and R, A, B, "
            "M, W, S, U, G; urban construction (城市建设用地) is R…G only; E is non-construction",
            "codes": {
                c: {
                    "name": urban.name_of(c),
                    "construction": bool(urban.codes[c].construction),
                    "urban_construction": urban.codes[c].urban,
                    "use_class_2023": urban.use_class(c),
                }
                for c in urban_codes
            },
        },
        "current_use": {
            "scheme": "用地用海分类 2023",
            "construction_rule": "2023 first-level classes 07–15, plus 0601 and 0602 "
            "(docs/domain.md); 16 留白用地 only where planned",
        },
        "config": "layers/data/classification/gbt21010-2017.csv, gb50137-2011.csv, "
        "landuse-2023.csv",
    }
