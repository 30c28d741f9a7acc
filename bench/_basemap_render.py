"""Rendering for ``bench basemap``: which tiles, render time per tile, seeding.

- :func:`city_tiles`: tiles of a set and level under random points inside the city's
  administrative areas (``ST_GeneratePoints``, fixed seed), so every tile meets the city.
- :func:`render_times`: each renderer called directly, in this process, on such tiles.
- :func:`seed`: tiles rendered into an MBTiles cache by several processes. Through
  ``onemap basemap seed`` when this tree has it (:func:`has_seed_cli`); else through a
  ``ProcessPoolExecutor`` of the server's own render workers
  (``services.basemaps.render_pool``: ``render_pool`` + ``seed_batch``), labelled so.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import wait
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, text

from gis.tms import tile_for_point, tiles_for_bbox
from services.basemaps.jobs import TileJob, TileSet

ROOT = Path(__file__).resolve().parents[1]
Progress = Callable[[int], None]


def city_tiles(
    engine: Engine, tileset: TileSet, level: int, points: int, seed: float = 0.5
) -> list[tuple[int, int]]:
    """Distinct (row, col) of the tiles under ``points`` random points inside the city's
    administrative areas, in the order first met."""
    with engine.connect() as conn:
        conn.execute(text("SELECT setseed(:s)"), {"s": seed})
        rows = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT (ST_Dump(ST_GeneratePoints("
                "ST_Union(geom), :n, 20261203))).geom AS p FROM grid.admin_areas"
                " WHERE level = 'county') AS s"
            ),
            {"n": points},
        ).all()
    found: dict[tuple[int, int], None] = {}
    for lon, lat in rows:
        tile = tile_for_point(tileset, float(lon), float(lat), level, geographic=True)
        found[(tile.y, tile.x)] = None
    return list(found)


def box_points_tiles(
    tileset: TileSet, level: int, box: tuple[float, float, float, float], points: int
) -> list[tuple[int, int]]:
    """Distinct (row, col) of the tiles under ``points`` random points in a lon/lat box
    (fixed seed): for ``img``, whose imagery covers only part of the city."""
    rng = random.Random(20261203)
    found: dict[tuple[int, int], None] = {}
    for _ in range(points):
        lon, lat = rng.uniform(box[0], box[2]), rng.uniform(box[1], box[3])
        tile = tile_for_point(tileset, lon, lat, level, geographic=True)
        found[(tile.y, tile.x)] = None
    return list(found)


def box_tiles(
    tileset: TileSet, bbox: tuple[float, float, float, float], levels: Sequence[int]
) -> list[tuple[int, int, int]]:
    """(level, row, col) of every tile meeting a lon/lat box at these levels."""
    return [
        (level, t.y, t.x)
        for level in levels
        for t in tiles_for_bbox(tileset, bbox, level, geographic=True)
    ]


def sample(items: list[Any], n: int, seed: int = 20261203) -> list[Any]:
    """At most ``n`` of ``items``, a fixed random choice in their order."""
    if len(items) <= n:
        return list(items)
    chosen = set(random.Random(seed).sample(range(len(items)), n))
    return [x for i, x in enumerate(items) if i in chosen]


def render_times(
    renderers: dict[str, Any],
    jobs: dict[str, list[TileJob]],
    renders: int,
    progress: Progress,
) -> dict[str, dict[str, Any]]:
    """Per key (``layer set level``): median and p95 ms of ``renders`` calls of the layer's
    renderer, cycling over its tiles (fewer distinct tiles than renders at low levels: the
    city is a few tiles there), after one untimed call (the map loaded, the COG opened)."""
    found: dict[str, dict[str, Any]] = {}
    for key, tiles in jobs.items():
        renderer = renderers.get(tiles[0].layer)
        if renderer is None:
            found[key] = {"error": f"no renderer for {tiles[0].layer}"}
            continue
        renderer.render(tiles[0])  # untimed: the first call loads the style or opens the COG
        times, cpu, blank = [], [], 0
        for i in range(renders):
            job = tiles[i % len(tiles)]
            started, started_cpu = time.perf_counter(), time.thread_time()
            data = renderer.render(job)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.thread_time() - started_cpu) * 1000)
            blank += data is None
            progress(1)
        found[key] = {
            "median_ms": round(float(np.median(times)), 2),
            "p95_ms": round(float(np.percentile(times, 95)), 2),
            "cpu_median_ms": round(float(np.median(cpu)), 2),
            "renders": renders,
            "distinct_tiles": len(tiles),
            "blank": blank,
        }
    return found


def has_seed_cli() -> bool:
    """Whether this tree has ``onemap basemap seed``."""
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "basemap", "seed", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode == 0 and "--levels" in done.stdout


def seed_cli(
    layer: str,
    tileset: str,
    levels: tuple[int, int],
    bbox: tuple[float, float, float, float],
    processes: int,
    env: dict[str, str],
) -> dict[str, Any]:
    """``onemap basemap seed … --json`` into ``env``'s cache directory: its tiles and seconds
    (process start-up included, as a user sees it)."""
    command = [
        sys.executable,
        "-m",
        "services.cli",
        "basemap",
        "seed",
        "--layer",
        layer,
        "--set",
        tileset,
        "--levels",
        f"{levels[0]}-{levels[1]}",
        "--bbox",
        ",".join(str(v) for v in bbox),
        "--processes",
        str(processes),
        "--json",
    ]
    started = time.perf_counter()
    done = subprocess.run(
        command, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, check=True
    )
    wall = time.perf_counter() - started
    answer = json.loads(done.stdout)
    tiles, seconds = int(answer["tiles"]), float(answer["seconds"])
    return {
        "tiles": tiles,
        "seconds": round(seconds, 3),
        "wall_s": round(wall, 3),
        "tiles_per_s": round(tiles / seconds, 1) if seconds else 0.0,
        "how": "onemap basemap seed",
    }


def seed_pool(
    jobs: list[TileJob], processes: int, warmup: list[TileJob], progress: Progress
) -> dict[str, Any]:
    """``jobs`` rendered into the cache of the current settings (``ONEMAP_BASEMAP_CACHE_DIR``)
    by ``processes`` render workers of ``services.basemaps.render_pool``, in batches of 8; the
    workers are started and warmed on ``warmup`` (other tiles) before the timer."""
    from services.basemaps.render_pool import render_pool, seed_batch
    from services.settings import Settings

    batch = 8
    with render_pool(Settings(), workers=processes) as pool:
        per_worker = max(1, len(warmup) // processes)
        warm = [
            pool.submit(seed_batch, warmup[i : i + per_worker], True)
            for i in range(0, len(warmup), per_worker)
        ]
        wait(warm)
        for future in warm:
            future.result()
        pids = list(pool._processes)  # the workers, started by the warm-up
        cpu = _cpu_seconds(pids)
        started = time.perf_counter()
        futures = [
            pool.submit(seed_batch, jobs[i : i + batch], True) for i in range(0, len(jobs), batch)
        ]
        sizes: list[int] = []
        for future in futures:
            got = future.result()
            sizes += got
            progress(len(got))
        seconds = time.perf_counter() - started
        cpu = _cpu_seconds(pids) - cpu
    return {
        "tiles": len(sizes),
        "worker_cpu_ms_per_tile": round(cpu * 1000 / len(sizes), 1) if sizes else None,
        "blank": sum(s == 0 for s in sizes),
        "seconds": round(seconds, 3),
        "tiles_per_s": round(len(sizes) / seconds, 1) if seconds else 0.0,
        "how": "ProcessPoolExecutor of services.basemaps.render_pool workers (seed_batch)",
    }


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far (/proc)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / os.sysconf("SC_CLK_TCK")


def profile(renderer: Any, jobs: list[TileJob], top: int = 14) -> dict[str, Any]:
    """Where a renderer's time goes: cProfile over ``jobs`` (after one untimed call), the
    functions with the most cumulative time."""
    import cProfile
    import pstats

    renderer.render(jobs[0])
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for job in jobs:
        renderer.render(job)
    profiler.disable()
    seconds = time.perf_counter() - started
    stats = pstats.Stats(profiler)
    rows = []
    for (path, line, name), (_, calls, _, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        if "/rich/" in path or path.endswith("threading.py") or "lock" in name or path == "~":
            continue  # the progress bar's refresh and the profiler itself, not the renderer
        rows.append((cumulative, calls, f"{Path(path).name}:{line}({name})"))
    rows.sort(reverse=True)
    per_tile = [
        {
            "function": where,
            "calls_per_tile": round(calls / len(jobs), 2),
            "ms_per_tile": round(cumulative * 1000 / len(jobs), 2),
        }
        for cumulative, calls, where in rows[:top]
    ]
    return {
        "tiles": len(jobs),
        "ms_per_tile": round(seconds * 1000 / len(jobs), 2),
        "top_cumulative": per_tile,
    }
