"""Vector tiles (issue 17): our OGC API – Tiles against tipg 1.6.1 and the bare statement.

Setup: the bench database of bench/ogc.py for each scale (``--scales``, default ``medium``:
``ogc_bench_medium``, the sample city generated and loaded with its plan layers on first use,
reused afterwards), vacuumed. Two collections: ``buildings`` and the latest version of one
plan layer (``--plan``, default the one with most features). Cases: buildings at
WebMercatorQuad levels 14 and 16 (buildings are tiled from 14), the plan layer at 10, 14 and
16; per case up to ``--tiles`` distinct tiles holding some of the collection's features
(chosen at random, seeded, from the tiles under a sample of the features' points).

For tipg the bench makes one view per collection in schema ``bench_tiles`` with exactly the
properties our tiles carry and the rows of the collection (the plan layer's version), and
asks tipg for those properties; its tiles are ``{z}/{x}/{y}`` (column first), ours
``{z}/{row}/{col}``.

1. **Answers** (before any timing): every tile asked once of ours and of tipg; status, bytes
   and features per layer (decoded here, bench/_tiles_plan.py; a few also by GDAL's MVT
   driver, ``ogrinfo``). Tiles that either server answers without content are dropped from
   the timed lists (reported).
2. **Uncached**: ours with ``ONEMAP_OGC_TILE_CACHE_MB=0`` (every request runs the tile's
   statement), then tipg (no tile cache), same uvicorn launcher and workers, the same load
   client (bench/_http1.py via bench/_basemap_load.py): ``--connections`` keep-alive clients
   loop over the case's tiles for ``--warmup`` then ``--seconds``.
3. **Bare**: our exact statements for the same tiles (``services.ogcapi.tiles.tile_statement``
   with literal values), one pgbench script file per tile, ``--connections`` clients, for
   ``--seconds``: the statement's time per tile. Ratio: our HTTP time per tile (1 / tiles/s)
   over the bare one (1 / tps).
4. **Cached**: ours with the cache on (64 MB); each tile asked three times, then the same
   loop (its warm-up fills both workers); after it every tile must answer ``X-Cache: hit``
   (checked: the verdict says so otherwise).

Targets: uncached ≥ 1.5× tipg; HTTP time ≤ 1.25× bare; cached ≥ 5× uncached. Results:
``.onemap/bench/tiles-results.{json,md}``; ``--json`` prints them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine, text

from bench import _basemap_load as load
from bench import _tiles_plan as plan
from bench import _tiles_servers as tile_servers
from bench._http1 import Connection

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".onemap" / "bench"
SCHEMA = "bench_tiles"
SEED = 20261203
BUILDING_LEVELS = (14, 16)
PLAN_LEVELS = (10, 14, 16)


@dataclass
class Case:
    """One collection at one level, with the tiles asked."""

    name: str  # e.g. "buildings z14"
    collection: str  # our collection id
    view: str  # tipg's view (bench_tiles.{view})
    properties: list[str]
    level: int
    tiles: list[plan.XYZ]

    def ours(self) -> list[str]:
        return [plan.ours_path(self.collection, t) for t in self.tiles]

    def tipg(self) -> list[str]:
        return [plan.tipg_path(f"{SCHEMA}.{self.view}", t, self.properties) for t in self.tiles]


def _options(argv: Sequence[str]) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="python -m bench tiles",
        description="Vector tiles: ours uncached vs tipg 1.6.1 and the bare statement under "
        "pgbench, ours cached vs uncached, tile sizes (issue 17).",
    )
    add = parser.add_argument
    add("--scales", default=env("ONEMAP_BENCH_SCALES", "medium"),
        help="comma list of sample-city scales (default medium)")  # fmt: skip
    add("--seconds", type=float, default=float(env("ONEMAP_BENCH_SECONDS", "8")),
        help="timed seconds per case and server (default 8)")  # fmt: skip
    add("--warmup", type=float, default=2.0, help="warm-up seconds before each run (2)")
    add("--workers", type=int, default=int(env("ONEMAP_BENCH_WORKERS", str(os.cpu_count() or 2))),
        help="uvicorn workers of every server (default: CPUs)")  # fmt: skip
    add("--connections", type=int, default=8,
        help="keep-alive HTTP clients, and pgbench clients (8)")  # fmt: skip
    add("--pool", type=int, default=0,
        help="our tile connections per worker (default: ONEMAP_OGC_TILE_POOL_SIZE's)")  # fmt: skip
    add("--tiles", type=int, default=40, help="distinct tiles per case, at most (40)")
    add("--plan", default="", help="plan collection (default: the latest layer with most features)")
    add("--json", action="store_true", help="print the results as JSON")
    return parser.parse_args(list(argv))


# --- the database -----------------------------------------------------------------------------


def _database(scale: str) -> tuple[str, str, str]:
    """The bench database of ``scale`` (bench/ogc.py's): owner DSN, server DSN, data."""
    from bench import ogc
    from gis.engine import create_engine

    server, admin = ogc._cluster()
    url, data = ogc.prepare(scale, admin, server)
    admin.dispose()
    engine = create_engine(url)
    ogc._vacuum(engine)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) plans.features"))
    engine.dispose()
    login = server.server_url(url.database).render_as_string(hide_password=False)
    return url.render_as_string(hide_password=False), str(login), data


