"""Run a program as the cluster's OS user (``postgres`` when we are root), as pgBackRest wants.

pgBackRest must run as the user that owns the data directory: the archive command runs as
that user, and files it leaves in the repositories must stay writable for it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from gis.cluster_user import CLUSTER_USER_WHEN_ROOT, run_as_cluster_user
from gis.errors import BackupError


def cluster_ids() -> tuple[int, int]:
    """uid and gid the cluster and pgBackRest run as."""
    if os.geteuid() != 0:
        return os.getuid(), os.getgid()
    try:
        entry = pwd.getpwnam(CLUSTER_USER_WHEN_ROOT)
    except KeyError:
        raise BackupError(
            "running as root needs the `postgres` OS user, and there is none"
        ) from None
    return entry.pw_uid, entry.pw_gid


def give_to_cluster_user(path: Path) -> None:
    """Make ``path`` owned by the cluster's user (a no-op when we are that user)."""
    uid, gid = cluster_ids()
    if os.geteuid() == 0:
        os.chown(path, uid, gid)


def pgbackrest_bin() -> str:
    """Absolute path of ``pgbackrest``, or a `BackupError` saying how to install it."""
    found = shutil.which("pgbackrest")
    if found is None:
        raise BackupError(
            "pgbackrest is not installed: run `make os-deps` or apt-get install pgbackrest "
            "(or set ONEMAP_BACKUP_ARCHIVE=false to run the local cluster without archiving)"
        )
    return found


def run(
    args: Sequence[str | os.PathLike[str]],
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``args`` as the cluster user; on failure a `BackupError` with its last error line."""
    result = run_as_cluster_user(args, env)
    if check and result.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} {_verb(args)} failed: {last_error(result)}")
    return result


def _verb(args: Sequence[str | os.PathLike[str]]) -> str:
    words = [str(a) for a in args[1:] if not str(a).startswith("-")]
    return words[0] if words else ""


def last_error(result: subprocess.CompletedProcess[str]) -> str:
    """The most telling line of a failed run: its last ERROR line, else its last line."""
    lines = [line.strip() for line in (result.stderr + result.stdout).splitlines() if line.strip()]
    errors = [line for line in lines if "ERROR" in line]
    chosen = errors[-1] if errors else (lines[-1] if lines else f"exit code {result.returncode}")
    return chosen.split("ERROR: ", 1)[-1]


def reachable(path: Path) -> bool:
    """Whether the cluster user can enter ``path`` (a project under /root, say, it cannot)."""
    if os.geteuid() != 0:
        return True
    probe = ["/bin/sh", "-c", 'cd "$1"', "sh", str(path)]
    return run(probe, check=False).returncode == 0
