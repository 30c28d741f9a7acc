"""The application factory: ``create_app(settings)`` wires the engine and the routes.

Nothing is built at import time; ``services/asgi.py`` is the only module that calls this.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gis.engine import create_engine, database_url, server_info
from gis.errors import DatabaseError, GisError
from grid.errors import GridError
from layers.errors import LayerError
from services.errors import domain_error, ogc_error
from services.ogcapi import OgcService, ogc_routes
from services.schema import current_revision, head_revision
from services.settings import Settings

_COUNTED = ("admin_areas", "cells", "buildings", "houses", "households", "persons")


def _health_report(request: Request) -> dict[str, object]:
    engine = request.app.state.engine
    info = server_info(engine)
    with engine.connect() as conn:
        counts = {
            name: conn.execute(text(f"SELECT count(*) FROM grid.{name}")).scalar_one()  # noqa: S608
            for name in _COUNTED
        }
    revision = current_revision(engine)
    return {
        "status": "ok",
        "database": {"postgresql": info.postgres, "postgis": info.postgis},
        "schema": {"revision": revision, "up_to_date": revision == head_revision()},
        "grid": counts,
    }


async def health(request: Request) -> JSONResponse:
    """Liveness with the database and PostGIS versions; 503 when the database is not usable."""
    try:
        return JSONResponse(await run_in_threadpool(_health_report, request))
    except DatabaseError as exc:
        return ogc_error(503, "ServiceUnavailable", str(exc))
    except Exception as exc:  # a schema not migrated yet, say: still answer in JSON
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return ogc_error(503, "ServiceUnavailable", f"database not ready: {first}")


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the ASGI app from ``settings`` (read from the environment when None)."""
    settings = settings or Settings()
    ogc = OgcService(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        app.state.engine.dispose()
        await app.state.ogc.aclose()

    app = Starlette(
        routes=[Route("/health", health), *ogc_routes(ogc)],
        exception_handlers={
            GisError: domain_error,
            GridError: domain_error,
            LayerError: domain_error,
        },
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = create_engine(database_url(settings.database), pool_size=5)
    app.state.ogc = ogc
    return app
