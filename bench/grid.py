"""Grid governance on whatever city the database holds: 房进格 re-link, coverage check, statistics.

* re-link: :func:`grid.linking.link_buildings` (the API: session settings, the statement with
  its report, the summary row) beside the same UPDATE run bare through the driver
  (:func:`grid.linking.bare_link_statement`), in the same session, interleaved. Measured
  twice: when every link is already right (the usual check after edits) and from scratch
  (every building unlinked first, as after a bulk load). The ratio must stay ≤ 1.5.
* coverage check of all communities (:func:`grid.coverage.check`);
* statistics roll-up per level (:func:`grid.stats.stats`).

Every run is a transaction rolled back afterwards: the database is left as it was. Times are
medians of ``ONEMAP_BENCH_REPEATS`` (default 3) runs; the from-scratch re-link, which rewrites
every building, of ``ONEMAP_BENCH_SCRATCH_REPEATS`` (default 1). The database is
``ONEMAP_BENCH_DATABASE_URL``, else the platform's (``ONEMAP_DATABASE_URL`` or the local
server). Run it as ``python -m bench grid``.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, text

from gis.engine import create_engine, database_url
from gis.settings import DatabaseSettings
from grid.coverage import check
from grid.linking import bare_link_statement, link_buildings
from grid.settings import GridSettings
from grid.stats import stats

MAX_RATIO = 1.5
MIN_BUILDINGS = 100_000
_BARE_MODE = "SELECT set_config('onemap.link', 'on', true), set_config('jit', 'off', true);"
_UNLINK = (
    "SELECT set_config('onemap.link', 'on', true);"
    " UPDATE grid.buildings SET cell_id = NULL, straddles = false;"
    " SELECT set_config('onemap.link', '', true);"
)


def _timed(conn: Connection, work: Callable[[], object], prepare: str | None = None) -> float:
    """Seconds ``work`` takes inside a transaction that is then rolled back."""
    try:
        if prepare:
            conn.exec_driver_sql(prepare)
        start = time.perf_counter()
        work()
        return time.perf_counter() - start
    finally:
        conn.rollback()


def _pair(conn: Connection, repeats: int, prepare: str) -> tuple[float, float]:
    """Median seconds of the API and of the bare statement, interleaved against drift.

    The bare statement runs in the same mode as the API's (link mode: derived columns, no
    audit image; JIT off), set up before the clock starts: the ratio is the API's overhead.
    """
    api, bare = [], []
    for _ in range(repeats):
        api.append(_timed(conn, lambda: link_buildings(conn), prepare))
        bare_prepare = prepare + _BARE_MODE
        bare.append(_timed(conn, lambda: conn.exec_driver_sql(bare_link_statement()), bare_prepare))
    return statistics.median(api), statistics.median(bare)


def _median(conn: Connection, work: Callable[[], object], repeats: int) -> float:
    return statistics.median(_timed(conn, work) for _ in range(repeats))


def run(url: str | None = None, repeats: int | None = None) -> dict[str, Any]:
    """Measure on the database at ``url`` (see the module doc for the default)."""
    repeats = repeats or int(os.environ.get("ONEMAP_BENCH_REPEATS", "3"))
    target = url or os.environ.get("ONEMAP_BENCH_DATABASE_URL") or database_url(DatabaseSettings())
    engine = create_engine(target)
    result: dict[str, Any] = {}
    try:
        with engine.connect() as conn:
            sizes = conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM grid.buildings), (SELECT count(*) FROM"
                    " grid.cells), (SELECT count(*) FROM grid.persons),"
                    " (SELECT count(*) FROM grid.buildings WHERE straddles)"
                )
            ).one()
            result.update(buildings=sizes[0], cells=sizes[1], persons=sizes[2],
                          straddling=sizes[3], repeats=repeats)  # fmt: skip
            conn.rollback()
            api, bare = _pair(conn, repeats, "")
            result.update(relink_api_s=api, relink_bare_s=bare, relink_ratio=api / bare)
            scratch = int(os.environ.get("ONEMAP_BENCH_SCRATCH_REPEATS", "1"))
            api, bare = _pair(conn, scratch, _UNLINK)
            result.update(scratch_api_s=api, scratch_bare_s=bare, scratch_ratio=api / bare)
            result["check_s"] = _median(conn, lambda: check(conn, settings=GridSettings()), repeats)
            for level in ("community", "street", "county"):
                roll_up = lambda lv=level: stats(conn, lv)  # noqa: E731
                result[f"stats_{level}_s"] = _median(conn, roll_up, repeats)
    finally:
        engine.dispose()
    # Below MIN_BUILDINGS the fixed cost of the API (a few round trips, ~1 ms) dominates: the
    # ratio is reported but judged only on a city of real size.
    result["ratio_judged"] = result["buildings"] >= MIN_BUILDINGS
    ratio = max(result["relink_ratio"], result["scratch_ratio"])
    result["passed"] = ratio <= MAX_RATIO or not result["ratio_judged"]
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
