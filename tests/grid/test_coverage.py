"""`onemap grid check`: each kind of inconsistency is found where it was made, and only there."""

from __future__ import annotations

import csv
import datetime as dt
import json
from typing import Any

import pytest
import shapely
from shapely.geometry import box
from sqlalchemy import Connection, text

from gis.geometry import geodesic_area
from grid.audit import bulk_load
from grid.coverage import CoverageReport, Finding, check
from grid.errors import NotFoundError
from grid.privacy import Keyring, mask_citizen_id
from grid.settings import GridSettings
from tests.conftest import SAMPLE
from tests.grid.conftest import (
    GRID,
    SOUTH,
    STEP,
    WEST,
    A,
    B,
    Site,
    building_in,
    cell_box,
    citizen_id,
)

SMALL = SAMPLE
"""The sample city every test session loads (tests/conftest.py)."""


def _set_cell(site: Site, name: str, geom: shapely.Geometry) -> None:
    site.conn.execute(
        text("UPDATE grid.cells SET geom = ST_GeomFromText(:w, 4490) WHERE id = :i"),
        {"w": geom.wkt, "i": site.cells[name]},
    )


def _new(before: CoverageReport, after: CoverageReport) -> list[Finding]:
    seen = {(f.kind, f.key) for f in before.findings}
    return [f for f in after.findings if (f.kind, f.key) not in seen]


def test_the_test_site_is_clean(site: Site) -> None:
    for community in (A, B):
        assert check(site.conn, community, settings=GRID).findings == []


def test_a_gap_is_found_with_its_area_and_location(site: Site) -> None:
    shrunk = box(WEST + STEP, SOUTH, WEST + 2 * STEP, SOUTH + 0.75 * STEP)  # A004 loses its top
    _set_cell(site, "A004", shrunk)
    report = check(site.conn, A, settings=GRID)
    assert [f.kind for f in report.findings] == ["gap"]
    gap = report.findings[0]
    hole = shapely.difference(cell_box(1, 1), shrunk)
    assert gap.area_m2 == pytest.approx(float(geodesic_area(hole)), rel=1e-6)
    assert hole.contains(shapely.Point(gap.lon, gap.lat))
    assert (
        check(site.conn, A, settings=GridSettings(coverage_tolerance_m2=gap.area_m2 + 1)).findings
        == []
    )


def test_an_overlap_is_found_once(site: Site) -> None:
    grown = box(WEST, SOUTH + STEP, WEST + 1.2 * STEP, SOUTH + 2 * STEP)  # A001 into A002
    _set_cell(site, "A001", grown)
    findings = check(site.conn, A, settings=GRID).findings
    assert [(f.kind, f.key) for f in findings] == [("overlap", "320799001001001/320799001001002")]
    piece = shapely.intersection(grown, cell_box(1, 0))
    assert findings[0].area_m2 == pytest.approx(float(geodesic_area(piece)), rel=1e-6)


def test_cells_crossing_or_outside_their_community(site: Site) -> None:
    _set_cell(site, "A002", box(WEST + STEP, SOUTH + STEP, WEST + 2.5 * STEP, SOUTH + 2 * STEP))
    _set_cell(site, "A003", box(WEST + 3 * STEP, SOUTH, WEST + 4 * STEP, SOUTH + STEP))
    kinds = {(f.kind, f.key) for f in check(site.conn, A, settings=GRID).findings}
    assert ("cell_crossing_community", "320799001001002") in kinds
    assert ("cell_outside_community", "320799001001003") in kinds
    assert ("gap", f"{A} gap") not in kinds  # gaps are keyed by location
    assert any(kind == "gap" for kind, _ in kinds)  # A003's old place is now a gap


def test_buildings_outside_every_cell_or_not_linked(site: Site) -> None:
    before = check(site.conn, settings=GRID)
    site.add_building("T-SEA", box(119.86, 35.15, 119.861, 35.151))
    with bulk_load(site.conn):
        site.add_building("T-UNLINKED", building_in(0, 0, dx=0.6))
    new = _new(before, check(site.conn, settings=GRID))
    assert {(f.kind, f.key) for f in new} == {
        ("building_outside_cells", "T-SEA"),
        ("building_not_linked", "T-UNLINKED"),
    }
    sea = next(f for f in new if f.key == "T-SEA")
    assert sea.lon == pytest.approx(119.8605) and sea.community is None
    assert [f.key for f in check(site.conn, A, settings=GRID).findings] == ["T-UNLINKED"]


