"""Display colours of the 2023 用地用海分类 classes, kept as data in
``config/styles/landuse-2023-colours.csv`` (the file's header says where each comes from).

Every first-level class has a colour; a code without its own row takes its parent's (six
digits → four → two), so any 2023 code of the classification has a colour. The file is
checked against the classification (layers/data/classification/landuse-2023.csv): a row for
a code the classification lacks, a missing first-level class, a bad channel or a duplicate
is an error when the file is read.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from gis.io import read_table
from layers.settings import CONFIG

__all__ = ["COLOURS_FILE", "LanduseColour", "LanduseColours", "load_colours"]

STYLES_DIR: Final = Path(__file__).resolve().parents[1] / "config" / "styles"
"""The style data of the checkout (config/styles/)."""
COLOURS_FILE: Final = STYLES_DIR / "landuse-2023-colours.csv"
CLASSES_FILE: Final = CONFIG / "classification" / "landuse-2023.csv"
BASES: Final = ("tdt1065", "derived")


@dataclass(frozen=True)
class LanduseColour:
    code: str
    name: str
    rgb: tuple[int, int, int]
    basis: str

    @property
    def hex(self) -> str:
        return "#{:02x}{:02x}{:02x}".format(*self.rgb)


@dataclass(frozen=True)
class LanduseColours:
    """The colours by code (only the codes with a row of their own)."""

    own: Mapping[str, LanduseColour]
    names: Mapping[str, str]
    """Every 2023 code of the classification and its name."""

    def colour_of(self, code: str | None) -> str | None:
        """The colour (``#rrggbb``) of a 2023 code: its own, else its parent's; None for a
        blank code or one whose first two digits are no class."""
        code = (code or "").strip()
        for length in (6, 4, 2):
            if len(code) >= length and code[:length] in self.own:
                return self.own[code[:length]].hex
        return None

    def first_level(self) -> dict[str, str]:
        """Two-digit code → colour."""
        return {c: v.hex for c, v in self.own.items() if len(c) == 2}

    def finer(self, length: int) -> dict[str, str]:
        """Codes of ``length`` digits with a row of their own → colour."""
        return {c: v.hex for c, v in self.own.items() if len(c) == length}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


@functools.cache
def load_colours(path: Path = COLOURS_FILE) -> LanduseColours:
    """Read and check the colour table."""
    names = {r["code"]: r["name"] for r in read_table(CLASSES_FILE)}
    own: dict[str, LanduseColour] = {}
    for row in _rows(path):
        code = row["code"].strip()
        if code not in names:
            raise ValueError(f"{path}: {code!r} is not a 2023 code ({CLASSES_FILE.name})")
        if code in own:
            raise ValueError(f"{path}: {code} twice")
        if row["basis"] not in BASES:
            raise ValueError(f"{path}: {code}: basis {row['basis']!r}, not one of {BASES}")
        rgb = (int(row["r"]), int(row["g"]), int(row["b"]))
        if not all(0 <= v <= 255 for v in rgb):
            raise ValueError(f"{path}: {code}: a channel outside 0-255")
        own[code] = LanduseColour(code, names[code], rgb, row["basis"])
    missing = [c for c in names if len(c) == 2 and c not in own]
    if missing:
        raise ValueError(f"{path}: no colour for the first-level classes {', '.join(missing)}")
    return LanduseColours(own, names)
