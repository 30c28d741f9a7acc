"""Base-map tiles (issue 16): cached tiles served, uncached ``img`` tiles rendered, render
time per tile, seeding, against MapProxy, static files and TiTiler, in one run.

Setup: a database ``basemap_bench`` in the local cluster (``gis.pgserver.LocalServer``, as
the other benches) made from the PostGIS template, migrated, with the small sample city
(``data/samples/small``) loaded; reused while its comment says it is complete. The imagery
is the sample COG (``data/samples/small/rasters/imagery.tif``), the DEM the sample's.

1. **Seeding** (also fills the cache): ``vec`` and ``img`` on set ``w``, levels 12–16, every
   tile meeting a box at the centre of the imagery (``--box``), rendered into MBTiles by one
   process, then by two (both cores) into the cache the servers use. Through ``onemap
   basemap seed --json`` when the tree has it, else a ``ProcessPoolExecutor`` of the server's
   render workers (``services.basemaps.render_pool.seed_batch``), as the results say.
2. **Cached tiles served** (``--rounds`` rounds, each server alone, same uvicorn launcher and
   workers): up to ``--cached-tiles`` non-blank ``vec`` (PNG) and ``img`` (JPEG) tiles of that
   cache, looped over by ``--connections`` keep-alive clients (bench/_http1.py) for
   ``--seconds`` after a warm-up, through (a) our RESTful route
   ``/wmts/1.0.0/{layer}/default/w/{z}/{row}/{col}.{ext}``, (b) the same bytes as files,
   served by the same app through a starlette ``StaticFiles`` mount (bench/_basemap_app.py),
   (c) MapProxy 7.0 serving the same MBTiles files (bench/_basemap_servers.py). Before
   timing, a sample of tiles from each must be byte-identical to the cache's. Targets: ours
   ≥ 1.0× MapProxy and ≥ 0.5× static files.
3. **Uncached ``img``**: ``--uncached-tiles`` ``w`` tiles at levels 13–17 over the imagery,
   each asked once, from our server on an empty cache directory (every request renders in
   the render workers and is written to the cache, as in production) and from TiTiler 2.4
   reading the same COG in WebMercatorQuad, JPEG, 256 px, bilinear read and warp (ours:
   bilinear, the setting's default). A few tiles of each are decoded and compared (per-band
   means, correlation) before the ratio is believed. Target: ours ≥ 1.0× TiTiler.
4. **Render time per tile**: every layer's renderer called directly in this process, on both
   sets at levels 10, 14 and 18, on tiles under random points inside the city (``--renders``
   calls each, median and p95).

Results: ``.onemap/bench/basemap-results.{json,md}``. ``python -m bench basemap`` runs it with
the defaults; ``python -m bench basemap --help`` lists the options; ``--json`` prints the
figures as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import secrets
import shutil
import sqlite3
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
from pydantic import SecretStr
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine, text

from bench import _basemap_load as load
from bench import _basemap_render as render
from bench import _basemap_servers as servers

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".onemap" / "bench"
DATABASE: Final = "basemap_bench"
TEMPLATE: Final = "onemap_template"
SAMPLE: Final = ROOT / "data" / "samples" / "small"
IMAGERY: Final = SAMPLE / "rasters" / "imagery.tif"
DEM: Final = SAMPLE / "rasters" / "dem.tif"
READY: Final = "basemap bench ready"
SEED_LEVELS: Final = (12, 16)
UNCACHED_LEVELS: Final = (13, 17)
RENDER_LEVELS: Final = (10, 14, 18)
EXT: Final = {"vec": "png", "cva": "png", "cia": "png", "ter": "png", "img": "jpg"}
TARGET_MAPPROXY: Final = 1.0
TARGET_STATIC: Final = 0.5
TARGET_TITILER: Final = 1.0
RESAMPLING: Final = "bilinear"


def _options(argv: Sequence[str]) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="python -m bench basemap",
        description="Base-map tiles: cached vs static files vs MapProxy, uncached img vs "
        "TiTiler, render time per tile, seeding on 1 and 2 processes (issue 16).",
    )
    add = parser.add_argument
    add(
        "--rounds",
        type=int,
        default=int(env("ONEMAP_BENCH_ROUNDS", "3")),
        help="rounds of the served-tile comparisons (medians over them; default 3)",
    )
    add(
        "--seconds",
        type=float,
        default=float(env("ONEMAP_BENCH_SECONDS", "8")),
        help="timed seconds per cached-tile run (default 8)",
    )
    add("--warmup", type=float, default=2.0, help="warm-up seconds before each timed run")
    add(
        "--workers",
        type=int,
        default=int(env("ONEMAP_BENCH_WORKERS", str(os.cpu_count() or 2))),
        help="uvicorn workers of every server (default: CPUs)",
    )
    add("--connections", type=int, default=32, help="concurrent keep-alive clients (32)")
    add("--cached-tiles", type=int, default=600, help="cached tiles looped over (600)")
    add("--uncached-tiles", type=int, default=300, help="uncached img tiles per server (300)")
    add("--renders", type=int, default=20, help="renders per layer, set and level (20)")
    add(
        "--box",
        default="119.23,34.62,119.33,34.70",
        help="lon/lat box seeded at levels 12-16 (default: the imagery's centre)",
    )
    add("--seed-layers", default="vec,img", help="layers seeded and served (vec,img)")
    add("--skip", default="", help="comma list of parts to skip: seed,cached,uncached,render")
    add("--json", action="store_true", help="print the figures as JSON")
    return parser.parse_args(list(argv))


# --- the database and the environment -----------------------------------------------------------


def _database(console: Console) -> tuple[Engine, str, str]:
    """The bench database (owner engine), its owner DSN and the server's login DSN."""
    from gis.engine import create_engine
    from gis.pgserver import LocalServer
    from gis.settings import DatabaseSettings
    from grid.loader import load_sample
    from grid.privacy import Keyring
    from grid.settings import PrivacySettings
    from services.migrate import upgrade

    server = LocalServer(DatabaseSettings(home=ROOT / ".onemap"))
    server.start()
    server.ensure_database(TEMPLATE)
    admin = create_engine(server.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        comment = conn.execute(
            text(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = :n"
            ),
            {"n": DATABASE},
        ).scalar_one_or_none()
        if comment != READY:
            console.print(f"bench basemap: making {DATABASE} with the small sample city")
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{DATABASE}" TEMPLATE "{TEMPLATE}"'))
    url = server.url(DATABASE)
    engine = create_engine(url)
    upgrade(engine)
    if comment != READY:
        keyring = Keyring.from_settings(
            PrivacySettings(secret_key=SecretStr(secrets.token_urlsafe(32)))
        )
        with engine.begin() as conn:
            load_sample(conn, SAMPLE, keyring, replace=False)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE)"))
            conn.execute(text("CHECKPOINT"))
        with admin.connect() as conn:
            conn.execute(text(f"COMMENT ON DATABASE \"{DATABASE}\" IS '{READY}'"))
    admin.dispose()
    login = server.server_url(DATABASE)
    return (
        engine,
        url.render_as_string(hide_password=False),
        login.render_as_string(hide_password=False),
    )


