"""Attribute rows of the plan layers, with the Chinese values real deliveries carry."""

from __future__ import annotations

from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from grid.codes import LIANYUNGANG_CODES
from samples.plans.codes import gb50137, gbt21010, landuse2023
from samples.plans.design import UNKNOWN_CODES
from samples.plans.geography import HILLS, RESERVOIRS, RIVERS, TOWNS
from samples.plans.landuse import FOREST, LAKE, TIDAL, WATER

Rows = list[dict[str, Any]]
Strs = NDArray[np.str_]
Floats = NDArray[np.float64]
Ints = NDArray[np.integer[Any]]

REDLINE_APPROVAL: Final = "苏政发〔2018〕74号"
"""江苏省国家级生态保护红线规划 (the approving document the red-line polygons cite)."""

_PLAN_NAMES: Final = {
    "320706": "连云港市城市总体规划（2015—2030年）",
    "320703": "连云港市城市总体规划（2015—2030年）",
    "320707": "赣榆区城市总体规划（2015—2030年）",
    "320722": "东海县城市总体规划（2015—2030年）",
    "320723": "灌云县城市总体规划（2015—2030年）",
    "320724": "灌南县城市总体规划（2015—2030年）",
}


def _county(code: str) -> dict[str, str]:
    return {"XZQDM": code, "XZQMC": LIANYUNGANG_CODES[code]}


def landuse(codes: Strs, county: Strs, area: Floats, noted: NDArray[np.bool_]) -> Rows:
    """土规 规划地类 rows (GB/T 21010-2017); unknown codes keep a plausible name."""
    scheme = gbt21010()
    rows = []
    for i, code in enumerate(codes.tolist()):
        name = scheme.name_of(code) if code in scheme.codes else UNKNOWN_CODES[code]
        rows.append(
            {
                "BSM": f"320700{i + 1:08d}",
                **_county(str(county[i])),
                "DLBM": code,
                "DLMC": name,
                "GHMJ": round(float(area[i]), 2),
                "GHQX": "2006-2020",
                "备注": "调整完善" if noted[i] else None,
            }
        )
    return rows


def urban(letters: Strs, county: Strs, area: Floats) -> Rows:
    """城规 城乡用地 rows (GB 50137-2011 letters)."""
    scheme = gb50137()
    return [
        {
            "BSM": f"CG{i + 1:08d}",
            "YDDM": code,
            "YDMC": scheme.name_of(code),
            **_county(str(county[i])),
            "GHMC": _PLAN_NAMES[str(county[i])],
            "YDMJ": round(float(area[i]), 2),
            "GHQX": "2015-2030",
        }
        for i, code in enumerate(letters.tolist())
    ]


def redline(theme: NDArray[np.int8], hill: Ints, source: Ints, county: Strs, area: Floats) -> Rows:
    """生态保护红线 rows: one per red-line polygon, named after what it protects."""
    rows = []
    for i, t in enumerate(theme.tolist()):
        if t == FOREST:
            h = HILLS[int(hill[i])]
            name, kind = f"{h.name}{h.redline}生态保护红线", h.redline
        elif t == LAKE:
            name, kind = f"{RESERVOIRS[int(source[i])].name}饮用水水源保护区", "饮用水水源保护"
        elif t == WATER:
            name, kind = f"{RIVERS[int(source[i])].name}清水通道维护区", "清水通道维护"
        elif t == TIDAL:
            name, kind = "海州湾海岸带生态保护红线", "海岸生态稳定"
        else:
            name, kind = "生态保护红线", "其他"
        rows.append(
            {
                "HXBH": f"3207-HX-{i + 1:06d}",
                "HXMC": name,
                "HXLX": kind,
                **_county(str(county[i])),
                "MJ": round(float(area[i]), 2),
                "PZWH": REDLINE_APPROVAL,
            }
        )
    return rows


def farmland(codes: Strs, county: Strs, area: Floats, grade: Ints) -> Rows:
    """永久基本农田 图斑 rows: farmland class (三调 codes), quality grade, area."""
    scheme = landuse2023()
    return [
        {
            "BSM": f"3207JB{i + 1:08d}",
            "TBBH": f"{i + 1:06d}",
            "DLBM": code,
            "DLMC": scheme.name_of(code),
            **_county(str(county[i])),
            "ZLDJ": int(grade[i]),
            "JBNTMJ": round(float(area[i]), 2),
            "HDND": 2022,
        }
        for i, code in enumerate(codes.tolist())
    ]


def boundary(towns: Ints, area: Floats) -> Rows:
    """城镇开发边界 rows: one (multi)polygon per town."""
    return [
        {
            "BJBH": f"{TOWNS[t].county}-CZKFBJ-{k + 1:02d}",
            "BJMC": f"{TOWNS[t].name}城镇开发边界",
            **_county(TOWNS[t].county),
            "MJ": round(float(area[k]), 2),
            "GHQX": "2021-2035",
        }
        for k, t in enumerate(towns.tolist())
    ]


def current(codes: Strs, county: Strs, area: Floats, state: NDArray[np.bool_]) -> Rows:
    """现状 地类图斑 rows (2023 codes) with ownership: state land in towns, collective else."""
    scheme = landuse2023()
    return [
        {
            "BSM": f"3207XZ{i + 1:08d}",
            "TBBH": f"{i + 1:06d}",
            "DLBM": code,
            "DLMC": scheme.name_of(code),
            "QSXZ": "20" if state[i] else "30",
            "QSXZMC": "国有土地所有权" if state[i] else "集体土地所有权",
            **_county(str(county[i])),
            "TBMJ": round(float(area[i]), 2),
            "SJNF": 2023,
        }
        for i, code in enumerate(codes.tolist())
    ]
