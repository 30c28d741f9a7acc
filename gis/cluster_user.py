"""Running a program as the user that owns the local PostgreSQL clusters.

The server refuses to run as root and its files must stay readable by it, so when we are
root, ``pg_ctl``, ``initdb``, ``pg_basebackup`` and ``pgbackrest`` run as ``postgres``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from typing import Final

CLUSTER_USER_WHEN_ROOT: Final = "postgres"


def run_as_cluster_user(
    args: Sequence[str | os.PathLike[str]], env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a program as the user that owns the clusters (``postgres`` when we are root: the
    server refuses to run as root, and its files must stay readable by it), from ``/`` with
    a minimal environment plus ``env``; never raises on its exit status."""
    user = CLUSTER_USER_WHEN_ROOT if os.geteuid() == 0 else None
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"}
    full_env.update(env or {})
    return subprocess.run(
        [str(a) for a in args],
        cwd="/",
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
        user=user,
        group=user,
        extra_groups=[] if user else None,
    )
