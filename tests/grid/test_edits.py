"""Versioned edits: base versions, worker authorisation, bad input, history and revert."""

from __future__ import annotations

import datetime as dt

import pytest
from shapely.geometry import LineString, Point, Polygon, box
from sqlalchemy import Engine, text

from grid.audit import bulk_load
from grid.edits import Actor, delete_row, history, insert_row, readable, revert, update
from grid.errors import (
    CodeError,
    ConflictError,
    GridError,
    InvalidGeometryError,
    InvalidValueError,
    NotAuthorisedError,
    NotFoundError,
)
from grid.models import RESIDENCE_TYPES
from grid.privacy import mask_name
from tests.grid.conftest import GRID, Site, building_in, citizen_id

OPERATOR = Actor("operator")


def _state(site: Site, table: str, row_id: int) -> tuple[object, ...]:
    """The row and how many audit rows it has: 'unchanged' means both are equal."""
    row = site.conn.execute(text(f"SELECT * FROM grid.{table} WHERE id = :i"), {"i": row_id})
    audit = site.scalar(
        "SELECT count(*) FROM audit.changes WHERE table_name = :t AND row_id = :r",
        t=f"grid.{table}",
        r=str(row_id),
    )
    return (tuple(row.one()), audit)


def test_an_edit_on_the_current_version_makes_the_next(site: Site) -> None:
    bid = site.buildings["T-A001-1"]
    assert update(site.conn, "buildings", bid, 1, {"floors": 12}, OPERATOR, settings=GRID) == 2
    assert (
        update(site.conn, "grid.buildings", bid, 2, {"name": "一号楼"}, OPERATOR, settings=GRID)
        == 3
    )
    last = history(site.conn, "buildings", bid)[-1]
    assert (last.version, last.changed_by, last.after["name"]) == (3, "operator", "一号楼")  # type: ignore[index]


def test_a_stale_version_is_a_conflict_and_writes_nothing(site: Site) -> None:
    bid = site.buildings["T-A001-1"]
    update(site.conn, "buildings", bid, 1, {"floors": 12}, OPERATOR, settings=GRID)
    before = _state(site, "buildings", bid)
    with pytest.raises(ConflictError, match="at version 2, the edit was based on version 1"):
        update(site.conn, "buildings", bid, 1, {"floors": 3}, OPERATOR, settings=GRID)
    assert _state(site, "buildings", bid) == before


def test_a_worker_edits_only_inside_assigned_cells(site: Site) -> None:
    w1, w2 = Actor("w1", site.workers["W1"]), Actor("w2", site.workers["W2"])
    bid = site.buildings["T-A001-1"]
    before = _state(site, "buildings", bid)
    with pytest.raises(NotAuthorisedError, match="not in a cell assigned to worker"):
        update(site.conn, "buildings", bid, 1, {"floors": 3}, w2, settings=GRID)
    assert _state(site, "buildings", bid) == before
    assert update(site.conn, "buildings", bid, 1, {"floors": 3}, w1, settings=GRID) == 2
    assert site.scalar("SELECT updated_by FROM grid.buildings WHERE id = :i", i=bid) == (
        f"w1 (worker {site.workers['W1']})"
    )
    before = _state(site, "buildings", bid)
    with pytest.raises(NotAuthorisedError, match="would no longer be"):
        update(
            site.conn, "buildings", bid, 2, {"geom": building_in(1, 1)}, w1, settings=GRID
        )  # into A004
    assert _state(site, "buildings", bid) == before
    with pytest.raises(NotAuthorisedError, match="may not edit admin_areas"):
        update(site.conn, "admin_areas", "320799001001", 1, {"name": "x"}, w1, settings=GRID)
    for table, key in (("persons", "p3"), ("households", "T-HH3")):
        rows = site.persons if table == "persons" else site.households
        with pytest.raises(NotAuthorisedError):
            update(
                site.conn,
                table,
                rows[key],
                1,
                {"relation" if table == "persons" else "residence": "resident"},
                w1,
                settings=GRID,
            )
    pid = insert_row(
        site.conn,
        "persons",
        {
            "household_id": site.households["T-HH1"],
            "name": "新人",
            "sex": "F",
            "birth_date": dt.date(2000, 1, 1),
        },
        w1,
        settings=GRID,
    )
    with pytest.raises(NotAuthorisedError):
        insert_row(
            site.conn,
            "persons",
            {
                "household_id": site.households["T-HH3"],
                "name": "外人",
                "sex": "F",
                "birth_date": dt.date(2000, 1, 1),
            },
            w1,
            settings=GRID,
        )
    assert site.scalar("SELECT count(*) FROM grid.persons WHERE id = :i", i=pid) == 1