def test_records_without_their_links_and_duplicate_ids(site: Site) -> None:
    before = check(site.conn, settings=GRID)
    site.add_house("orphan-house", None, "9", 9, "909")
    site.add_household("T-ORPHAN-HH", None)
    cid = citizen_id(dt.date(1990, 1, 1), 33)  # p3's citizen ID again
    site.add_person("orphan", None, cid, name="赵六")
    report = check(site.conn, settings=GRID)
    new = {(f.kind, f.key) for f in _new(before, report)}
    assert new == {
        ("house_without_building", str(site.houses["orphan-house"])),
        ("household_without_house", "T-ORPHAN-HH"),
        ("person_without_household", str(site.persons["orphan"])),
        ("duplicate_citizen_id", mask_citizen_id(cid)),
    }
    duplicate = next(f for f in report.findings if f.key == mask_citizen_id(cid))
    assert duplicate.refs["ids"] == sorted([site.persons["p3"], site.persons["orphan"]])
    assert cid not in json.dumps(report.as_dict(), default=str)
    community_only = {(f.kind, f.key) for f in check(site.conn, A, settings=GRID).findings}
    assert community_only == {("duplicate_citizen_id", mask_citizen_id(cid))}


def test_an_unknown_community_is_an_error(conn: Connection) -> None:
    with pytest.raises(NotFoundError, match="no community"):
        check(conn, "320799999999", settings=GRID)


def _persons_by_key(keys: set[str], keyring: Keyring) -> dict[str, bytes]:
    """Lookup hashes of the citizen IDs of the sample's person keys (persons.csv)."""
    result = {}
    with (SMALL / "persons.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["person_key"] in keys:
                result[row["person_key"]] = keyring.lookup_hash(row["citizen_id"])
    return result


def _assert_small_city_loaded(conn: Connection, manifest: dict[str, Any]) -> None:
    """The session database holds the sample city of ``manifest`` (tests/conftest.py)."""
    codes = [s["building"] for s in manifest["straddling"]]
    codes += [b["key"] for b in manifest["broken"] if b["kind"] == "building_outside_cells"]
    assert codes, "the manifest names straddling and outside buildings"
    found = conn.execute(
        text("SELECT code FROM grid.buildings WHERE code = ANY(:c)"), {"c": codes}
    ).scalars()
    assert sorted(found) == sorted(codes)


def test_the_small_city_broken_records_are_found_and_nothing_else(
    conn: Connection, keyring: Keyring
) -> None:
    manifest = json.loads((SMALL / "manifest.json").read_text(encoding="utf-8"))
    _assert_small_city_loaded(conn, manifest)
    report = check(conn, settings=GRID)
    broken = manifest["broken"]
    assert sorted(f.kind for f in report.findings) == sorted(b["kind"] for b in broken), (
        report.by_kind()
    )
    hashes = _persons_by_key({b["key"] for b in broken}, keyring)
    ids_by_hash = {
        bytes(h): i
        for i, h in conn.execute(
            text("SELECT id, citizen_id_hash FROM grid.persons WHERE citizen_id_hash = ANY(:h)"),
            {"h": list(hashes.values())},
        )
    }
    for entry in broken:
        kind, key = entry["kind"], str(entry["key"])
        mine = [f for f in report.findings if f.kind == kind]
        if kind == "house_without_building":  # key: building/unit/floor/room
            unit, floor, room = key.split("/")[1:]
            match = [f for f in mine if (f.refs["unit"], str(f.refs["floor"]), f.refs["room"])
                     == (unit, floor, room)]  # fmt: skip
        elif kind == "person_without_household":  # key: the sample's person key
            match = [f for f in mine if f.refs["id"] == ids_by_hash.get(hashes.get(key, b""))]
        else:  # building code, household number, masked citizen ID
            match = [f for f in mine if f.key == key]
        assert match, entry
    assert report.notes["straddling_buildings"] == len(manifest.get("straddling", []))


def test_the_small_city_straddling_buildings_go_to_their_largest_overlap(conn: Connection) -> None:
    manifest = json.loads((SMALL / "manifest.json").read_text(encoding="utf-8"))
    _assert_small_city_loaded(conn, manifest)
    expected = {s["building"]: s["cell"] for s in manifest["straddling"]}
    linked = dict(
        conn.execute(
            text(
                "SELECT b.code, c.code FROM grid.buildings b JOIN grid.cells c ON c.id = b.cell_id"
                " WHERE b.straddles"
            )
        ).all()
    )
    assert linked == expected
