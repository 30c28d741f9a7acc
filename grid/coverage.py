"""Consistency and coverage of the grid: what `onemap grid check` reports.

Findings, each with a kind, the key to look it up by, and where geometry is involved the
ellipsoidal area (m², CGCS2000) and a location (lon, lat):

* ``gap`` / ``overlap``: between the cells of a community (pieces above the tolerance);
* ``cell_outside_community`` / ``cell_crossing_community``: a cell that is not inside the
  community its code names (格进图);
* ``building_outside_cells``: a footprint sharing no area with any cell;
* ``building_not_linked``: inside a cell but not linked (a bulk load not followed by a link);
* ``house_without_building``, ``household_without_house``, ``person_without_household``;
* ``duplicate_citizen_id``: one citizen ID on several persons (masked form only).

Straddling buildings are not errors (the link resolves them), nor are communities without any
cell (not gridded yet, so no gap is reported there): both are counted in ``notes``.
Records without a location (the last four kinds but duplicates) are checked only when no
community is named. All work is set-based SQL (grid/coverage.sql).
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple

from sqlalchemy import Connection, text

from gis.engine import without_jit
from gis.sql_files import statement
from grid.errors import NotFoundError
from grid.settings import GridSettings

GAP: Final = "gap"
OVERLAP: Final = "overlap"
CELL_OUTSIDE: Final = "cell_outside_community"
CELL_CROSSING: Final = "cell_crossing_community"
BUILDING_OUTSIDE: Final = "building_outside_cells"
BUILDING_NOT_LINKED: Final = "building_not_linked"
HOUSE_WITHOUT_BUILDING: Final = "house_without_building"
HOUSEHOLD_WITHOUT_HOUSE: Final = "household_without_house"
PERSON_WITHOUT_HOUSEHOLD: Final = "person_without_household"
DUPLICATE_CITIZEN_ID: Final = "duplicate_citizen_id"

KINDS: Final = (GAP, OVERLAP, CELL_OUTSIDE, CELL_CROSSING, BUILDING_OUTSIDE, BUILDING_NOT_LINKED,
                HOUSE_WITHOUT_BUILDING, HOUSEHOLD_WITHOUT_HOUSE, PERSON_WITHOUT_HOUSEHOLD,
                DUPLICATE_CITIZEN_ID)  # fmt: skip


class Finding(NamedTuple):
    """One inconsistency. ``refs`` holds every identifier of the rows involved."""

    kind: str
    key: str
    community: str | None
    detail: str
    area_m2: float | None
    lon: float | None
    lat: float | None
    refs: dict[str, Any]


class CoverageReport(NamedTuple):
    """All findings of one check, with its parameters and informational notes."""

    community: str | None
    tolerance_m2: float
    findings: list[Finding]
    notes: dict[str, int]

    def by_kind(self) -> dict[str, int]:
        counts = dict.fromkeys(KINDS, 0)
        for finding in self.findings:
            counts[finding.kind] += 1
        return counts

    def as_dict(self) -> dict[str, Any]:
        return {
            "community": self.community,
            "tolerance_m2": self.tolerance_m2,
            "counts": self.by_kind(),
            "notes": self.notes,
            "findings": [f._asdict() for f in self.findings],
        }


def _q(name: str) -> Any:
    return text(statement(__name__, name))


def _geometry_findings(conn: Connection, params: dict[str, Any]) -> list[Finding]:
    found = [
        Finding(GAP, f"{r.community} gap at {r.lon:.6f},{r.lat:.6f}", r.community,
                f"{r.area_m2:.1f} m² of community {r.community} in no cell",
                r.area_m2, r.lon, r.lat, {"community": r.community})
        for r in conn.execute(_q("gaps"), params)
    ]  # fmt: skip
    found += [
        Finding(OVERLAP, f"{r.cell_a}/{r.cell_b}", r.community,
                f"cells {r.cell_a} and {r.cell_b} overlap by {r.area_m2:.1f} m²",
                r.area_m2, r.lon, r.lat,
                {"cells": [r.cell_a, r.cell_b], "ids": [r.id_a, r.id_b]})
        for r in conn.execute(_q("overlaps"), params)
    ]  # fmt: skip
    for r in conn.execute(_q("cells_outside"), params):
        outside = r.area_m2 >= r.cell_m2 - params["tolerance"]
        kind = CELL_OUTSIDE if outside else CELL_CROSSING
        detail = (
            f"cell {r.code} lies outside its community {r.community}"
            if outside
            else f"cell {r.code} crosses the boundary of {r.community}: {r.area_m2:.1f} m² outside"
        )
        found.append(Finding(kind, r.code, r.community, detail, r.area_m2, r.lon, r.lat,
                             {"id": r.id, "code": r.code}))  # fmt: skip
    for r in conn.execute(_q("unlinked_buildings"), params):
        kind = BUILDING_NOT_LINKED if r.in_a_cell else BUILDING_OUTSIDE
        detail = (
            f"building {r.code} lies in a cell but is not linked: run `onemap grid link`"
            if r.in_a_cell
            else f"building {r.code} lies outside every cell"
        )
        found.append(Finding(kind, r.code, r.community, detail, None, r.lon, r.lat,
                             {"id": r.id, "code": r.code}))  # fmt: skip
    return found


def _record_findings(conn: Connection, params: dict[str, Any]) -> list[Finding]:
    found: list[Finding] = []
    if params["community"] is None:
        found += [
            Finding(HOUSE_WITHOUT_BUILDING, str(r.id), None,
                    f"house {r.id} (unit {r.unit}, floor {r.floor}, room {r.room}) has no building",
                    None, None, None,
                    {"id": r.id, "unit": r.unit, "floor": r.floor, "room": r.room})
            for r in conn.execute(_q("houses_without_building"))
        ]  # fmt: skip
        found += [
            Finding(HOUSEHOLD_WITHOUT_HOUSE, r.household_no, None,
                    f"household {r.household_no} has no house", None, None, None,
                    {"id": r.id, "household_no": r.household_no})
            for r in conn.execute(_q("households_without_house"))
        ]  # fmt: skip
        found += [
            Finding(PERSON_WITHOUT_HOUSEHOLD, str(r.id), None,
                    f"person {r.id} ({r.name}, {r.citizen_id_masked}) has no household",
                    None, None, None, {"id": r.id, "citizen_id_masked": r.citizen_id_masked})
            for r in conn.execute(_q("persons_without_household"))
        ]  # fmt: skip
    for r in conn.execute(_q("duplicate_citizen_ids"), params):
        communities = sorted(r.communities)
        found.append(
            Finding(DUPLICATE_CITIZEN_ID, r.masked, communities[0] if communities else None,
                    f"citizen ID {r.masked} is held by persons {', '.join(map(str, r.ids))}",
                    None, None, None, {"citizen_id_masked": r.masked, "ids": list(r.ids)})
        )  # fmt: skip
    return found


def check(
    conn: Connection, community: str | None = None, *, settings: GridSettings
) -> CoverageReport:
    """Run every check, for all communities or one; return the findings sorted by kind."""
    if (
        community is not None
        and not conn.execute(_q("community_exists"), {"community": community}).scalar_one()
    ):
        raise NotFoundError(f"no community with code {community}")
    params = {"community": community, "tolerance": settings.coverage_tolerance_m2}
    with without_jit(conn):
        findings = _geometry_findings(conn, params) + _record_findings(conn, params)
    order = {kind: i for i, kind in enumerate(KINDS)}
    findings.sort(key=lambda f: (order[f.kind], f.community or "", f.key))
    notes = {
        "straddling_buildings": int(conn.execute(_q("straddling"), params).scalar_one()),
        "communities_without_cells": int(conn.execute(_q("ungridded"), params).scalar_one()),
    }
    return CoverageReport(community, settings.coverage_tolerance_m2, findings, notes)
