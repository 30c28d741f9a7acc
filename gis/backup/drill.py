"""The restore drill: prove a backup restores, and measure how long it takes and what it loses.

The live cluster's WAL is switched and archived first, and its tables summed; the latest
backup is then restored with that WAL into a scratch cluster on a free port, whose tables are
summed the same way. RTO is the time from the start of the restore to a promoted cluster
taking connections; RPO is the distance between the newest commit on the live cluster and
the newest one restored (commit timestamps are tracked, gis/backup/config.py).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gis.backup.checksums import Mismatch, TableSum, compare, table_sums
from gis.backup.repo import Repository
from gis.backup.restore import connect, free_port, remove, restore
from gis.errors import BackupError

_LAST_COMMIT = "SELECT (pg_last_committed_xact()).timestamp, (pg_last_committed_xact()).xid::text"


def archive_now(repo: Repository, timeout: float = 120.0) -> str:
    """Close the current WAL segment and wait until it is archived; return its name."""
    import psycopg

    with psycopg.connect(connect(repo, repo.server.port), autocommit=True) as conn:
        row = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()
        assert row is not None
        segment = str(row[0])
        deadline = time.monotonic() + timeout
        while True:
            state = conn.execute(
                "SELECT last_archived_wal, last_failed_wal FROM pg_stat_archiver"
            ).fetchone()
            assert state is not None
            if state[0] is not None and state[0] >= segment:
                return segment
            if time.monotonic() > deadline:
                raise BackupError(
                    f"WAL segment {segment} was not archived within {timeout:.0f} s "
                    f"(last failed: {state[1]}); see {repo.paths.log}"
                )
            time.sleep(0.2)


def _last_commit(dsn: str) -> tuple[dt.datetime | None, str | None]:
    import psycopg

    with psycopg.connect(dsn) as conn:
        row = conn.execute(_LAST_COMMIT).fetchone()
    return (row[0], row[1]) if row else (None, None)


def _restored_commit(dsn: str, live_xid: str | None) -> tuple[dt.datetime | None, bool]:
    """The newest commit restored, and whether the live cluster's newest is among them.

    A commit made before the backup started is in the backup, not in the WAL replayed, so
    the restored cluster's own "last committed" misses it: it is looked up by its xid.
    """
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        if live_xid is not None:
            try:
                query = "SELECT pg_xact_commit_timestamp(%s::xid)"
                found = conn.execute(query, (live_xid,)).fetchone()
            except psycopg.Error:  # an xid the restored cluster never saw
                found = None
            if found is not None and found[0] is not None:
                return found[0], True
        last = conn.execute(_LAST_COMMIT).fetchone()
    return (last[0] if last else None), False


def drill(
    repo: Repository,
    scratch: Path,
    port: int | None = None,
    step: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Run the drill into ``scratch`` (removed afterwards); the report as a dict."""
    server = repo.server
    database = server.settings.pg_database
    backups = repo.backups()
    if not backups:
        raise BackupError("there is no backup to drill: run `onemap backup create` first")
    port = port or free_port(server.port + 1)
    live_dsn = connect(repo, server.port, database)
    step("summing the live tables")
    live, unlogged = table_sums(live_dsn)
    step("archiving the current WAL")
    archive_now(repo)
    live_commit, live_xid = _last_commit(live_dsn)
    step("restoring the latest backup")
    started = time.monotonic()
    try:
        cluster = restore(repo, scratch, port)
        rto = time.monotonic() - started
        step("summing the restored tables")
        restored_dsn = connect(repo, port, database)
        restored, _ = table_sums(restored_dsn)
        restored_commit, same = _restored_commit(restored_dsn, live_xid)
    finally:
        step("removing the scratch cluster")
        remove(repo, scratch.absolute())
    mismatches = compare(live, restored)
    rpo = (
        (live_commit - restored_commit).total_seconds()
        if live_commit is not None and restored_commit is not None
        else None
    )
    return {
        "backup": backups[-1].label,
        "port": port,
        "rto_seconds": round(rto, 3),
        "restore_seconds": round(cluster.restore_seconds, 3),
        "recovery_seconds": round(cluster.recovery_seconds, 3),
        "rpo_seconds": rpo,
        "live_last_commit": live_commit,
        "restored_last_commit": restored_commit,
        "same_last_transaction": same,
        "tables": len(live),
        "rows": sum(s.rows for s in live.values()),
        "unlogged_tables": unlogged,
        "mismatches": [_mismatch(m) for m in mismatches],
        "passed": not mismatches,
    }


def _mismatch(m: Mismatch) -> dict[str, Any]:
    def side(s: TableSum | None) -> dict[str, int] | None:
        return None if s is None else {"rows": s.rows, "checksum": s.checksum}

    return {"table": m.table, "live": side(m.live), "restored": side(m.restored)}
