"""The server's role (migration 0010, docs/database-roles.md) on a real PostGIS: it owns and
may change nothing of the schema, and the switches that relax auditing (``onemap.bulk``,
``onemap.link``) have no effect for it, while cell edits it makes still re-link buildings as
derived data; a role that may TRUNCATE (the owner, a loader) keeps them."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from shapely.geometry import box
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from gis.engine import create_engine
from tests.grid.conftest import SOUTH, STEP, WEST, Site, building_link, cell_box

OUR_SCHEMAS = ("grid", "plans", "audit", "auth", "counts", "public")


@pytest.fixture(scope="module")
def server_engine(engine: Engine, server_url: URL) -> Iterator[Engine]:
    """The session database (migrated, sample loaded) as the server logs in."""
    made = create_engine(server_url)
    yield made
    made.dispose()


@pytest.fixture
def server(server_engine: Engine) -> Iterator[Connection]:
    """A connection of the server's login, its transaction rolled back after the test."""
    with server_engine.connect() as connection:
        transaction = connection.begin()
        try:
            yield connection
        finally:
            transaction.rollback()


def _refused(conn: Connection, statement: str) -> None:
    """``statement`` fails for want of privilege (SQLSTATE 42501), in a savepoint."""
    with pytest.raises(DBAPIError) as raised, conn.begin_nested():
        conn.execute(text(statement))
    assert getattr(raised.value.orig, "sqlstate", None) == "42501", raised.value


def _mark(conn: Connection) -> int:
    """Where the audit log ends now (see :func:`_audited_since`)."""
    return int(conn.execute(text("SELECT coalesce(max(id), 0) FROM audit.changes")).scalar_one())


def _audited_since(conn: Connection, table: str, mark: int) -> list[tuple[object, ...]]:
    """``(row_id, version, operation)`` of the audit rows of ``table`` after ``mark``, oldest
    first (a bulk summary row has row_id '*')."""
    rows = conn.execute(
        text(
            "SELECT row_id, version, operation FROM audit.changes"
            " WHERE table_name = :t AND id > :m ORDER BY id"
        ),
        {"t": f"grid.{table}", "m": mark},
    )
    return [tuple(r) for r in rows]


# --- what the role is --------------------------------------------------------------------------


def test_the_server_logs_in_as_a_member_of_onemap_app_that_owns_nothing(server: Connection) -> None:
    me = server.execute(
        text(
            "SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls,"
            " pg_has_role(current_user, 'onemap_app', 'USAGE') AS in_app"
            " FROM pg_roles WHERE rolname = current_user"
        )
    ).one()
    assert (me.rolsuper, me.rolcreatedb, me.rolcreaterole, me.rolbypassrls) == (False,) * 4
    assert me.in_app
    owned = server.execute(
        text(
            "SELECT (SELECT count(*) FROM pg_class WHERE pg_has_role(relowner, 'USAGE'))"
            " + (SELECT count(*) FROM pg_namespace WHERE pg_has_role(nspowner, 'USAGE'))"
            " + (SELECT count(*) FROM pg_proc WHERE pg_has_role(proowner, 'USAGE'))"
        )
    ).scalar_one()
    assert owned == 0
    creatable = server.execute(
        text(
            "SELECT array_agg(nspname) FILTER (WHERE has_schema_privilege(nspname, 'CREATE')),"
            " has_database_privilege(current_database(), 'CREATE')"
            " FROM unnest(CAST(:s AS text[])) AS nspname"
        ),
        {"s": list(OUR_SCHEMAS)},
    ).one()
    assert tuple(creatable) == (None, False)


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE grid.intruder (id int)",
        "CREATE TABLE public.intruder (id int)",
        "CREATE SCHEMA intruder",
        "ALTER TABLE grid.persons ADD COLUMN intruder int",
        "ALTER TABLE grid.persons DISABLE TRIGGER version_audit",
        "DROP TRIGGER version_audit ON grid.persons",
        "CREATE INDEX ON grid.persons (name)",
        "DROP VIEW grid.persons_located",
        "CREATE OR REPLACE FUNCTION audit.actor() RETURNS text LANGUAGE sql AS $$SELECT 'x'$$",
        "TRUNCATE grid.persons",
        "SET session_replication_role = replica",
        "UPDATE audit.changes SET changed_by = 'nobody'",
        "DELETE FROM audit.changes",
        "SELECT * FROM audit.access_log",
        "INSERT INTO auth.api_keys (name, role, prefix, key_hash, created_by)"
        " VALUES ('x', 'admin', 'lyg_x', '\\x00', 'x')",
        "UPDATE auth.api_keys SET revoked_at = NULL",
        "DELETE FROM auth.api_keys",
        "INSERT INTO plans.layers (id, title, department, plan_type, scheme)"
        " VALUES ('x', 'x', 'x', 'landuse_plan', 'x')",
        "SELECT counts.recount('grid.cells')",
    ],
)
def test_the_server_changes_no_schema_no_history_and_no_key(
    server: Connection, statement: str
) -> None:
    _refused(server, statement)


