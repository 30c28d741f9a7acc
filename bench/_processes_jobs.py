"""Part 2 of ``bench processes``: conflict runs queued as jobs, against the same runs made
one after another in the bench's process.

- **Jobs**: ``jobs`` conflict runs (the layer pairs of :data:`PAIRS` in turn) posted all at
  once to ``/ogc/processes/conflicts/execution`` with ``Prefer: respond-async``, one
  connection each; then every job's status polled (``--poll`` seconds apart) until all
  have ended. Each server process runs ``ONEMAP_PROCESSES_WORKERS`` jobs at once; the
  others wait in the queue (the table) for a free worker of any server process.
  Throughput: jobs over the span from the first job's ``created`` to the last one's
  ``finished`` (the job documents' own times, so polling does not blur it); per job the
  queue wait (``started - created``) and run time (``finished - started``).
- **Direct**: the same runs one after another through the definition's ``run(inputs, ctx)``
  (services/processes/definitions/conflicts.py: the checks, ``layers.conflicts.
  run_conflicts`` in one transaction on the owner's engine), on one connection.
- **Same answer**: each job's results against the direct run of the same layers, but for
  the run's id, its duration and the collection link.
- Rounds alternate which side goes first; one untimed direct run of each pair comes
  before the first round (the plan features read into the cache for both sides).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import time
from collections.abc import Callable
from typing import Any, Final

import numpy as np
from sqlalchemy import Engine, text

from bench._http1 import Connection

PAIRS: Final = (("urban_plan", "landuse_plan"), ("urban_plan", "dev_boundary"))
"""城规 × 土规 (three conflict types) and 城规 × 城镇开发边界 (one), alternated."""
PATH: Final = "processes/conflicts/execution"
ENDED: Final = frozenset({"successful", "failed", "dismissed"})
VOLATILE: Final = frozenset({"run_id", "seconds", "collection"})
REL_TOL: Final = 1e-12
"""How close two areas of the same run must be to count as the same answer."""


def inputs(n: int) -> list[dict[str, Any]]:
    return [{"layers": list(PAIRS[i % len(PAIRS)])} for i in range(n)]


def _time(text_: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text_) if text_ else None


def _comparable(result: dict[str, Any]) -> Any:
    return json.loads(json.dumps({k: v for k, v in result.items() if k not in VOLATILE}))


def _median(values: list[float]) -> float | None:
    return round(float(np.median(values)), 3) if values else None


async def http_round(
    base: str, key: str, runs: list[dict[str, Any]], poll: float, engine: Engine
) -> dict[str, Any]:
    """Queue ``runs`` at once, wait for all, and read their documents and results."""
    auth = {"Authorization": f"Bearer {key}"}
    headers = {**auth, "Content-Type": "application/json", "Prefer": "respond-async"}
    posting = [Connection(base) for _ in runs]
    started = time.perf_counter()
    answers = await asyncio.gather(
        *(c.request("POST", PATH, headers, json.dumps({"inputs": i}).encode())
          for c, i in zip(posting, runs, strict=True))
    )  # fmt: skip
    queued_s = time.perf_counter() - started
    for conn in posting:
        await conn.close()
    refused = [f"HTTP {a.status}: {a.text[:200]}" for a in answers if a.status != 201]
    if refused:
        return {"errors": refused}
    ids = [a.json()["jobID"] for a in answers]
    conn = Connection(base)
    documents: dict[str, dict[str, Any]] = {}
    seen: dict[str, float] = {}
    polls = 0
    while len(documents) < len(ids):
        for job in ids:
            if job in documents:
                continue
            found = (await conn.request("GET", f"jobs/{job}", auth)).json()
            polls += 1
            if found["status"] in ENDED:
                documents[job] = found
                seen[job] = time.perf_counter() - started
        if len(documents) < len(ids):
            await asyncio.sleep(poll)
    results = {}
    for job in ids:
        if documents[job]["status"] == "successful":
            results[job] = (await conn.request("GET", f"jobs/{job}/results", auth)).json()
    await conn.close()
    with engine.connect() as db:
        rows = db.execute(
            text("SELECT id::text, worker FROM jobs.jobs WHERE id = ANY(CAST(:ids AS uuid[]))"),
            {"ids": ids},
        )
        workers: dict[str, str | None] = {job: worker for job, worker in rows}
    jobs = []
    for job, asked in zip(ids, runs, strict=True):
        doc = documents[job]
        created, began, ended = (_time(doc[k]) for k in ("created", "started", "finished"))
        jobs.append({
            "job": job, "layers": asked["layers"], "status": doc["status"],
            "created": doc["created"], "started": doc["started"], "finished": doc["finished"],
            "queue_s": round((began - created).total_seconds(), 3) if began and created else None,
            "run_s": round((ended - began).total_seconds(), 3) if ended and began else None,
            "seen_ended_s": round(seen[job], 3),
            "worker": workers.get(job),
            "message": doc.get("message", "") if doc["status"] != "successful" else "",
        })  # fmt: skip
    creates = [_time(j["created"]) for j in jobs]
    finishes = [_time(j["finished"]) for j in jobs]
    span = (
        (max(f for f in finishes if f) - min(c for c in creates if c)).total_seconds()
        if all(finishes) and all(creates)
        else None
    )
    done = sum(j["status"] == "successful" for j in jobs)
    return {
        "jobs": jobs,
        "successful": done,
        "post_all_s": round(queued_s, 3),
        "span_s": round(span, 3) if span else None,
        "client_span_s": round(max(seen.values()), 3),
        "polls": polls,
        "jobs_per_minute": round(done / span * 60, 2) if span and done else None,
        "results": {j["job"]: results.get(j["job"]) for j in jobs},
    }


def direct_round(
    call: Callable[[dict[str, Any]], dict[str, Any]], runs: list[dict[str, Any]]
) -> dict[str, Any]:
    """The same runs one after another in this process."""
    made = []
    for asked in runs:
        started = time.perf_counter()
        result = call(asked)
        made.append({"layers": asked["layers"], "seconds": time.perf_counter() - started,
                     "result": result})  # fmt: skip
    total = sum(m["seconds"] for m in made)
    return {
        "runs": [
            {
                "layers": m["layers"],
                "seconds": round(m["seconds"], 3),
                "run_id": m["result"]["run_id"],
            }
            for m in made
        ],
        "total_s": round(total, 3),
        "jobs_per_minute": round(len(made) / total * 60, 2) if total else None,
        "results": [m["result"] for m in made],
    }


def compare(http: dict[str, Any], direct: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Jobs whose results differ from the direct run of the same layers (or are missing),
    and jobs equal to it only within :data:`REL_TOL` (where they first differ)."""
    by_layers = {tuple(r["layers"]): _comparable(res) for r, res in
                 zip(direct["runs"], direct["results"], strict=True)}  # fmt: skip
    differ: list[str] = []
    last_digits: list[str] = []
    for job in http.get("jobs", []):
        result = http["results"].get(job["job"])
        expected = by_layers.get(tuple(job["layers"]))
        got = None if result is None else _comparable(result)
        if got is None or expected is None or not _close(got, expected):
            where = _first_difference(got, expected) if got and expected else "missing"
            differ.append(f"{job['job']} ({' × '.join(job['layers'])}, {job['status']}): {where}")
        elif got != expected:
            last_digits.append(f"{job['job'][:8]}: {_first_difference(got, expected)}")
    return differ, last_digits


