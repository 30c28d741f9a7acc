"""The in-process vector tile cache (services/ogcapi/tile_cache.py): the LRU's byte bound
and eviction without a database; then over real HTTP against the real app and PostGIS: a
hit is the same bytes and tag; the bound holds over many tiles; an edit to a building, a new
conflict run or a plan feature written changes the next answer at once; concurrent requests
for one missing tile run one statement (counted in the database); keyed collections are
never shared."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import statistics
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import shapely.wkb
from shapely import affinity
from sqlalchemy import Engine, text

from gis.tms import Tile, tile_for_point
from grid.edits import Actor, update
from grid.settings import GridSettings
from layers.conflicts import run_conflicts
from layers.loader import load_plans
from layers.rules import load_rules
from layers.settings import PlanSettings
from services.ogcapi.tile_cache import CachedTile, TileCache, entry_size
from services.settings import OgcSettings
from tests.conftest import SAMPLE
from tests.services.conftest import city_settings, serve

MVT = "WebMercatorQuad"

# --- the LRU alone ---------------------------------------------------------------------------


def _tile(n: int, size: int = 1000, etag: str = '"a"') -> CachedTile:
    return CachedTile(bytes([n % 256]) * size, etag, {"ETag": etag, "OGC-Tile-Features": "b=1/1"})


def test_the_lru_keeps_to_its_byte_bound_and_drops_the_least_recently_used() -> None:
    one = entry_size(("k", 0), _tile(0))
    cache = TileCache(max_bytes=5 * one + one // 2)  # room for five entries
    for n in range(5):
        cache.put(("k", n), _tile(n))
    assert len(cache) == 5 and cache.size == 5 * one
    assert cache.get(("k", 0), '"a"') is not None  # 0 is now the most recently used
    cache.put(("k", 5), _tile(5))
    assert cache.get(("k", 1), '"a"') is None  # 1 was the least recently used
    assert cache.get(("k", 0), '"a"') is not None
    assert len(cache) == 5 and cache.stats.evictions == 1
    for n in range(100):
        cache.put(("many", n), _tile(n, size=37 * n))
        assert cache.size <= cache.max_bytes
        assert cache.size == sum(entry_size(k, t) for k, (t, _) in cache._entries.items())
    cache.put(("huge",), _tile(0, size=cache.max_bytes))  # larger than the bound: not kept
    assert cache.get(("huge",), '"a"') is None and cache.size <= cache.max_bytes


def test_an_entry_under_another_tag_is_dropped_not_served() -> None:
    cache = TileCache(max_bytes=100_000)
    cache.put("k", _tile(1, etag='"old"'))
    assert cache.get("k", '"new"') is None
    assert len(cache) == 0 and cache.size == 0
    cache.put("k", CachedTile(None, '"empty"', {}))  # an empty tile (204) is kept too
    found = cache.get("k", '"empty"')
    assert found is not None and found.body is None


@pytest.mark.parametrize("layers", [1, 12])
def test_the_counted_size_covers_what_python_holds(layers: int) -> None:
    """Entries shaped like real ones (a key of layer digests and tile indices, a small body,
    the headers sent, made per tile): the bytes counted are at least what tracemalloc sees
    allocated, and not much more (under 1 kB an entry)."""
    cache = TileCache(max_bytes=1 << 30)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for n in range(2000):
        etag = f'"{n:024x}"'
        headers = {
            "Vary": "Accept, Authorization, X-API-Key",
            "OGC-Tile-Truncated": "false",
            "OGC-Tile-Features": f"buildings={n}/156, cells=4/4",
            "Cache-Control": f"max-age={60 + n % 2}, must-revalidate",
            "Last-Modified": f"Thu, 03 Dec 2026 14:00:{n % 60:02d} GMT",
            "ETag": etag,
        }
        key = (tuple(f"{n + i:024x}" for i in range(layers)), MVT, 16, 26000 + n, 54000 + n, 99)
        cache.put(key, CachedTile(b"x" * 200 + str(n).encode(), etag, headers))
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert used <= cache.size, (used, cache.size)
    assert cache.size - used < 2000 * 1024, (used, cache.size)


def test_concurrent_misses_share_one_flight() -> None:
    async def scenario() -> tuple[int, list[CachedTile], TileCache]:
        cache = TileCache(max_bytes=100_000)
        calls = 0
        release = asyncio.Event()

        async def make() -> CachedTile:
            nonlocal calls
            calls += 1
            await release.wait()
            return _tile(7)

        waiters = [asyncio.create_task(cache.made("k", '"a"', make)) for _ in range(10)]
        await asyncio.sleep(0.01)
        waiters[0].cancel()  # a client that went away does not cancel the others' query
        await asyncio.sleep(0.01)
        release.set()
        done = [await w for w in waiters[1:]]
        return calls, done, cache

    calls, done, cache = asyncio.run(scenario())
    assert calls == 1 and cache.stats.queries == 1
    assert all(d is done[0] for d in done)
    assert cache.get("k", '"a"') is done[0]


def test_a_failed_flight_fails_its_waiters_and_is_not_kept() -> None:
    async def scenario() -> list[BaseException | CachedTile]:
        cache = TileCache(max_bytes=100_000)

        async def make() -> CachedTile:
            await asyncio.sleep(0.01)
            raise RuntimeError("database gone")

        found = await asyncio.gather(
            *(cache.made("k", '"a"', make) for _ in range(3)), return_exceptions=True
        )
        assert len(cache) == 0 and not cache._flights
        return found

    assert all(isinstance(f, RuntimeError) for f in asyncio.run(scenario()))


# --- over HTTP -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def conflict_run(city: Engine) -> int:
    """The sample's plans imported and a conflict run, before the app starts."""
    settings = PlanSettings()
    load_plans(city, SAMPLE, settings=settings)
    return _run_conflicts(city)


