"""Where an uncached tile's time goes (``python -m bench._tiles_profile [--scale medium]``):
run after ``bench tiles`` on its database, alone.

For the first tiles of each case of the last results (.onemap/bench/tiles-results.json):
our statement timed three ways on one connection each, one after another, as the HTTP
server's role (``onemap_server``) with the tile pool's session options (custom plans, no
JIT, no parallel workers):

- ``bound``: as the server runs it (psycopg, ``%(name)s`` values bound server-side,
  ``prepare_threshold`` 5 as the pool);
- ``literal``: the same text with the values inlined (what pgbench runs);
- and EXPLAIN (ANALYZE, BUFFERS) of both for one tile, printed.

Prints JSON (median ms per tile of each way) and writes the plans to
``.onemap/bench/tiles-explain-*.txt``.

``--cprofile CASE`` (e.g. ``"plan z16"``) instead runs our server as one uvicorn worker under
cProfile, cache off, loops the bench's tiles of that case over it for ``--seconds`` with the
bench's client, and prints the top functions by cumulative and by own time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".onemap" / "bench"


def main(argv: list[str]) -> int:
    import psycopg

    from bench import _tiles_plan as plan
    from bench import ogc
    from bench import tiles as bench_tiles
    from gis.engine import create_engine
    from gis.tms import Tile
    from services.ogcapi import tiles
    from services.ogcapi.service import tile_session_options
    from services.settings import OgcSettings

    parser = argparse.ArgumentParser(prog="python -m bench._tiles_profile")
    parser.add_argument("--scale", default="medium")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--cprofile", default="", help="a case of the results, e.g. 'plan z16'")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=8)
    options = parser.parse_args(argv)
    if options.cprofile:
        return _cprofile(options)
    server, admin = ogc._cluster()
    admin.dispose()
    url = server.url(f"ogc_bench_{options.scale}")
    login = server.server_url(url.database).set(drivername="postgresql")
    engine = create_engine(url)
    results = json.loads((WORK / "tiles-results.json").read_text())["scales"][options.scale]
    buildings, plan_spec = bench_tiles._specs(engine, results["plan"])
    engine.dispose()
    specs = {"buildings": buildings, "plan": plan_spec}
    ogc_settings = OgcSettings()
    limit = ogc_settings.tile_feature_limit
    tms = tiles.tile_set(plan.SET)
    out: dict[str, Any] = {}
    dsn = login.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True, options=tile_session_options(ogc_settings)) as conn:
        conn.prepare_threshold = 5
        cursor = psycopg.ClientCursor(conn)
        for name, case in results["cases"].items():
            spec = specs[name.split()[0]]
            t = plan.mercator_tile(*_centre(spec, engine_url=url), case["level"])
            st = tiles.tile_statement([spec], tms, Tile(t.x, t.y, t.z), limit)
            literal = cursor.mogrify(st.sql, st.values)
            timings: dict[str, list[float]] = {"bound": [], "literal": []}
            for _ in range(options.repeat):
                for way in ("bound", "literal"):
                    started = time.perf_counter()
                    if way == "bound":
                        conn.execute(st.sql, st.values).fetchone()
                    else:
                        conn.execute(literal).fetchone()
                    timings[way].append((time.perf_counter() - started) * 1000)
            out[name] = {w: round(statistics.median(v), 2) for w, v in timings.items()}
            out[name]["tile"] = [t.z, t.x, t.y]
            explain = "EXPLAIN (ANALYZE, BUFFERS) "
            bound_plan = "\n".join(r[0] for r in conn.execute(explain + st.sql, st.values))
            literal_plan = "\n".join(r[0] for r in conn.execute(explain + literal))
            path = WORK / f"tiles-explain-{name.replace(' ', '-')}.txt"
            path.write_text(f"-- bound\n{bound_plan}\n\n-- literal\n{literal_plan}\n")
            out[name]["explain"] = str(path)
    print(json.dumps(out, indent=1))
    return 0


def _cprofile(options: argparse.Namespace) -> int:
    """Our server under cProfile (one worker, in-process) while the bench's client loops
    the case's tiles; prints the profile's top lines."""
    import os
    import pstats
    import secrets
    import signal
    import subprocess

    import httpx

    from bench import _basemap_load as load
    from bench import _ogc_servers as servers
    from bench import ogc
    from bench import tiles as bench_tiles
    from gis.engine import create_engine

    server, admin = ogc._cluster()
    admin.dispose()
    url = server.url(f"ogc_bench_{options.scale}")
    login = server.server_url(url.database).render_as_string(hide_password=False)
    engine = create_engine(url)
    results = json.loads((WORK / "tiles-results.json").read_text())["scales"][options.scale]
    specs = bench_tiles._specs(engine, results["plan"])
    views = {s.id: (s.id.replace(".", "_"), []) for s in specs}
    cases = {c.name: c for c in bench_tiles._cases(engine, list(specs), views, 40)}
    engine.dispose()
    paths = cases[options.cprofile].ours()
    port = servers._free_port()
    out = WORK / f"tiles-cprofile-{options.cprofile.replace(' ', '-')}.prof"
    env = {
        **os.environ,
        "ONEMAP_DATABASE_URL": url.render_as_string(hide_password=False),
        "ONEMAP_APP_DATABASE_URL": login,
        "ONEMAP_HOME": str(WORK / "home"),
        "ONEMAP_SECRET_KEY": secrets.token_urlsafe(32),
        "ONEMAP_OGC_POOL_SIZE": str(servers.POOL_SIZE),
        "ONEMAP_OGC_TILE_CACHE_MB": "0",
        "ONEMAP_OGC_PUBLIC_URL": f"http://127.0.0.1:{port}/ogc",
    }
    command = [sys.executable, "-m", "cProfile", "-o", str(out),
               *servers._uvicorn(Path(sys.executable), "services.asgi:app", port, 1)[1:],
               "--app-dir", str(ROOT)]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}/ogc/"
    try:
        for _ in range(240):
            try:
                if httpx.get(base + "collections/buildings", timeout=30).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        figures = load.steady(base, paths, options.connections, 1.0, options.seconds)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    print(json.dumps({k: figures[k] for k in ("tiles_per_s", "p50_ms", "errors")}))
    stats = pstats.Stats(str(out))
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(25)
    return 0


def _centre(spec: Any, engine_url: Any) -> tuple[float, float]:
    """A point inside the densest part of the collection (the median of a sample)."""
    from sqlalchemy import text

    from bench import _tiles_plan as plan
    from gis.engine import create_engine

    engine = create_engine(engine_url)
    where = " AND ".join(f'"{c}" = {plan._literal(v)}' for c, v in spec.fixed) or "TRUE"
    with engine.connect() as conn:
        x, y = conn.execute(
            text(  # identifiers from the registry's specs, values quoted
                "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY ST_X(p)),"  # noqa: S608
                " percentile_disc(0.5) WITHIN GROUP (ORDER BY ST_Y(p)) FROM (SELECT"
                f" ST_PointOnSurface({spec.geometry_column}) AS p FROM {spec.qualified_table}"
                f" WHERE {where}) s"
            )
        ).one()
    engine.dispose()
    return float(x), float(y)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
