"""The render workers: processes that build every layer's renderer once and render tiles
straight into the cache.

Workers start from a ``forkserver`` (never a fork of a server with an event loop, threads,
open sockets and GDAL handles) and write the tiles they render into the MBTiles files
themselves, so only the tile bytes travel back. The server's single flight
(:class:`services.basemaps.tiles.TileService`) and the workers' cache check keep a tile
rendered once however many clients ask for it.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from services.basemaps.cache.mbtiles import TileCache
from services.basemaps.jobs import Renderer, TileJob
from services.basemaps.registry import absolute, renderers
from services.settings import Settings

_worker: tuple[dict[str, Renderer], TileCache] | None = None


def tile_cache(settings: Settings) -> TileCache:
    """The platform's tile cache (``ONEMAP_BASEMAP_CACHE_DIR`` under the state directory)."""
    config = settings.basemap_cache
    return TileCache(
        config.directory(settings.database.home), busy_timeout_ms=config.busy_timeout_ms
    )


def processes(settings: Settings) -> int:
    """How many render workers: the setting, else one per core."""
    return settings.basemap.render_processes or os.cpu_count() or 1


def render_pool(settings: Settings, workers: int | None = None) -> ProcessPoolExecutor:
    """A pool of ``workers`` render processes (default :func:`processes`)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return ProcessPoolExecutor(
        max_workers=workers or processes(settings),
        mp_context=context,
        initializer=start_worker,
        initargs=(absolute(settings), os.getpid()),
    )


def start_worker(settings: Settings, owner: int | None = None) -> None:
    """Build this worker's renderers and its handle on the cache (once per process), and
    watch ``owner``, the process whose pool this is."""
    global _worker
    _worker = (renderers(settings), tile_cache(settings))
    if owner is not None:
        threading.Thread(target=_exit_with, args=(owner,), daemon=True).start()


def _exit_with(owner: int, every: float = 1.0) -> None:
    """End this worker when ``owner`` is gone. A pool's worker never learns of its owner's
    death by itself (it holds both ends of its task queue, so no end-of-file comes): a server
    killed with SIGKILL would leave its render workers running for ever."""
    while True:
        time.sleep(every)
        try:
            os.kill(owner, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:  # alive, as another user (pid reused): keep watching
            pass


def render_into_cache(job: TileJob, *, force: bool = False) -> bytes | None:
    """The tile (None: blank), rendered and kept unless already cached (``force``: always
    rendered). Runs in a worker."""
    if _worker is None:
        raise RuntimeError("render_into_cache runs in a worker started by start_worker")
    found, cache = _worker
    if not force:
        cached = cache.get(job)
        if cached is not None:
            return cached or None
    renderer = found.get(job.layer)
    data = renderer.render(job) if renderer is not None else None
    cache.put(job, data)
    return data


def seed_batch(jobs: Sequence[TileJob], force: bool) -> list[int]:
    """Render a batch into the cache for the seeder; per tile its size in bytes (0 for a
    blank tile, -1 for one already cached and left alone)."""
    if _worker is None:
        raise RuntimeError("seed_batch runs in a worker started by start_worker")
    cache = _worker[1]
    sizes = []
    for job in jobs:
        if not force and cache.get(job) is not None:
            sizes.append(-1)
            continue
        sizes.append(len(render_into_cache(job, force=True) or b""))
    return sizes