def _close(a: Any, b: Any) -> bool:
    """Equal, floats within :data:`REL_TOL` (sums of areas over rows read in another
    order, e.g. a scan joining another session's synchronised scan, differ in the last
    bits)."""
    if isinstance(a, float) and isinstance(b, float | int):
        return math.isclose(a, b, rel_tol=REL_TOL)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    """Where two JSON values first differ, with both values there."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                return _first_difference(a.get(k), b.get(k), f"{path}/{k}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{path}/{i}")
    left, right = (json.dumps(v, ensure_ascii=False)[:120] for v in (a, b))
    return f"{path or '/'}: {left} vs {right}"


def summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-round ratios (jobs/min over HTTP ÷ direct) and the medians of the rounds."""
    ratios, queue, run_http, run_direct = [], [], [], []
    for r in rounds:
        h, d = r["http"].get("jobs_per_minute"), r["direct"].get("jobs_per_minute")
        r["ratio"] = round(h / d, 3) if h and d else None
        if r["ratio"] is not None:
            ratios.append(r["ratio"])
        queue += [j["queue_s"] for j in r["http"].get("jobs", []) if j["queue_s"] is not None]
        run_http += [j["run_s"] for j in r["http"].get("jobs", []) if j["run_s"] is not None]
        run_direct += [x["seconds"] for x in r["direct"]["runs"]]
    by_pair = {}
    for pair in PAIRS:
        name = " × ".join(pair)
        h = [j["run_s"] for r in rounds for j in r["http"].get("jobs", [])
             if tuple(j["layers"]) == pair and j["run_s"] is not None]  # fmt: skip
        d = [
            x["seconds"] for r in rounds for x in r["direct"]["runs"] if tuple(x["layers"]) == pair
        ]
        by_pair[name] = {"run_s_http": _median(h), "run_s_direct": _median(d), "n": len(h)}
    return {
        "ratio_median": _median(ratios),
        "ratio_range": [min(ratios), max(ratios)] if ratios else None,
        "http_jobs_per_minute_median": _median(
            [r["http"]["jobs_per_minute"] for r in rounds if r["http"].get("jobs_per_minute")]
        ),
        "direct_jobs_per_minute_median": _median(
            [r["direct"]["jobs_per_minute"] for r in rounds if r["direct"].get("jobs_per_minute")]
        ),
        "queue_s": {"median": _median(queue), "max": max(queue) if queue else None},
        "run_s_http": {"median": _median(run_http), "max": max(run_http) if run_http else None},
        "run_s_direct": {
            "median": _median(run_direct),
            "max": round(max(run_direct), 3) if run_direct else None,
        },
        "by_pair": by_pair,
    }
