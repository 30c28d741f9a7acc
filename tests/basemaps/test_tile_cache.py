"""The MBTiles tile cache on real SQLite files: round trips, blank tiles, the TMS row flip,
two processes writing one file, expiry by box and level, single flight across threads."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from gis.tms import matrix_size, tile_for_point, tiles_for_bbox
from services.basemaps.cache import BLANK, LevelStatus, TileCache, mbtiles_row
from services.basemaps.jobs import TileJob
from services.settings import BasemapCacheSettings

HAIZHOU = (119.1788, 34.6015)


def _job(tileset: str, level: int, row: int, col: int, layer: str = "vec") -> TileJob:
    return TileJob(layer, tileset, level, row, col)  # type: ignore[arg-type]


def _stored(path: Path) -> set[tuple[int, int, int]]:
    with sqlite3.connect(path) as db:
        return set(db.execute("SELECT zoom_level, tile_column, tile_row FROM tiles"))


def test_put_and_get_round_trip_and_blank_is_not_missing(tmp_path: Path) -> None:
    cache = TileCache(tmp_path)
    job, other = _job("c", 10, 157, 850), _job("c", 10, 157, 851)
    assert cache.get(job) is None
    cache.put(job, b"\x89PNG tile")
    cache.put(other, None)  # a blank tile
    assert cache.get(job) == b"\x89PNG tile"
    assert cache.get(other) == BLANK == b""
    assert cache.get(_job("w", 10, 157, 850)) is None  # another set, another file
    cache.put(job, b"new")  # replaced, not duplicated
    assert cache.get(job) == b"new"
    assert sorted(p.name for p in tmp_path.glob("*.mbtiles")) == ["vec_c.mbtiles", "vec_w.mbtiles"]


def test_the_file_is_mbtiles_with_rows_counted_from_the_bottom(tmp_path: Path) -> None:
    cache = TileCache(tmp_path)
    for tileset in ("c", "w"):
        tile = tile_for_point(tileset, *HAIZHOU, 10, geographic=True)
        cache.put(_job(tileset, 10, tile.y, tile.x, "img"), b"jpeg")
        rows = matrix_size(tileset, 10).height  # c: 2^(n-1) = 512 rows, w: 2^n = 1024
        assert _stored(tmp_path / f"img_{tileset}.mbtiles") == {(10, tile.x, rows - 1 - tile.y)}
    # Haizhou: c level 10 row 157 of 512 from the top is tile_row 354 from the bottom.
    assert mbtiles_row("c", 10, 157) == 354 and mbtiles_row("w", 10, 406) == 617
    assert mbtiles_row("c", 1, 0) == 0 and mbtiles_row("w", 1, 0) == 1
    assert mbtiles_row("c", 18, mbtiles_row("c", 18, 12345)) == 12345
    with sqlite3.connect(tmp_path / "img_c.mbtiles") as db:
        meta = dict(db.execute("SELECT name, value FROM metadata"))
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert meta["format"] == "jpg" and meta["scheme"] == "tms" and meta["crs"] == "EPSG:4490"
    assert (meta["minzoom"], meta["maxzoom"], meta["tile_matrix_set"]) == ("1", "18", "TiandituC")


def _writer(directory: str, start: int, count: int) -> None:
    cache = TileCache(directory, busy_timeout_ms=60_000)
    for n in range(start, start + count):
        cache.put(_job("c", 18, n // 1000, n % 1000), n.to_bytes(4, "big") * 64)
        if n % 3 == 0:  # shared tiles too: both processes replace them
            cache.put(_job("c", 18, 999, n % 50), b"shared")


def test_two_processes_writing_one_file_lose_nothing(tmp_path: Path) -> None:
    count = 1500
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_writer, args=(str(tmp_path), i * count, count)) for i in (0, 1)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0]  # no 'database is locked' in either
    cache = TileCache(tmp_path)
    for n in range(2 * count):
        assert cache.get(_job("c", 18, n // 1000, n % 1000)) == n.to_bytes(4, "big") * 64
    [status] = cache.status()
    assert (status.level, status.tiles) == (18, 2 * count + 50)


def test_expire_drops_exactly_the_box_at_those_levels(tmp_path: Path) -> None:
    cache = TileCache(tmp_path)
    area = (119.0, 34.4, 119.6, 34.9)
    # West and north edges of the box lie on tile boundaries at level 12 of 'c'.
    box = (119.1796875, 34.541015625, 119.35, 34.716796875)
    for tileset in ("c", "w"):
        every = {
            (level, t.x, t.y)
            for level in (10, 11, 12)
            for t in tiles_for_bbox(tileset, area, level, geographic=True)
        }
        for level, col, row in every:
            cache.put(_job(tileset, level, row, col), b"t")
        dropped = cache.expire("vec", tileset, box, [11, 12])
        gone = {
            (level, t.x, t.y)
            for level in (11, 12)
            for t in tiles_for_bbox(tileset, box, level, geographic=True)
        }
        assert dropped == len(gone) > 4
        left = {(z, x, mbtiles_row(tileset, z, y)) for z, x, y in every - gone}
        assert _stored(tmp_path / f"vec_{tileset}.mbtiles") == left
    assert cache.expire("cva", "c", box, [12]) == 0  # no file: nothing to drop, none made
    assert not (tmp_path / "cva_c.mbtiles").exists()


def test_status_counts_tiles_blanks_and_bytes(tmp_path: Path) -> None:
    cache = TileCache(tmp_path)
    assert cache.status() == []
    cache.put(_job("c", 10, 157, 850), b"12345")
    cache.put(_job("c", 10, 157, 851), None)
    cache.put(_job("c", 11, 314, 1700), b"123")
    cache.put(_job("w", 10, 406, 850, "img"), b"1")
    assert cache.status() == [
        LevelStatus("img", "w", 10, 1, 0, 1),
        LevelStatus("vec", "c", 10, 2, 1, 5),
        LevelStatus("vec", "c", 11, 1, 0, 3),
    ]


class SlowCountingRenderer:
    """Renders a tile slowly enough that the threads really meet, and counts its calls."""

    def __init__(self, result: bytes | None) -> None:
        self.result, self.calls = result, 0
        self._lock = threading.Lock()

    def render(self, job: TileJob) -> bytes | None:
        with self._lock:
            self.calls += 1
        time.sleep(0.2)
        return self.result


@pytest.mark.parametrize("result", [b"tile bytes", None])
def test_many_threads_asking_one_tile_render_it_once(tmp_path: Path, result: bytes | None) -> None:
    cache, renderer = TileCache(tmp_path), SlowCountingRenderer(result)
    job = _job("c", 14, 2518, 13620)
    start = threading.Barrier(20)
    answers: list[bytes | None] = []

    def ask() -> None:
        start.wait()
        answers.append(cache.get_or_render(job, renderer))

    threads = [threading.Thread(target=ask) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert renderer.calls == 1
    assert answers == [result] * 20
    assert cache.get_or_render(job, renderer) == result and renderer.calls == 1  # cached
    assert cache._keys == {}  # the per-tile locks do not pile up


def test_different_tiles_render_in_parallel(tmp_path: Path) -> None:
    cache, renderer = TileCache(tmp_path), SlowCountingRenderer(b"x")
    threads = [
        threading.Thread(target=cache.get_or_render, args=(_job("w", 14, 6508, col), renderer))
        for col in range(8)
    ]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert renderer.calls == 8
    assert time.perf_counter() - began < 1.0  # not 8 × 0.2 s one after another


def test_unknown_layers_and_the_settings_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no cache for layer"):
        TileCache(tmp_path).path("osm", "c")
    settings = BasemapCacheSettings()
    assert settings.directory(tmp_path) == tmp_path / "basemaps"
    assert BasemapCacheSettings(dir=tmp_path / "elsewhere").directory(Path(".onemap")) == (
        tmp_path / "elsewhere"
    )
