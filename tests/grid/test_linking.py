"""房进格 kept by the database and re-linked in one statement; 户进房/人进户 moves with history."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import box
from sqlalchemy import text

from grid.audit import bulk_load
from grid.edits import Actor, history
from grid.errors import NotAuthorisedError
from grid.linking import bare_link_statement, link_buildings, move_household, move_person
from tests.grid.conftest import SOUTH, STEP, WEST, Site, building_in, building_link, cell_box


def test_a_new_building_is_linked_and_a_straddler_goes_to_the_largest_overlap(site: Site) -> None:
    assert building_link(site.conn, site.buildings["T-A001-1"]) == ("320799001001001", False, 1)
    assert building_link(site.conn, site.buildings["T-STRADDLE"]) == ("320799001001002", True, 1)


def test_moving_a_footprint_relinks_it(site: Site) -> None:
    bid = site.buildings["T-A001-1"]
    site.conn.execute(
        text("UPDATE grid.buildings SET geom = ST_GeomFromText(:w, 4490) WHERE id = :i"),
        {"w": building_in(1, 1).wkt, "i": bid},
    )
    assert building_link(site.conn, bid) == ("320799001001004", False, 2)


def test_changing_or_deleting_a_cell_relinks_its_buildings_without_new_versions(site: Site) -> None:
    conn = site.conn
    bid = site.buildings["T-A001-1"]  # at 0.3–0.4 of the cell
    shrunk = box(WEST + 0.5 * STEP, SOUTH + STEP, WEST + STEP, SOUTH + 2 * STEP)
    conn.execute(
        text("UPDATE grid.cells SET geom = ST_GeomFromText(:w, 4490) WHERE id = :i"),
        {"w": shrunk.wkt, "i": site.cells["A001"]},
    )
    assert building_link(conn, bid) == (None, False, 1)
    conn.execute(
        text("UPDATE grid.cells SET geom = ST_GeomFromText(:w, 4490) WHERE id = :i"),
        {"w": cell_box(0, 0).wkt, "i": site.cells["A001"]},
    )
    assert building_link(conn, bid) == ("320799001001001", False, 1)
    conn.execute(text("DELETE FROM grid.cells WHERE id = :i"), {"i": site.cells["A002"]})
    assert building_link(conn, site.buildings["T-STRADDLE"]) == ("320799001001001", False, 1)
    assert building_link(conn, site.buildings["T-A002-1"]) == (None, False, 1)


def test_link_reports_what_moved(site: Site) -> None:
    conn = site.conn
    ids = list(site.buildings.values())
    conn.execute(text("SELECT set_config('onemap.link', 'on', true)"))
    conn.execute(
        text("UPDATE grid.buildings SET cell_id = NULL, straddles = false WHERE id = ANY(:i)"),
        {"i": ids},
    )
    conn.execute(
        text("UPDATE grid.buildings SET cell_id = :c WHERE id = :i"),
        {"c": site.cells["A004"], "i": site.buildings["T-A003-1"]},
    )
    conn.execute(text("SELECT set_config('onemap.link', '', true)"))
    report = link_buildings(conn, sample=10_000)
    assert report.linked >= len(ids) - 1 and report.moved >= 1
    moves = {m.building: m for m in report.sample}
    assert (moves["T-A003-1"].from_cell, moves["T-A003-1"].to_cell) == (
        "320799001001004",
        "320799001001003",
    )
    assert moves["T-STRADDLE"].straddles and moves["T-STRADDLE"].to_cell == "320799001001002"
    assert link_buildings(conn).changed == 0  # a second run finds nothing to do
    summary = conn.execute(
        text("SELECT after FROM audit.changes WHERE row_id = '*' ORDER BY id DESC LIMIT 1")
    ).scalar_one()
    assert summary["link"]["moved"] >= 1


def test_set_based_link_equals_the_per_building_rule(site: Site) -> None:
    """Random footprints (inside, straddling, partly and wholly outside): same answers."""
    rng = np.random.default_rng(7)
    with bulk_load(site.conn):
        for i in range(300):
            x = WEST - 0.3 * STEP + rng.uniform(0, 4.6 * STEP)
            y = SOUTH - 0.3 * STEP + rng.uniform(0, 2.6 * STEP)
            w, h = rng.uniform(0.02, 0.4, 2) * STEP
            site.add_building(f"T-RND-{i}", box(x, y, x + w, y + h))
    link_buildings(site.conn)
    differ = (
        site.conn.execute(
            text(
                "SELECT b.code FROM grid.buildings b CROSS JOIN LATERAL grid.best_cell(b.geom) best"
                " WHERE b.code LIKE 'T-%' AND (b.cell_id IS DISTINCT FROM best.cell_id"
                " OR b.straddles IS DISTINCT FROM coalesce(best.straddles, false))"
            )
        )
        .scalars()
        .all()
    )
    assert differ == []
    straddling = site.scalar(
        "SELECT count(*) FROM grid.buildings WHERE code LIKE 'T-RND-%' AND straddles"
    )
    unlinked = site.scalar(
        "SELECT count(*) FROM grid.buildings WHERE code LIKE 'T-RND-%' AND cell_id IS NULL"
    )
    assert straddling and unlinked  # the sample exercised every branch


def test_the_bare_statement_is_the_same_link(site: Site) -> None:
    conn = site.conn
    conn.execute(text("SELECT set_config('onemap.link', 'on', true)"))
    conn.execute(text("UPDATE grid.buildings SET cell_id = NULL WHERE code LIKE 'T-%'"))
    conn.exec_driver_sql(bare_link_statement())
    assert building_link(conn, site.buildings["T-STRADDLE"])[:2] == ("320799001001002", True)


def test_moving_a_household_and_a_person_keeps_history(site: Site) -> None:
    conn = site.conn
    operator = Actor("operator")
    hh = site.households["T-HH3"]
    version = move_household(conn, hh, site.houses["h2"], 1, operator)
    assert version == 2
    changes = history(conn, "households", hh)
    assert changes[-1].before["house_id"] == site.houses["h3"]  # type: ignore[index]
    assert changes[-1].after["house_id"] == site.houses["h2"]  # type: ignore[index]
    pid = site.persons["p3"]
    assert move_person(conn, pid, site.households["T-HH1"], 1, operator) == 2
    assert history(conn, "persons", pid)[-1].changed_by == "operator"


def test_a_worker_cannot_move_someone_into_another_workers_cell(site: Site) -> None:
    w1 = Actor("w1", site.workers["W1"])
    with pytest.raises(NotAuthorisedError, match="would no longer be"):
        move_person(site.conn, site.persons["p1"], site.households["T-HH3"], 1, w1)
    assert (
        site.scalar("SELECT household_id FROM grid.persons WHERE id = :i", i=site.persons["p1"])
        == site.households["T-HH1"]
    )
