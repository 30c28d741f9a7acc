"""Cached tiles expire when the data they draw change (migration 0012,
services/basemaps/cache/changes.py): the database records one box per changing statement,
the server's role drains them, and the tiles over them go on both sets, on the layers drawn
from the changed table, and no others."""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import shapely.wkb
from shapely import affinity
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from gis.engine import create_engine
from gis.tms import Tile, tile_bounds, tile_for_point, tiles_for_bbox
from grid.edits import Actor, update
from grid.settings import GridSettings
from layers.loader import load_plans
from layers.settings import PlanSettings
from services.basemaps.cache import LAYERS_BY_SOURCE, ExpiryWatcher, TileCache, expire_changes
from services.basemaps.cache.changes import (
    BUFFER_PIXELS,
    VECTOR_LAYERS,
    merge_ranges,
    take_changes,
    tile_range,
)
from services.basemaps.jobs import TileJob
from services.settings import BasemapCacheSettings
from tests.conftest import ROOT, SAMPLE

Box = tuple[float, float, float, float]
HAIZHOU = (119.1788, 34.6015)
FAR = (119.75, 35.05)
"""A point of the county far (many tiles at level 12) from Haizhou."""
PNG = b"\x89PNG tile"
OPERATOR = Actor("operator")
GRID = GridSettings()


@pytest.fixture(scope="module")
def plans(engine: Engine) -> Engine:
    """The session database with the sample's plan layers (a current-use one among them)."""
    load_plans(engine, SAMPLE, settings=PlanSettings())
    return engine


@pytest.fixture(scope="module")
def server_engine(engine: Engine, server_url: URL) -> Iterator[Engine]:
    made = create_engine(server_url)
    yield made
    made.dispose()


@pytest.fixture
def server(server_engine: Engine) -> Iterator[Connection]:
    """The server's login, its transaction rolled back after the test."""
    with server_engine.connect() as connection:
        transaction = connection.begin()
        try:
            yield connection
        finally:
            transaction.rollback()