@contextlib.contextmanager
def _environ(env: dict[str, str]) -> Iterator[None]:
    """``env`` in this process's environment (settings and render workers read it)."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


# --- the tiles ----------------------------------------------------------------------------------


def _imagery_box() -> tuple[float, float, float, float]:
    import rasterio
    from rasterio.warp import transform_bounds

    with rasterio.open(IMAGERY) as src:
        box = transform_bounds(src.crs, "EPSG:4490", *src.bounds, densify_pts=21)
    return (float(box[0]), float(box[1]), float(box[2]), float(box[3]))


def _cached_tiles(
    cache_dir: Path, layers: Sequence[str], n: int
) -> list[tuple[str, int, int, int]]:
    """Up to ``n`` non-blank (layer, level, row, col) of the seeded cache, layers alternating."""
    from services.basemaps.cache.mbtiles import mbtiles_row

    per_layer = []
    for layer in layers:
        with sqlite3.connect(cache_dir / f"{layer}_w.mbtiles") as db:
            rows = db.execute(
                "SELECT zoom_level, tile_row, tile_column FROM tiles"
                " WHERE length(tile_data) > 0 ORDER BY 1, 2, 3"
            ).fetchall()
        tiles = [(layer, z, mbtiles_row("w", z, r), c) for z, r, c in rows]
        per_layer.append(render.sample(tiles, n // len(layers)))
    mixed = [t for group in zip(*per_layer, strict=False) for t in group]
    return render.sample(mixed, n)


def _tile_bytes(cache_dir: Path, tile: tuple[str, int, int, int]) -> bytes:
    from services.basemaps.cache.mbtiles import mbtiles_row

    layer, z, row, col = tile
    with sqlite3.connect(cache_dir / f"{layer}_w.mbtiles") as db:
        found = db.execute(
            "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
            (z, col, mbtiles_row("w", z, row)),
        ).fetchone()
    return bytes(found[0])


def _static_files(cache_dir: Path, tiles: list[tuple[str, int, int, int]], out: Path) -> None:
    """The tiles' bytes as ``out/{layer}/{z}/{row}/{col}.{ext}``."""
    _fresh(out)
    for tile in tiles:
        layer, z, row, col = tile
        path = out / layer / str(z) / str(row) / f"{col}.{EXT[layer]}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_tile_bytes(cache_dir, tile))


