"""The links of the grid: 房进格 (building → cell) derived spatially and kept by set-based SQL;
户进房 / 人进户 (household → house, person → household) as versioned moves.

The database keeps 房进格 current by itself (grid/audit.sql: a building's link is computed
when its footprint is written, a cell's buildings are re-linked when the cell is written or
deleted). :func:`link_buildings` re-links everything in one statement, for after bulk loads
and as a check that nothing drifted; it reports what moved.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from sqlalchemy import Connection, text

from gis.engine import without_jit
from gis.sql_files import statement
from grid.edits import Actor, update


def bare_link_statement() -> str:
    """The 房进格 re-link as one bare UPDATE (what :func:`link_buildings` runs, less the
    report); read from grid/linking.sql when first asked, like every statement here."""
    return statement(__name__, "choice") + "\n" + statement(__name__, "update_bare")


class Move(NamedTuple):
    """One building whose cell changed (``None``: in no cell)."""

    building: str
    from_cell: str | None
    to_cell: str | None
    straddles: bool


class LinkReport(NamedTuple):
    """What a re-link changed: counts, and the first moves by building code."""

    moved: int
    """From one cell to another."""
    linked: int
    """Had no cell, now has one."""
    unlinked: int
    """Had a cell, now lies in none."""
    flag_changed: int
    """Same cell, straddling flag changed."""
    straddling: int
    """Buildings overlapping more than one cell after the link."""
    sample: list[Move]

    @property
    def changed(self) -> int:
        return self.moved + self.linked + self.unlinked + self.flag_changed

    def as_dict(self) -> dict[str, Any]:
        return {**self._asdict(), "sample": [m._asdict() for m in self.sample]}


def link_buildings(conn: Connection, sample: int = 100) -> LinkReport:
    """Re-link every building to its cell in one statement; report what moved.

    Derived columns only: no building gets a new version; one summary row is written to
    ``audit.changes`` when anything changed. Runs with JIT off (see ``without_jit``).
    """
    with without_jit(conn):
        conn.execute(text("SELECT set_config('onemap.link', 'on', true)"))
        row = conn.execute(
            text(statement(__name__, "choice") + "\n" + statement(__name__, "update_report")),
            {"sample": sample},
        ).one()
        conn.execute(text("SELECT set_config('onemap.link', '', true)"))
    report = LinkReport(
        moved=row.moved,
        linked=row.linked,
        unlinked=row.unlinked,
        flag_changed=row.flag_changed,
        straddling=conn.execute(text(statement(__name__, "straddling_count"))).scalar_one(),
        sample=[Move(**m) for m in row.sample],
    )
    if report.changed:
        counts = {k: v for k, v in report.as_dict().items() if k != "sample"}
        conn.execute(text(statement(__name__, "summary")), {"after": json.dumps({"link": counts})})
    return report


def straddling_buildings(conn: Connection, limit: int = 1000) -> list[tuple[str, str | None]]:
    """(building code, cell code it is linked to) of buildings overlapping several cells."""
    return [
        (r.building, r.cell)
        for r in conn.execute(text(statement(__name__, "straddling")), {"limit": limit})
    ]


def move_household(
    conn: Connection, household_id: int, house_id: int | None, base_version: int, actor: Actor
) -> int:
    """户进房: move a household to another house (a versioned edit; history in audit.changes).

    A grid worker may move only a household of their cells into a house of their cells.
    Returns the household's new version.
    """
    return update(conn, "households", household_id, base_version, {"house_id": house_id}, actor)


def move_person(
    conn: Connection, person_id: int, household_id: int | None, base_version: int, actor: Actor
) -> int:
    """人进户: move a person to another household (a versioned edit), as :func:`move_household`."""
    return update(conn, "persons", person_id, base_version, {"household_id": household_id}, actor)