@pytest.fixture
def drained(engine: Engine) -> Engine:
    """No box pending (other tests' committed edits leave some)."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM tiles.changed_boxes"))
    return engine


def _mark(conn: Connection) -> int:
    return int(conn.execute(text("SELECT coalesce(max(id), 0) FROM tiles.changed_boxes")).one()[0])


def _boxes_since(conn: Connection, mark: int) -> list[tuple[str, Box]]:
    rows = conn.execute(
        text(
            "SELECT source, ST_XMin(box), ST_YMin(box), ST_XMax(box), ST_YMax(box)"
            " FROM tiles.changed_boxes WHERE id > :m ORDER BY id"
        ),
        {"m": mark},
    )
    return [(r[0], (r[1], r[2], r[3], r[4])) for r in rows]


def _extent(conn: Connection, sql: str, **params: object) -> Box:
    row = conn.execute(
        text(f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM ({sql}) AS s(e)"),
        params,
    ).one()
    return (row[0], row[1], row[2], row[3])


def _union(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _building(conn: Connection) -> tuple[int, int]:
    row = conn.execute(text("SELECT id, version FROM grid.buildings ORDER BY code LIMIT 1")).one()
    return int(row[0]), int(row[1])


# --- what the database records --------------------------------------------------------------


def test_an_edit_of_one_building_records_its_old_and_new_extent(server: Connection) -> None:
    """Through the domain's edit function, as the server's role (which may not write the
    queue itself)."""
    bid, version = _building(server)
    old = _extent(server, "SELECT ST_Extent(geom) FROM grid.buildings WHERE id = :i", i=bid)
    wkb = server.execute(text("SELECT ST_AsBinary(geom) FROM grid.buildings WHERE id = :i"),
                         {"i": bid}).scalar_one()  # fmt: skip
    moved = affinity.translate(shapely.wkb.loads(bytes(wkb)), 0.002, -0.001)
    mark = _mark(server)
    update(server, "buildings", bid, version, {"geom": moved}, OPERATOR, settings=GRID)
    new = _extent(server, "SELECT ST_Extent(geom) FROM grid.buildings WHERE id = :i", i=bid)
    assert new != old
    [(source, box)] = _boxes_since(server, mark)
    assert source == "grid.buildings"
    assert box == pytest.approx(_union(old, new), abs=1e-9)
    with pytest.raises(DBAPIError) as refused, server.begin_nested():
        server.execute(
            text(
                "INSERT INTO tiles.changed_boxes (source, box)"
                " VALUES ('x', ST_MakeEnvelope(0, 0, 1, 1, 4490))"
            )
        )
    assert getattr(refused.value.orig, "sqlstate", None) == "42501"


def test_an_update_that_changes_nothing_drawn_records_nothing(server: Connection) -> None:
    bid, _ = _building(server)
    mark = _mark(server)
    server.execute(text("UPDATE grid.buildings SET floors = floors + 1 WHERE id = :i"), {"i": bid})
    server.execute(text("UPDATE grid.admin_areas SET updated_by = 'x' WHERE level = 'street'"))
    assert _boxes_since(server, mark) == []


def test_a_renamed_admin_area_records_its_extent(server: Connection) -> None:
    """Labels show names: a rename changes the tiles of cva and cia."""
    code = server.execute(
        text("SELECT code FROM grid.admin_areas WHERE level = 'community' ORDER BY code LIMIT 1")
    ).scalar_one()
    area = _extent(server, "SELECT ST_Extent(geom) FROM grid.admin_areas WHERE code = :c", c=code)
    mark = _mark(server)
    server.execute(text("UPDATE grid.admin_areas SET name = name || '新' WHERE code = :c"),
                   {"c": code})  # fmt: skip
    [(source, box)] = _boxes_since(server, mark)
    assert source == "grid.admin_areas"
    assert box == pytest.approx(area, abs=1e-9)


def test_a_bulk_insert_records_one_row_and_so_does_its_delete(conn: Connection) -> None:
    conn.execute(text("SET LOCAL onemap.bulk = 'on'"))  # as an import runs
    mark = _mark(conn)
    added = conn.execute(
        text(
            "INSERT INTO grid.buildings (code, name, use, floors, address, geom)"
            " SELECT code || '-copy', name, use, floors, address, ST_Translate(geom, 0.01, 0.02)"
            " FROM grid.buildings"
        )
    ).rowcount
    assert added > 100
    copies = "SELECT ST_Extent(geom) FROM grid.buildings WHERE code LIKE '%-copy'"
    extent = _extent(conn, copies)
    [(source, box)] = _boxes_since(conn, mark)
    assert source == "grid.buildings"
    assert box == pytest.approx(extent, abs=1e-9)
    conn.execute(text("DELETE FROM grid.buildings WHERE code LIKE '%-copy'"))
    [_, (source, box)] = _boxes_since(conn, mark)
    assert source == "grid.buildings"
    assert box == pytest.approx(extent, abs=1e-9)


def test_a_truncate_records_what_it_empties(conn: Connection) -> None:
    extent = _extent(conn, "SELECT ST_Extent(geom) FROM grid.buildings")
    mark = _mark(conn)
    conn.execute(text("TRUNCATE grid.buildings CASCADE"))
    boxes = [box for source, box in _boxes_since(conn, mark) if source == "grid.buildings"]
    assert boxes == [pytest.approx(extent, abs=1e-9)]


def _plan_layer(conn: Connection, current_use: bool) -> int:
    """The newest version of a plan layer that is (not) the current-use one."""
    return int(
        conn.execute(
            text(
                "SELECT v.id FROM plans.layer_versions v JOIN plans.layers l ON l.id = v.layer_id"
                " WHERE (l.plan_type = 'current_use') = :cu ORDER BY v.version DESC, v.id LIMIT 1"
            ),
            {"cu": current_use},
        ).scalar_one()
    )


def test_only_the_current_use_layer_of_the_plans_records_boxes(
    plans: Engine, conn: Connection
) -> None:
    other, current = _plan_layer(conn, False), _plan_layer(conn, True)
    move = (
        "UPDATE plans.features SET geom = ST_Translate(geom, 0.001, 0)"
        " WHERE id IN (SELECT id FROM plans.features WHERE layer_version_id = :v"
        " ORDER BY id LIMIT 3)"
    )
    mark = _mark(conn)
    conn.execute(text(move), {"v": other})
    conn.execute(text("DELETE FROM plans.features WHERE layer_version_id = :v"), {"v": other})
    assert _boxes_since(conn, mark) == []
    conn.execute(text("UPDATE plans.features SET properties = '{}' WHERE layer_version_id = :v"),
                 {"v": current})  # fmt: skip
    assert _boxes_since(conn, mark) == []  # nothing drawn changed
    conn.execute(text(move), {"v": current})
    [(source, _)] = _boxes_since(conn, mark)
    assert source == "plans.features"


def test_a_new_current_use_version_records_the_one_it_supersedes_once(
    plans: Engine, conn: Connection
) -> None:
    """The style draws a layer's newest version only: a new version's rows replace the
    previous version's, whose extent counts with the first chunk of the new one only."""
    current = _plan_layer(conn, True)
    previous = _extent(
        conn, "SELECT ST_Extent(geom) FROM plans.features WHERE layer_version_id = :v", v=current
    )
    new = conn.execute(
        text(
            "INSERT INTO plans.layer_versions (layer_id, version, source_name, source_sha256,"
            " source_crs, feature_count, imported_by)"
            " SELECT layer_id, version + 1, 'test', repeat('0', 64), 'EPSG:4490', 0, 'test'"
            " FROM plans.layer_versions WHERE id = :v RETURNING id"
        ),
        {"v": current},
    ).scalar_one()
    chunk = (
        "INSERT INTO plans.features (layer_version_id, code_2023, category, geom)"
        " SELECT :new, code_2023, category, ST_Translate(geom, :dx, 0) FROM plans.features"
        " WHERE layer_version_id = :v ORDER BY id LIMIT 2"
    )
    mark = _mark(conn)
    conn.execute(text(chunk), {"new": new, "dx": 1.0, "v": current})
    moved = _extent(conn, "SELECT ST_Extent(geom) FROM plans.features WHERE layer_version_id = :v",
                    v=new)  # fmt: skip
    [(source, box)] = _boxes_since(conn, mark)
    assert source == "plans.features"
    assert box == pytest.approx(_union(previous, moved), abs=1e-9)
    conn.execute(text(chunk), {"new": new, "dx": 2.0, "v": current})  # a second COPY chunk
    [_, (_, box)] = _boxes_since(conn, mark)
    assert box[0] > previous[2]  # only the chunk's rows, 2° east


