"""Concurrent edits over OGC API – Features Part 4 against bare statements (issue 15).

Fifty simulated grid workers (``ONEMAP_BENCH_EDIT_CLIENTS``) edit a few hot buildings at
once for a fixed time, over HTTP (GET the item for its ``ETag``, PATCH ``floors`` with
``If-Match``, re-read and retry on 412/409), from one bounded asyncio client on loopback;
then, in the same round, fifty psycopg connections run the same loop as bare statements
(``SELECT version, floors``, then ``UPDATE … WHERE id = $id AND version = $n RETURNING
version``, the audit trigger firing as for the service); the clients are in
bench/_edits_load.py.

Setup: a database ``edits_bench`` in the local cluster (the platform's own
``gis.pgserver.LocalServer``, as the other benches), made afresh from the PostGIS template,
migrated, with the small sample city (``data/samples/small``) loaded under a fresh secret.
The app runs as ``make demo`` runs it, ``onemap serve``, in its own process (its workers:
the setting's default unless ``ONEMAP_BENCH_WORKERS`` is set). The hot rows: two buildings
(inside one cell, not straddling) of each of ten of the sample's grid workers, twenty in
all. The clients: a fifth hold admin keys and edit any hot building; the others hold
grid_worker keys, four to a worker (a worker's phone, tablet, …: grid workers never share
cells, so only clients of the same worker, and admins, can contend for a row), each
editing its worker's two buildings. The bare clients edit the same buildings the same way.

Each round (``ONEMAP_BENCH_EDIT_ROUNDS``, default 2; the second runs the sides in the other
order) runs each side for ``ONEMAP_BENCH_EDIT_SECONDS`` (default 15) after a warm-up of a
fifth of that (at most 2 s, writes checked, not timed). After every side, the lost-update
check (bench/_edits_check.py) holds its accepted writes against the audit rows it added and
the rows as left: any finding raises after the report is written. Targets: HTTP at least
0.5x the bare statements' accepted edits/s, and HTTP PATCH p99 under 5x p50, in every round.
Results go to ``.onemap/bench/edits-results.{json,md}``.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, Final

import numpy as np
from pydantic import SecretStr
from rich.console import Console
from sqlalchemy import Engine, text

from bench import _edits_check as checks
from bench import _edits_load as load
from bench import _ogc_servers as servers

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".onemap" / "bench"
DATABASE: Final = "edits_bench"
TEMPLATE: Final = "onemap_template"
SAMPLE: Final = ROOT / "data" / "samples" / "small"
WORKERS_EDITING: Final = 10
BUILDINGS_PER_WORKER: Final = 2
ADMIN_SHARE: Final = 5
"""One client in five holds an admin key."""
MIN_RATIO: Final = 0.5
MAX_TAIL: Final = 5.0
SIDES: Final = ("http", "bare")


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


# --- the database -----------------------------------------------------------------------------


def _database(secret: str) -> tuple[Engine, Any, Any, int]:
    """The bench database (owner URL), the same as the server logs in, the postmaster."""
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
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DATABASE}" TEMPLATE "{TEMPLATE}"'))
    admin.dispose()
    url = server.url(DATABASE)
    engine = create_engine(url)
    upgrade(engine)
    keyring = Keyring.from_settings(PrivacySettings(secret_key=SecretStr(secret)))
    with engine.begin() as conn:
        load_sample(conn, SAMPLE, keyring, replace=False)
    _vacuum(engine, checkpoint=True)
    login = server.server_url(DATABASE)
    return engine, url, login, int((server.data_dir / "postmaster.pid").read_text().split()[0])


def _vacuum(engine: Engine, checkpoint: bool = False) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) grid.buildings, grid.cells, audit.changes"))
        if checkpoint:
            conn.execute(text("CHECKPOINT"))


def hot_buildings(engine: Engine) -> dict[int, tuple[int, ...]]:
    """Worker id → their hot buildings (the lowest ids inside their cells, none straddling)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.worker_id, b.id FROM grid.buildings AS b"
                " JOIN grid.cells AS c ON c.id = b.cell_id"
                " WHERE NOT b.straddles AND c.worker_id IS NOT NULL ORDER BY 1, 2"
            )
        ).all()
    found: dict[int, list[int]] = defaultdict(list)
    for worker, building in rows:
        if len(found[worker]) < BUILDINGS_PER_WORKER:
            found[worker].append(building)
    chosen = {w: tuple(b) for w, b in found.items() if len(b) == BUILDINGS_PER_WORKER}
    if len(chosen) < WORKERS_EDITING:
        raise RuntimeError(
            f"the sample has {len(chosen)} grid workers with {BUILDINGS_PER_WORKER} buildings"
            f" in their cells; the bench needs {WORKERS_EDITING}"
        )
    return dict(sorted(chosen.items())[:WORKERS_EDITING])


