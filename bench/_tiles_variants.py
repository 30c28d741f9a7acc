"""Tile statement variants timed on one connection (``python -m bench._tiles_variants large
"buildings z14" [--tiles 10] [--repeat 3]``): run after ``bench tiles`` on its database, alone.

For the case's tiles (the bench's own choice: same seed, same points), our statement is run
as the server's role with and without parallel workers, and with parts of it taken out: the
order by area, the window count of matched features, the simplification. Each variant runs
every tile ``--repeat`` times in turn; medians and means in ms are printed (JSON with
``--json``). This is where docs/tiles.md's parallel-worker figures come from.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

VARIANTS: dict[str, Callable[[str], str]] = {
    "ours": lambda sql: sql,
    "no area order": lambda sql: sql.replace('ORDER BY ST_Area(t."geom") DESC, t."id"', ""),
    "no window count": lambda sql: sql.replace("count(*) OVER ()", "0::bigint"),
    "no simplification": lambda sql: sql.replace("ST_Simplify(s.geom", "ST_Force2D(s.geom").replace(
        ", %(l0_tol)s, true)", ")"
    ),
}


def main(argv: list[str]) -> int:
    import psycopg
    from sqlalchemy import text

    from bench import _tiles_plan as plan
    from bench import ogc
    from bench import tiles as bench_tiles
    from gis.engine import create_engine
    from gis.tms import Tile
    from services.ogcapi import tiles
    from services.ogcapi.service import session_options
    from services.settings import OgcSettings

    parser = argparse.ArgumentParser(prog="python -m bench._tiles_variants")
    parser.add_argument("scale")
    parser.add_argument("case", help="a case of bench tiles, e.g. 'buildings z14'")
    parser.add_argument("--tiles", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args(argv)
    server, admin = ogc._cluster()
    admin.dispose()
    url = server.url(f"ogc_bench_{options.scale}")
    login = server.server_url(url.database).set(drivername="postgresql")
    engine = create_engine(url)
    buildings, plan_spec = bench_tiles._specs(engine, "")
    spec = buildings if options.case.startswith("buildings") else plan_spec
    level = int(options.case.split("z")[-1])
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
    engine.dispose()
    chosen = plan.pick_tiles(points, level, options.tiles, bench_tiles.SEED + level)
    tms = tiles.tile_set(plan.SET)
    limit = OgcSettings().tile_feature_limit
    made = [tiles.tile_statement([spec], tms, Tile(t.x, t.y, t.z), limit) for t in chosen]
    found: dict[str, Any] = {"case": options.case, "scale": options.scale, "tiles": len(made)}
    for parallel in (True, False):
        extra = "" if parallel else " -c max_parallel_workers_per_gather=0"
        dsn = login.render_as_string(hide_password=False)
        with psycopg.connect(
            dsn, autocommit=True, options=session_options(OgcSettings()) + extra
        ) as conn:
            for name, change in VARIANTS.items():
                times = []
                for _ in range(options.repeat):
                    for st in made:
                        started = time.perf_counter()
                        conn.execute(change(st.sql), st.values).fetchone()
                        times.append((time.perf_counter() - started) * 1000)
                key = f"{name}, {'parallel' if parallel else 'no parallel'} workers"
                found[key] = {
                    "median_ms": round(statistics.median(times), 2),
                    "mean_ms": round(statistics.mean(times), 2),
                }
                if not options.json:
                    print(f"{key:45s} median {found[key]['median_ms']:8.2f} ms  "
                          f"mean {found[key]['mean_ms']:8.2f} ms", flush=True)  # fmt: skip
    if options.json:
        print(json.dumps(found, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