def test_every_table_a_style_reads_records_its_changes(engine: Engine) -> None:
    """The styles (config/basemap/) read exactly the tables LAYERS_BY_SOURCE names for their
    layer (the plan tables joined to pick the current-use layer's newest version aside),
    with the buffer BUFFER_PIXELS says; each such table has the four triggers."""
    lookups = {"plans.layer_versions", "plans.layers"}
    for layer in VECTOR_LAYERS:
        xml = (ROOT / "config" / "basemap" / f"{layer}.xml").read_text(encoding="utf-8")
        read = set(re.findall(r"\b(?:FROM|JOIN)\s+([a-z_]+\.[a-z_]+)", xml)) - lookups
        named = {source for source, layers in LAYERS_BY_SOURCE.items() if layer in layers}
        assert read == named, layer
        buffer = re.search(r'<Map [^>]*buffer-size="(\d+)"', xml)
        assert buffer is not None and int(buffer[1]) == BUFFER_PIXELS[layer], layer
    with engine.connect() as conn:
        triggers = conn.execute(
            text(
                "SELECT tgrelid::regclass::text, count(*) FROM pg_trigger"
                " WHERE tgname LIKE 'changed_box_%' GROUP BY 1"
            )
        ).all()
    assert dict(triggers) == dict.fromkeys(LAYERS_BY_SOURCE, 4)


# --- dropping the tiles ------------------------------------------------------------------------


def _job(layer: str, tileset: str, level: int, point: tuple[float, float], dx: int = 0) -> TileJob:
    tile = tile_for_point(tileset, *point, level, geographic=True)
    return TileJob(layer, tileset, level, tile.y, tile.x + dx)  # type: ignore[arg-type]


def _centre_box(level: int) -> Box:
    """The middle quarter of the ``c`` tile at Haizhou: widened by vec's buffer (a quarter
    tile) it stays in that tile, by cva's and cia's (half a tile) it meets the neighbours."""
    tile = tile_for_point("c", *HAIZHOU, level, geographic=True)
    west, south, east, north = tile_bounds("c", Tile(tile.x, tile.y, level), geographic=True)
    w, h = east - west, north - south
    return (west + 3 * w / 8, south + 3 * h / 8, west + 5 * w / 8, south + 5 * h / 8)


def _record(engine: Engine, source: str, box: Box) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO tiles.changed_boxes (source, box)"
                " VALUES (:s, ST_MakeEnvelope(:w, :so, :e, :n, 4490))"
            ),
            {"s": source, "w": box[0], "so": box[1], "e": box[2], "n": box[3]},
        )