def _ours_path(layer: str, z: int, row: int, col: int) -> str:
    return f"wmts/1.0.0/{layer}/default/w/{z}/{row}/{col}.{EXT[layer]}"


def _static_path(layer: str, z: int, row: int, col: int) -> str:
    return f"{servers.STATIC_PREFIX}/{layer}/{z}/{row}/{col}.{EXT[layer]}"


def _same_bytes(base: str, paths: list[str], expected: list[bytes], who: str) -> dict[str, Any]:
    """Each path fetched once and held to the cache's bytes; raises on the first difference."""
    for (status, body), want, path in zip(load.fetch(base, paths), expected, paths, strict=True):
        if status != 200 or body != want:
            raise RuntimeError(
                f"{who}: {path} answered HTTP {status} with {len(body)} bytes, not the cache's"
                f" {len(want)} bytes: the comparison would not be like with like"
            )
    return {"checked": len(paths), "identical": True}


def _interior(
    box: tuple[float, float, float, float], cells: list[tuple[int, int, int]], n: int
) -> list[tuple[int, int, int]]:
    """``n`` tiles lying well inside the imagery (no edge), nearest its centre."""
    from gis.tms import Tile, tile_bounds

    inner = (box[0] + 0.02, box[1] + 0.02, box[2] - 0.02, box[3] - 0.02)
    centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    found = []
    for z, r, c in cells:
        b = tile_bounds("w", Tile(c, r, z), geographic=True)
        if (
            inner[0] <= b.left
            and b.right <= inner[2]
            and inner[1] <= b.bottom
            and b.top <= inner[3]
        ):
            distance = abs((b.left + b.right) / 2 - centre[0]) + abs(
                (b.bottom + b.top) / 2 - centre[1]
            )
            found.append((distance, (z, r, c)))
    return [cell for _, cell in sorted(found)[:n]]


# --- image comparison -----------------------------------------------------------------------


def _decode(data: bytes) -> np.ndarray[Any, Any]:
    import warnings

    import rasterio
    from rasterio.errors import NotGeoreferencedWarning
    from rasterio.io import MemoryFile

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with (
            rasterio.Env(GDAL_PAM_ENABLED="NO"),
            MemoryFile(io.BytesIO(data)) as memory,
            memory.open() as src,
        ):
            return np.asarray(src.read()[:3], dtype=np.float64)


