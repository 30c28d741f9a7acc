"""Backups of the large city: pgBackRest against plain pg_basebackup and pg_dump, and a drill.

A cluster of its own (``.onemap/bench/backup-home``, port ``ONEMAP_BENCH_BACKUP_PORT``,
default the platform's port + 5) archives to two repositories under ``.onemap/bench/backup``
as ``onemap db start`` sets it up. Its database ``ogc_bench_large`` holds the large sample
city, made as ``bench ogc`` makes it (bench/ogc.py ``prepare``: generated once into
``.onemap/bench/city-large``, then loaded). In the same run, one after another:

- ``pgbackrest backup --type=full`` into repo 1, then a ``diff`` after a small change;
- ``pg_basebackup`` (plain format, WAL streamed, uncompressed), the copy PostgreSQL ships;
- ``pg_dump -Fc`` of the city database, and ``pg_restore -j`` of it into a new database;
- ``pgbackrest restore`` of the latest backup into a new directory, up to a promoted cluster;
- the drill (gis/backup/drill.py): RTO and RPO as ``onemap backup drill`` reports them.

Throughput is the size of what was copied (the cluster for pgBackRest and pg_basebackup, the
city database for pg_dump) over the wall time, in MB/s (10^6 bytes). The replica's lag under
the ``bench edits`` load comes from bench/_backup_replica.py when it is there. Results go to
``.onemap/bench/backup-results.{json,md}``; ``--json`` prints them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".onemap" / "bench"
SCALE = "large"
DATABASE = f"ogc_bench_{SCALE}"


def _options(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench backup", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--process-max", type=int, default=2, help="pgBackRest processes")
    parser.add_argument("--lag-seconds", type=float, default=30.0, help="replica lag run")
    return parser.parse_args(list(argv))


def _server(process_max: int) -> Any:
    from gis.backup import BackupSettings
    from gis.pgserver import LocalServer
    from gis.settings import DatabaseSettings

    base = int(os.environ.get("ONEMAP_PG_PORT", "55432"))
    port = int(os.environ.get("ONEMAP_BENCH_BACKUP_PORT", str(base + 5)))
    settings = DatabaseSettings(home=WORK / "backup-home", pg_port=port, pg_database=DATABASE)
    backup = BackupSettings(dir=WORK / "backup", process_max=process_max)
    server = LocalServer(settings, backup)
    server.start()
    server.ensure_database("onemap_template")
    return server


def _timed(args: Sequence[str | Path], env: dict[str, str]) -> float:
    from gis.backup import _run

    started = time.monotonic()
    _run.run([str(a) for a in args], env=env)
    return time.monotonic() - started


def _mbs(size: int, seconds: float) -> float:
    return round(size / 1e6 / seconds, 1) if seconds > 0 else 0.0


def _scratch(name: str) -> Path:
    from gis.backup import _run

    path = WORK / "backup-scratch" / name
    shutil.rmtree(path, ignore_errors=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    _run.give_to_cluster_user(path.parent)
    return path


def measure(options: argparse.Namespace, console: Console) -> dict[str, Any]:
    """Every figure of one run (see the module docstring)."""
    import psycopg
    from sqlalchemy import text

    from bench import ogc
    from gis.backup import Repository, drill, free_port, remove, restore
    from gis.backup.restore import connect
    from gis.engine import create_engine
    from gis.pgserver import find_bin_dir

    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "load_average_start": list(os.getloadavg())},
    }
    console.print("[bold]bench backup[/]: the large city in a cluster of its own")
    server = _server(options.process_max)
    repo = Repository(server, server.backup)
    repo.ensure_stanza()  # before the load: until it exists, WAL piles up unarchived
    admin = create_engine(server.url("postgres"), isolation_level="AUTOCOMMIT")
    _, data = ogc.prepare(SCALE, admin, server)
    admin.dispose()
    bin_dir = find_bin_dir()
    env = {"PGHOST": "127.0.0.1", "PGPASSWORD": server.password(), "PGUSER": "onemap"}
    with psycopg.connect(connect(repo, server.port, DATABASE)) as conn:
        row = conn.execute(
            "SELECT pg_database_size(current_database()),"
            " (SELECT sum(pg_database_size(oid)) FROM pg_database)"
        ).fetchone()
        assert row is not None
        db_bytes, cluster_bytes = int(row[0]), int(row[1])
    results["data"] = {"city": data, "database_mb": round(db_bytes / 1e6, 1),
                       "cluster_mb": round(cluster_bytes / 1e6, 1)}  # fmt: skip

    console.print("pgBackRest full backup (repo 1)")
    started = time.monotonic()
    full = repo.backup("full", 1)
    full_s = time.monotonic() - started
    engine = create_engine(server.url(DATABASE))
    with engine.begin() as conn:
        conn.execute(text("UPDATE grid.buildings SET floors = floors WHERE id % 100 = 0"))
    engine.dispose()
    console.print("pgBackRest diff backup after touching 1 % of the buildings")
    started = time.monotonic()
    diff = repo.backup("diff", 1)
    diff_s = time.monotonic() - started
    results["pgbackrest_backup"] = {
        "full_seconds": round(full_s, 1), "full_mb_s": _mbs(full.database_bytes, full_s),
        "full_stored_mb": round(full.repo_bytes / 1e6, 1),
        "diff_seconds": round(diff_s, 1), "diff_stored_mb": round(diff.repo_bytes / 1e6, 1),
        "process_max": options.process_max, "compress": server.backup.compress_type,
    }  # fmt: skip

    console.print("pg_basebackup (plain, WAL streamed)")
    base_dir = _scratch("basebackup")
    port = server.port
    base_s = _timed([bin_dir / "pg_basebackup", "-D", base_dir, "-Fp", "-Xstream", "-c", "fast",
                     "-h", "127.0.0.1", "-p", str(port), "-U", "onemap"], env)  # fmt: skip
    shutil.rmtree(base_dir, ignore_errors=True)
    results["pg_basebackup"] = {"seconds": round(base_s, 1),
                                "mb_s": _mbs(cluster_bytes, base_s)}  # fmt: skip

    console.print("pg_dump -Fc and pg_restore -j")
    dump = _scratch("city.dump")
    dump_s = _timed([bin_dir / "pg_dump", "-Fc", "-f", dump, "-h", "127.0.0.1", "-p", str(port),
                     "-U", "onemap", DATABASE], env)  # fmt: skip
    dump_mb = round(dump.stat().st_size / 1e6, 1)
    server.drop_database("backup_bench_restored")
    server.ensure_database("backup_bench_restored", template="onemap_template")
    restore_dump_s = _timed([bin_dir / "pg_restore", "-j", str(options.process_max), "-h",
                             "127.0.0.1", "-p", str(port), "-U", "onemap", "-d",
                             "backup_bench_restored", "--no-owner", dump], env)  # fmt: skip
    server.drop_database("backup_bench_restored")
    dump.unlink()
    results["pg_dump"] = {
        "dump_seconds": round(dump_s, 1), "dump_mb_s": _mbs(db_bytes, dump_s),
        "dump_file_mb": dump_mb, "restore_seconds": round(restore_dump_s, 1),
        "restore_mb_s": _mbs(db_bytes, restore_dump_s),
    }  # fmt: skip

    console.print("pgBackRest restore of the latest backup, to a promoted cluster")
    target = _scratch("restored")
    scratch_port = free_port(port + 1)
    cluster = restore(repo, target, scratch_port)
    remove(repo, target)
    total = cluster.restore_seconds + cluster.recovery_seconds
    results["pgbackrest_restore"] = {
        "restore_seconds": round(cluster.restore_seconds, 1),
        "recovery_seconds": round(cluster.recovery_seconds, 1),
        "mb_s": _mbs(diff.database_bytes, cluster.restore_seconds),
        "mb_s_to_running": _mbs(diff.database_bytes, total),
    }

    console.print("drill")
    report = drill(repo, _scratch("drill"), free_port(port + 1))
    kept = ("rto_seconds", "rpo_seconds", "same_last_transaction", "tables", "rows", "passed")
    results["drill"] = {k: report[k] for k in kept}
    results["drill"]["mismatches"] = len(report["mismatches"])
    results["replica_lag"] = _replica_lag(server, options.lag_seconds, console)
    results["machine"]["load_average_end"] = list(os.getloadavg())
    server.stop()
    return results


def _replica_lag(server: Any, seconds: float, console: Console) -> dict[str, Any]:
    from bench._backup_replica import measure_lag

    console.print("replica lag under the edits load")
    found: dict[str, Any] = measure_lag(server.home, server.port, seconds, database=DATABASE)
    return found


def markdown(results: dict[str, Any]) -> str:
    """The Markdown report."""
    m, d = results["machine"], results["data"]
    b, s = results["pgbackrest_backup"], results["pg_basebackup"]
    p, r, dr = results["pg_dump"], results["pgbackrest_restore"], results["drill"]
    lines = [
        "# bench backup",
        "",
        f"{m['cpus']} CPUs (shared), load average at start {m['load_average_start'][0]:.2f}, "
        f"at end {m.get('load_average_end', [0])[0]:.2f}. Data: {d['city']}, database "
        f"{d['database_mb']} MB, cluster {d['cluster_mb']} MB.",
        "",
        "| what | seconds | MB/s | notes |",
        "|---|---|---|---|",
        f"| pgBackRest full backup | {b['full_seconds']} | {b['full_mb_s']} | "
        f"{b['compress']}, encrypted, {b['process_max']} processes, {b['full_stored_mb']} MB "
        "stored |",
        f"| pgBackRest diff backup | {b['diff_seconds']} | – | {b['diff_stored_mb']} MB stored |",
        f"| pg_basebackup -Fp -Xstream | {s['seconds']} | {s['mb_s']} | uncompressed |",
        f"| pg_dump -Fc | {p['dump_seconds']} | {p['dump_mb_s']} | {p['dump_file_mb']} MB file |",
        f"| pg_restore -j | {p['restore_seconds']} | {p['restore_mb_s']} | into a new database |",
        f"| pgBackRest restore | {r['restore_seconds']} | {r['mb_s']} | files only |",
        f"| … to a promoted cluster | {r['restore_seconds'] + r['recovery_seconds']:.1f} | "
        f"{r['mb_s_to_running']} | with WAL replay |",
        "",
        f"Drill: RTO {dr['rto_seconds']} s, RPO {dr['rpo_seconds']} s (same newest transaction: "
        f"{dr['same_last_transaction']}), {dr['tables']} tables, {dr['rows']:,} rows, "
        f"{dr['mismatches']} differing.",
        "",
        *_lag_lines(results["replica_lag"]),
        "",
    ]
    return "\n".join(lines)


def _lag_lines(lag: dict[str, Any]) -> list[str]:
    """The replica's lag under the edits load, as the report's last lines."""
    kind = "synchronous" if lag["replica"]["sync"] else "asynchronous"
    b, t = lag["lag_bytes"], lag["lag_seconds"]
    return [
        f"Replica lag ({kind} replica, {lag['clients']} edit clients for {lag['seconds']} s, "
        f"{lag['edits_per_s']} edits/s, {lag['errors']} errors, {lag['samples']} samples every "
        "100 ms):",
        "",
        "| lag | median | p95 | max |",
        "|---|---|---|---|",
        f"| WAL bytes not replayed | {b['median']} | {b['p95']} | {b['max']} |",
        f"| seconds | {t['median']} | {t['p95']} | {t['max']} |",
    ]


def run() -> dict[str, object]:
    return flat(_measure_and_write(_options([]), Console(stderr=True)))


def flat(results: dict[str, Any]) -> dict[str, object]:
    """The headline figures, for ``python -m bench``'s table."""
    return {
        "pgbackrest_full_mb_s": results["pgbackrest_backup"]["full_mb_s"],
        "pg_basebackup_mb_s": results["pg_basebackup"]["mb_s"],
        "pg_dump_mb_s": results["pg_dump"]["dump_mb_s"],
        "pgbackrest_restore_mb_s": results["pgbackrest_restore"]["mb_s"],
        "pg_restore_mb_s": results["pg_dump"]["restore_mb_s"],
        "drill_rto_s": results["drill"]["rto_seconds"],
        "drill_rpo_s": results["drill"]["rpo_seconds"],
        "replica_lag_p95_s": results["replica_lag"]["lag_seconds"]["p95"],
        "passed": results["drill"]["passed"],
    }


def _measure_and_write(options: argparse.Namespace, console: Console) -> dict[str, Any]:
    started = time.monotonic()
    results = measure(options, console)
    results["seconds"] = round(time.monotonic() - started, 1)
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "backup-results.json").write_text(json.dumps(results, indent=1, default=str))
    (WORK / "backup-results.md").write_text(markdown(results))
    return results


def main(argv: Sequence[str]) -> int:
    options = _options(argv)
    results = _measure_and_write(options, Console(stderr=True))
    figures = flat(results)
    if options.json:
        print(json.dumps(results | {"figures": figures}, indent=1, default=str))
    else:
        from bench.__main__ import _table

        Console().print(_table("backup", figures))
    return 0 if figures["passed"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
