"""Restore a backup into a new data directory and start it on a new port.

A restore never touches an existing directory or a port in use: both are checked before
anything is written, and a restore that fails part way removes what it wrote.
"""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import time
from pathlib import Path
from typing import NamedTuple

from gis.backup import _run
from gis.backup.repo import Repository
from gis.errors import BackupError
from gis.pgserver import SUPERUSER, find_bin_dir


class RestoredCluster(NamedTuple):
    """A cluster made by :func:`restore`, running on ``port`` with ``data_dir``."""

    data_dir: Path
    port: int
    restore_seconds: float
    recovery_seconds: float


def port_in_use(port: int) -> bool:
    """Whether something listens on 127.0.0.1:``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_port(start: int, tries: int = 50) -> int:
    """The first port from ``start`` on that nothing listens on."""
    for port in range(start, start + tries):
        if not port_in_use(port):
            return port
    raise BackupError(f"no free port between {start} and {start + tries - 1}: name one with --port")


def check_target(data_dir: Path, port: int) -> None:
    """Refuse, before touching anything, a directory that exists or a port in use."""
    if data_dir.exists() or data_dir.is_symlink():
        raise BackupError(
            f"{data_dir} already exists: restore into a new directory, nothing was changed"
        )
    if not data_dir.parent.is_dir():
        raise BackupError(f"the parent directory {data_dir.parent} does not exist")
    if not _run.reachable(data_dir.parent):
        raise BackupError(f"the postgres OS user cannot reach {data_dir.parent}")
    if port_in_use(port):
        raise BackupError(
            f"port {port} on 127.0.0.1 is in use: choose a free one, nothing was changed"
        )


def restore(
    repo: Repository,
    data_dir: Path,
    port: int,
    time_target: dt.datetime | None = None,
    from_repo: int | None = None,
) -> RestoredCluster:
    """Restore the latest backup (or the state at ``time_target``) and start it on ``port``.

    The restored cluster does not archive (its WAL must not mix with the live cluster's), is
    promoted at the end of recovery, and listens on 127.0.0.1 only.
    """
    data_dir = data_dir.absolute()
    check_target(data_dir, port)
    if time_target is not None and time_target.tzinfo is None:
        raise BackupError("the --time value needs a time zone, like 2026-12-03T20:15:00+08:00")
    bin_dir = find_bin_dir(repo.server.settings.pg_bin)
    args = [
        "restore",
        f"--pg1-path={data_dir}",
        "--archive-mode=off",
        f"--recovery-option=restore_command={_restore_command(repo, data_dir)}",
    ]
    if from_repo is not None:
        args.append(f"--repo={from_repo}")
    if time_target is not None:
        args += ["--type=time", f"--target={_pg_time(time_target)}", "--target-action=promote"]
    data_dir.mkdir(mode=0o700)
    _run.give_to_cluster_user(data_dir)
    started = time.monotonic()
    try:
        repo.run(*args)
        restored = time.monotonic()
        _start(bin_dir, data_dir, port)
        _wait_promoted(repo, data_dir, port)
    except BaseException:
        stop(repo, data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)
        raise
    done = time.monotonic()
    return RestoredCluster(data_dir, port, restored - started, done - restored)


def _pg_time(value: dt.datetime) -> str:
    """The time as pgBackRest and PostgreSQL read it (``2026-12-03 20:15:00.5+0800``)."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f%z")


def _restore_command(repo: Repository, data_dir: Path) -> str:
    from gis.backup.config import archive_get_command

    return archive_get_command(repo.settings, data_dir)


def _start(bin_dir: Path, data_dir: Path, port: int) -> None:
    options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''"
    log = data_dir / "server.log"
    result = _run.run(
        [bin_dir / "pg_ctl", "start", "-D", data_dir, "-l", log, "-w", "-t", "600", "-o", options],
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"the restored cluster did not start: {_log_tail(log)}")


def _log_tail(log: Path) -> str:
    """The cause in the server log: pgBackRest's last error, else PostgreSQL's last FATAL."""
    try:
        text = log.read_text().splitlines()
    except OSError:
        text = []
    for marker in ("ERROR: [", "FATAL:"):
        lines = [line for line in text if marker in line]
        if lines:
            return lines[-1].split(marker.split(" ")[0], 1)[-1].strip()
    return f"see {log}"


def connect(repo: Repository, port: int, database: str = "postgres") -> str:
    """A libpq connection string for a restored cluster (same login as the live one)."""
    return (
        f"host=127.0.0.1 port={port} user={SUPERUSER} "
        f"password={repo.server.password()} dbname={database}"
    )


def _wait_promoted(repo: Repository, data_dir: Path, port: int, timeout: float = 3600) -> None:
    """Wait for the end of recovery: the cluster then takes writes."""
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(connect(repo, port), connect_timeout=5) as conn:
                row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
                if row is not None and not row[0]:
                    return
        except psycopg.OperationalError:
            if not (data_dir / "postmaster.pid").exists():
                cause = _log_tail(data_dir / "server.log")
                message = f"the restored cluster stopped during recovery: {cause}"
                raise BackupError(message) from None
        if time.monotonic() > deadline:
            raise BackupError(f"recovery did not end within {timeout:.0f} s: see {data_dir}")
        time.sleep(0.3)


def stop(repo: Repository, data_dir: Path) -> None:
    """Stop a restored cluster if it runs."""
    if not (data_dir / "postmaster.pid").exists():
        return
    bin_dir = find_bin_dir(repo.server.settings.pg_bin)
    _run.run([bin_dir / "pg_ctl", "stop", "-D", data_dir, "-m", "fast", "-w"], check=False)


def remove(repo: Repository, data_dir: Path) -> None:
    """Stop a restored cluster and delete its directory."""
    stop(repo, data_dir)
    shutil.rmtree(data_dir, ignore_errors=True)