def _compare_images(ours: list[bytes], theirs: list[bytes]) -> dict[str, Any]:
    """Per tile: each side's mean grey level and the correlation of their pixels (RGB)."""
    found = []
    for a, b in zip(ours, theirs, strict=True):
        x, y = _decode(a), _decode(b)
        identical = a == b
        same = x.shape == y.shape
        corr = float(np.corrcoef(x.ravel(), y.ravel())[0, 1]) if same else float("nan")
        found.append(
            {
                "shape_ours": list(x.shape),
                "shape_titiler": list(y.shape),
                "mean_ours": round(float(x.mean()), 1),
                "mean_titiler": round(float(y.mean()), 1),
                "mean_abs_diff": round(float(np.abs(x - y).mean()), 2) if same else None,
                "correlation": round(corr, 4),
                "identical_bytes": identical,
            }
        )
    return {"tiles": found, "min_correlation": min(t["correlation"] for t in found)}


# --- the parts ----------------------------------------------------------------------------------


def _seed_part(
    options: argparse.Namespace,
    env: dict[str, str],
    cache_dir: Path,
    progress: Progress,
) -> dict[str, Any]:
    """Seed each layer on 1 then 2 processes; the 2-process run fills ``cache_dir``."""
    from services.basemaps.jobs import TileJob

    box = tuple(float(v) for v in options.box.split(","))
    assert len(box) == 4
    cli = render.has_seed_cli()
    tiles = render.box_tiles("w", box, range(SEED_LEVELS[0], SEED_LEVELS[1] + 1))  # type: ignore[arg-type]
    warm_tiles = render.box_tiles("w", box, [17])[:8]  # type: ignore[arg-type]
    found: dict[str, Any] = {
        "box": list(box),
        "levels": list(SEED_LEVELS),
        "cli": cli,
        "tiles_per_layer": len(tiles),
        "layers": {},
    }
    for layer in options.seed_layers.split(","):
        jobs = [TileJob(layer, "w", z, r, c) for z, r, c in tiles]
        warm = [TileJob(layer, "w", z, r, c) for z, r, c in warm_tiles]
        runs = {}
        for processes in (1, 2):
            target = cache_dir if processes == 2 else _fresh(WORK / f"basemap-seed-{processes}p")
            if processes == 2:
                for stale in target.glob(f"{layer}_w.mbtiles*"):
                    stale.unlink()
            task = progress.add_task(f"seed {layer} on {processes} process(es)", total=len(jobs))
            seeding_env = {**env, "ONEMAP_BASEMAP_CACHE_DIR": str(target)}
            if cli:
                runs[processes] = render.seed_cli(
                    layer,
                    "w",
                    SEED_LEVELS,
                    box,
                    processes,
                    seeding_env,  # type: ignore[arg-type]
                )
                progress.update(task, completed=len(jobs))
            else:
                with _environ(seeding_env):
                    runs[processes] = render.seed_pool(
                        jobs, processes, warm, lambda n, t=task: progress.advance(t, n)
                    )
        one, two = runs[1]["tiles_per_s"], runs[2]["tiles_per_s"]
        found["layers"][layer] = {
            "1": runs[1],
            "2": runs[2],
            "speedup": round(two / one, 2) if one else None,
        }
    return found


