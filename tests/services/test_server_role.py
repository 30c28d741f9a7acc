"""The HTTP server connects as its own role (``ONEMAP_APP_DATABASE_URL``, or the local
cluster's ``onemap_server``), never as the owner: every engine of the app, and the database
sessions an HTTP request opens (docs/database-roles.md)."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Callable, Iterator

import httpx
import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from gis.engine import app_database_url
from gis.errors import DatabaseError
from gis.pgroles import ensure_login
from gis.settings import DatabaseSettings
from services.app import create_app
from services.ogcapi.pool import connect_kwargs
from services.settings import Settings
from tests.services.conftest import serve

Onemap = Callable[..., subprocess.CompletedProcess[str]]


def _admin(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def own_login(engine: Engine) -> Iterator[URL]:
    """A login of its own for one app (a member of onemap_app), dropped afterwards."""
    name, password = f"onemap_test_app_{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    with psycopg.connect(_admin(engine), autocommit=True) as conn:
        ensure_login(conn, name, password)
    yield engine.url.set(username=name, password=password)
    with psycopg.connect(_admin(engine), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def test_every_engine_of_the_app_is_the_server_role(url_env: str, server_url: URL) -> None:
    settings = Settings(
        database=DatabaseSettings(
            database_url=url_env, app_database_url=server_url.render_as_string(False)
        )
    )
    app = create_app(settings)
    try:
        for engine in (app.state.engine, app.state.ogc.engine):
            with engine.connect() as conn:
                who = conn.execute(
                    text("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
                ).one()
            assert tuple(who) == (server_url.username, False)
        assert connect_kwargs(app.state.ogc.engine, "")["user"] == server_url.username
    finally:
        app.state.ogc.close()
        app.state.engine.dispose()


def test_requests_are_served_through_the_server_login(
    url_env: str, own_login: URL, engine: Engine
) -> None:
    """With a login no one else uses, the sessions a request leaves open are that login's."""
    database = DatabaseSettings(
        database_url=url_env, app_database_url=own_login.render_as_string(False)
    )
    for base in serve(Settings(database=database)):
        with httpx.Client(base_url=base, timeout=60) as http:
            for path in ("/health", "/ogc/collections/buildings/items?limit=2&f=json"):
                assert http.get(path).status_code == 200, path
        with engine.connect() as conn:
            sessions = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE usename = :u AND datname = current_database()"
                ),
                {"u": own_login.username},
            ).scalar_one()
        assert sessions >= 1


def test_an_owner_url_alone_does_not_start_the_server(onemap: Onemap) -> None:
    """``ONEMAP_DATABASE_URL`` without ``ONEMAP_APP_DATABASE_URL``: one sentence, at once."""
    result = onemap("serve", "--port", "0", env={"ONEMAP_APP_DATABASE_URL": ""})
    assert result.returncode != 0
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ONEMAP_DATABASE_URL is set but ONEMAP_APP_DATABASE_URL")


def test_the_server_url_comes_from_the_settings() -> None:
    owner = "postgresql://owner:ownerpw@db.example:5432/onemap"
    with pytest.raises(DatabaseError, match="ONEMAP_APP_DATABASE_URL is not"):
        app_database_url(DatabaseSettings(database_url=owner))
    server = "postgresql://web:webpw@db.example:5432/onemap"
    url = app_database_url(DatabaseSettings(database_url=owner, app_database_url=server))
    assert (url.drivername, url.username, url.password) == ("postgresql+psycopg", "web", "webpw")
    with pytest.raises(DatabaseError, match="ONEMAP_APP_DATABASE_URL is not a database URL") as bad:
        DatabaseSettings(database_url=owner, app_database_url="web:secretpw@db.example/onemap")
    assert "secretpw" not in str(bad.value)


def test_db_url_tells_the_servers_url(onemap: Onemap, server_url: URL) -> None:
    result = onemap("db", "url", "--server")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith(f"postgresql://{server_url.username}:***@")