def _pending(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM tiles.changed_boxes")).scalar_one())


@pytest.mark.parametrize("source", ["grid.buildings", "grid.admin_areas"])
def test_the_server_drains_the_boxes_and_exactly_their_tiles_go(
    drained: Engine, server_engine: Engine, tmp_path: Path, source: str
) -> None:
    """Columns of both sets at a level are the same meridians, so the box in the middle
    quarter of a column, widened by vec's quarter tile, stays in it on both; widened by the
    labels' half tile it reaches the next column."""
    cache = TileCache(tmp_path)
    levels = (12, 15, 18)
    box = _centre_box(18)
    centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    inside, beside, far = [], [], []
    for layer in ("vec", "cva", "cia", "img"):
        for tileset in ("c", "w"):
            for level in levels:
                inside.append(_job(layer, tileset, level, centre))
                far.append(_job(layer, tileset, level, FAR))
            beside.append(_job(layer, tileset, 18, centre, dx=1))
    for job in inside + beside + far:
        cache.put(job, PNG)
    _record(drained, source, box)
    _record(drained, "grid.cells", box)  # drawn by no style: taken, expires nothing

    dropped = expire_changes(cache, server_engine, levels=range(1, 19))

    assert _pending(drained) == 0
    layers = LAYERS_BY_SOURCE[source]
    gone = [j for j in inside if j.layer in layers]
    gone += [j for j in beside if j.layer in layers and j.layer != "vec"]
    for job in inside + beside + far:
        assert (cache.get(job) is None) == (job in gone), job
    assert dropped == len(gone)
    assert {j.layer for j in gone} == set(layers)


def test_the_vec_buffer_keeps_the_c_neighbours_of_a_small_box(
    drained: Engine, server_engine: Engine, tmp_path: Path
) -> None:
    cache = TileCache(tmp_path)
    centre, east = _job("vec", "c", 18, HAIZHOU), _job("vec", "c", 18, HAIZHOU, dx=1)
    cache.put(centre, PNG)
    cache.put(east, PNG)
    _record(drained, "grid.buildings", _centre_box(18))
    assert expire_changes(cache, server_engine, levels=[18]) == 1
    assert (cache.get(centre), cache.get(east)) == (None, PNG)


def test_a_failed_expiry_leaves_the_boxes_pending(
    drained: Engine, server_engine: Engine, tmp_path: Path
) -> None:
    class Broken(TileCache):
        def expire_range(self, *args: object, **kwargs: object) -> int:
            raise OSError("disk gone")

    cache = Broken(tmp_path)
    cache.put(_job("vec", "c", 18, HAIZHOU), PNG)
    _record(drained, "grid.buildings", _centre_box(18))
    with pytest.raises(OSError, match="disk gone"):
        expire_changes(cache, server_engine)
    assert _pending(drained) == 1


def test_two_drainers_never_take_the_same_box(drained: Engine, server_engine: Engine) -> None:
    """A box one server process holds (taken, not yet committed) is skipped by another; a
    rollback leaves it pending."""
    _record(drained, "grid.buildings", _centre_box(18))
    with server_engine.connect() as first, server_engine.connect() as second:
        with first.begin() as held:
            assert len(take_changes(first)) == 1
            with second.begin():
                assert take_changes(second) == []
            held.rollback()
        with second.begin():
            assert [b.source for b in take_changes(second)] == ["grid.buildings"]
    assert _pending(drained) == 0


@pytest.mark.parametrize("tileset", ["c", "w"])
def test_tile_ranges_are_the_tiles_tile_cache_expire_picks(tileset: str) -> None:
    """The arithmetic agrees with gis.tms.tiles_for_bbox as TileCache.expire uses it (columns
    from the box's south edge, rows from its west edge), for boxes in and around the county
    and, on ``c``, boxes whose edges lie on tile boundaries (exact binary fractions there;
    on ``w`` an edge on a boundary is a matter of rounding in PROJ's projection, where either
    tile is right)."""
    rng = random.Random(16)
    for _ in range(400):
        level = rng.randint(1, 18)
        west, south = rng.uniform(118.0, 120.5), rng.uniform(33.8, 35.5)
        size = rng.choice([1e-6, 1e-4, 1e-2, 0.5, 3.0])
        east, north = west + size * rng.random(), south + size * rng.random()
        if tileset == "c" and rng.random() < 0.4:  # edges on boundaries: no neighbour pulled in
            step = 360 / 2**level
            west, east = (
                -180 + step * ((west + 180) // step),
                -180 + step * (1 + (east + 180) // step),
            )
            south, north = (
                90 - step * (1 + (90 - south) // step),
                90 - step * ((90 - north) // step),
            )
        box = (west, south, east, north)
        cols = list(tiles_for_bbox(tileset, (west, south, east, south), level, geographic=True))
        rows = list(tiles_for_bbox(tileset, (west, south, west, north), level, geographic=True))
        expected = (cols[0].x, cols[-1].x, rows[0].y, rows[-1].y)
        assert tile_range(tileset, level, box) == expected, (level, box)  # type: ignore[arg-type]


def test_merging_ranges_adds_no_tile_beyond_an_overlap() -> None:
    assert merge_ranges([(0, 0, 0, 0)] * 3) == [(0, 0, 0, 0)]
    assert merge_ranges([(0, 1, 0, 1), (2, 3, 0, 1)]) == [(0, 3, 0, 1)]  # side by side
    assert merge_ranges([(0, 3, 0, 3), (1, 2, 1, 2)]) == [(0, 3, 0, 3)]  # nested
    assert sorted(merge_ranges([(0, 0, 0, 0), (5, 5, 5, 5)])) == [(0, 0, 0, 0), (5, 5, 5, 5)]
    assert len(merge_ranges([(0, 1, 0, 0), (1, 1, 1, 2)])) == 2  # an L: the corner would add


# --- the watcher ---------------------------------------------------------------------------------


def test_the_watcher_expires_an_edit_within_a_few_intervals(
    drained: Engine, server_engine: Engine, tmp_path: Path
) -> None:
    cache = TileCache(tmp_path)
    with drained.connect() as conn:
        bid, version = _building(conn)
        row = conn.execute(
            text("SELECT ST_AsBinary(geom), ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom))"
                 " FROM grid.buildings WHERE id = :i"), {"i": bid}
        ).one()  # fmt: skip
    original = shapely.wkb.loads(bytes(row[0]))
    jobs = [_job("vec", s, 17, (row[1], row[2])) for s in ("c", "w")]
    untouched = _job("vec", "c", 17, FAR)
    for job in [*jobs, untouched]:
        cache.put(job, PNG)
    interval = 0.2

    async def scenario() -> float:
        watcher = ExpiryWatcher(cache, server_engine, interval)
        await watcher.start()
        try:
            await asyncio.sleep(interval)
            with server_engine.begin() as conn:
                moved = affinity.translate(original, 0.0005, 0)
                update(conn, "buildings", bid, version, {"geom": moved}, OPERATOR, settings=GRID)
            started = time.monotonic()
            while any(cache.get(job) is not None for job in jobs):
                assert time.monotonic() - started < 20 * interval + 5, "not expired"
                await asyncio.sleep(interval / 4)
            return time.monotonic() - started
        finally:
            await watcher.stop()
            with server_engine.begin() as conn:
                update(
                    conn, "buildings", bid, version + 1, {"geom": original}, OPERATOR, settings=GRID
                )

    asyncio.run(scenario())
    assert cache.get(untouched) == PNG


def test_the_watcher_survives_a_database_that_is_down(tmp_path: Path) -> None:
    nowhere = create_engine("postgresql+psycopg://nobody:x@127.0.0.1:1/none")

    async def scenario() -> ExpiryWatcher:
        watcher = ExpiryWatcher(TileCache(tmp_path), nowhere, 0.1)
        await watcher.start()
        await asyncio.sleep(0.5)
        assert watcher.running
        ticks = 0
        for _ in range(5):  # the loop is not blocked while the runs fail
            await asyncio.sleep(0.01)
            ticks += 1
        await watcher.stop()
        assert ticks == 5
        return watcher

    watcher = asyncio.run(scenario())
    assert (watcher.running, watcher.runs) == (False, 0)


def test_the_interval_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert BasemapCacheSettings().expire_interval == 2.0
    monkeypatch.setenv("ONEMAP_BASEMAP_CACHE_EXPIRE_INTERVAL", "0.5")
    assert BasemapCacheSettings().expire_interval == 0.5
    monkeypatch.setenv("ONEMAP_BASEMAP_CACHE_EXPIRE_INTERVAL", "0")
    with pytest.raises(ValueError, match="greater than or equal"):
        BasemapCacheSettings()
