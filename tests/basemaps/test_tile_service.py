"""The tile service behind the WMTS routes: cached tiles read back, misses rendered once in
the render workers however many requests wait for them, and dead workers replaced.

Renders are counted by a trigger in the MBTiles file itself (every render is one
``INSERT OR REPLACE`` of its tile), so what is counted is what the workers really wrote.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from gis.settings import DatabaseSettings
from services.basemaps.cache.mbtiles import TileCache
from services.basemaps.jobs import TileJob
from services.basemaps.tiles import RenderUnavailableError, TileService
from services.settings import BasemapCacheSettings, BasemapSettings, Settings
from tests.conftest import ROOT

HAIZHOU_TER = TileJob("ter", "c", 12, 630, 3403)
NEIGHBOUR = TileJob("ter", "c", 12, 630, 3404)


@pytest.fixture
def settings(database_url: URL, server_url: URL, tmp_path: Path) -> Settings:
    return Settings(
        database=DatabaseSettings(
            database_url=database_url.render_as_string(hide_password=False),
            app_database_url=server_url.render_as_string(hide_password=False),
        ),
        basemap=BasemapSettings(render_processes=2),
        basemap_cache=BasemapCacheSettings(dir=tmp_path),
    )


@pytest.fixture
def counted(tmp_path: Path) -> Iterator[Path]:
    """The ``ter_c`` file with a table counting the tiles written into it."""
    cache = TileCache(tmp_path)
    cache.put(TileJob("ter", "c", 1, 0, 0), None)  # creates the file and its schema
    cache.close()
    path = tmp_path / "ter_c.mbtiles"
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE writes (zoom_level, tile_column, tile_row);"
            "CREATE TRIGGER counted AFTER INSERT ON tiles BEGIN INSERT INTO writes"
            " VALUES (new.zoom_level, new.tile_column, new.tile_row); END;"
        )
    yield path


def writes(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT count(*) FROM writes").fetchone()[0])


def test_concurrent_requests_for_a_tile_render_it_once(settings: Settings, counted: Path) -> None:
    async def scenario() -> tuple[list[bytes | None], list[bytes | None]]:
        service = TileService(settings)
        try:
            first = await asyncio.gather(*(service.tile(HAIZHOU_TER) for _ in range(16)))
            again = await asyncio.gather(*(service.tile(HAIZHOU_TER) for _ in range(4)))
            return first, again
        finally:
            await service.aclose()

    first, again = asyncio.run(scenario())
    assert first[0] is not None and first[0].startswith(b"\x89PNG")
    assert all(tile == first[0] for tile in first + again)
    assert writes(counted) == 1


def test_a_layer_without_a_renderer_is_blank_without_a_worker(settings: Settings) -> None:
    missing = Settings(
        database=settings.database,
        basemap=settings.basemap,
        basemap_cache=settings.basemap_cache,
        basemap_imagery=settings.basemap_imagery.model_copy(update={"path": Path("/no/such.tif")}),
    )

    async def scenario() -> tuple[bytes | None, bool]:
        service = TileService(missing)
        try:
            return await service.tile(TileJob("img", "w", 12, 1627, 3403)), service._pool is None
        finally:
            await service.aclose()

    assert asyncio.run(scenario()) == (None, True)


def test_dead_workers_answer_unavailable_once_then_are_replaced(
    settings: Settings, counted: Path
) -> None:
    async def scenario() -> tuple[bytes | None, bytes | None]:
        service = TileService(settings)
        try:
            await service.tile(HAIZHOU_TER)
            pool = service._pool
            assert pool is not None
            for pid in list(pool._processes):  # the machine's OOM killer, say
                os.kill(pid, signal.SIGKILL)
            await asyncio.sleep(0.5)
            with pytest.raises(RenderUnavailableError):
                await service.tile(NEIGHBOUR)
            return await service.tile(NEIGHBOUR), await service.tile(HAIZHOU_TER)
        finally:
            await service.aclose()

    neighbour, cached = asyncio.run(scenario())
    assert neighbour is not None and cached is not None
    assert writes(counted) == 2


OWNER = """
import sys, time
from services.basemaps.jobs import TileJob
from services.basemaps.render_pool import render_into_cache, render_pool
from services.settings import Settings
pool = render_pool(Settings(), 2)
pool.submit(render_into_cache, TileJob("ter", "c", 3, 1, 6)).result()
print(" ".join(map(str, pool._processes)), flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie (never reaped) counts as gone
        return stat.read().split(")")[-1].split()[0] != "Z"


def test_workers_end_when_the_server_is_killed(settings: Settings, tmp_path: Path) -> None:
    """A server killed with SIGKILL (the OOM killer, a deployment's hard stop) takes its
    render workers with it instead of leaving them running."""
    env = {
        **os.environ,
        "ONEMAP_DATABASE_URL": str(settings.database.database_url),
        "ONEMAP_APP_DATABASE_URL": str(settings.database.app_database_url),
        "ONEMAP_BASEMAP_CACHE_DIR": str(tmp_path),
    }
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    try:
        assert owner.stdout is not None
        workers = [int(pid) for pid in owner.stdout.readline().split()]
        assert workers and all(_alive(pid) for pid in workers)
    finally:
        owner.kill()
        owner.wait()
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in workers)