@pytest.mark.parametrize(
    ("geom", "message"),
    [
        (Polygon(), "is empty"),
        (
            Polygon([(119.803, 35.153), (119.804, 35.154), (119.804, 35.153), (119.803, 35.154)]),
            "is invalid: Self-intersection",
        ),
        (LineString([(119.803, 35.153), (119.804, 35.154)]), "must be a Polygon, got a LineString"),
        (box(121.0, 31.0, 121.001, 31.001), "outside Lianyungang"),
        (box(40_500_000, 3_800_000, 40_500_010, 3_800_010), "not lon/lat"),
        ("POLYGON((0 0, 1 0, 1 1, 0 0))", "must be a geometry"),
    ],
)
def test_bad_geometries_are_refused_before_anything_is_written(
    site: Site, geom: object, message: str
) -> None:
    bid = site.buildings["T-A001-1"]
    before = _state(site, "buildings", bid)
    with pytest.raises(InvalidGeometryError, match=message):
        update(site.conn, "buildings", bid, 1, {"geom": geom}, OPERATOR, settings=GRID)
    assert _state(site, "buildings", bid) == before


def test_derived_bookkeeping_and_code_columns_are_not_editable(site: Site) -> None:
    for table, row, column in [
        ("buildings", site.buildings["T-A001-1"], "cell_id"),
        ("buildings", site.buildings["T-A001-1"], "version"),
        ("cells", site.cells["A001"], "code"),
        ("persons", site.persons["p1"], "citizen_id_masked"),
        ("persons", site.persons["p1"], "no_such_column"),
    ]:
        with pytest.raises(InvalidValueError, match="cannot be edited"):
            update(site.conn, table, row, 1, {column: 1}, OPERATOR, settings=GRID)


def test_values_the_database_refuses_leave_the_transaction_usable(site: Site) -> None:
    pid = site.persons["p1"]
    with pytest.raises(InvalidValueError, match="foreign key"):
        update(site.conn, "persons", pid, 1, {"household_id": 999_999_999}, OPERATOR, settings=GRID)
    with pytest.raises(InvalidValueError, match="floors_range"):
        update(
            site.conn,
            "buildings",
            site.buildings["T-A001-1"],
            1,
            {"floors": 0},
            OPERATOR,
            settings=GRID,
        )
    with pytest.raises(NotFoundError):
        update(site.conn, "persons", 999_999_999, 1, {"relation": "x"}, OPERATOR, settings=GRID)
    with pytest.raises(NotFoundError, match="no grid table"):
        update(site.conn, "people", pid, 1, {"relation": "x"}, OPERATOR, settings=GRID)
    assert update(site.conn, "persons", pid, 1, {"relation": "户主"}, OPERATOR, settings=GRID) == 2


