"""``/health``: whether this server can use its database, told to anyone, with details
(versions, schema revision, row counts) only when the operator turns them on.

It runs on the app's own small engine (``app.state.engine``, not the feature routes' pool),
on threads of its own limiter (not the shared pool that heavy feature requests fill), under a
statement timeout and an overall deadline: it answers 200 or 503 within seconds, whatever else
the server is doing. Why the database is unusable goes to the log, never to the caller: the
user, host, port and database name are not for anonymous clients.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import cache

import anyio
import anyio.to_thread
import psycopg
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from services.http.errors import render_error
from services.migrate import head_revision
from services.settings import ServerSettings

log = logging.getLogger(__name__)

STATEMENT_TIMEOUT_MS = 2_000
"""Each statement's limit: a locked or overloaded database is a 503, not a wait."""
DEADLINE_S = 3.0
"""The whole answer's limit, connecting included (a server that never answers, say)."""
THREADS = 2
"""Checks running at once per app; more wait for a thread, within the deadline."""

_COUNTS = """
SELECT (SELECT count(*) FROM grid.admin_areas) AS admin_areas,
       (SELECT count(*) FROM grid.cells) AS cells,
       (SELECT count(*) FROM grid.buildings) AS buildings,
       (SELECT count(*) FROM grid.houses) AS houses,
       (SELECT count(*) FROM grid.households) AS households,
       (SELECT count(*) FROM grid.persons) AS persons
"""
_NO_STORE = {"Cache-Control": "no-store"}

Endpoint = Callable[[Request], Awaitable[Response]]


class UnhealthyError(Exception):
    """The database cannot be used; the message is all a caller is told."""


@cache
def _head() -> str | None:
    """The newest migration: read from the scripts once, they do not change while serving."""
    return head_revision()


def _details(conn: Connection, revision: str) -> dict[str, object]:
    versions = conn.execute(
        text(
            "SELECT current_setting('server_version'),"
            " (SELECT extversion FROM pg_extension WHERE extname = 'postgis')"
        )
    ).one()
    counts = conn.execute(text(_COUNTS)).one()
    return {
        "status": "ok",
        "database": {"postgresql": versions[0], "postgis": versions[1]},
        "schema": {"revision": revision, "up_to_date": revision == _head()},
        "grid": counts._asdict(),
    }


def _check(conn: Connection, details: bool) -> dict[str, object]:
    with conn.begin():
        conn.execute(
            text("SELECT set_config('statement_timeout', :ms, true)"),
            {"ms": str(STATEMENT_TIMEOUT_MS)},
        )
        revision = MigrationContext.configure(conn).get_current_revision()
        if revision is None:
            raise UnhealthyError("the database schema is not installed")
        return _details(conn, revision) if details else {"status": "ok"}


def report(engine: Engine, details: bool) -> dict[str, object]:
    """The health body, or :class:`UnhealthyError` whose cause is the database's own error."""
    try:
        conn = engine.connect()
    except DBAPIError as exc:
        raise UnhealthyError("the database is unreachable") from exc
    try:
        with conn:
            return _check(conn, details)
    except DBAPIError as exc:
        if isinstance(exc.orig, psycopg.errors.QueryCanceled):
            raise UnhealthyError("the database did not answer in time") from exc
        if exc.connection_invalidated or isinstance(exc.orig, psycopg.OperationalError):
            raise UnhealthyError("the database is unreachable") from exc
        raise UnhealthyError("the database cannot be used") from exc
    except SQLAlchemyError as exc:
        raise UnhealthyError("the database cannot be used") from exc


def _unavailable(description: str) -> Response:
    return render_error(503, description, headers=_NO_STORE)


def health_endpoint(settings: ServerSettings) -> Endpoint:
    """The ``/health`` endpoint of one app: ``{"status": "ok"}``, or an OGC 503.

    With ``settings.health_details`` the 200 body adds the PostgreSQL and PostGIS versions,
    the schema revision and the grid's row counts.
    """
    limiter = anyio.CapacityLimiter(THREADS)

    async def health(request: Request) -> Response:
        engine: Engine = request.app.state.engine
        where = engine.url.render_as_string(hide_password=True)
        try:
            with anyio.fail_after(DEADLINE_S):
                body = await anyio.to_thread.run_sync(
                    report,
                    engine,
                    settings.health_details,
                    limiter=limiter,
                    abandon_on_cancel=True,
                )
        except TimeoutError:
            log.warning("health: %s did not answer within %s s", where, DEADLINE_S)
            return _unavailable("the database did not answer in time")
        except UnhealthyError as exc:
            cause = str(exc.__cause__ or "").strip().splitlines()
            log.warning("health: %s: %s (%s)", exc, where, cause[0] if cause else "-")
            return _unavailable(str(exc))
        return JSONResponse(body, headers=_NO_STORE)

    return health
