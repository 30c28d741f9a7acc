"""Tiles for the routes: from the MBTiles cache, else rendered once in the render workers.

A cached tile is read on the event loop (a point read of a WAL-mode SQLite file: readers
never wait for writers, and it costs less than a hop to a thread). A miss goes to the
process pool; concurrent requests for the same tile in this server process share one
render (single flight), and a worker checks the cache again before rendering, so a tile
another server process has just rendered is not rendered twice.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future as ConcurrentFuture
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from services.basemaps.cache.mbtiles import TileCache
from services.basemaps.jobs import TileJob
from services.basemaps.registry import renderers
from services.basemaps.render_pool import render_into_cache, render_pool, tile_cache
from services.settings import Settings

LOG = logging.getLogger("onemap.basemaps")


class RenderUnavailableError(RuntimeError):
    """The render workers died (a crash, the machine out of memory); the next miss starts
    new ones."""


class TileService:
    """The cache and the render workers of one server process."""

    def __init__(self, settings: Settings, cache: TileCache | None = None) -> None:
        self.settings = settings
        self.cache = cache or tile_cache(settings)
        self.rendered = frozenset(renderers(settings))
        """Layers with a renderer; the others are blank without asking a worker."""
        self._pool: ProcessPoolExecutor | None = None
        self._flights: dict[TileJob, asyncio.Future[bytes | None]] = {}

    async def tile(self, job: TileJob) -> bytes | None:
        """The tile's bytes, None for a blank one."""
        cached = self.cache.get(job)
        if cached is not None:
            return cached or None
        if job.layer not in self.rendered:
            return None
        flight = self._flights.get(job)
        if flight is None:
            flight = asyncio.wrap_future(self._submit(job))
            self._flights[job] = flight
            flight.add_done_callback(lambda done: self._landed(job, done))
        try:
            return await asyncio.shield(flight)
        except BrokenProcessPool:
            raise RenderUnavailableError("the render workers stopped; retry") from None

    def _submit(self, job: TileJob) -> ConcurrentFuture[bytes | None]:
        if self._pool is None:
            self._pool = render_pool(self.settings)
        try:
            return self._pool.submit(render_into_cache, job)
        except BrokenProcessPool:
            self._pool = None
            raise RenderUnavailableError("the render workers stopped; retry") from None

    def _landed(self, job: TileJob, done: asyncio.Future[bytes | None]) -> None:
        self._flights.pop(job, None)
        if done.cancelled():
            return
        error = done.exception()  # retrieved here, so no waiter left is needed to see it
        if isinstance(error, BrokenProcessPool):
            LOG.error("the render workers stopped: %s", error)
            self._pool = None

    async def aclose(self) -> None:
        """Stop the workers (tiles being rendered are abandoned) and close the cache."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        self.cache.close()