def make_clients(
    engine: Engine, secret: str, hot: dict[int, tuple[int, ...]], n: int
) -> list[tuple[str, int | None, tuple[int, ...], str]]:
    """``n`` clients as (role, worker, buildings, API key): every fifth an admin (all hot
    buildings), the others grid workers in turn (their worker's buildings)."""
    from grid.privacy import Keyring
    from grid.settings import PrivacySettings
    from services.auth.keys import create_key

    keyring = Keyring.from_settings(PrivacySettings(secret_key=SecretStr(secret)))
    every = tuple(b for buildings in hot.values() for b in buildings)
    workers = list(hot)
    made = []
    with engine.begin() as conn:
        for i in range(n):
            if i % ADMIN_SHARE == ADMIN_SHARE - 1:
                role, worker, buildings = "admin", None, every
            else:
                role = "grid_worker"
                worker = workers[(i - i // ADMIN_SHARE) % len(workers)]
                buildings = hot[worker]
            key, _ = create_key(conn, keyring, role=role, name=f"bench client {i}",
                                created_by="bench edits", worker_id=worker)  # fmt: skip
            made.append((role, worker, buildings, key))
    return made


# --- one side of a round ----------------------------------------------------------------------


def _mark(engine: Engine, buildings: list[int]) -> tuple[int, dict[int, int]]:
    """The last audit row's id and each hot building's version, before a phase."""
    with engine.connect() as conn:
        last = conn.execute(text("SELECT coalesce(max(id), 0) FROM audit.changes")).scalar_one()
        versions = conn.execute(
            text("SELECT id, version FROM grid.buildings WHERE id = ANY(:ids)"),
            {"ids": buildings},
        ).all()
    return int(last), {int(i): int(v) for i, v in versions}


def _after(
    engine: Engine, mark: int, buildings: list[int]
) -> tuple[list[checks.Audited], dict[int, checks.EndState]]:
    with engine.connect() as conn:
        audit = [
            checks.Audited(*row)
            for row in conn.execute(
                text(
                    "SELECT table_name, row_id, operation, version, after ->> 'name',"
                    " CAST(after ->> 'floors' AS integer), CAST(before ->> 'version' AS integer)"
                    " FROM audit.changes WHERE id > :mark ORDER BY id"
                ),
                {"mark": mark},
            )
        ]
        final = {
            int(i): checks.EndState(int(f), n, int(v))
            for i, f, n, v in conn.execute(
                text("SELECT id, floors, name, version FROM grid.buildings WHERE id = ANY(:ids)"),
                {"ids": buildings},
            )
        }
    return audit, final


def _ms(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 2) if values else None


def figures(phase: load.Phase) -> dict[str, Any]:
    accepted = len(phase.writes)
    cpu = {k: round(v * 1000 / accepted, 2) if accepted else None for k, v in phase.cpu_s.items()}
    total = sum(phase.cpu_s.values())
    return {
        "cpu_s": phase.cpu_s,
        "cpu_ms_per_edit": {
            **cpu,
            "total": round(total * 1000 / accepted, 2) if accepted else None,
        },
        "accepted": len(phase.writes),
        "seconds": round(phase.seconds, 2),
        "edits_per_s": round(len(phase.writes) / phase.seconds, 1) if phase.seconds else 0.0,
        "write_p50_ms": _ms(phase.write_ms, 50),
        "write_p99_ms": _ms(phase.write_ms, 99),
        "edit_p50_ms": _ms(phase.edit_ms, 50),
        "edit_p99_ms": _ms(phase.edit_ms, 99),
        "refused_p50_ms": _ms(phase.refused_ms, 50),
        "refusals": dict(phase.refusals),
        "reads": phase.reads,
        "errors": len(phase.errors),
        "error_examples": phase.errors[:5],
    }


def _side(
    side: str,
    engine: Engine,
    base: str,
    conninfo: str,
    clients: list[tuple[str, int | None, tuple[int, ...], str]],
    seconds: float,
    tag: str,
    cpu: load.Cpu,
) -> dict[str, Any]:
    """One side of one round: vacuum, mark, warm up, time, check."""
    buildings = sorted({b for _, _, bs, _ in clients for b in bs})
    _vacuum(engine)
    mark, start = _mark(engine, buildings)
    warmup = min(2.0, seconds / 5)
    prefix = "h" if side == "http" else "b"
    made = [load.Client(f"{tag}{prefix}{i}", bs, key) for i, (_, _, bs, key) in enumerate(clients)]
    if side == "http":
        warm, timed = asyncio.run(load.over_http(base, made, warmup, seconds, "", cpu))
    else:
        warm, timed = asyncio.run(load.bare(conninfo, made, warmup, seconds, "", cpu))
    audit, final = _after(engine, mark, buildings)
    load_average = round(os.getloadavg()[0], 1)
    found = checks.check([*warm.writes, *timed.writes], audit, final, start)
    return {**figures(timed), "load_average": load_average, "warmup_accepted": len(warm.writes),
            "warmup_errors": len(warm.errors), "check": found.summary()}  # fmt: skip


# --- the run ----------------------------------------------------------------------------------


def _verdict(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    ratios, tails, problems = [], [], []
    for number, round_ in enumerate(rounds, 1):
        http, bare = round_["http"], round_["bare"]
        ratio = http["edits_per_s"] / bare["edits_per_s"] if bare["edits_per_s"] else 0.0
        tail = (http["write_p99_ms"] or 0) / (http["write_p50_ms"] or 1)
        round_["ratio"], round_["tail"] = round(ratio, 3), round(tail, 2)
        ratios.append(ratio)
        tails.append(tail)
        for side in SIDES:
            if not round_[side]["check"]["passed"]:
                problems.append(f"round {number} {side}: lost-update check failed")
            if round_[side]["errors"] or round_[side]["warmup_errors"]:
                problems.append(f"round {number} {side}: error answers")
    return {
        "ratio_range": [round(min(ratios), 3), round(max(ratios), 3)],
        "tail_range": [round(min(tails), 2), round(max(tails), 2)],
        "ratio_met": all(r >= MIN_RATIO for r in ratios),
        "tail_met": all(t < MAX_TAIL for t in tails),
        "problems": problems,
    }


def run() -> dict[str, object]:
    """Run the rounds; returns flat figures (the tables are in edits-results.md)."""
    from bench import _edits_report as report

    console = Console(stderr=True)
    seconds = float(_env("ONEMAP_BENCH_EDIT_SECONDS", "15"))
    rounds = max(1, int(_env("ONEMAP_BENCH_EDIT_ROUNDS", "2")))
    n = int(_env("ONEMAP_BENCH_EDIT_CLIENTS", "50"))
    workers = os.environ.get("ONEMAP_BENCH_WORKERS")
    WORK.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    console.print(f"bench edits: database {DATABASE} with the small sample city")
    engine, url, login, postmaster = _database(secret)
    hot = hot_buildings(engine)
    clients = make_clients(engine, secret, hot, n)
    dsn = url.render_as_string(hide_password=False)
    # both sides as the server's login (a member of onemap_app): the same rights and triggers
    conninfo = login.set(drivername="postgresql").render_as_string(hide_password=False)
    port = servers._free_port()
    command = [sys.executable, "-m", "services.cli", "serve", "--host", "127.0.0.1",
               "--port", str(port), *(["--workers", workers] if workers else [])]  # fmt: skip
    env = {"ONEMAP_DATABASE_URL": dsn, "ONEMAP_SECRET_KEY": secret,
           "ONEMAP_APP_DATABASE_URL": login.render_as_string(hide_password=False),
           "ONEMAP_HOME": str(WORK / "edits-home"), "PYTHONPATH": str(ROOT)}  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    me = os.getpid()
    cpu = load.cpu_seconds({
        "server": lambda: [p for p in load.descendants(me) if p != me],
        "postgres": lambda: load.descendants(postmaster),
    })  # fmt: skip
    results: dict[str, Any] = {
        "clients": n, "admins": sum(c[0] == "admin" for c in clients),
        "grid_workers": len(hot), "hot_buildings": sum(len(b) for b in hot.values()),
        "seconds": seconds, "rounds": [], "server_workers": workers or "setting (ONEMAP_WORKERS)",
        "command": "python -m bench edits",
    }  # fmt: skip
    try:
        with servers._running(command, env, f"{base}/ogc/collections/buildings",
                              WORK / "edits-server.log"):  # fmt: skip
            for number in range(1, rounds + 1):
                order = SIDES if number % 2 else SIDES[::-1]
                round_: dict[str, Any] = {}
                for side in order:
                    console.print(f"round {number}/{rounds}: {side}, {n} clients, {seconds:g} s")
                    round_[side] = _side(side, engine, base, conninfo, clients, seconds,
                                         f"r{number}", cpu)  # fmt: skip
                round_["order"] = list(order)
                results["rounds"].append(round_)
    finally:
        engine.dispose()
    results["verdict"] = _verdict(results["rounds"])
    (WORK / "edits-results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))
    (WORK / "edits-results.md").write_text(report.markdown(results))
    flat = report.flat(results)
    flat["results"] = str(WORK / "edits-results.md")
    if any("lost-update" in p for p in results["verdict"]["problems"]):
        console.print(report.check_table(results))
        raise RuntimeError(
            "bench edits: the lost-update check failed: "
            + "; ".join(results["verdict"]["problems"])
            + f" (see {WORK / 'edits-results.md'})"
        )
    return flat
