"""Statistics of the grid: persons, households, houses, buildings and elderly per area.

Counted per cell along the links (person → household → house → building → cell) and rolled
up to the level asked for, in one SQL query per level (grid/stats.sql). Elderly means aged 60
or more at the reference date, from the birth date.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final, Literal, NamedTuple, get_args

from sqlalchemy import Connection, text

from gis.engine import without_jit
from gis.sql_files import statement
from grid.errors import GridError

StatsLevel = Literal["cell", "community", "street", "county"]
LEVELS: Final = get_args(StatsLevel)
ELDERLY_AGE: Final = 60


class AreaStats(NamedTuple):
    """Counts for one area (or cell)."""

    code: str
    name: str
    cells: int
    buildings: int
    houses: int
    households: int
    persons: int
    elderly: int


class StatsReport(NamedTuple):
    """The areas of one level; ``unassigned``: buildings and persons reaching no cell."""

    level: str
    reference_date: dt.date
    areas: list[AreaStats]
    unassigned: dict[str, int]

    def totals(self) -> dict[str, int]:
        fields = ("cells", "buildings", "houses", "households", "persons", "elderly")
        return {f: sum(getattr(a, f) for a in self.areas) for f in fields}

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "reference_date": self.reference_date.isoformat(),
            "areas": [a._asdict() for a in self.areas],
            "totals": self.totals(),
            "unassigned": self.unassigned,
        }


def born_by(reference: dt.date, age: int = ELDERLY_AGE) -> dt.date:
    """The latest birth date of someone aged ``age`` or more on ``reference``.

    >>> born_by(dt.date(2024, 2, 29))
    datetime.date(1964, 2, 29)
    >>> born_by(dt.date(2025, 2, 28), age=1)
    datetime.date(2024, 2, 28)
    >>> born_by(dt.date(2023, 2, 28), age=3)
    datetime.date(2020, 2, 28)
    """
    try:
        return reference.replace(year=reference.year - age)
    except ValueError:  # 29 February in a year without one: that birthday falls on 1 March
        return reference.replace(year=reference.year - age, day=28)


def stats(conn: Connection, level: str, reference_date: dt.date | None = None) -> StatsReport:
    """Counts for every area of ``level`` (cell, community, street or county)."""
    if level not in LEVELS:
        raise GridError(f"unknown level {level!r}: one of {', '.join(LEVELS)}")
    reference = reference_date or dt.date.today()
    with without_jit(conn):
        rows = conn.execute(
            text(statement(__name__, "rollup")), {"level": level, "born_by": born_by(reference)}
        ).all()
    areas = [AreaStats(*(r[0], r[1], *(int(v) for v in r[2:]))) for r in rows]
    unassigned = conn.execute(text(statement(__name__, "unassigned"))).one()
    return StatsReport(level, reference, areas, dict(unassigned._mapping))
