"""The one way to reach the database: an engine from settings, checked for PostGIS.

Errors a user can fix (a wrong URL, a server that is down, a database without PostGIS) become
one `DatabaseError` sentence instead of a driver traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy import Connection, text
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import DBAPIError

from gis.errors import DatabaseError
from gis.settings import DatabaseSettings, ReplicaSettings, parse_database_url


class ServerInfo(NamedTuple):
    """Versions reported by ``/health`` and ``onemap db status``."""

    postgres: str
    postgis: str


def database_url(settings: DatabaseSettings) -> URL:
    """``ONEMAP_DATABASE_URL`` when set, else the platform's database in the local cluster.

    A malformed URL is a `DatabaseError` that names the faulty part, never the password.
    """
    if settings.database_url:
        return parse_database_url(settings.database_url).set(drivername="postgresql+psycopg")
    from gis.pgserver import LocalServer

    return LocalServer(settings).url()


def app_database_url(settings: DatabaseSettings) -> URL:
    """Where the HTTP server connects, as a role that owns nothing (docs/database-roles.md).

    ``ONEMAP_APP_DATABASE_URL`` when set; else, with the local cluster, its ``onemap_server``
    login. With ``ONEMAP_DATABASE_URL`` alone it is a `DatabaseError`: the server never falls
    back to the owner's role.
    """
    if settings.app_database_url:
        return parse_database_url(settings.app_database_url, "ONEMAP_APP_DATABASE_URL").set(
            drivername="postgresql+psycopg"
        )
    if settings.database_url:
        raise DatabaseError(
            "ONEMAP_DATABASE_URL is set but ONEMAP_APP_DATABASE_URL is not: the server connects "
            "with a login role of its own, a member of onemap_app that owns nothing "
            "(docs/database-roles.md says how to make one)"
        )
    from gis.pgserver import LocalServer

    return LocalServer(settings).server_url()


def replica_urls(base: URL, replicas: ReplicaSettings) -> list[URL]:
    """The replicas of ``ONEMAP_DB_REPLICAS``, to log in as ``base`` logs in to the primary.

    A port, or ``host:port``, is ``base`` moved there: a physical replica has the primary's
    roles and databases. A URL is taken as is.
    """
    found = []
    for entry in replicas.replicas:
        text = entry.strip()
        host, _, port = text.rpartition(":") if "://" not in text else ("", "", "")
        if "://" in text:
            url = parse_database_url(text, "ONEMAP_DB_REPLICAS").set(
                drivername="postgresql+psycopg"
            )
        elif port.isdigit() and 1 <= int(port) <= 65535:
            url = base.set(host=host or base.host, port=int(port))
        else:
            raise DatabaseError(
                f"ONEMAP_DB_REPLICAS entry {text[:60]!r} is not a port, host:port or "
                "postgresql:// URL"
            )
        found.append(url)
    return found


def create_engine(url: URL | str, **kwargs: object) -> Engine:
    """An engine for ``url`` with connection checks on checkout."""
    options: dict[str, object] = {"pool_pre_ping": True, "future": True}
    options.update(kwargs)
    return sa.create_engine(url, **options)


def server_info(engine: Engine) -> ServerInfo:
    """Connect, and fail with one clear sentence when the database is unusable."""
    where = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as conn:
            postgres = conn.execute(sa.text("SHOW server_version")).scalar_one()
            has_postgis = conn.execute(
                sa.text("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
            ).scalar_one_or_none()
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseError(
            f"cannot connect to {where} ({reason}): start the local server with "
            "`onemap db start`, or check ONEMAP_DATABASE_URL"
        ) from None
    if has_postgis is None:
        raise DatabaseError(
            f"the database {where} has no PostGIS: run `CREATE EXTENSION postgis;` in it as a "
            "superuser (the package is postgresql-15-postgis-3 on Debian)"
        )
    return ServerInfo(postgres=str(postgres), postgis=str(has_postgis))


@contextmanager
def without_jit(conn: Connection) -> Iterator[None]:
    """Run the block with JIT compilation off (transaction-local), then restore the setting.

    Our big statements spend their time in PostGIS functions, which JIT cannot speed up,
    while their cost estimates make PostgreSQL compile them first (≈0.5 s per statement).
    """
    previous = conn.execute(
        text("SELECT current_setting('jit'), set_config('jit', 'off', true)")
    ).scalar_one()
    try:
        yield
    finally:
        if conn.in_transaction() and not conn.invalidated:
            try:
                with conn.begin_nested():
                    conn.execute(text("SELECT set_config('jit', :v, true)"), {"v": previous})
            except DBAPIError:
                pass  # a failed transaction takes the setting with it
