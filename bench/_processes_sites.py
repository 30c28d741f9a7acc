"""Part 1 of ``bench processes``: a synchronous ``site-check`` over HTTP against the direct
call, the same red lines, interleaved.

- **Red lines**: the process's own example (a 60 m square on 永久基本农田, use 0901) and
  squares around the centroids of buildings picked at random (seeded), of the sides in
  :data:`SIDES` with the uses in :data:`USES` (``None``: urban construction, the default).
- **HTTP**: ``POST /ogc/processes/site-check/execution`` with the planner key and
  ``{"inputs": {"site", "use", "name"}}`` (no ``Prefer``: site-check is synchronous by
  default), on one keep-alive connection (bench/_http1.py), timed from the request's first
  byte to the parsed JSON of the answer.
- **Direct**: the definition's own ``run(inputs, ctx)`` in the bench's process
  (services/processes/definitions/site_check.py: the red line read, the rule file,
  ``layers.sitecheck.check_site`` in one transaction on the owner's engine, ``as_dict``),
  with a context on a warm owner engine: exactly what the job worker runs, without the job.
- **Same answer first**: every red line once each way, untimed (it warms both); the
  answers must be equal but for the stored check's ``id``.
- **Rounds**: ``rounds`` × ``calls`` pairs, each pair one red line both ways back to back,
  which goes first alternating, so both meet the same moment of a shared machine.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable
from typing import Any, Final

import numpy as np
from sqlalchemy import Engine, text

from bench._http1 import Connection, HttpError

SEED: Final = 20261203
SIDES: Final = (80.0, 150.0, 300.0, 600.0, 1000.0)
"""Sides (m) of the random squares: a small project to a large one (6.4 to 100 ha)."""
USES: Final = (None, "0701", "1001", "0901", "0701")
"""Their planned uses, in the same order: urban construction (default), 城镇住宅用地, 工业用地,
商业用地."""
PATH: Final = "processes/site-check/execution"
TARGET: Final = 1.2
"""HTTP ÷ direct, medians (issue: overhead ≤ 1.2×)."""


def red_lines(engine: Engine, example: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """The example's inputs, then ``n`` squares around random buildings' centroids: each a
    dict with ``name``, ``side_m`` (None for the example) and ``inputs``."""
    with engine.connect() as conn:
        ids = list(conn.execute(text("SELECT id FROM grid.buildings ORDER BY id")).scalars())
        picked = random.Random(SEED).sample(ids, min(n, len(ids)))
        centres = dict(
            (int(i), (float(x), float(y)))
            for i, x, y in conn.execute(
                text(
                    "SELECT id, ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom))"
                    " FROM grid.buildings WHERE id = ANY(:ids)"
                ),
                {"ids": picked},
            )
        )
    found: list[dict[str, Any]] = [
        {"name": "example", "side_m": None, "building": None, "inputs": dict(example)}
    ]
    for i, building in enumerate(picked):
        x, y = centres[building]
        side, use = SIDES[i % len(SIDES)], USES[i % len(USES)]
        dy = side / 2 / 111_320
        dx = side / 2 / (111_320 * math.cos(math.radians(y)))
        ring = [[round(x + sx * dx, 7), round(y + sy * dy, 7)]
                for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1), (-1, -1))]  # fmt: skip
        inputs: dict[str, Any] = {
            "site": {"type": "Polygon", "coordinates": [ring]},
            "name": f"bench square {i + 1} ({side:.0f} m)",
        }
        if use is not None:
            inputs["use"] = use
        found.append(
            {"name": f"square {i + 1}", "side_m": side, "building": building, "inputs": inputs}
        )
    return found


def _without_id(result: dict[str, Any]) -> Any:
    """The answer as JSON would carry it, without the stored check's id."""
    return json.loads(json.dumps({k: v for k, v in result.items() if k != "id"}))


def _stats(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0, "median_ms": None, "p95_ms": None, "min_ms": None, "max_ms": None}
    return {
        "n": len(values),
        "median_ms": round(float(np.median(values)), 2),
        "p95_ms": round(float(np.percentile(values, 95)), 2),
        "min_ms": round(min(values), 2),
        "max_ms": round(max(values), 2),
    }


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 3)


class Sides:
    """Both ways of making a site check, each returning the answer and its milliseconds."""

    def __init__(self, conn: Connection, key: str, direct: Callable[[Any], dict[str, Any]]):
        self.conn = conn
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self.direct_call = direct
        self.last_job: str | None = None

    async def http(self, inputs: dict[str, Any]) -> tuple[dict[str, Any], float]:
        body = json.dumps({"inputs": inputs}, ensure_ascii=False).encode()
        started = time.perf_counter()
        answer = await self.conn.request("POST", PATH, self.headers, body)
        if answer.status != 200:
            raise HttpError(f"HTTP {answer.status}: {answer.text[:300]}")
        found: dict[str, Any] = answer.json()
        elapsed = (time.perf_counter() - started) * 1000
        monitor = answer.headers.get("link", "")  # </ogc/jobs/{id}>; rel="monitor"
        self.last_job = monitor.partition(">")[0].rpartition("/")[2] or None
        return found, elapsed

    async def direct(self, inputs: dict[str, Any]) -> tuple[dict[str, Any], float]:
        started = time.perf_counter()
        found = self.direct_call(inputs)
        return found, (time.perf_counter() - started) * 1000