def test_personal_fields_are_checked_and_protected(site: Site) -> None:
    pid = site.persons["p1"]
    with pytest.raises(CodeError, match="check digit"):
        update(
            site.conn,
            "persons",
            pid,
            1,
            {"citizen_id": "110105194912310021"},
            OPERATOR,
            keyring=site.keyring,
            settings=GRID,
        )
    with pytest.raises(CodeError, match="phone"):
        update(
            site.conn,
            "persons",
            pid,
            1,
            {"phone": "12345"},
            OPERATOR,
            keyring=site.keyring,
            settings=GRID,
        )
    new_id = citizen_id(dt.date(1950, 3, 1), 99)
    update(
        site.conn,
        "persons",
        pid,
        1,
        {"citizen_id": new_id, "phone": "13900001111"},
        OPERATOR,
        keyring=site.keyring,
        settings=GRID,
    )
    row = site.conn.execute(
        text(
            "SELECT citizen_id_hash, citizen_id_masked, phone_masked"
            " FROM grid.persons WHERE id = :i"
        ),
        {"i": pid},
    ).one()
    assert bytes(row[0]) == site.keyring.lookup_hash(new_id)
    assert (row[1], row[2]) == (new_id[:6] + "********" + new_id[-4:], "139****1111")
    image = history(site.conn, "persons", pid)[-1].after
    assert image is not None and new_id not in str(image) and "13900001111" not in str(image)


def test_revert_restores_an_earlier_version_as_a_new_one(site: Site) -> None:
    bid = site.buildings["T-A001-1"]
    update(
        site.conn,
        "buildings",
        bid,
        1,
        {"floors": 12, "geom": building_in(1, 0)},
        OPERATOR,
        settings=GRID,
    )
    update(site.conn, "buildings", bid, 2, {"name": "改名"}, OPERATOR, settings=GRID)
    with pytest.raises(ConflictError):
        revert(site.conn, "buildings", bid, 1, OPERATOR, base_version=2)
    assert revert(site.conn, "buildings", bid, 1, OPERATOR, base_version=3) == 4
    row = site.conn.execute(
        text(
            "SELECT b.floors, b.name, ST_AsEWKB(b.geom) = ST_AsEWKB(ST_GeomFromText(:w, 4490)),"
            " c.code FROM grid.buildings b JOIN grid.cells c ON c.id = b.cell_id"
            " WHERE b.id = :i"
        ),
        {"w": building_in(0, 0).wkt, "i": bid},
    ).one()
    assert tuple(row) == (6, None, True, "320799001001001")
    assert [c.version for c in history(site.conn, "buildings", bid)] == [1, 2, 3, 4]
    with pytest.raises(NotFoundError, match="no recorded version 9"):
        revert(site.conn, "buildings", bid, 9, OPERATOR)


def test_a_deleted_row_comes_back(site: Site) -> None:
    bid = site.buildings["T-A002-1"]
    delete_row(site.conn, "buildings", bid, 1, OPERATOR)
    assert site.scalar("SELECT count(*) FROM grid.buildings WHERE id = :i", i=bid) == 0
    assert revert(site.conn, "buildings", bid, 1, OPERATOR) == 3
    assert (
        site.scalar(
            "SELECT c.code FROM grid.buildings b JOIN grid.cells c"
            " ON c.id = b.cell_id WHERE b.id = :i",
            i=bid,
        )
        == "320799001001002"
    )
    ops = [c.operation for c in history(site.conn, "buildings", bid)]
    assert ops == ["INSERT", "DELETE", "INSERT"]


def test_readable_images_hide_ciphertexts_and_show_wkt(site: Site) -> None:
    raw = history(site.conn, "persons", site.persons["p1"])[0].after
    image = readable(raw, "persons")
    assert image is not None and "citizen_id_enc" not in image and "citizen_id_hash" not in image
    assert raw is not None and image["name"] == mask_name(raw["name"]) != raw["name"]
    assert "birth_date" not in image and image["birth_year"] == int(raw["birth_date"][:4])
    assert image["citizen_id"] == raw["citizen_id_masked"]
    geom = readable(history(site.conn, "buildings", site.buildings["T-A001-1"])[0].after)
    assert geom is not None and str(geom["geom"]).startswith("POLYGON")
    assert Point(119.8034, 35.1534).within(building_in(0, 0))


def test_a_bulk_loaded_row_can_be_reverted_to_its_first_version(site: Site) -> None:
    with bulk_load(site.conn):
        bid = site.add_building("T-BULK", building_in(1, 1, dx=0.7, size=0.05))
    assert history(site.conn, "buildings", bid) == []
    update(site.conn, "buildings", bid, 1, {"floors": 30}, OPERATOR, settings=GRID)
    assert revert(site.conn, "buildings", bid, 1, OPERATOR) == 3
    assert site.scalar("SELECT floors FROM grid.buildings WHERE id = :i", i=bid) == 6


