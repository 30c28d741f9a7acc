"""Migrations on an empty database: ``upgrade head`` builds exactly what the models declare,
``downgrade base`` undoes all of it, and the migrations carry their own SQL, so that editing
today's code never changes what a fresh database gets from an old migration."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL

from gis.settings import DatabaseSettings
from grid import audit
from services.migrate import (
    MIGRATIONS,
    SCHEMAS,
    TARGET_METADATA,
    current_revision,
    head_revision,
    include_object,
    upgrade,
)
from tests.conftest import scratch_database

OURS = (*SCHEMAS, "counts", "tiles")
"""Our schemas, with the bookkeeping ones the models leave out (migrations 0004, 0012)."""

MIGRATION_IMPORTS = {"alembic", "sqlalchemy", "geoalchemy2"}
"""What a migration may import besides the standard library: nothing of this project."""


@pytest.fixture(scope="module")
def fresh(database_url: URL, db_settings: DatabaseSettings) -> Iterator[Engine]:
    """An empty database (PostGIS only) on the session's server, dropped afterwards."""
    with scratch_database(database_url, db_settings, "onemap_migrations") as engine:
        yield engine


def _schema_diff(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"include_schemas": True, "include_object": include_object, "compare_type": True},
        )
        return list(compare_metadata(context, TARGET_METADATA))  # type: ignore[arg-type]


_UNMODELLED = {
    "functions": "SELECT n.nspname, p.proname, pg_get_functiondef(p.oid) FROM pg_proc p"
    " JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = ANY(:s)",
    "triggers": "SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t"
    " JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE NOT t.tgisinternal AND n.nspname = ANY(:s)",
    "views": "SELECT schemaname, viewname, definition FROM pg_views WHERE schemaname = ANY(:s)",
    "relations": "SELECT n.nspname, c.relname, c.relkind::text FROM pg_class c"
    " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY(:s)",
    "schemas": "SELECT nspname FROM pg_namespace WHERE nspname = ANY(:s)",
}
"""What autogenerate does not compare: functions, triggers, views; and every relation."""


def _unmodelled(conn: Connection) -> dict[str, set[tuple[str, ...]]]:
    return {
        kind: {tuple(row) for row in conn.execute(text(sql), {"s": list(OURS)})}
        for kind, sql in _UNMODELLED.items()
    }


def test_migrations_import_nothing_of_the_project() -> None:
    """A migration that imported grid/, layers/ or gis/ would change with today's code."""
    allowed = MIGRATION_IMPORTS | set(sys.stdlib_module_names)
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots = {(node.module or "").split(".")[0]} if node.level == 0 else {"."}
            else:
                continue
            assert roots <= allowed, f"{path.name} imports {sorted(roots - allowed)}"


def test_upgrade_of_an_empty_database_builds_exactly_the_models(fresh: Engine) -> None:
    assert current_revision(fresh) in (None, head_revision())
    upgrade(fresh)
    assert current_revision(fresh) == head_revision()
    assert _schema_diff(fresh) == []


def test_head_has_todays_audit_triggers(fresh: Engine) -> None:
    """Today's grid/audit.sql, installed over head, changes nothing: an edit of it comes
    with a migration that carries the new SQL."""
    upgrade(fresh)
    with fresh.connect() as conn, conn.begin() as transaction:
        migrated = _unmodelled(conn)
        assert migrated["triggers"], "head installs no trigger"
        audit.install(conn)
        assert _unmodelled(conn) == migrated
        transaction.rollback()


def test_downgrade_to_base_and_upgrade_again(fresh: Engine) -> None:
    upgrade(fresh)
    with fresh.connect() as conn:
        at_head = _unmodelled(conn)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = fresh

    command.downgrade(config, "base")
    assert current_revision(fresh) is None
    with fresh.connect() as conn:
        left = _unmodelled(conn)
    empty: dict[str, set[tuple[str, ...]]] = {kind: set() for kind in _UNMODELLED}
    # Only the empty schemas services/migrations/env.py creates before any revision runs.
    assert left == {**empty, "schemas": {(schema,) for schema in SCHEMAS}}

    upgrade(fresh)
    assert current_revision(fresh) == head_revision()
    assert _schema_diff(fresh) == []
    with fresh.connect() as conn:
        assert _unmodelled(conn) == at_head


_PRIVILEGES = """
SELECT n.nspname || '.' || c.relname, a.grantee::regrole::text, a.privilege_type
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
     aclexplode(coalesce(c.relacl, acldefault(
         CASE c.relkind WHEN 'S' THEN 's'::"char" ELSE 'r'::"char" END, c.relowner))) AS a
WHERE n.nspname = ANY(:s)
UNION ALL
SELECT n.nspname, a.grantee::regrole::text, a.privilege_type
FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n'::"char", n.nspowner))) AS a
WHERE n.nspname = ANY(:s)
UNION ALL
SELECT 'default ' || d.defaclnamespace::regnamespace::text, d.defaclobjtype::text,
       d.defaclacl::text
FROM pg_default_acl d
"""
"""Who may do what on our relations and schemas, and the default privileges."""


def test_downgrade_of_the_newest_revision_restores_the_one_before(fresh: Engine) -> None:
    """Its triggers, functions and views, and the privileges: migration 0010 grants the
    server's role (onemap_app) and rewrites triggers, its downgrade must undo both."""
    head = head_revision()
    before = ScriptDirectory(str(MIGRATIONS)).get_revision(head).down_revision
    assert isinstance(before, str)
    schemas = {"s": [*OURS, "public"]}

    def state() -> tuple[object, ...]:
        with fresh.connect() as conn:
            grants = {tuple(r) for r in conn.execute(text(_PRIVILEGES), schemas)}
            return _unmodelled(conn), grants

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = fresh
    command.downgrade(config, "base")  # the tests before left it at head
    upgrade(fresh, before)
    at_before = state()
    upgrade(fresh)
    assert state() != at_before
    command.downgrade(config, before)
    assert state() == at_before
    upgrade(fresh)
