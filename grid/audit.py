"""The database side of versioned edits: triggers that bump ``version``, record who and when,
write before/after images to ``audit.changes`` and keep 房进格 current (``grid/audit.sql``).

Because the triggers live in the database, edits made in plain SQL are versioned too. Who
edits comes from the transaction setting ``onemap.actor`` (:func:`acting_as`), else the
database user. Bulk loads switch per-row work off with :func:`bulk_load` (or the statement
:data:`BULK_LOAD_STATEMENT`): one summary row per table and operation is written instead,
and the loader re-links buildings once at the end with :func:`grid.linking.link_buildings`.
The switch counts only for a role that may TRUNCATE the table (the owner that migrates and
loads); for others, the HTTP server's role included, it has no effect (migration 0010,
docs/database-roles.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

SQL_PATH = Path(__file__).with_name("audit.sql")

BULK_LOAD_STATEMENT = "SET LOCAL onemap.bulk = 'on'"
"""Run inside the loading transaction, before the COPY: no per-row audit, version or link."""

_DROP = """
DROP VIEW IF EXISTS grid.persons_masked;
DROP TRIGGER IF EXISTS link_cell ON grid.buildings;
DROP TRIGGER IF EXISTS relink_buildings ON grid.cells;
DROP TRIGGER IF EXISTS unlink_buildings ON grid.cells;
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['admin_areas', 'workers', 'cells', 'buildings', 'houses',
                             'households', 'persons'] LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS version_audit ON grid.%I', t);
        EXECUTE format('DROP TRIGGER IF EXISTS bulk_audit ON grid.%I', t);
        EXECUTE format('DROP TRIGGER IF EXISTS truncate_audit ON grid.%I', t);
    END LOOP;
END
$$;
DROP FUNCTION IF EXISTS grid.relink_cell();
DROP FUNCTION IF EXISTS grid.unlink_cell();
DROP FUNCTION IF EXISTS grid.link_building();
DROP FUNCTION IF EXISTS grid.relink_area(geometry, geometry);
DROP FUNCTION IF EXISTS grid.best_cell(geometry);
DROP FUNCTION IF EXISTS audit.reinsert(regclass, jsonb);
DROP FUNCTION IF EXISTS audit.restore(regclass, text, text, jsonb, integer);
DROP FUNCTION IF EXISTS audit.bulk_change();
DROP FUNCTION IF EXISTS audit.row_change();
DROP FUNCTION IF EXISTS audit.actor();
"""


def run_script(conn: Connection, script: str) -> None:
    """Run a multi-statement SQL script (functions, DO blocks) in the caller's transaction."""
    dbapi: Any = conn.connection.dbapi_connection
    with dbapi.cursor() as cursor:
        cursor.execute(script)  # no parameters: sent as is, '%' needs no escaping


def install(conn: Connection) -> None:
    """Create or replace the trigger functions, the triggers and the masked persons view."""
    run_script(conn, SQL_PATH.read_text(encoding="utf-8"))


def uninstall(conn: Connection) -> None:
    """Drop everything :func:`install` created (the downgrade of migration 0003)."""
    run_script(conn, _DROP)


def _setting(conn: Connection, name: str) -> str:
    value = conn.execute(text("SELECT current_setting(:n, true)"), {"n": name}).scalar_one()
    return str(value or "")


_SWAP = text(
    "WITH old AS MATERIALIZED (SELECT current_setting(:n, true) AS v)"
    " SELECT old.v, set_config(:n, :v, true) FROM old"
)


def _swap(conn: Connection, name: str, value: str) -> str:
    """Set ``name`` for the transaction; return its previous value (one statement)."""
    previous = conn.execute(_SWAP, {"n": name, "v": value}).first()
    return str(previous[0] or "") if previous else ""


def _set(conn: Connection, name: str, value: str) -> None:
    conn.execute(text("SELECT set_config(:n, :v, true)"), {"n": name, "v": value})


def _restore(conn: Connection, name: str, value: str) -> None:
    """Best effort: in a failed transaction the setting dies with it anyway."""
    if conn.invalidated or not conn.in_transaction():
        return
    try:
        with conn.begin_nested():
            _set(conn, name, value)
    except DBAPIError:
        pass


@contextmanager
def acting_as(conn: Connection, who: str) -> Iterator[None]:
    """Attribute the edits made inside the block to ``who`` (``updated_by``, ``changed_by``).

    One round trip in (read the previous actor and set the new one) and one out (put it
    back); the savepoint of the best-effort restore is paid only when the block failed."""
    previous = _swap(conn, "onemap.actor", who)
    try:
        yield
    except BaseException:
        _restore(conn, "onemap.actor", previous)
        raise
    _set(conn, "onemap.actor", previous)


@contextmanager
def bulk_load(conn: Connection) -> Iterator[None]:
    """Switch per-row auditing and linking off for the block (same as BULK_LOAD_STATEMENT),
    for a role that may TRUNCATE the tables; for any other role it changes nothing.

    Rows written keep their defaults (version 1, updated_by 'system'); ``audit.changes`` gets
    one row per table and operation. Call :func:`grid.linking.link_buildings` at the end.
    """
    previous = _setting(conn, "onemap.bulk")
    _set(conn, "onemap.bulk", "on")
    try:
        yield
    finally:
        _restore(conn, "onemap.bulk", previous)
