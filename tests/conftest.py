"""Shared fixtures: a real PostGIS, started by the platform's own code, a fresh database per
test session (created from a template that has PostGIS), migrated with the real migrations.
The HTTP server connects to it as the server's role (``server_url``), the rest as its owner.

With ``ONEMAP_DATABASE_URL`` set the tests use that server instead (the user needs CREATEDB
and CREATEROLE: the session makes a login for the server, a member of ``onemap_app``).
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from playwright.sync_api import Browser, sync_playwright
from pydantic import SecretStr
from sqlalchemy import Connection, Engine, make_url, text
from sqlalchemy.engine import URL

from gis.engine import create_engine
from gis.pgserver import LocalServer
from gis.settings import DatabaseSettings
from grid.privacy import Keyring
from grid.settings import PrivacySettings

# The machine is shared: no per-example deadline; in CI the same examples every run.
hypothesis_settings.register_profile("default", deadline=None)
hypothesis_settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "default")

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "samples" / "small"
"""The sample city every session loads (``onemap samples generate --scale small``)."""
TEMPLATE = "onemap_template"


def _admin_url(settings: DatabaseSettings) -> URL:
    if settings.database_url:
        return make_url(settings.database_url).set(drivername="postgresql+psycopg")
    server = LocalServer(settings)
    server.start()
    server.ensure_database(TEMPLATE)
    return server.url("postgres")


@pytest.fixture(scope="session")
def db_settings() -> DatabaseSettings:
    return DatabaseSettings(home=ROOT / ".onemap")


@pytest.fixture(scope="session")
def database_url(db_settings: DatabaseSettings) -> Iterator[URL]:
    """URL of a database created for this session and dropped after it."""
    admin = create_engine(_admin_url(db_settings), isolation_level="AUTOCOMMIT")
    name = f"onemap_test_{os.getpid()}_{secrets.token_hex(3)}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        if db_settings.database_url:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        else:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"'))
    url = admin.url.set(database=name)
    if db_settings.database_url:
        with create_engine(url).begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


SERVER_URLS: dict[str, str] = {}
"""A session database's owner URL → the same database as the server logs in (``server_url``),
for the tests that build settings from the owner URL alone (tests/services/conftest.py)."""


@pytest.fixture(scope="session")
def server_url(database_url: URL, db_settings: DatabaseSettings) -> Iterator[URL]:
    """The session database as the HTTP server connects to it: a login that is a member of
    ``onemap_app`` and owns nothing. The local cluster's own (``onemap_server``, made by
    ``LocalServer.start``); on another server, one made for this session and dropped after."""
    owner = database_url.render_as_string(hide_password=False)
    if not db_settings.database_url:
        url = LocalServer(db_settings).server_url(database_url.database)
        SERVER_URLS[owner] = url.render_as_string(hide_password=False)
        yield url
        return
    import psycopg
    from psycopg import sql

    from gis.pgroles import ensure_login

    name = f"onemap_test_server_{os.getpid()}_{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(24)
    admin = database_url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        ensure_login(conn, name, password)
    url = database_url.set(username=name, password=password)
    SERVER_URLS[owner] = url.render_as_string(hide_password=False)
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def keyring() -> Keyring:
    return Keyring.from_settings(PrivacySettings(secret_key=SecretStr(secrets.token_urlsafe(32))))


@pytest.fixture(scope="session")
def engine(database_url: URL, keyring: Keyring) -> Iterator[Engine]:
    """The session database, migrated to head, with the small sample city loaded."""
    from grid.loader import load_sample
    from services.migrate import upgrade

    result = create_engine(database_url)
    upgrade(result)
    with result.begin() as conn:
        load_sample(conn, SAMPLE, keyring, replace=False)
    yield result
    result.dispose()


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    """A connection whose transaction is rolled back after the test."""
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            yield connection
        finally:
            transaction.rollback()


@contextmanager
def scratch_database(
    database_url: URL, db_settings: DatabaseSettings, prefix: str
) -> Iterator[Engine]:
    """An empty database (PostGIS only) on the session's server, dropped afterwards."""
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{secrets.token_hex(4)}"
    template = "" if db_settings.database_url else f' TEMPLATE "{TEMPLATE}"'
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{template}'))
    made = create_engine(database_url.set(database=name))
    if db_settings.database_url:
        with made.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    try:
        yield made
    finally:
        made.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def pg_dump(engine: Engine, *options: str) -> str:
    """What the server's own ``pg_dump`` writes of the engine's database (SQL text)."""
    url = engine.url
    program = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"))[-1]
    command = [str(program), "-h", str(url.host), "-p", str(url.port), "-U", str(url.username),
               *options, str(url.database)]  # fmt: skip
    return subprocess.run(
        command,
        env={**os.environ, "PGPASSWORD": str(url.password)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout


CHROMIUM = Path("/usr/bin/chromium")
"""Debian's Chromium (make install installs it); Playwright drives it, never downloads one."""
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium for a module's pages: skipped with the reason when it is missing,
    failed when ``CI`` is set."""
    if not CHROMIUM.is_file():
        reason = f"{CHROMIUM} is missing: apt-get install chromium (make install does)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@contextmanager
def sample_conflict_run(engine: Engine, created_by: str) -> Iterator[int]:
    """The sample's plan layers (a second import is a no-op) and a committed conflict run of
    the urban plan against the land-use plan, deleted on leaving; its id."""
    from layers.conflicts import run_conflicts
    from layers.loader import load_plans
    from layers.rules import load_rules
    from layers.settings import PlanSettings

    settings = PlanSettings()
    load_plans(engine, SAMPLE, settings=settings)
    with engine.begin() as conn:
        run = run_conflicts(
            conn,
            "urban_plan",
            ["landuse_plan"],
            rules=load_rules(settings.rules_file),
            settings=settings,
            created_by=created_by,
        ).run_id
    try:
        yield run
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM plans.conflict_runs WHERE id = :r"), {"r": run})