def test_new_cells_and_areas_need_well_formed_codes(site: Site) -> None:
    geom = box(119.83, 35.15, 119.835, 35.155)
    for values, message in [
        ({"code": "32079900100200", "community_code": "320799001002"}, "15 digits"),
        ({"code": "320799001001002", "community_code": "320799001002"}, "must start with"),
        ({"code": "320799001002000", "community_code": "320799001002"}, "sequence 000"),
    ]:
        with pytest.raises(CodeError, match=message):
            insert_row(site.conn, "cells", {**values, "geom": geom}, OPERATOR, settings=GRID)
    with pytest.raises(CodeError, match="parent must be 320799001000"):
        insert_row(
            site.conn,
            "admin_areas",
            {
                "code": "320799001003",
                "name": "x",
                "level": "community",
                "parent_code": "320799002000",
                "geom": geom,
            },
            OPERATOR,
            settings=GRID,
        )
    with pytest.raises(CodeError, match="not the code of a street"):
        insert_row(
            site.conn,
            "admin_areas",
            {
                "code": "320799001003",
                "name": "x",
                "level": "street",
                "parent_code": "320799000000",
                "geom": geom,
            },
            OPERATOR,
            settings=GRID,
        )
    code = insert_row(
        site.conn,
        "cells",
        {"code": "320799001002002", "community_code": "320799001002", "geom": geom},
        OPERATOR,
        settings=GRID,
    )
    assert isinstance(code, int)
    area = insert_row(site.conn, "admin_areas", {"code": "320799001003", "name": "新社区",
                      "level": "community", "parent_code": "320799001000", "geom": geom},
                      OPERATOR, settings=GRID)  # fmt: skip
    assert area == "320799001003"


def test_a_geometry_edit_needs_the_settings_passed_in(site: Site) -> None:
    """The domain never builds settings itself: without them a geometry is refused."""
    bid = site.buildings["T-A001-1"]
    with pytest.raises(GridError, match="needs the grid settings"):
        update(site.conn, "buildings", bid, 1, {"geom": building_in(1, 0)}, OPERATOR)
    assert update(site.conn, "buildings", bid, 1, {"floors": 9}, OPERATOR) == 2  # no geometry


def test_a_serialization_failure_is_a_conflict(engine: Engine) -> None:
    """Under REPEATABLE READ the loser of a race is told of a conflict, not of bad input."""
    with engine.connect() as conn:
        hid, version, residence = conn.execute(
            text("SELECT id, version, residence FROM grid.households ORDER BY id LIMIT 1")
        ).one()
    other = next(r for r in RESIDENCE_TYPES if r != residence)
    with engine.connect() as loser, engine.connect() as winner:
        loser.execution_options(isolation_level="REPEATABLE READ")
        with loser.begin():
            loser.execute(text("SELECT count(*) FROM grid.households"))  # takes the snapshot
            with winner.begin():
                update(winner, "households", hid, version, {"residence": other}, OPERATOR)
            with pytest.raises(ConflictError, match="changed by a concurrent edit"):
                update(loser, "households", hid, version, {"residence": other}, OPERATOR)
    with engine.connect() as conn:
        after = conn.execute(
            text("SELECT version FROM grid.households WHERE id = :id"), {"id": hid}
        ).scalar_one()
        audited = conn.execute(
            text(
                "SELECT count(*) FROM audit.changes WHERE table_name = 'grid.households'"
                " AND row_id = :id AND version = :v"
            ),
            {"id": str(hid), "v": version + 1},
        ).scalar_one()
    assert (after, audited) == (version + 1, 1)  # one winner, one audit row
    with engine.begin() as conn:  # the sample household as it was, as a new version
        update(conn, "households", hid, version + 1, {"residence": residence}, OPERATOR)
