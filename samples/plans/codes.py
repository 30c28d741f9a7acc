"""The three classification schemes the plan layers are written in, read from
``layers/data/classification``: GB/T 21010-2017 (土规), GB 50137-2011 (城规) and the 2023
用地用海分类 (现状, and the common language the others map to).

What counts as construction land in each scheme, and which 2023 first-level class a code's
use falls in, is what the designed conflicts are defined by (docs/domain.md); the manifest
repeats both as explicit code lists so the conflict engine can be checked against them.
"""

from __future__ import annotations

from functools import cache
from typing import Final, NamedTuple

from gis.io import read_table
from layers import settings

CONFIG: Final = settings.CONFIG / "classification"

GBT21010: Final = "GB/T 21010-2017"
GB50137: Final = "GB 50137-2011"
LANDUSE2023: Final = "用地用海分类 2023"

CONSTRUCTION_2023_CLASSES: Final = tuple(f"{c:02d}" for c in range(7, 16))
"""2023 first-level classes that are construction land (docs/domain.md) ..."""
CONSTRUCTION_2023_EXTRA: Final = ("0601", "0602")
"""... plus these second-level classes (农村道路, 设施农用地; 16 留白 only where planned)."""


class Code(NamedTuple):
    """One class of a scheme: name, level, and how conflict rules see it."""

    code: str
    name: str
    level: int
    construction: bool | None
    urban: bool
    code_2023: str


class Scheme(NamedTuple):
    """A classification scheme's classes by code."""

    name: str
    codes: dict[str, Code]

    def name_of(self, code: str) -> str:
        """The Chinese name of ``code``."""
        return self.codes[code].name

    def use_class(self, code: str) -> str:
        """The 2023 first-level class (two digits) the use of ``code`` falls in, or ''."""
        return self.codes[code].code_2023[:2]


def _flag(text: str) -> bool | None:
    return None if text == "" else text == "1"


@cache
def gbt21010() -> Scheme:
    """GB/T 21010-2017 土地利用现状分类; construction = 建设用地 of the 三大类 table."""
    rows = read_table(CONFIG / "gbt21010-2017.csv")
    codes = {
        r["code"]: Code(
            r["code"],
            r["name"],
            int(r["level"]),
            _flag(r["construction"]),
            bool(_flag(r["construction"])),
            r["code_2023"],
        )
        for r in rows
    }
    return Scheme(GBT21010, codes)


@cache
def gb50137() -> Scheme:
    """GB 50137-2011 城市用地分类; construction = H and R…G, urban construction = R…G."""
    rows = read_table(CONFIG / "gb50137-2011.csv")
    codes = {
        r["code"]: Code(
            r["code"],
            r["name"],
            int(r["level"]),
            _flag(r["construction"]),
            bool(_flag(r["urban_construction"])),
            r["code_2023"],
        )
        for r in rows
    }
    return Scheme(GB50137, codes)


@cache
def landuse2023() -> Scheme:
    """The 2023 用地用海分类 (layers/data/classification/landuse-2023.csv)."""
    codes = {}
    for r in read_table(CONFIG / "landuse-2023.csv"):
        code = r["code"]
        build = code[:2] in CONSTRUCTION_2023_CLASSES or code[:4] in CONSTRUCTION_2023_EXTRA
        codes[code] = Code(code, r["name"], int(r["level"]), build, build, code)
    return Scheme(LANDUSE2023, codes)