def _run_conflicts(city: Engine) -> int:
    settings = PlanSettings()
    with city.begin() as conn:
        rules = load_rules(settings.rules_file)
        run = run_conflicts(conn, "urban_plan", ["landuse_plan"], rules=rules, settings=settings,
                            created_by="tests")  # fmt: skip
    return run.run_id


@dataclasses.dataclass
class Server:
    http: httpx.Client
    cache: TileCache


def _server(city: Engine, home: Path, megabytes: float) -> Iterator[Server]:
    settings = city_settings(city, home)
    settings = dataclasses.replace(settings, ogc=OgcSettings(tile_cache_mb=megabytes))
    apps: list[Any] = []
    for base in serve(settings, apps):
        with httpx.Client(base_url=f"{base}/ogc/", timeout=60) as http:
            yield Server(http, apps[0].state.ogc.tile_cache)


@pytest.fixture(scope="module")
def server(
    city: Engine, conflict_run: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    yield from _server(city, tmp_path_factory.mktemp("cache-home"), 64)


@pytest.fixture(scope="module")
def http(server: Server) -> httpx.Client:
    return server.http


def _building(city: Engine, offset: int = 0) -> tuple[int, float, float]:
    with city.connect() as conn:
        found = conn.execute(
            text("SELECT id, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))"
                 " FROM grid.buildings ORDER BY id OFFSET :o LIMIT 1"), {"o": offset}
        ).one()  # fmt: skip
    return int(found[0]), float(found[1]), float(found[2])


def _path(collection: str | None, tile: Tile) -> str:
    where = f"collections/{collection}/tiles" if collection else "tiles"
    return f"{where}/{MVT}/{tile.z}/{tile.y}/{tile.x}"


def _move(city: Engine, building: int, dx: float) -> None:
    """Move a building by the domain's edit function, committed."""
    with city.begin() as conn:
        version, wkb = conn.execute(
            text("SELECT version, ST_AsBinary(geom) FROM grid.buildings WHERE id = :i"),
            {"i": building},
        ).one()
        moved = affinity.translate(shapely.wkb.loads(bytes(wkb)), dx, 0)
        update(conn, "buildings", building, version, {"geom": moved}, Actor("operator"),
               settings=GridSettings())  # fmt: skip


def test_a_hit_is_the_same_bytes_and_tag(http: httpx.Client, city: Engine) -> None:
    _, x, y = _building(city)
    for collection, level in (("buildings", 14), ("cells", 13), (None, 15)):
        path = _path(collection, tile_for_point(MVT, x, y, level, geographic=True))
        first = http.get(path)
        assert first.status_code == 200 and first.headers["X-Cache"] == "miss", path
        again = http.get(path)
        assert again.headers["X-Cache"] == "hit"
        assert again.content == first.content
        for name in ("ETag", "Cache-Control", "Last-Modified", "Vary", "Content-Type",
                     "OGC-Tile-Features", "OGC-Tile-Truncated"):  # fmt: skip
            assert again.headers[name] == first.headers[name], name
        assert http.get(path, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304


def test_an_empty_tile_is_cached_as_204(http: httpx.Client) -> None:
    far = _path("buildings", tile_for_point(MVT, 100.0, 40.0, 14, geographic=True))
    first = http.get(far)
    assert first.status_code == 204 and first.headers["X-Cache"] == "miss"
    again = http.get(far)
    assert again.status_code == 204 and again.headers["X-Cache"] == "hit"
    assert again.headers["ETag"] == first.headers["ETag"]


def test_the_cache_never_exceeds_its_bound(city: Engine, conflict_run: int, tmp_path: Path) -> None:
    _, x, y = _building(city)
    centre = tile_for_point(MVT, x, y, 16, geographic=True)
    for small in _server(city, tmp_path, 0.1):  # 100 kB: a few dozen tiles at most
        sizes = []
        for dy in range(-5, 5):
            for dx in range(-5, 5):
                tile = Tile(centre.x + dx, centre.y + dy, 16)
                for collection in ("buildings", "cells", None):
                    answer = small.http.get(_path(collection, tile))
                    assert answer.status_code in (200, 204)
                    sizes.append(small.cache.size)
                    assert small.cache.size <= small.cache.max_bytes
        assert small.cache.stats.evictions > 0 and max(sizes) > small.cache.max_bytes // 2


def test_a_building_edit_changes_its_tiles_at_once(http: httpx.Client, city: Engine) -> None:
    """Stamps are per table: a building edit changes every buildings tile's tag (they are
    made again, the same bytes where nothing moved), while cells tiles stay hits."""
    building, x, y = _building(city, offset=3)
    over = _path("buildings", tile_for_point(MVT, x, y, 16, geographic=True))
    elsewhere = tile_for_point(MVT, x + 0.05, y + 0.05, 14, geographic=True)
    far_buildings, far_cells = _path("buildings", elsewhere), _path("cells", elsewhere)
    before = {p: http.get(p) for p in (over, far_buildings, far_cells)}
    assert all(http.get(p).headers["X-Cache"] == "hit" for p in before)
    _move(city, building, 0.0003)
    try:
        after = http.get(over)  # no waiting: the next request sees the edit
        assert after.headers["X-Cache"] == "miss"
        assert after.headers["ETag"] != before[over].headers["ETag"]
        assert after.content != before[over].content
        far = http.get(far_buildings)
        assert far.headers["X-Cache"] == "miss" and far.content == before[far_buildings].content
        cells = http.get(far_cells)
        assert cells.headers["X-Cache"] == "hit"
        assert cells.headers["ETag"] == before[far_cells].headers["ETag"]
    finally:
        _move(city, building, -0.0003)
    assert http.get(over).headers["ETag"] != before[over].headers["ETag"]  # a new stamp


def test_a_new_conflict_run_changes_the_conflict_tiles(
    http: httpx.Client, city: Engine, conflict_run: int
) -> None:
    with city.connect() as conn:
        x, y = conn.execute(
            text("SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM"
                 " plans.conflict_patches WHERE run_id = :r ORDER BY area_m2 DESC LIMIT 1"),
            {"r": conflict_run},
        ).one()  # fmt: skip
    tile = tile_for_point(MVT, x, y, 12, geographic=True)
    old = _path(f"conflicts.run{conflict_run}", tile)
    first = http.get(old)
    assert first.status_code == 200 and http.get(old).headers["X-Cache"] == "hit"
    new_run = _run_conflicts(city)
    again = http.get(old)
    assert again.headers["X-Cache"] == "miss"
    assert again.headers["ETag"] != first.headers["ETag"]
    deadline = time.monotonic() + 10  # the new run's collection: once the registry sees it
    while (answer := http.get(_path(f"conflicts.run{new_run}", tile))).status_code == 404:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert answer.status_code == 200 and answer.headers["X-Cache"] == "miss"


def _waiting_tile_statements(city: Engine) -> int:
    with city.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                     " AND wait_event_type = 'Lock' AND query LIKE '%ST_AsMVT%'")
            ).scalar_one()
        )  # fmt: skip


