"""What the replica tests share: ports beside the session cluster's, waiting for a value on a
node, and a crash of a whole cluster (SIGKILL to the postmaster and every backend)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from gis.pgserver import LocalServer

PORTS_ABOVE: Final = 4
"""Replicas take the ports just above the session cluster's (ONEMAP_PG_PORT + 1 .. + 4)."""
REPLAY_BOUND_S: Final = 30.0
"""How long a replica may take to replay an edit before the test fails (a bound on the
behaviour, not a speed figure: the machine may be busy)."""


def free_ports(primary_port: int, count: int) -> list[int]:
    """``count`` free ports among the :data:`PORTS_ABOVE` above the primary's (skip if not)."""
    found = []
    for port in range(primary_port + 1, primary_port + 1 + PORTS_ABOVE):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                found.append(port)
    if len(found) < count:
        pytest.skip(f"{count} free ports above {primary_port} are needed, {found} are free")
    return found[:count]


def until[T](probe: Callable[[], T | None], what: str, bound: float = REPLAY_BOUND_S) -> T:
    """``probe()`` once it is not None, polled until ``bound`` seconds; else fail."""
    deadline = time.monotonic() + bound
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {bound:.0f} s")
        time.sleep(0.05)


def scalar(url: URL, sql: str, values: dict[str, Any] | None = None) -> Any:
    """One value of ``sql`` on the node of ``url`` (a fresh connection each time)."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), values or {}).scalar()
    finally:
        engine.dispose()


def crash(server: LocalServer) -> None:
    """Kill the cluster as a power cut would: SIGKILL to the postmaster and its children."""
    pid = server.status().pid
    assert pid is not None, "the cluster is not running"
    children = [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and _parent(entry) == pid
    ]
    for victim in (pid, *children):
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def _parent(entry: Path) -> int | None:
    try:
        return int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None