def _cached_round(
    options: argparse.Namespace,
    env: dict[str, str],
    cache_dir: Path,
    tiles: list[tuple[str, int, int, int]],
    expected: list[bytes],
    order: list[str],
) -> dict[str, Any]:
    """One round: each server alone, its answers checked, then the load."""
    ours_paths = [_ours_path(*t) for t in tiles]
    static_paths = [_static_path(*t) for t in tiles]
    mp_paths = [servers.mapproxy_path(layer, z, r, c, EXT[layer]) for layer, z, r, c in tiles]
    check = slice(0, 20)
    found: dict[str, Any] = {}
    args = (options.connections, options.warmup, options.seconds)
    for who in order:
        if who == "onemap":
            with servers.onemap(env, options.workers) as base:
                found["checks_onemap"] = _same_bytes(
                    base, ours_paths[check], expected[check], "ours"
                )
                _same_bytes(base, static_paths[check], expected[check], "static files")
                found["onemap"] = load.steady(base, ours_paths, *args)
                found["static"] = load.steady(base, static_paths, *args)
        else:
            files = {
                layer: (cache_dir / f"{layer}_w.mbtiles", EXT[layer])
                for layer in {t[0] for t in tiles}
            }
            with servers.mapproxy(files, options.workers) as base:
                found["checks_mapproxy"] = _same_bytes(
                    base, mp_paths[check], expected[check], "MapProxy"
                )
                found["mapproxy"] = load.steady(base, mp_paths, *args)
    return found


def _uncached_round(
    options: argparse.Namespace,
    env: dict[str, str],
    tiles: list[tuple[int, int, int]],
    warm: list[tuple[int, int, int]],
    check: list[tuple[int, int, int]],
    number: int,
    order: list[str],
) -> dict[str, Any]:
    cog = IMAGERY.absolute()
    found: dict[str, Any] = {}
    bodies: dict[str, list[bytes]] = {}
    for who in order:
        if who == "onemap":
            cold = _fresh(WORK / "basemap-cold")
            with servers.onemap(
                {**env, "ONEMAP_BASEMAP_CACHE_DIR": str(cold)}, options.workers, name="onemap-cold"
            ) as base:
                load.once(base, [_ours_path("img", *t) for t in warm], options.connections)
                found["onemap"] = load.once(
                    base, [_ours_path("img", *t) for t in tiles], options.connections
                )
                if number == 1:
                    bodies["onemap"] = [
                        b for _, b in load.fetch(base, [_ours_path("img", *t) for t in check])
                    ]
        else:

            def path(t: tuple[int, int, int]) -> str:
                return servers.titiler_path(cog, t[0], t[2], t[1], RESAMPLING)

            with servers.titiler(options.workers) as base:
                load.once(base, [path(t) for t in warm], options.connections)
                found["titiler"] = load.once(base, [path(t) for t in tiles], options.connections)
                if number == 1:
                    answers = load.fetch(base, [path(t) for t in check])
                    if any(status != 200 for status, _ in answers):
                        raise RuntimeError(
                            f"TiTiler: check tiles answered {[s for s, _ in answers]}"
                        )
                    bodies["titiler"] = [b for _, b in answers]
    if number == 1:
        found["images"] = _compare_images(bodies["onemap"], bodies["titiler"])
    return found


def _render_part(
    options: argparse.Namespace, engine: Engine, env: dict[str, str], progress: Progress
) -> dict[str, Any]:
    from services.basemaps.jobs import LAYERS, SETS, TileJob
    from services.basemaps.registry import renderers
    from services.settings import Settings

    jobs: dict[str, list[TileJob]] = {}
    box = _imagery_box()
    inner = (box[0] + 0.02, box[1] + 0.02, box[2] - 0.02, box[3] - 0.02)
    for tileset in SETS:
        for level in RENDER_LEVELS:
            n = max(40, options.renders)
            cells = render.city_tiles(engine, tileset, level, n)[: options.renders]  # type: ignore[arg-type]
            imagery = render.box_points_tiles(tileset, level, inner, n)[: options.renders]  # type: ignore[arg-type]
            for layer in LAYERS:
                jobs[f"{layer} {tileset} {level}"] = [
                    TileJob(layer, tileset, level, r, c)  # type: ignore[arg-type]
                    for r, c in (imagery if layer == "img" else cells)
                ]
    task = progress.add_task("render time per tile", total=len(jobs) * options.renders)
    with _environ({**env, "ONEMAP_BASEMAP_CACHE_DIR": str(WORK / "basemap-unused")}):
        found = renderers(Settings())
        times = render.render_times(
            found, jobs, options.renders, lambda n: progress.advance(task, n)
        )
        img = [j for key, js in jobs.items() if key.startswith("img w") for j in js]
        return {"times": times, "profile_img_w": render.profile(found["img"], img)}


