"""OGC API – Processes: a synchronous site check over HTTP against the direct call, and
conflict runs queued as jobs against the same runs made one after another.

Setup: bench/ogc.py's database of the city (``--scale``, default ``medium``:
``ogc_bench_medium``, the sample city and its plan layers generated and loaded on first use,
reused afterwards), vacuumed; a planner key under a secret of this run; our server
(``services.asgi:app`` under bench/_uvicorn.py, ``--workers`` uvicorn workers, each with
``--job-workers`` job workers, ``ONEMAP_PROCESSES_WORKERS``), logging in as the server's role
with the owner's URL beside it (site checks and conflict runs write as the CLI does, on the
owner's engine in a job worker). Everything runs in the same run, on the same machine.

1. **Sync site check** (bench/_processes_sites.py): the process's example red line and
   ``--sites`` squares around random buildings, each once both ways untimed (answers
   compared), then ``--rounds`` × ``--calls`` pairs: ``POST
   /ogc/processes/site-check/execution`` from request to parsed result, and the
   definition's own ``run`` in this process on a warm owner engine, back to back, the
   first side alternating. Medians, p95, HTTP ÷ direct (target ≤ 1.2) and the difference
   in ms.
2. **Jobs per minute** (bench/_processes_jobs.py): ``--jobs`` conflict runs (城规 × 土规 and
   城规 × 城镇开发边界 in turn) queued at once with ``Prefer: respond-async`` and polled
   until all ended, against the same runs one after another in this process;
   ``--job-rounds`` rounds, the first side alternating. Jobs per minute both ways and their
   ratio; per job the queue wait and run time from the job documents.

Afterwards every site check, conflict run (with its patches), job and key the bench made is
deleted. Results: ``.onemap/bench/processes-results.{json,md}``; ``--json`` prints them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench import _processes_jobs as jobs
from bench import _processes_setup as setup
from bench import _processes_sites as sites
from bench._http1 import Connection

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".onemap" / "bench"


def _options(argv: Sequence[str]) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="python -m bench processes",
        description="OGC API – Processes: a sync site-check over HTTP vs the direct domain "
        "call (target ≤ 1.2×), and conflict runs queued as jobs vs the same runs in turn.",
    )
    add = parser.add_argument
    add("--scale", default=env("ONEMAP_BENCH_SCALE", "medium"),
        help="sample-city scale of the bench database (default medium)")  # fmt: skip
    add("--workers", type=int, default=int(env("ONEMAP_BENCH_WORKERS", "2")),
        help="uvicorn workers of the server (default 2)")  # fmt: skip
    add("--job-workers", type=int, default=int(env("ONEMAP_PROCESSES_WORKERS", "2")),
        help="job workers per server process, ONEMAP_PROCESSES_WORKERS (default 2)")  # fmt: skip
    add("--sites", type=int, default=5,
        help="random squares besides the example red line (default 5)")  # fmt: skip
    add("--rounds", type=int, default=int(env("ONEMAP_BENCH_ROUNDS", "7")),
        help="site-check rounds (default 7)")  # fmt: skip
    add("--calls", type=int, default=30,
        help="site-check pairs (HTTP and direct) per round (default 30)")  # fmt: skip
    add("--jobs", type=int, default=4, help="conflict runs queued at once (default 4)")
    add("--job-rounds", type=int, default=3, help="rounds of queued conflict runs (default 3)")
    add("--poll", type=float, default=0.2, help="seconds between status polls (0.2)")
    add("--json", action="store_true", help="print the results as JSON")
    return parser.parse_args(list(argv))


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console)  # fmt: skip


async def _sync_part(
    base: str,
    key: setup.Key,
    call: Callable[[Any], dict[str, Any]],
    lines: list[dict[str, Any]],
    options: argparse.Namespace,
    advance: Callable[[], None],
) -> dict[str, Any]:
    conn = Connection(base)
    try:
        both = sites.Sides(conn, key.key, call)
        return await sites.measure(both, lines, options.rounds, options.calls, advance)
    finally:
        await conn.close()


def _jobs_part(
    base: str,
    key: setup.Key,
    call: Callable[[dict[str, Any]], dict[str, Any]],
    options: argparse.Namespace,
    engine: Any,
    advance: Callable[[], None],
) -> dict[str, Any]:
    runs = jobs.inputs(options.jobs)
    warm = []
    for pair in jobs.PAIRS:  # untimed: the plan features into the cache, the engine warm
        started = time.perf_counter()
        call({"layers": list(pair)})
        warm.append({"layers": list(pair), "seconds": round(time.perf_counter() - started, 3)})
        advance()
    rounds = []
    for r in range(options.job_rounds):
        http_first = r % 2 == 0
        found: dict[str, Any] = {"round": r + 1, "http_first": http_first}
        for side in ("http", "direct") if http_first else ("direct", "http"):
            if side == "http":
                found["http"] = asyncio.run(
                    jobs.http_round(base, key.key, runs, options.poll, engine)
                )
            else:
                found["direct"] = jobs.direct_round(call, runs)
            advance()
        found["differ"], found["last_digits"] = jobs.compare(found["http"], found["direct"])
        rounds.append(found)
    summary = jobs.summary(rounds)
    for found in rounds:  # the outputs were for the comparison: keep the figures only
        found["http"].pop("results", None)
        found["direct"].pop("results", None)
    differ = [d for r in rounds for d in r["differ"]]
    last_digits = [d for r in rounds for d in r["last_digits"]]
    failed = [j["job"] for r in rounds for j in r["http"].get("jobs", [])
              if j["status"] != "successful"]  # fmt: skip
    errors = [e for r in rounds for e in r["http"].get("errors", [])]
    return {
        "pairs": [" × ".join(p) for p in jobs.PAIRS],
        "jobs_per_round": options.jobs,
        "warm_up": warm,
        "rounds": rounds,
        "summary": summary,
        "differ": differ,
        "last_digits": last_digits,
        "failed": failed,
        "errors": errors,
    }


def measure(options: argparse.Namespace, console: Console) -> dict[str, Any]:
    from gis.engine import create_engine
    from services.processes.definitions import conflicts, site_check

    WORK.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                    "load_average_start": setup.load()},
        "options": {k: v for k, v in vars(options).items() if k != "json"},
        "server": {"uvicorn_workers": options.workers, "job_workers": options.job_workers,
                   "jobs_at_once": options.workers * options.job_workers},
    }  # fmt: skip
    progress = _progress(console)
    with progress:
        task = progress.add_task(f"{options.scale}: database", total=None)
        db = setup.database(options.scale)
        results["data"] = db.data
        engine = create_engine(db.owner)
        before = setup.marks(engine)
        key = setup.make_key(engine)
        context, direct_engine = setup.direct_context(db, key)
        try:
            lines = sites.red_lines(engine, site_check.PROCESS.example["inputs"], options.sites)
            total = len(lines) + options.rounds * options.calls
            progress.update(task, description="starting the server")
            with setup.server(db, key, options.workers, options.job_workers) as base:
                progress.update(task, description="site-check: HTTP vs direct", total=total,
                                completed=0)  # fmt: skip
                results["site_check"] = asyncio.run(
                    _sync_part(base, key, lambda i: site_check.run(i, context), lines, options,
                               lambda: progress.advance(task))
                )  # fmt: skip
                sites.add_worker_times(engine, results["site_check"])
                _write(results)
                steps = len(jobs.PAIRS) + 2 * options.job_rounds
                progress.update(task, description="conflicts: jobs vs direct", total=steps,
                                completed=0)  # fmt: skip
                results["conflicts"] = _jobs_part(
                    base, key, lambda i: conflicts.run(i, context), options, engine,
                    lambda: progress.advance(task),
                )  # fmt: skip
        finally:
            direct_engine.dispose()
            results["cleanup"] = setup.forget(engine, key, before)
            engine.dispose()
            results["machine"]["load_average_end"] = setup.load()
            _write(results)
    return results


def _write(results: dict[str, Any]) -> None:
    from bench import _processes_report as report

    (WORK / "processes-results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))
    (WORK / "processes-results.md").write_text(report.markdown(results))


def flat(results: dict[str, Any]) -> dict[str, object]:
    found: dict[str, object] = {}
    passed = True
    check = results.get("site_check")
    if check:
        h, d = check["http"], check["direct"]
        found["site-check median ms HTTP / direct"] = f"{h['median_ms']} / {d['median_ms']}"
        found["site-check p95 ms HTTP / direct"] = f"{h['p95_ms']} / {d['p95_ms']}"
        found["site-check HTTP − direct ms (median of pairs)"] = check["difference_ms"][
            "median_of_pairs"
        ]
        found["site-check HTTP ÷ direct ≤ 1.2"] = check["verdict"]
        passed &= check["verdict"].startswith("met") and not check["errors"]
    else:
        passed = False
    runs = results.get("conflicts")
    if runs:
        s = runs["summary"]
        found["conflicts jobs/min HTTP / direct"] = (
            f"{s['http_jobs_per_minute_median']} / {s['direct_jobs_per_minute_median']}"
        )
        found["conflicts ratio HTTP ÷ direct (rounds)"] = (
            f"{s['ratio_median']} ({s['ratio_range']})"
        )
        found["conflicts queue wait s (median / max)"] = (
            f"{s['queue_s']['median']} / {s['queue_s']['max']}"
        )
        found["conflicts same answers"] = "yes" if not runs["differ"] else f"no: {runs['differ']}"
        passed &= not runs["differ"] and not runs["failed"] and not runs["errors"]
    else:
        passed = False
    found["cleanup"] = str(results.get("cleanup"))
    found["results"] = str(WORK / "processes-results.md")
    found["passed"] = passed
    return found


def run() -> dict[str, object]:
    """``python -m bench processes`` with the default options."""
    return flat(measure(_options([]), Console(stderr=True)))


def main(argv: Sequence[str]) -> int:
    options = _options(argv)
    started = time.monotonic()
    results = measure(options, Console(stderr=True))
    results["seconds"] = round(time.monotonic() - started, 1)
    _write(results)
    figures = flat(results)
    if options.json:
        print(json.dumps(results | {"figures": figures}, indent=1, ensure_ascii=False))
    else:
        from bench.__main__ import _table

        Console().print(_table("processes", figures))
    return 0 if figures["passed"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