def _specs(engine: Engine, wanted: str) -> tuple[Any, Any]:
    """The buildings collection and the plan layer's (latest version)."""
    from services.ogcapi.sources import build_registry

    registry = build_registry(engine)
    buildings = registry.get("buildings")
    plans = [
        s for s in registry.specs.values() if s.id.startswith("plans.") and s.id.count(".") == 1
    ]
    if wanted:
        return buildings, registry.get(wanted)
    if not plans:
        raise RuntimeError("no plan layer in the bench database")
    with engine.connect() as conn:

        def size(spec: Any) -> int:
            (column, value), *_ = spec.fixed
            return int(
                conn.execute(
                    text(f'SELECT count(*) FROM plans.features WHERE "{column}" = :v'),  # noqa: S608
                    {"v": value},
                ).scalar_one()
            )

        counted = sorted(plans, key=lambda s: (-size(s), s.id))
    return buildings, counted[0]


def _views(engine: Engine, specs: Sequence[Any]) -> dict[str, tuple[str, list[str]]]:
    """A view per collection for tipg; collection id -> (view, property names)."""
    from services.ogcapi import tiles

    made = {}
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"'))
        for spec in specs:
            view = spec.id.replace(".", "_")
            columns = [(p.column, p.name) for p in tiles.tile_properties(spec)]
            if tiles.feature_id(spec):
                columns.append((spec.id_column, "id"))
            conn.execute(text(f'DROP VIEW IF EXISTS "{SCHEMA}"."{view}"'))
            conn.execute(
                text(
                    plan.view_sql(SCHEMA, view, spec.qualified_table, columns,
                                  spec.geometry_column, spec.fixed)
                )
            )  # fmt: skip
            made[spec.id] = (view, [n for _, n in columns])
        conn.execute(text(f'GRANT USAGE ON SCHEMA "{SCHEMA}" TO PUBLIC'))
        conn.execute(text(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{SCHEMA}" TO PUBLIC'))
    return made


def _cases(engine: Engine, specs: Sequence[Any], views: dict[str, Any], n: int) -> list[Case]:
    cases = []
    for spec, levels in zip(specs, (BUILDING_LEVELS, PLAN_LEVELS), strict=True):
        where = " AND ".join(f'"{c}" = {plan._literal(v)}' for c, v in spec.fixed) or "TRUE"
        with engine.connect() as conn:
            points = [
                (float(x), float(y))
                for x, y in conn.execute(
                    text(  # identifiers from the registry's specs, values quoted
                        f"SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface("  # noqa: S608
                        f"{spec.geometry_column}) AS p FROM {spec.qualified_table} WHERE {where}) s"
                    )
                )
            ]
        view, properties = views[spec.id]
        short = "buildings" if spec.id == "buildings" else "plan"
        for level in levels:
            tiles_ = plan.pick_tiles(points, level, n, SEED + level)
            cases.append(Case(f"{short} z{level}", spec.id, view, properties, level, tiles_))
    return cases


# --- answers ----------------------------------------------------------------------------------


async def _fetch(base: str, paths: list[str]) -> list[tuple[int, dict[str, str], bytes]]:
    conn = Connection(base)
    try:
        found = []
        for path in paths:
            answer = await conn.request("GET", path, {})
            found.append((answer.status, answer.headers, answer.body))
        return found
    finally:
        await conn.close()


def fetch(base: str, paths: list[str]) -> list[tuple[int, dict[str, str], bytes]]:
    return asyncio.run(_fetch(base, paths))


def _ogrinfo_count(data: bytes, tile: plan.XYZ) -> int | None:
    """Features in the tile by GDAL's MVT driver (all layers), or None without ogrinfo."""
    if shutil.which("ogrinfo") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.mvt"
        path.write_bytes(data)
        done = subprocess.run(
            ["ogrinfo", "-ro", "-so", "-al", "-oo", f"X={tile.x}", "-oo", f"Y={tile.y}",
             "-oo", f"Z={tile.z}", str(path)],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
    counts = [int(line.split(":")[1]) for line in done.stdout.splitlines()
              if line.startswith("Feature Count:")]  # fmt: skip
    return sum(counts) if done.returncode == 0 else None


def _answers(ours_base: str, tipg_base: str | None, case: Case) -> dict[str, Any]:
    """Both servers' answers to every tile of the case; keeps in ``case`` the tiles both
    answer with content."""
    ours = fetch(ours_base, case.ours())
    theirs = fetch(tipg_base, case.tipg()) if tipg_base else [(0, {}, b"")] * len(ours)
    kept, rows, differ = [], [], []
    for tile, (s1, _, b1), (s2, _, b2) in zip(case.tiles, ours, theirs, strict=True):
        n1 = sum(plan.mvt_features(b1).values()) if s1 == 200 else 0
        n2 = sum(plan.mvt_features(b2).values()) if s2 == 200 else 0
        rows.append({"tile": [tile.z, tile.x, tile.y], "ours": [s1, len(b1), n1],
                     "tipg": [s2, len(b2), n2]})  # fmt: skip
        if s1 == 200 and b1 and (tipg_base is None or (s2 == 200 and b2)):
            kept.append(tile)
            if n1 != n2:
                differ.append(rows[-1])
    gdal = []
    for tile, (s1, _, b1), (s2, _, b2) in list(zip(case.tiles, ours, theirs, strict=True))[:3]:
        if s1 == 200 and s2 == 200:
            gdal.append({"tile": [tile.z, tile.x, tile.y], "ours": _ogrinfo_count(b1, tile),
                         "tipg": _ogrinfo_count(b2, tile)})  # fmt: skip
    dropped = len(case.tiles) - len(kept)
    case.tiles = kept
    both = [r for r in rows if r["ours"][0] == 200 and r["tipg"][0] == 200]

    def med(who: str, i: int) -> float | None:
        values = [r[who][i] for r in both]
        return statistics.median(values) if values else None

    return {
        "tiles": len(kept),
        "dropped": dropped,
        "median_bytes": {"ours": med("ours", 1), "tipg": med("tipg", 1)},
        "mean_bytes": {
            w: round(statistics.mean([r[w][1] for r in both])) if both else None
            for w in ("ours", "tipg")
        },
        "median_features": {"ours": med("ours", 2), "tipg": med("tipg", 2)},
        "feature_counts_differ": len(differ),
        "differ_examples": differ[:3],
        "gdal": gdal,
    }


# --- bare statements --------------------------------------------------------------------------


def _statements(dsn: str, spec: Any, tiles_: list[plan.XYZ]) -> list[str]:
    """Our statement of each tile, with literal values (psycopg's own quoting)."""
    import psycopg

    from gis.tms import Tile
    from services.ogcapi import tiles
    from services.settings import OgcSettings

    limit = OgcSettings().tile_feature_limit
    tms = tiles.tile_set(plan.SET)
    plain = dsn.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain) as conn:
        cursor = psycopg.ClientCursor(conn)
        found = []
        for t in tiles_:
            made = tiles.tile_statement([spec], tms, Tile(t.x, t.y, t.z), limit)
            found.append(cursor.mogrify(made.sql, made.values))
        return found


def one_line(sql: str) -> str:
    """A statement on one line for a pgbench script: ``--`` comments (outside quoted
    literals) dropped, since joined lines would comment out the rest; whitespace runs made
    one space."""
    out, quoted, i = [], False, 0
    while i < len(sql):
        char = sql[i]
        if char == "'":
            quoted = not quoted
        elif not quoted and sql.startswith("--", i):
            end = sql.find("\n", i)
            i = len(sql) if end < 0 else end
            continue
        out.append(char)
        i += 1
    return " ".join("".join(out).split()).rstrip(";")


def _pgbench(dsn: str, statements: list[str], seconds: float, clients: int) -> dict[str, Any]:
    """One script file per statement (pgbench picks one per transaction), on connections
    with the server's tile session options: tiles/s and latency percentiles from its
    per-transaction log."""
    from services.ogcapi.service import tile_session_options
    from services.settings import OgcSettings

    pgbench = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"
    plain = dsn.replace("postgresql+psycopg://", "postgresql://")
    with tempfile.TemporaryDirectory() as tmp:
        scripts = []
        for i, sql in enumerate(statements):
            path = Path(tmp) / f"tile{i}.sql"
            path.write_text(one_line(sql) + ";\n", encoding="utf-8")
            scripts += ["-f", str(path)]
        prefix = str(Path(tmp) / "log")
        done = subprocess.run(
            [pgbench, "-n", "-c", str(clients), "-j", "2", "-T", str(max(1, round(seconds))),
             *scripts, "--log", f"--log-prefix={prefix}", plain],
            capture_output=True, text=True, check=False, timeout=seconds + 120, cwd=tmp,
            env={**os.environ, "PGOPTIONS": tile_session_options(OgcSettings())},
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"pgbench failed: {done.stderr.strip()[:500]}")
        tps = float(done.stdout.split("tps = ")[1].split()[0])
        latencies = sorted(
            int(line.split()[2]) / 1000.0
            for log in Path(tmp).glob("log*")
            for line in log.read_text().splitlines()
            if len(line.split()) >= 3
        )
    return {
        "tiles_per_s": round(tps, 1),
        "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
        "p95_ms": round(latencies[int(len(latencies) * 0.95)], 2) if latencies else None,
        "tiles": len(latencies),
    }


# --- the run ---------------------------------------------------------------------------------


FLOOR_PATH = "tileMatrixSets/WebMercatorQuad"
"""The HTTP floor: a small JSON document both servers make without the database (ours from
morecantile, about 5 kB; tipg's the same), asked by the same clients as the tiles. No tile
can be answered faster than this by the same server, cached or not."""


def _steady(base: str, paths: list[str], options: argparse.Namespace) -> dict[str, Any]:
    found = load.steady(base, paths, options.connections, options.warmup, options.seconds)
    if not found.get("errors"):
        found.pop("error_examples", None)
    return found


def _scale(options: argparse.Namespace, scale: str, progress: Progress) -> dict[str, Any]:
    from gis.engine import create_engine

    task = progress.add_task(f"{scale}: database", total=None)
    dsn, login, data = _database(scale)
    engine = create_engine(dsn)
    buildings, plan_spec = _specs(engine, options.plan)
    views = _views(engine, [buildings, plan_spec])
    cases = _cases(engine, [buildings, plan_spec], views, options.tiles)
    engine.dispose()
    specs = {buildings.id: buildings, plan_spec.id: plan_spec}
    limit = int(os.environ.get("ONEMAP_OGC_TILE_FEATURE_LIMIT", "20000"))
    found: dict[str, Any] = {"data": data, "plan": plan_spec.id, "cases": {}}
    progress.update(task, description=f"{scale}: answers", total=len(cases), completed=0)
    view_names = [v for v, _ in views.values()]
    with (
        tile_servers.onemap(dsn, login, options.workers, 0, options.pool or None) as ours,
        tile_servers.tipg(dsn, options.workers, SCHEMA, view_names, limit) as tipg,
    ):
        for case in cases:
            found["cases"][case.name] = {"level": case.level, "answers": _answers(ours, tipg, case)}
            progress.advance(task)
    runs = [c for c in cases if c.tiles]
    steps = len(runs) * 4
    progress.update(task, description=f"{scale}: ours uncached", total=steps, completed=0)
    floor: dict[str, Any] = {}
    with tile_servers.onemap(dsn, login, options.workers, 0, options.pool or None) as ours:
        for case in runs:
            found["cases"][case.name]["uncached"] = _steady(ours, case.ours(), options)
            progress.advance(task)
        floor["ours"] = _steady(ours, [FLOOR_PATH], options)
    progress.update(task, description=f"{scale}: tipg")
    with tile_servers.tipg(dsn, options.workers, SCHEMA, view_names, limit) as tipg:
        for case in runs:
            found["cases"][case.name]["tipg"] = _steady(tipg, case.tipg(), options)
            progress.advance(task)
        floor["tipg"] = _steady(tipg, [FLOOR_PATH], options)
    found["floor"] = floor
    progress.update(task, description=f"{scale}: bare statements (pgbench)")
    for case in runs:
        statements = _statements(dsn, specs[case.collection], case.tiles)
        found["cases"][case.name]["bare"] = _pgbench(
            dsn, statements, options.seconds, options.connections
        )
        progress.advance(task)
    progress.update(task, description=f"{scale}: ours cached")
    with tile_servers.onemap(dsn, login, options.workers, 64, options.pool or None) as ours:
        for case in runs:
            paths = case.ours()
            fetch(ours, paths)  # each tile made once per worker it lands on
            fetch(ours, paths)
            sources = [h.get("x-cache", "") for _, h, _ in fetch(ours, paths)]
            result = _steady(ours, paths, options)
            after = [h.get("x-cache", "") for _, h, _ in fetch(ours, paths)]
            result["x_cache_after"] = {v: after.count(v) for v in sorted(set(after))}
            result["x_cache_before"] = {v: sources.count(v) for v in sorted(set(sources))}
            found["cases"][case.name]["cached"] = result
            progress.advance(task)
    for name, case in found["cases"].items():
        if "uncached" not in case:
            continue
        ours_rate = case["uncached"]["tiles_per_s"]
        tipg_rate = case["tipg"]["tiles_per_s"]
        bare_rate = case["bare"]["tiles_per_s"]
        cached_rate = case["cached"]["tiles_per_s"]
        case["ratios"] = {
            "floor_vs_uncached": plan.ratio(floor["ours"]["tiles_per_s"], ours_rate),
            "uncached_vs_tipg": plan.ratio(ours_rate, tipg_rate),
            "http_vs_bare_time": plan.ratio(bare_rate, ours_rate),
            "cached_vs_uncached": plan.ratio(cached_rate, ours_rate),
            "bytes_vs_tipg": plan.ratio(
                case["answers"]["mean_bytes"]["ours"], case["answers"]["mean_bytes"]["tipg"]
            ),
        }
        r = case["ratios"]
        all_hits = set(case["cached"]["x_cache_after"]) == {"hit"}
        hits = "" if all_hits else " (not all X-Cache: hit)"
        case["verdict"] = {
            "uncached ≥ 1.5× tipg": plan.verdict(
                r["uncached_vs_tipg"], plan.UNCACHED_VS_TIPG, True
            ),
            "HTTP ≤ 1.25× bare": plan.verdict(r["http_vs_bare_time"], plan.HTTP_VS_BARE, False),
            "cached ≥ 5× uncached": plan.verdict(
                r["cached_vs_uncached"], plan.CACHED_VS_UNCACHED, True
            ) + hits,
        }  # fmt: skip
        del name
    return found


def measure(options: argparse.Namespace, console: Console) -> dict[str, Any]:
    WORK.mkdir(parents=True, exist_ok=True)
    tile_servers.peer_installed()
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "load_average_start": list(os.getloadavg()),
                    "python": sys.version.split()[0]},
        "options": {k: v for k, v in vars(options).items() if k != "json"},
        "peer": "tipg 1.6.1",
        "scales": {},
    }  # fmt: skip
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=console)  # fmt: skip
    with progress:
        for scale in [s for s in options.scales.split(",") if s]:
            results["scales"][scale] = _scale(options, scale, progress)
            _write(results)
    results["machine"]["load_average_end"] = list(os.getloadavg())
    _write(results)
    return results