async def measure(
    sides: Sides,
    lines: list[dict[str, Any]],
    rounds: int,
    calls: int,
    advance: Callable[[], None],
) -> dict[str, Any]:
    """Answers compared, then the timed rounds; every figure of part 1."""
    differ, errors = [], []
    for line in lines:
        over_http, http_ms = await sides.http(line["inputs"])
        direct, direct_ms = await sides.direct(line["inputs"])
        if _without_id(over_http) != _without_id(direct):
            differ.append(line["name"])
        line["answer"] = {
            "verdict": direct["verdict"],
            "area_m2": round(direct["area_m2"], 1),
            "items": len(direct["items"]),
            "failing_items": sorted(
                {i["check"] for i in direct["items"] if i["verdict"] == "fail"}
            ),
            "features": sum(len(i["features"]) for i in direct["items"]),
            "first_call_ms": {"http": round(http_ms, 1), "direct": round(direct_ms, 1)},
        }
        advance()
    records = []
    for r in range(rounds):
        for i in range(calls):
            line = lines[(r * calls + i) % len(lines)]
            http_first = (r + i) % 2 == 0
            try:
                if http_first:
                    _, http_ms = await sides.http(line["inputs"])
                    _, direct_ms = await sides.direct(line["inputs"])
                else:
                    _, direct_ms = await sides.direct(line["inputs"])
                    _, http_ms = await sides.http(line["inputs"])
            except HttpError as exc:
                errors.append(f"round {r + 1}, {line['name']}: {exc}"[:300])
                continue
            records.append(
                {
                    "round": r + 1,
                    "site": line["name"],
                    "http_first": http_first,
                    "http_ms": round(http_ms, 3),
                    "direct_ms": round(direct_ms, 3),
                    "job": sides.last_job,
                }
            )
            advance()
    return _figures(lines, records, rounds, differ, errors)


def _figures(
    lines: list[dict[str, Any]],
    records: list[dict[str, Any]],
    rounds: int,
    differ: list[str],
    errors: list[str],
) -> dict[str, Any]:
    http = [c["http_ms"] for c in records]
    direct = [c["direct_ms"] for c in records]
    found: dict[str, Any] = {
        "sites": [
            {k: v for k, v in line.items() if k != "inputs"} | {"use": line["inputs"].get("use")}
            for line in lines
        ],
        "same_answer": {"compared": len(lines), "differ": differ},
        "errors": errors,
        "http": _stats(http),
        "direct": _stats(direct),
        "calls": records,
    }
    found["ratio"] = _ratio(found["http"]["median_ms"], found["direct"]["median_ms"])
    found["ratio_p95"] = _ratio(found["http"]["p95_ms"], found["direct"]["p95_ms"])
    paired = [h - d for h, d in zip(http, direct, strict=True)]
    found["difference_ms"] = {
        "median_of_pairs": round(float(np.median(paired)), 2) if paired else None,
        "of_medians": round(found["http"]["median_ms"] - found["direct"]["median_ms"], 2)
        if records
        else None,
    }
    per_round = []
    for r in range(1, rounds + 1):
        mine = [c for c in records if c["round"] == r]
        h = _stats([c["http_ms"] for c in mine])["median_ms"]
        d = _stats([c["direct_ms"] for c in mine])["median_ms"]
        per_round.append({"round": r, "http_median_ms": h, "direct_median_ms": d,
                          "ratio": _ratio(h, d)})  # fmt: skip
    found["rounds"] = per_round
    per_site = {}
    for line in lines:
        mine = [c for c in records if c["site"] == line["name"]]
        h = _stats([c["http_ms"] for c in mine])["median_ms"]
        d = _stats([c["direct_ms"] for c in mine])["median_ms"]
        per_site[line["name"]] = {"n": len(mine), "http_median_ms": h, "direct_median_ms": d,
                                  "ratio": _ratio(h, d),
                                  "difference_ms": round(h - d, 2) if mine else None}  # fmt: skip
    found["per_site"] = per_site
    ratio = found["ratio"]
    if ratio is None or differ:
        found["verdict"] = "not measured" if ratio is None else "answers differ"
    else:
        met = "met" if ratio <= TARGET else "missed"
        found["verdict"] = f"{met} ({ratio:.2f}× vs ≤ {TARGET}×)"
    return found


def add_worker_times(engine: Engine, found: dict[str, Any]) -> None:
    """Split the HTTP time: each synchronous job's row says when the worker marked it
    running and when it began writing its end (``finished - started``, both ``now()`` of
    the statements that write them: the run and its progress write, in the job worker); the
    rest is the server and the client (HTTP, the key, reading the request, writing the
    row's end, the pipe to the worker and back, the answer)."""
    ids = [c["job"] for c in found["calls"] if c.get("job")]
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id::text, 1000 * extract(epoch FROM finished - started)::float8"
                " FROM jobs.jobs WHERE id = ANY(CAST(:ids AS uuid[]))"
            ),
            {"ids": ids},
        )
        inside: dict[str, float | None] = {job: ms for job, ms in rows}
    worker, outside = [], []
    for call in found["calls"]:
        ms = inside.get(call.get("job") or "")
        if ms is not None:
            call["worker_ms"] = round(ms, 3)
            worker.append(ms)
            outside.append(call["http_ms"] - ms)
    found["in_worker"] = _stats(worker)
    found["outside_worker"] = _stats(outside)
