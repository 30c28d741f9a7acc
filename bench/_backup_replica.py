"""Replica lag under the ``bench edits`` load, for ``bench backup`` (and on its own).

:func:`measure_lag` makes a replica of a running primary (``onemap db replica create``'s
code, gis/replica.py), runs the bare-statement side of ``bench edits`` against the primary
(bench/_edits_load.py: simulated grid workers reading and rewriting hot buildings, the audit
trigger firing; the same load generator, not a copy) for the given seconds, and meanwhile
asks the primary every 100 ms how far the replica is behind (``pg_stat_replication``: WAL
bytes sent but not replayed, and ``replay_lag``, the time between a WAL position's flush on
the primary and its replay on the replica). The replica is removed afterwards.

On its own, ``python -m bench._backup_replica --port P`` measures an asynchronous and then a
synchronous replica in the same run (the edits per second beside each: what synchronous
replication costs the writers); the primary's database must hold a city
(``onemap samples load``), ``onemap`` by default.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import time
from pathlib import Path
from typing import Any, Final

import numpy as np
import psycopg

from bench import _edits_load as load
from bench.edits import hot_buildings

SAMPLE_EVERY_S: Final = 0.1
CLIENTS: Final = 50
LAG_SQL: Final = """
SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint,
       coalesce(extract(epoch FROM replay_lag), 0)::float8
FROM pg_stat_replication WHERE application_name = %s
"""


def measure_lag(
    home: Path,
    primary_port: int,
    seconds: float,
    *,
    database: str = "onemap",
    sync: bool = False,
    clients: int = CLIENTS,
) -> dict[str, Any]:
    """Replay lag of a new replica of the primary on ``primary_port`` (its home ``home``)
    while ``clients`` simulated editors write for ``seconds``: median, p95 and max of the
    bytes and seconds behind, sampled every 100 ms, and the edits per second."""
    from gis.engine import create_engine
    from gis.pgserver import LocalServer
    from gis.replica import Replicas
    from gis.settings import DatabaseSettings

    primary = LocalServer(DatabaseSettings(home=home, pg_port=primary_port, pg_database=database))
    replicas = Replicas(primary)
    name = f"bench_lag_{secrets.token_hex(3)}"
    started = time.monotonic()
    replica = replicas.create(name, replicas.default_port(), sync=sync)
    made_s = time.monotonic() - started
    try:
        url = primary.url(database)
        engine = create_engine(url)
        try:
            hot = hot_buildings(engine)
        finally:
            engine.dispose()
        workers = list(hot)
        editors = [load.Client(f"lag{i}-", hot[workers[i % len(workers)]]) for i in range(clients)]
        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        admin = url.set(drivername="postgresql", database="postgres").render_as_string(
            hide_password=False
        )
        phase, samples = asyncio.run(_measure(conninfo, admin, editors, seconds, name))
    finally:
        replicas.remove(name)
    lag_bytes = [b for b, _ in samples if b is not None]
    lag_seconds = [s for _, s in samples]
    return {
        "replica": {"name": name, "port": replica.port, "sync": sync, "create_s": round(made_s, 2)},
        "database": database,
        "clients": clients,
        "seconds": round(phase.seconds, 2),
        "edits": len(phase.writes),
        "edits_per_s": round(len(phase.writes) / phase.seconds, 1) if phase.seconds else None,
        "errors": len(phase.errors),
        "samples": len(samples),
        "lag_bytes": _summary(lag_bytes),
        "lag_seconds": _summary(lag_seconds, digits=4),
        "command": "bench._backup_replica.measure_lag",
    }


async def _measure(
    conninfo: str, admin: str, editors: list[load.Client], seconds: float, name: str
) -> tuple[load.Phase, list[tuple[int | None, float]]]:
    """The load (no warm-up phase: lag is measured from the first edit) and the sampler."""
    samples: list[tuple[int | None, float]] = []
    done = asyncio.Event()

    async def sample() -> None:
        async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as conn:
            while not done.is_set():
                cursor = await conn.execute(LAG_SQL, (name,))
                row = await cursor.fetchone()
                if row is not None:
                    samples.append((None if row[0] is None else int(row[0]), float(row[1])))
                await asyncio.sleep(SAMPLE_EVERY_S)

    sampler = asyncio.create_task(sample())
    try:
        _, timed = await load.bare(conninfo, editors, 0.0, seconds, "lag", lambda: {})
    finally:
        done.set()
        await sampler
    return timed, samples


def _summary(values: list[float] | list[int], digits: int = 0) -> dict[str, float | None]:
    if not values:
        return {"median": None, "p95": None, "max": None}
    found = np.asarray(values, dtype=float)

    def rounded(x: float) -> float:
        return round(float(x), digits) if digits else float(round(float(x)))

    return {
        "median": rounded(np.median(found)),
        "p95": rounded(np.percentile(found, 95)),
        "max": rounded(found.max()),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._backup_replica", description=__doc__)
    parser.add_argument("--home", type=Path, default=Path(".onemap"))
    parser.add_argument("--port", type=int, default=55432, help="The primary's port.")
    parser.add_argument("--database", default="onemap")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--clients", type=int, default=CLIENTS)
    args = parser.parse_args(argv)
    results: dict[str, Any] = {}
    for kind in ("async", "sync"):
        results[kind] = measure_lag(
            args.home.absolute(), args.port, args.seconds, database=args.database,
            sync=kind == "sync", clients=args.clients,
        )  # fmt: skip
    rates = [results[k]["edits_per_s"] for k in ("async", "sync")]
    if all(rates):
        results["sync_over_async_edits"] = round(rates[1] / rates[0], 3)
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