# --- figures --------------------------------------------------------------------------------


def _median(rounds: list[dict[str, Any]], who: str, figure: str = "tiles_per_s") -> float:
    return float(statistics.median(r[who][figure] for r in rounds))


def _ratio(rounds: list[dict[str, Any]], ours: str, theirs: str) -> dict[str, Any]:
    per_round = [
        r[ours]["tiles_per_s"] / r[theirs]["tiles_per_s"]
        if r[theirs]["tiles_per_s"]
        else float("inf")
        for r in rounds
    ]
    med_ours, med_theirs = _median(rounds, ours), _median(rounds, theirs)
    return {
        "of_medians": round(med_ours / med_theirs, 3) if med_theirs else None,
        "range": [round(min(per_round), 3), round(max(per_round), 3)],
    }


def _verdicts(results: dict[str, Any]) -> dict[str, str]:
    found = {}
    pairs = (
        ("cached", "mapproxy", TARGET_MAPPROXY),
        ("cached", "static", TARGET_STATIC),
        ("uncached", "titiler", TARGET_TITILER),
    )
    for part, peer, target in pairs:
        ratios = results.get(part, {}).get("ratios", {})
        if peer not in ratios:
            continue
        got = ratios[peer]["of_medians"]
        low = ratios[peer]["range"][0]
        word = "met" if got is not None and got >= target else "missed"
        found[f"{part} × {peer} ≥ {target}"] = (
            f"{word}: {got}× (rounds {low}–{ratios[peer]['range'][1]}×)"
        )
    return found


