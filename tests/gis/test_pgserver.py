"""The local PostgreSQL server, for real: initdb, start, stop, stale pid files, busy ports."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from gis.engine import app_database_url, create_engine, database_url, server_info
from gis.errors import DatabaseError
from gis.pgserver import LocalServer
from gis.settings import DatabaseSettings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """A second cluster in a temporary home (where ``postgres`` may not reach: the fallback)."""
    home = tmp_path_factory.mktemp("onemap-home")
    server = LocalServer(DatabaseSettings(home=home, pg_port=_free_port()))
    yield server
    server.stop()
    real = server.data_dir
    if real != server.link:
        shutil.rmtree(real.parent, ignore_errors=True)


def test_start_creates_cluster_and_is_idempotent(scratch: LocalServer) -> None:
    first = scratch.start()
    assert first.running and first.pid
    again = scratch.start()
    assert again.pid == first.pid
    assert (scratch.password_file.stat().st_mode & 0o777) == 0o600
    engine = create_engine(scratch.url())
    info = server_info(engine)
    assert info.postgres.startswith("15") and info.postgis.startswith("3")
    engine.dispose()


def test_start_makes_the_servers_login(scratch: LocalServer) -> None:
    """``onemap_server``: a login that owns nothing, member of onemap_app, its password kept
    in a 0600 file and set again (the same) on every start; the app's URL by default."""
    scratch.start()
    password = scratch.server_password_file.read_text()
    assert (scratch.server_password_file.stat().st_mode & 0o777) == 0o600
    scratch.start()
    assert scratch.server_password_file.read_text() == password
    assert app_database_url(scratch.settings) == scratch.server_url()
    engine = create_engine(scratch.server_url())
    with engine.connect() as conn:
        who = conn.execute(
            text(
                "SELECT current_user, rolsuper, rolcreaterole, rolcreatedb,"
                " pg_has_role(current_user, 'onemap_app', 'MEMBER') FROM pg_roles"
                " WHERE rolname = current_user"
            )
        ).one()
    engine.dispose()
    assert tuple(who) == ("onemap_server", False, False, False, True)


def test_stop_then_stop_again_is_a_no_op(scratch: LocalServer) -> None:
    scratch.start()
    assert scratch.stop() is True
    assert scratch.stop() is False
    assert not scratch.status().running


def test_stale_pid_file_is_handled(scratch: LocalServer) -> None:
    scratch.start()
    scratch.stop()
    # A pid file left by a crash, naming a live process that is not a postmaster (us).
    (scratch.data_dir / "postmaster.pid").write_text(f"{os.getpid()}\n{scratch.data_dir}\n")
    status = scratch.start()
    assert status.running and status.pid != os.getpid()
    scratch.stop()


def test_port_in_use_is_a_clear_error(scratch: LocalServer, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        blocked = LocalServer(DatabaseSettings(home=scratch.home, pg_port=port))
        with pytest.raises(DatabaseError, match=f"port {port} .* in use"):
            blocked.start()


def test_wrong_database_url_is_one_sentence() -> None:
    settings = DatabaseSettings(database_url=f"postgresql://x:y@127.0.0.1:{_free_port()}/none")
    engine = create_engine(database_url(settings))
    with pytest.raises(DatabaseError, match=r"cannot connect to .* check ONEMAP_DATABASE_URL"):
        server_info(engine)


def test_database_url_must_be_postgresql() -> None:
    with pytest.raises(DatabaseError, match="must name a PostgreSQL database"):
        database_url(DatabaseSettings(database_url="sqlite:///x.db"))
    with pytest.raises(DatabaseError, match="not a database URL"):
        database_url(DatabaseSettings(database_url="not a url"))


def test_database_without_postgis_is_named(engine_admin_url: str) -> None:
    admin = create_engine(engine_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('DROP DATABASE IF EXISTS "onemap_no_postgis"'))
        conn.execute(text('CREATE DATABASE "onemap_no_postgis" TEMPLATE template0'))
    plain = create_engine(admin.url.set(database="onemap_no_postgis"))
    try:
        with pytest.raises(DatabaseError, match="has no PostGIS"):
            server_info(plain)
    finally:
        plain.dispose()
        with admin.connect() as conn:
            conn.execute(text('DROP DATABASE "onemap_no_postgis" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def engine_admin_url(database_url: object) -> str:
    from sqlalchemy.engine import URL

    assert isinstance(database_url, URL)
    return database_url.set(database="postgres").render_as_string(hide_password=False)
