"""The OGC API's state in one process: its engine, the registry, the pygeoapi API objects.

The registry is built from the database on first use (so the app starts without one) and
rebuilt when a plan layer version is imported, a conflict run ends (a database fingerprint)
or ``onemap ogc refresh`` touches its stamp file; both are checked at most every
:data:`RECHECK_S` seconds. pygeoapi's ``API`` is built per base URL (links must name the
host the client used), from the one generated configuration, and cached.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool

from gis.engine import app_database_url, create_engine, database_url, replica_urls
from grid.privacy import Keyring
from services.ogcapi import config, pygeoapi_patches
from services.ogcapi.pool import AsyncPool, connect_kwargs
from services.ogcapi.provider import register_engine, unregister_engine
from services.ogcapi.sources import Registry, build_registry, fingerprint
from services.ogcapi.tile_cache import TileCache
from services.settings import OgcSettings, Settings

if TYPE_CHECKING:
    from pygeoapi.api import API

    from services.readrouting import NodeSet

RECHECK_S: Final = 2.0
SYNC_POOL_SIZE: Final = 4
"""Connections of the synchronous engine: HTML and JSON-LD pages, registry rebuilds."""
MAX_APIS: Final = 16
_HOST: Final = re.compile(r"^(?:[A-Za-z0-9.\-_]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")


def state_dir(settings: Settings) -> Path:
    return (settings.database.home / "ogc").absolute()


def session_options(ogc: OgcSettings) -> str:
    """Every OGC connection: UTC timestamps, a statement timeout, custom plans for every
    query (a generic plan cannot know whether a bbox is small), and no JIT: a long CQL2
    filter makes the planner's cost estimate large enough to JIT-compile expressions, which
    costs far more than the short query it would speed up."""
    return (
        f"-c timezone=UTC -c statement_timeout={ogc.statement_timeout_ms}"
        " -c plan_cache_mode=force_custom_plan -c jit=off"
    )


def ogc_engine(settings: Settings, pool_size: int | None = None, owner: bool = False) -> Engine:
    """The synchronous engine (registry, pygeoapi's provider): read-only statements in
    autocommit (no BEGIN and ROLLBACK round trips), no ping per checkout (a dead connection
    is a 503 and is dropped). The server's role, or the owner's for the CLI (``owner``)."""
    return create_engine(
        database_url(settings.database) if owner else app_database_url(settings.database),
        pool_size=pool_size or SYNC_POOL_SIZE,
        max_overflow=0,  # no churn: a new backend's first PostGIS query costs ~10 ms
        pool_timeout=30,
        pool_pre_ping=False,
        isolation_level="AUTOCOMMIT",
        connect_args={"options": session_options(settings.ogc)},
    )


def read_nodes(settings: Settings, engine: Engine) -> NodeSet | None:
    """The primary (``engine``'s database) and the replicas of ``ONEMAP_DB_REPLICAS``, as
    ``engine`` logs in; None without replicas (every read on the primary)."""
    from services.readrouting import Node, NodeSet

    urls = replica_urls(engine.url, settings.replicas)
    if not urls:
        return None
    primary = Node("primary", engine.url, connect_kwargs(engine, ""))
    replicas = [
        Node(f"replica-{i}", url, connect_kwargs(engine, "", url))
        for i, url in enumerate(urls, start=1)
    ]
    return NodeSet(primary, replicas, settings.replicas)


def _pool(engine: Engine, options: str, size: int, nodes: NodeSet | None) -> AsyncPool:
    """``size`` connections to ``engine``'s database, and as many to each replica."""
    if nodes is None:
        return AsyncPool(connect_kwargs(engine, options), size)
    from services.readrouting import RoutedPool

    replicas = {n.name: connect_kwargs(engine, options, n.url) for n in nodes.replicas}
    return RoutedPool(connect_kwargs(engine, options), size, nodes, replicas)


def ogc_pool(engine: Engine, ogc: OgcSettings, nodes: NodeSet | None = None) -> AsyncPool:
    """The feature routes' async pool, to the database of ``engine`` (and its replicas):
    ``ONEMAP_OGC_POOL_SIZE`` connections per worker (per node)."""
    return _pool(engine, session_options(ogc), ogc.pool_size, nodes)


def tile_session_options(ogc: OgcSettings) -> str:
    """The vector tiles' connections: the OGC options with no parallel workers (tiles come
    many at a time; a worker's start-up buys nothing when the cores are busy with other
    tiles, docs/tiles.md)."""
    return f"{session_options(ogc)} -c max_parallel_workers_per_gather=0"


def tile_pool(engine: Engine, ogc: OgcSettings, nodes: NodeSet | None = None) -> AsyncPool:
    """The vector tiles' async pool: ``ONEMAP_OGC_TILE_POOL_SIZE`` connections per worker
    (per node)."""
    return _pool(engine, tile_session_options(ogc), ogc.tile_pool_size, nodes)


class OgcService:
    """Everything the ``/ogc`` routes share in one worker process."""

    def __init__(
        self, settings: Settings, engine: Engine | None = None, writer: Engine | None = None
    ) -> None:
        pygeoapi_patches.apply()
        self.settings = settings
        self.ogc = settings.ogc
        self.engine = engine or ogc_engine(settings)
        self.writer = writer or self.engine
        """Transactions: edits, and the access log of an unmasked read (the app's engine;
        the read engine above runs in autocommit)."""
        self.keyring: Callable[[], Keyring] = functools.cache(
            lambda: Keyring.from_settings(settings.privacy)
        )
        self.nodes = read_nodes(settings, self.engine)
        """The replicas the feature and tile routes read from (services/readrouting)."""
        self.pool = ogc_pool(self.engine, self.ogc, self.nodes)
        self.tile_pool = tile_pool(self.engine, self.ogc, self.nodes)
        self.tile_cache = TileCache.of_megabytes(self.ogc.tile_cache_mb)
        """Vector tiles of public collections, checked against the change stamps."""
        self.engine_key = f"onemap-{id(self):x}"
        self.directory = state_dir(settings)
        register_engine(self.engine_key, self.engine)
        self._lock = threading.Lock()
        self._registry: Registry | None = None
        self._stamp: tuple[float | None, tuple[str | None, ...]] | None = None
        self._checked = 0.0
        self._apis: OrderedDict[str, API] = OrderedDict()
        self._openapi: dict[str, Any] | None = None
        self._keyed_openapi: dict[str, Any] | None = None
        self.heavy = asyncio.Semaphore(settings.http.heavy_requests)
        """Pages rendered by pygeoapi in the thread pool at once (CPU-bound Python): more
        wait here, so that they never hold every thread and cheap answers stay cheap."""

    def close(self) -> None:
        unregister_engine(self.engine_key)
        self.engine.dispose()

    async def aclose(self) -> None:
        """Close the async pool's connections, then the engine (at shutdown)."""
        await self.pool.close()
        await self.tile_pool.close()
        if self.nodes is not None:
            await self.nodes.close()
        self.close()

    # --- registry -------------------------------------------------------------------------

    def registry(self) -> Registry:
        """The current registry; built on first use, rebuilt when what it publishes changed
        in the database or after ``onemap ogc refresh``."""
        if self._registry is not None and self._fresh():
            return self._registry
        with self._lock:
            self._checked = time.monotonic()
            try:
                stamp = (config.stamp_time(self.directory), fingerprint(self.engine))
            except OperationalError:
                if self._registry is None:
                    raise
                return self._registry  # the primary is down: what it published stands
            if self._registry is None or stamp != self._stamp:
                self._stamp = stamp
                self._rebuild()
            assert self._registry is not None
            return self._registry

    async def current_registry(self) -> Registry:
        """:meth:`registry` without leaving the event loop when it is fresh (the usual
        case); a rebuild reads the database, so it runs in the thread pool."""
        if self._registry is not None and self._fresh():
            return self._registry
        return await run_in_threadpool(self.registry)

    def _fresh(self) -> bool:
        """Whether the registry was checked against the database less than
        :data:`RECHECK_S` ago."""
        return time.monotonic() - self._checked < RECHECK_S

    def _rebuild(self) -> None:
        registry = build_registry(self.engine)
        self._registry = registry
        self._apis.clear()
        self._openapi = None
        document_config = config.pygeoapi_config(
            registry, self.ogc, self.default_base_url(), self.engine_key
        )
        self._openapi = config.openapi_document(document_config, registry, self.ogc)
        self._keyed_openapi = config.openapi_document(
            document_config, registry, self.ogc, keyed=True
        )
        with contextlib.suppress(OSError):  # a read-only state directory must not stop serving
            config.write_state(self.directory, registry, document_config, self._openapi)

    def keyed_openapi(self, base_url: str) -> dict[str, Any]:
        """The OpenAPI document for callers with a key: every collection (the anonymous
        one, served through pygeoapi, holds the public ones only)."""
        self.registry()
        with self._lock:
            assert self._keyed_openapi is not None
            return config.with_base_url(self._keyed_openapi, base_url)

    # --- base URLs and pygeoapi -----------------------------------------------------------

    def default_base_url(self) -> str:
        if self.ogc.public_url:
            return self.ogc.public_url.rstrip("/")
        server = self.settings.server
        return f"http://{server.host}:{server.port}/ogc"

    def base_url(self, scheme: str, host: str | None) -> str:
        """The API's URL as the client reached it (or the configured public URL)."""
        if self.ogc.public_url:
            return self.ogc.public_url.rstrip("/")
        if not host or not _HOST.match(host):
            return self.default_base_url()
        return f"{scheme if scheme in ('http', 'https') else 'http'}://{host}/ogc"

    def api(self, base_url: str) -> API:
        """pygeoapi's API object for clients at ``base_url``."""
        from pygeoapi.api import API

        registry = self.registry()
        with self._lock:
            found = self._apis.get(base_url)
            if found is not None:
                self._apis.move_to_end(base_url)
                return found
            settings = config.pygeoapi_config(registry, self.ogc, base_url, self.engine_key)
            assert self._openapi is not None
            made = API(settings, config.with_base_url(self._openapi, base_url), {})
            self._apis[base_url] = made
            while len(self._apis) > MAX_APIS:
                self._apis.popitem(last=False)
            return made


def refresh(settings: Settings, recount: bool = False) -> tuple[Registry, list[Path]]:
    """Regenerate the registry, pygeoapi configuration and OpenAPI document into the state
    directory and touch the stamp that running servers watch; ``recount`` first recounts
    every table whose count the database keeps (``counts.recount``)."""
    from sqlalchemy import text

    service = OgcService(settings, ogc_engine(settings, pool_size=1, owner=True))
    try:
        if recount:
            with service.engine.begin() as conn:
                tables = conn.execute(text("SELECT table_name FROM counts.tables")).scalars()
                for table in list(tables):
                    conn.execute(text("SELECT counts.recount(CAST(:t AS regclass))"), {"t": table})
        registry = build_registry(service.engine)
        document_config = config.pygeoapi_config(
            registry, settings.ogc, service.default_base_url(), service.engine_key
        )
        document = config.openapi_document(document_config, registry, settings.ogc)
        written = config.write_state(service.directory, registry, document_config, document)
        written.append(config.touch_stamp(service.directory))
        return registry, written
    finally:
        service.close()
