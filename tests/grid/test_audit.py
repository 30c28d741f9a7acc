"""The triggers of grid/audit.sql: versions, before/after images, bulk loads, truncation."""

from __future__ import annotations

from shapely import wkb
from sqlalchemy import Connection, text

from grid.audit import BULK_LOAD_STATEMENT, acting_as, bulk_load
from grid.linking import link_buildings
from tests.grid.conftest import Site, building_in


def _changes(conn: Connection, table: str, row_id: int | str) -> list[tuple[object, ...]]:
    return [
        tuple(r)
        for r in conn.execute(
            text(
                "SELECT version, operation, changed_by, before, after FROM audit.changes"
                " WHERE table_name = :t AND row_id = :r ORDER BY id"
            ),
            {"t": f"grid.{table}", "r": str(row_id)},
        )
    ]


def test_insert_update_delete_are_versioned_with_images(site: Site) -> None:
    conn, bid = site.conn, site.buildings["T-A001-1"]
    row = conn.execute(
        text("SELECT version, updated_by FROM grid.buildings WHERE id = :i"), {"i": bid}
    ).one()
    assert tuple(row) == (1, "fixture")
    with acting_as(conn, "editor"):
        conn.execute(text("UPDATE grid.buildings SET floors = 9 WHERE id = :i"), {"i": bid})
        conn.execute(text("UPDATE grid.buildings SET floors = 9 WHERE id = :i"), {"i": bid})
        conn.execute(text("UPDATE grid.buildings SET version = 77 WHERE id = :i"), {"i": bid})
    row = conn.execute(
        text("SELECT version, updated_by FROM grid.buildings WHERE id = :i"), {"i": bid}
    ).one()
    assert tuple(row) == (2, "editor")  # no-op updates and a forced version change nothing
    history = _changes(conn, "buildings", bid)
    assert [(v, op, by) for v, op, by, _, _ in history] == [
        (1, "INSERT", "fixture"),
        (2, "UPDATE", "editor"),
    ]
    before, after = history[1][3], history[1][4]
    assert isinstance(before, dict) and isinstance(after, dict)
    assert (before["floors"], after["floors"], after["version"]) == (6, 9, 2)
    assert wkb.loads(bytes.fromhex(after["geom"])).equals_exact(building_in(0, 0), 0)
    empty = site.buildings["T-A004-1"]  # no houses
    conn.execute(text("DELETE FROM grid.buildings WHERE id = :i"), {"i": empty})
    assert [c[:2] for c in _changes(conn, "buildings", empty)] == [(1, "INSERT"), (2, "DELETE")]


def test_who_defaults_to_the_database_user(site: Site) -> None:
    pid = site.persons["p1"]
    site.conn.execute(text("UPDATE grid.persons SET relation = '户主' WHERE id = :i"), {"i": pid})
    user = site.scalar("SELECT current_user")
    assert site.scalar("SELECT updated_by FROM grid.persons WHERE id = :i", i=pid) == user


def test_bulk_mode_writes_one_summary_row_and_no_link(site: Site) -> None:
    conn = site.conn
    before = site.scalar("SELECT count(*) FROM audit.changes")
    with bulk_load(conn):
        for i in range(3):
            site.add_building(f"T-BULK-{i}", building_in(1, 1, dx=0.1 * i + 0.05, size=0.05))
    rows = conn.execute(
        text(
            "SELECT table_name, row_id, operation FROM audit.changes WHERE id > (SELECT max(id)"
            " FROM audit.changes) - 10 ORDER BY id"
        )
    ).all()
    assert site.scalar("SELECT count(*) FROM audit.changes") == before + 1  # type: ignore[operator]
    assert tuple(rows[-1]) == ("grid.buildings", "*", "INSERT")
    ids = [site.buildings[f"T-BULK-{i}"] for i in range(3)]
    linked = conn.execute(
        text("SELECT cell_id, version FROM grid.buildings WHERE id = ANY(:i)"), {"i": ids}
    ).all()
    assert {tuple(r) for r in linked} == {(None, 1)}
    report = link_buildings(conn)
    assert report.linked >= 3
    cells = (
        conn.execute(
            text("SELECT DISTINCT cell_id FROM grid.buildings WHERE id = ANY(:i)"), {"i": ids}
        )
        .scalars()
        .all()
    )
    assert cells == [site.cells["A004"]]
    # per-row auditing is back after the block; the literal statement works the same way
    site.add_building("T-AFTER", building_in(1, 1, dx=0.6, size=0.05))
    assert _changes(conn, "buildings", site.buildings["T-AFTER"])[0][1] == "INSERT"
    conn.execute(text(BULK_LOAD_STATEMENT))
    site.add_building("T-BULK-LITERAL", building_in(1, 1, dx=0.8, size=0.05))
    assert _changes(conn, "buildings", site.buildings["T-BULK-LITERAL"]) == []


def test_truncate_is_recorded(site: Site) -> None:
    site.conn.execute(text("TRUNCATE grid.persons"))
    last = site.conn.execute(
        text("SELECT table_name, row_id, operation FROM audit.changes ORDER BY id DESC LIMIT 1")
    ).one()
    assert tuple(last) == ("grid.persons", "*", "TRUNCATE")
