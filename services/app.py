"""The application factory: ``create_app(settings)`` wires the engine and the routes.

Nothing is built at import time; ``services/asgi.py`` is the only module that calls this.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from gis.engine import app_database_url, create_engine
from gis.errors import GisError
from grid.errors import GridError
from grid.privacy import Keyring
from layers.errors import LayerError
from services.auth import ApiKeyGate, KeyResolver, auth_routes
from services.basemaps.cache import ExpiryWatcher
from services.basemaps.tiles import TileService
from services.basemaps.wmts import basemap_routes
from services.errors import domain_error
from services.grid_http import sheet_routes
from services.health import health_endpoint
from services.http import error_handlers, middleware
from services.ogcapi import OgcService, ogc_routes
from services.processes.manager import ProcessManager
from services.readrouting import ReadRouting
from services.settings import Settings
from services.web.page import page_routes


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the ASGI app from ``settings`` (read from the environment when None).

    Every connection is the server's role (:func:`gis.engine.app_database_url`), which owns
    nothing: migrations and loads are the CLI's, with the owner's role.
    """
    settings = settings or Settings()
    engine = create_engine(
        app_database_url(settings.database), pool_size=5, pool_pre_ping=False
    )  # a dead connection is a 503 and is dropped: no ping per checkout
    ogc = OgcService(settings, writer=engine)
    keyring = functools.cache(lambda: Keyring.from_settings(settings.privacy))
    readers = replica_engines(ogc)
    resolver = KeyResolver(engine, keyring, settings.auth.cache_seconds, fallbacks=readers)
    gate = Middleware(ApiKeyGate, resolver=resolver, settings=settings.auth)
    inner = [gate]
    if ogc.nodes is not None:  # reads to replicas, writes to the primary
        inner.append(Middleware(ReadRouting, nodes=ogc.nodes))
    tiles = TileService(settings)
    expiry = ExpiryWatcher(tiles.cache, engine, settings.basemap_cache.expire_interval)
    processes = ProcessManager(settings, engine)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await expiry.start()  # tiles over data changed since the last run go first
        await processes.start()
        yield
        await processes.close()
        await expiry.stop()
        await tiles.aclose()
        app.state.engine.dispose()
        for reader in readers:
            reader.dispose()
        await app.state.ogc.aclose()

    app = Starlette(
        routes=[
            Route("/health", health_endpoint(settings.server)),
            *auth_routes(engine),
            *sheet_routes(engine, keyring, settings.http.max_sheet_bytes),
            *ogc_routes(ogc, processes, engine),
            *basemap_routes(settings, tiles, resolver),
            *page_routes(ogc, engine),
        ],
        exception_handlers={
            **error_handlers(),
            GisError: domain_error,
            GridError: domain_error,
            LayerError: domain_error,
        },
        middleware=middleware(settings, inner=inner),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.ogc = ogc
    app.state.tiles = tiles
    app.state.expiry = expiry
    app.state.processes = processes
    return app


def replica_engines(ogc: OgcService) -> list[Engine]:
    """One small engine per replica, for what must go on while the primary is down (API keys
    checked): connections opened only then."""
    if ogc.nodes is None:
        return []
    return [
        create_engine(node.url, pool_size=1, max_overflow=1, connect_args={"connect_timeout": 2})
        for node in ogc.nodes.replicas
    ]
