"""Masked by default; one logged way to plain values; nothing plain in a database dump."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from sqlalchemy import Engine, text

from grid.edits import Actor, update
from grid.errors import GridError, NotFoundError, ReasonRequiredError
from grid.privacy import Keyring, find_by_citizen_id, mask_name, persons, reveal
from grid.sheets import import_sheet
from tests.conftest import pg_dump
from tests.grid.conftest import GRID, A, Site, build_site, citizen_id, drop_site


def test_reads_are_masked(site: Site) -> None:
    [p1] = persons(site.conn, ids=[site.persons["p1"]])
    cid = citizen_id(dt.date(1950, 3, 1), 11)
    assert (p1.name, p1.citizen_id, p1.phone, p1.birth_year) == (
        "王**",
        cid[:6] + "********" + cid[-4:],
        "138****5678",
        1950,
    )
    in_cell = persons(site.conn, cell_code=A + "001")
    assert [p.id for p in in_cell] == sorted([site.persons["p1"], site.persons["p2"]])
    assert [p.id for p in persons(site.conn, household_id=site.households["T-HH3"])] == [
        site.persons["p3"]
    ]
    assert [p.id for p in find_by_citizen_id(site.conn, site.keyring, cid)] == [site.persons["p1"]]
    with pytest.raises(GridError, match="exactly one"):
        persons(site.conn)


@pytest.mark.parametrize("name", ["张", "张三", "欧阳娜娜", "Zhang San"])
def test_the_masked_view_masks_names_like_python(site: Site, name: str) -> None:
    pid = site.add_person("x", None, citizen_id(dt.date(2001, 2, 3), 44), name=name)
    assert persons(site.conn, ids=[pid])[0].name == mask_name(name)


def test_reveal_needs_a_reason_and_is_logged_before_returning(site: Site, engine: Engine) -> None:
    pid = site.persons["p1"]
    with pytest.raises(ReasonRequiredError):
        reveal(site.conn, site.keyring, "persons", pid, reason=" ", who="officer")
    reason = f"case 2026-{os.getpid()}"
    plain = reveal(
        site.conn,
        site.keyring,
        "persons",
        pid,
        reason=reason,
        who="officer",
        fields=["citizen_id", "phone"],
    )
    assert plain == {"citizen_id": citizen_id(dt.date(1950, 3, 1), 11), "phone": "13812345678"}
    with engine.connect() as other:  # committed on its own: survives the test's rollback
        logged = other.execute(
            text(
                "SELECT accessed_by, table_name, row_id, fields FROM audit.access_log"
                " WHERE reason = :r"
            ),
            {"r": reason},
        ).all()
    assert [tuple(r) for r in logged] == [
        ("officer", "grid.persons", str(pid), ["citizen_id", "phone"])
    ]
    with pytest.raises(GridError, match="no revealable field"):
        reveal(site.conn, site.keyring, "persons", pid, reason=reason, who="x", fields=["sex"])
    with pytest.raises(NotFoundError):
        reveal(site.conn, site.keyring, "persons", 999_999_999, reason=reason, who="x")
    worker = reveal(
        site.conn,
        site.keyring,
        "workers",
        site.workers["W1"],
        reason=reason,
        who="x",
        durable=False,
    )
    assert worker == {"name": "W1", "phone": None}


def _dump(engine: Engine) -> str:
    return pg_dump(engine, "--data-only", "--schema=grid", "--schema=audit")


def test_a_dump_after_edits_and_a_sheet_import_holds_no_plain_id_or_phone(
    engine: Engine, keyring: Keyring
) -> None:
    edited_id, edited_phone = citizen_id(dt.date(1966, 6, 6), 66), "13700006666"
    sheet_id, sheet_phone = citizen_id(dt.date(1977, 7, 7), 77, "320705"), "15900007777"
    conn = engine.connect()
    try:
        with conn.begin():
            site = build_site(conn, keyring)
            update(
                conn,
                "persons",
                site.persons["p1"],
                1,
                {"citizen_id": edited_id, "phone": edited_phone},
                Actor("operator"),
                keyring=keyring,
                settings=GRID,
            )
            row = {
                "household_no": "T-HH-DUMP",
                "building": "T-A001-1",
                "unit": "1",
                "floor": "2",
                "room": "201",
                "name": "钱七",
                "citizen_id": sheet_id,
                "phone": sheet_phone,
            }
            import_sheet(conn, [row], A + "001", site.workers["W1"], keyring)
        dump = _dump(engine)
        assert "T-HH-DUMP" in dump and edited_id[:6] + "********" + edited_id[-4:] in dump
        plain = [
            edited_id,
            edited_phone,
            sheet_id,
            sheet_phone,
            citizen_id(dt.date(1950, 3, 1), 11),
        ]
        assert [value for value in plain if value in dump] == []
    finally:
        with conn.begin():
            drop_site(conn)
        conn.close()