def measure(options: argparse.Namespace, console: Console) -> dict[str, Any]:
    """Every part the options leave in; returns the results (also written to WORK)."""
    skip = {s for s in options.skip.split(",") if s}
    WORK.mkdir(parents=True, exist_ok=True)
    engine, dsn, login = _database(console)
    cache_dir = WORK / "basemap-cache"
    cache_dir.mkdir(parents=True, exist_ok=True)
    env = {
        "ONEMAP_DATABASE_URL": dsn,
        "ONEMAP_APP_DATABASE_URL": login,
        "ONEMAP_HOME": str(WORK / "basemap-home"),
        "ONEMAP_SECRET_KEY": secrets.token_urlsafe(32),
        "ONEMAP_BASEMAP_CACHE_DIR": str(cache_dir),
        "ONEMAP_BASEMAP_IMAGERY_PATH": str(IMAGERY.absolute()),
        "ONEMAP_BASEMAP_DEM": str(DEM.absolute()),
        "ONEMAP_BENCH_STATIC_DIR": str(WORK / "basemap-static"),
    }
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_start": os.getloadavg()[0],
            "python": sys.version.split()[0],
        },
        "options": {k: v for k, v in vars(options).items() if k != "json"},
        "workers": options.workers,
        "render_processes_per_worker": os.environ.get("ONEMAP_BASEMAP_RENDER_PROCESSES")
        or f"setting default (one per core: {os.cpu_count()})",
    }
    layers = options.seed_layers.split(",")
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    with progress:
        if "seed" not in skip:
            results["seed"] = _seed_part(options, env, cache_dir, progress)
        if "cached" not in skip:
            tiles = _cached_tiles(cache_dir, layers, options.cached_tiles)
            _static_files(cache_dir, tiles, WORK / "basemap-static")
            expected = [_tile_bytes(cache_dir, t) for t in tiles]
            rounds = []
            task = progress.add_task("cached: ours, static files, MapProxy", total=options.rounds)
            for number in range(1, options.rounds + 1):
                order = ["onemap", "mapproxy"] if number % 2 else ["mapproxy", "onemap"]
                rounds.append(_cached_round(options, env, cache_dir, tiles, expected, order))
                progress.advance(task)
            results["cached"] = {
                "tiles": len(tiles),
                "by_layer": {la: sum(t[0] == la for t in tiles) for la in layers},
                "levels": sorted({t[1] for t in tiles}),
                "mean_bytes": round(sum(map(len, expected)) / len(expected)),
                "rounds": rounds,
                "median_tiles_per_s": {
                    w: _median(rounds, w) for w in ("onemap", "static", "mapproxy")
                },
                "ratios": {
                    "mapproxy": _ratio(rounds, "onemap", "mapproxy"),
                    "static": _ratio(rounds, "onemap", "static"),
                },
            }
        if "uncached" not in skip:
            box = _imagery_box()
            levels = range(UNCACHED_LEVELS[0], UNCACHED_LEVELS[1] + 1)
            per_level = max(1, options.uncached_tiles // len(levels))
            tiles_, warm, check = [], [], []
            for level in levels:
                cells = render.box_tiles("w", box, [level])
                chosen = render.sample(cells, per_level + 4)
                tiles_ += chosen[:per_level]
                warm += chosen[per_level:]
                check += _interior(box, cells, 2)
            rounds = []
            task = progress.add_task("uncached img: ours, TiTiler", total=options.rounds)
            for number in range(1, options.rounds + 1):
                order = ["onemap", "titiler"] if number % 2 else ["titiler", "onemap"]
                rounds.append(_uncached_round(options, env, tiles_, warm, check, number, order))
                progress.advance(task)
            results["uncached"] = {
                "tiles": len(tiles_),
                "levels": list(UNCACHED_LEVELS),
                "resampling": {
                    "onemap": "bilinear (WarpedVRT of the overview just finer "
                    "than the tile; ONEMAP_BASEMAP_IMAGERY_RESAMPLING)",
                    "titiler": f"resampling={RESAMPLING}&reproject={RESAMPLING}",
                },
                "images": rounds[0].pop("images"),
                "rounds": rounds,
                "median_tiles_per_s": {w: _median(rounds, w) for w in ("onemap", "titiler")},
                "ratios": {"titiler": _ratio(rounds, "onemap", "titiler")},
            }
        if "render" not in skip:
            results["render"] = _render_part(options, engine, env, progress)
    engine.dispose()
    results["verdict"] = _verdicts(results)
    results["machine"]["load_average_end"] = os.getloadavg()[0]
    (WORK / "basemap-results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))
    from bench import _basemap_report as report

    (WORK / "basemap-results.md").write_text(report.markdown(results))
    return results


def flat(results: dict[str, Any]) -> dict[str, object]:
    """The headline figures, for the bench table."""
    found: dict[str, object] = {}
    for layer, runs in results.get("seed", {}).get("layers", {}).items():
        found[f"seed {layer} tiles/s 1 → 2 processes"] = (
            f"{runs['1']['tiles_per_s']} → {runs['2']['tiles_per_s']} (×{runs['speedup']})"
        )
    for part in ("cached", "uncached"):
        if part in results:
            for who, rate in results[part]["median_tiles_per_s"].items():
                found[f"{part} {who} tiles/s (median)"] = rate
    found.update(results["verdict"])
    found["results"] = str(WORK / "basemap-results.md")
    found["passed"] = all(v.startswith("met") for v in results["verdict"].values())
    return found


def run() -> dict[str, object]:
    """``python -m bench basemap`` with the default options."""
    return flat(measure(_options([]), Console(stderr=True)))


def main(argv: Sequence[str]) -> int:
    options = _options(argv)
    console = Console(stderr=True)
    started = time.monotonic()
    results = measure(options, console)
    results["seconds"] = round(time.monotonic() - started, 1)
    figures = flat(results)
    if options.json:
        print(json.dumps(results | {"figures": figures}, indent=1, ensure_ascii=False))
    else:
        from bench.__main__ import _table

        Console().print(_table("basemap", figures))
    return 0 if figures["passed"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