def _write(results: dict[str, Any]) -> None:
    from bench import _tiles_report as report

    (WORK / "tiles-results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))
    (WORK / "tiles-results.md").write_text(report.markdown(results))


def flat(results: dict[str, Any]) -> dict[str, object]:
    found: dict[str, object] = {}
    verdicts = []
    for scale, data in results["scales"].items():
        for name, case in data["cases"].items():
            if "ratios" not in case:
                found[f"{scale} {name}"] = "no tile answered by both"
                continue
            found[f"{scale} {name} tiles/s ours/tipg/bare/cached"] = " / ".join(
                f"{case[k]['tiles_per_s']:.0f}" for k in ("uncached", "tipg", "bare", "cached")
            )
            for target, verdict in case["verdict"].items():
                found[f"{scale} {name} {target}"] = verdict
                verdicts.append(verdict)
    found["results"] = str(WORK / "tiles-results.md")
    found["passed"] = bool(verdicts) and all(v.startswith("met") for v in verdicts)
    return found


def run() -> dict[str, object]:
    """``python -m bench tiles`` with the default options."""
    return flat(measure(_options([]), Console(stderr=True)))


def main(argv: Sequence[str]) -> int:
    options = _options(argv)
    started = time.monotonic()
    results = measure(options, Console(stderr=True))
    results["seconds"] = round(time.monotonic() - started, 1)
    figures = flat(results)
    if options.json:
        print(json.dumps(results | {"figures": figures}, indent=1, ensure_ascii=False))
    else:
        from bench.__main__ import _table

        Console().print(_table("tiles", figures))
    return 0 if figures["passed"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