def test_concurrent_requests_for_a_missing_tile_run_one_statement(
    server: Server, city: Engine
) -> None:
    """The buildings table is locked while eight requests ask for one new tile: the
    database shows the tile statements waiting on the lock, and there is one."""
    _, x, y = _building(city, offset=5)
    path = _path("buildings", tile_for_point(MVT, x, y, 17, geographic=True))
    server.http.get("collections/buildings/tiles")  # the registry is fresh
    queries = server.cache.stats.queries
    answers: list[httpx.Response] = []

    def ask() -> None:
        answers.append(server.http.get(path))

    with city.connect() as conn:
        transaction = conn.begin()
        conn.execute(text("LOCK TABLE grid.buildings IN ACCESS EXCLUSIVE MODE"))
        threads = [threading.Thread(target=ask) for _ in range(8)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while _waiting_tile_statements(city) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # time for any other statement to reach the lock too
        waiting = _waiting_tile_statements(city)
        transaction.rollback()
    for thread in threads:
        thread.join(timeout=30)
    assert waiting == 1
    assert server.cache.stats.queries == queries + 1
    assert len(answers) == 8 and len({a.content for a in answers}) == 1
    assert {a.headers["X-Cache"] for a in answers} == {"miss"}
    assert server.http.get(path).headers["X-Cache"] == "hit"


def test_keyed_tiles_are_never_shared_between_callers(
    http: httpx.Client, city: Engine, city_key: Callable[..., str]
) -> None:
    with city.connect() as conn:
        worker, x, y = conn.execute(
            text("SELECT worker_id, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))"
                 " FROM grid.persons_located WHERE worker_id IS NOT NULL ORDER BY id LIMIT 1")
        ).one()  # fmt: skip
    path = _path("persons", tile_for_point(MVT, x, y, 14, geographic=True))
    admin = {"Authorization": f"Bearer {city_key('admin')}"}
    grid_worker = {"Authorization": f"Bearer {city_key('grid_worker', worker_id=int(worker))}"}
    theirs = [http.get(path, headers=h) for h in (admin, grid_worker, admin, grid_worker)]
    assert all(a.status_code == 200 and a.headers["X-Cache"] == "bypass" for a in theirs)
    assert theirs[0].content == theirs[2].content and theirs[1].content == theirs[3].content
    assert theirs[0].content != theirs[1].content
    assert theirs[0].headers["OGC-Tile-Features"] != theirs[1].headers["OGC-Tile-Features"]
    assert http.get(path).status_code == 404  # and nothing kept leaks to anonymous callers
    public = _path("buildings", tile_for_point(MVT, x, y, 14, geographic=True))
    shared = [http.get(public, headers=h) for h in ({}, admin, grid_worker)]
    assert len({a.content for a in shared}) == 1  # public tiles: the same for everybody


def test_median_time_of_a_cached_and_an_uncached_tile(
    server: Server, city: Engine, tmp_path: Path
) -> None:
    """One z14 buildings tile over HTTP, in one run: made each time (a new stamp each
    round, so the cache misses), served from the cache, and made by a server without a
    cache (no stamps read first); printed, and the cache must be faster."""
    building, x, y = _building(city, offset=7)
    path = _path("buildings", tile_for_point(MVT, x, y, 14, geographic=True))

    def timed(http: httpx.Client, expected: str) -> float:
        start = time.perf_counter()
        answer = http.get(path)
        spent = time.perf_counter() - start
        assert answer.status_code == 200 and answer.headers["X-Cache"] == expected
        return spent

    def floor() -> float:  # a small document made without the database: HTTP's own cost
        start = time.perf_counter()
        assert server.http.get(f"tileMatrixSets/{MVT}").status_code == 200
        return time.perf_counter() - start

    uncached, cached, off, bare = [], [], [], []
    for plain in _server(city, tmp_path, 0):
        for _ in range(30):
            with city.begin() as conn:  # a new stamp for grid.buildings, the bytes unchanged
                conn.execute(text("UPDATE grid.buildings SET floors = floors WHERE id = :i"),
                             {"i": building})  # fmt: skip
            uncached.append(timed(server.http, "miss"))
            cached.extend(timed(server.http, "hit") for _ in range(3))
            off.append(timed(plain.http, "bypass"))
            bare.append(floor())
    miss, hit, none, least = (statistics.median(t) for t in (uncached, cached, off, bare))
    print(f"\nz14 buildings tile, medians: miss {miss * 1000:.2f} ms, hit {hit * 1000:.2f} ms"
          f" (miss/hit {miss / hit:.1f}x), cache off {none * 1000:.2f} ms"
          f" (off/hit {none / hit:.1f}x); a tile matrix set document"
          f" {least * 1000:.2f} ms")  # fmt: skip
    assert hit < miss


def test_a_plan_import_changes_the_plan_and_dataset_tiles(http: httpx.Client, city: Engine) -> None:
    """A feature written to the latest version of a plan layer (what an import writes):
    the plan layer's tile and the dataset tile over it are made again at the next request."""
    _, x, y = _building(city, offset=2)
    tile = tile_for_point(MVT, x, y, 15, geographic=True)
    paths = (_path("plans.urban_plan", tile), _path(None, tile))
    before = {p: http.get(p) for p in paths}
    assert all(http.get(p).headers["X-Cache"] == "hit" for p in paths)
    with city.begin() as conn:
        added = conn.execute(
            text("INSERT INTO plans.features (layer_version_id, source_fid, source_code,"
                 " code_2023, category, properties, geom) SELECT max(id), 'cache-test', '0101',"
                 " '0101', '农用', '{}', ST_Multi(ST_Buffer(ST_SetSRID(ST_Point(:x, :y), 4490),"
                 " 0.0005)) FROM plans.layer_versions WHERE layer_id = 'urban_plan' RETURNING id"),
            {"x": x, "y": y},
        ).scalar_one()  # fmt: skip
    try:
        for path in paths:
            after = http.get(path)
            assert after.headers["X-Cache"] == "miss", path
            assert after.headers["ETag"] != before[path].headers["ETag"]
            assert after.content != before[path].content
    finally:
        with city.begin() as conn:
            conn.execute(text("DELETE FROM plans.features WHERE id = :i"), {"i": added})