def test_the_server_reads_what_it_serves_and_logs_reveals(server: Connection) -> None:
    relations = server.execute(
        text(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname IN ('grid', 'plans', 'counts') AND c.relkind IN ('r', 'v')"
        )
    ).scalars()
    readable = [*relations, "auth.api_keys", "audit.changes", "public.alembic_version"]
    assert len(readable) > 25
    for name in readable:
        server.execute(text(f"SELECT 1 FROM {name} LIMIT 1"))  # no error
    server.execute(
        text(
            "INSERT INTO audit.access_log (accessed_by, reason, table_name, row_id, fields)"
            " VALUES ('tests', 'privilege test', 'grid.persons', '1', ARRAY['name'])"
        )
    )


# --- the switches ------------------------------------------------------------------------------

SWITCHES = {
    "link": ("SET LOCAL onemap.link = 'on'", ""),
    "bulk": ("SET LOCAL onemap.bulk = 'on'", ""),
    "both": ("SET LOCAL onemap.bulk = 'on'; SET LOCAL onemap.link = 'on'", ""),
    "turned on by the statement": ("", " AND set_config('onemap.bulk', 'on', true) = 'on'"),
}


@pytest.mark.parametrize("setup,inside", SWITCHES.values(), ids=SWITCHES.keys())
def test_the_switches_do_not_relax_the_audit_for_the_server(
    server: Connection, setup: str, inside: str
) -> None:
    person = server.execute(
        text("SELECT id, version, relation FROM grid.persons ORDER BY id LIMIT 1")
    ).one()
    mark = _mark(server)
    if setup:
        server.execute(text(setup))
    version = server.execute(
        text(f"UPDATE grid.persons SET relation = '测试' WHERE id = :i{inside} RETURNING version"),
        {"i": person.id},
    ).scalar_one()
    assert version == person.version + 1
    change = server.execute(
        text(
            "SELECT version, operation, before, after FROM audit.changes"
            " WHERE table_name = 'grid.persons' AND row_id = :i ORDER BY id DESC LIMIT 1"
        ),
        {"i": str(person.id)},
    ).one()
    assert (change.version, change.operation) == (version, "UPDATE")
    assert change.before["relation"] == person.relation and change.after["relation"] == "测试"
    assert _audited_since(server, "persons", mark) == [(str(person.id), version, "UPDATE")]


def test_inserts_and_deletes_by_the_server_are_audited_in_bulk_mode(server: Connection) -> None:
    community = server.execute(
        text("SELECT code FROM grid.admin_areas WHERE level = 'community' ORDER BY code LIMIT 1")
    ).scalar_one()
    mark = _mark(server)
    server.execute(text("SET LOCAL onemap.bulk = 'on'"))
    worker = server.execute(
        text(
            "INSERT INTO grid.workers (name, community_code) VALUES ('临时网格员', :c)"
            " RETURNING id, version"
        ),
        {"c": community},
    ).one()
    assert worker.version == 1
    server.execute(text("DELETE FROM grid.workers WHERE id = :i"), {"i": worker.id})
    assert _audited_since(server, "workers", mark) == [
        (str(worker.id), 1, "INSERT"),
        (str(worker.id), 2, "DELETE"),
    ]


@pytest.mark.parametrize("honoured", [True, False], ids=["may truncate", "onemap_app"])
def test_the_switches_count_for_a_role_that_may_truncate(site: Site, honoured: bool) -> None:
    """A loader that is neither owner nor superuser, but may TRUNCATE, keeps the switches;
    the server's group role, with the same grants but TRUNCATE, does not."""
    conn, pid, mark = site.conn, site.persons["p1"], _mark(site.conn)
    role = "onemap_app"
    if honoured:
        role = f"onemap_test_loader_{secrets.token_hex(3)}"  # gone with the rollback
        for statement in (
            f"CREATE ROLE {role} NOLOGIN IN ROLE onemap_app",
            f"GRANT TRUNCATE ON grid.persons TO {role}",
        ):
            conn.execute(text(statement))
    conn.execute(text(f"SET LOCAL ROLE {role}"))
    for switch in ("onemap.link", "onemap.bulk"):
        conn.execute(text("SELECT set_config(:s, 'on', true)"), {"s": switch})
        conn.execute(
            text("UPDATE grid.persons SET relation = :r WHERE id = :i"), {"r": switch, "i": pid}
        )
        conn.execute(text("SELECT set_config(:s, '', true)"), {"s": switch})
    version = conn.execute(
        text("SELECT version FROM grid.persons WHERE id = :i"), {"i": pid}
    ).scalar_one()
    audited = _audited_since(conn, "persons", mark)
    if honoured:  # no new version, no image: one bulk summary row
        assert version == 1
        assert audited == [("*", None, "UPDATE")]
    else:
        assert version == 3
        assert audited == [(str(pid), 2, "UPDATE"), (str(pid), 3, "UPDATE")]


# --- 房进格 after cell edits by the server -------------------------------------------------------


def test_a_cell_edited_by_the_server_relinks_its_buildings_as_derived_data(site: Site) -> None:
    """The server's role edits, moves and deletes cells (with bulk mode on, which does not
    count for it): buildings follow, with no new version and no audit image, as for the
    owner (tests/grid/test_linking.py); the cells' edits are audited."""
    conn, mark = site.conn, _mark(site.conn)
    inside, straddler = site.buildings["T-A001-1"], site.buildings["T-STRADDLE"]
    conn.execute(text("SET LOCAL ROLE onemap_app"))
    conn.execute(text("SET LOCAL onemap.bulk = 'on'"))
    shrunk = box(WEST + 0.5 * STEP, SOUTH + STEP, WEST + STEP, SOUTH + 2 * STEP)
    move = text("UPDATE grid.cells SET geom = ST_GeomFromText(:w, 4490) WHERE id = :i")
    conn.execute(move, {"w": shrunk.wkt, "i": site.cells["A001"]})
    assert building_link(conn, inside) == (None, False, 1)
    conn.execute(move, {"w": cell_box(0, 0).wkt, "i": site.cells["A001"]})
    assert building_link(conn, inside) == ("320799001001001", False, 1)
    conn.execute(text("DELETE FROM grid.cells WHERE id = :i"), {"i": site.cells["A002"]})
    assert building_link(conn, straddler) == ("320799001001001", False, 1)
    assert building_link(conn, site.buildings["T-A002-1"]) == (None, False, 1)
    # No image of a building: the one row is the bulk summary of the foreign key's ON DELETE
    # SET NULL, which runs as the owner (for whom bulk mode counts) and found nothing to do.
    assert _audited_since(conn, "buildings", mark) == [("*", None, "UPDATE")]
    assert _audited_since(conn, "cells", mark) == [
        (str(site.cells["A001"]), 2, "UPDATE"),
        (str(site.cells["A001"]), 3, "UPDATE"),
        (str(site.cells["A002"]), 2, "DELETE"),
    ]
    assert conn.execute(text("SELECT current_setting('onemap.link', true)")).scalar() == ""
    assert conn.execute(text("SELECT current_setting('onemap.bulk', true)")).scalar() == "on"


def test_a_cell_deleted_through_the_server_login_unlinks_its_buildings(server: Connection) -> None:
    cell = server.execute(
        text(
            "SELECT b.cell_id AS id, c.version, count(*) AS n FROM grid.buildings b"
            " JOIN grid.cells c ON c.id = b.cell_id"
            " GROUP BY b.cell_id, c.version ORDER BY count(*) DESC, b.cell_id LIMIT 1"
        )
    ).one()
    mark = _mark(server)
    versions = dict(
        server.execute(
            text("SELECT id, version FROM grid.buildings WHERE cell_id = :c"), {"c": cell.id}
        ).all()
    )
    server.execute(text("DELETE FROM grid.cells WHERE id = :c"), {"c": cell.id})
    after = dict(
        server.execute(
            text("SELECT id, version FROM grid.buildings WHERE id = ANY(:b)"),
            {"b": list(versions)},
        ).all()
    )
    assert after == versions and len(after) == cell.n  # all still there, no new version
    left = server.execute(
        text("SELECT count(*) FROM grid.buildings WHERE cell_id = :c"), {"c": cell.id}
    ).scalar_one()
    assert left == 0
    assert _audited_since(server, "buildings", mark) == []
    assert _audited_since(server, "cells", mark) == [(str(cell.id), cell.version + 1, "DELETE")]
