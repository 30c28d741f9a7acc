"""Peak memory of everything that works on a run, measured the same way for every side.

A :class:`Sampler` thread polls ``/proc`` every ``interval`` seconds and records, per sample,
the proportional set size (``Pss:`` of ``/proc/PID/smaps_rollup``, in MB) summed over:

- the *roots* (by default this process) and all their descendant processes (a worker pool,
  a baseline's subprocess), except PostgreSQL processes (the sampler is a thread of this
  process);
- the PostgreSQL backends of the databases named with :meth:`Sampler.watch_database` in
  one cluster (a bench database no one else uses: every session on it works on the run,
  whichever process opened it), those named with :meth:`Sampler.watch_backend`, and the
  parallel workers serving them (``postgres: parallel worker for PID N``). Other clusters
  on the machine may hold databases of the same name: only the children of the given
  postmaster count.

PSS, not RSS: RSS counts PostgreSQL's shared buffers in full in every process that touched
them, so summing RSS over a backend and its parallel workers would count them twice; PSS
splits each shared page among the processes that map it. Linux only.

The samples are kept as a series (``time.monotonic()``, MB): :meth:`Sampler.peak` is the
maximum over a window, so a side that reports its own start and end times (a subprocess,
on the same monotonic clock) is measured by the same samples as this process.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

__all__ = [
    "Sample",
    "Sampler",
    "backend_database",
    "descendants",
    "parallel_leader",
    "parent",
    "pss_mb",
]

PROC = Path("/proc")
_LEADER = re.compile(r"parallel worker for PID (\d+)")
_BACKEND = re.compile(r"^postgres: \S+ (\S+) ")


class Sample(NamedTuple):
    """One poll: when (monotonic s), the sum (MB) and its parts."""

    t: float
    total_mb: float
    client_mb: float
    database_mb: float
    processes: int


def pss_mb(pid: int) -> float | None:
    """PSS of one process in MB (``None`` when it is gone or unreadable)."""
    try:
        for line in (PROC / str(pid) / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def parallel_leader(cmdline: str) -> int | None:
    """The backend a PostgreSQL parallel worker serves, from its command line.

    >>> parallel_leader("postgres: parallel worker for PID 4711")
    4711
    >>> parallel_leader("postgres: onemap plans_bench [local] idle") is None
    True
    """
    found = _LEADER.search(cmdline)
    return int(found.group(1)) if found else None


def backend_database(cmdline: str) -> str | None:
    """The database of a PostgreSQL client backend, from its command line.

    >>> backend_database("postgres: onemap plans_bench [local] idle in transaction ")
    'plans_bench'
    >>> backend_database("postgres: parallel worker for PID 4711 ") is None
    True
    """
    found = _BACKEND.match(cmdline)
    if found is None or cmdline.startswith(("postgres: parallel ", "postgres: autovacuum ")):
        return None
    return found.group(1)


def parent(pid: int) -> int | None:
    """The parent of a process (a backend's is its cluster's postmaster)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rfind(")") + 2 :].split()[1])


def _table() -> dict[int, tuple[int, str]]:
    """Every process: pid → (parent pid, command name)."""
    table: dict[int, tuple[int, str]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        close = stat.rfind(")")
        fields = stat[close + 2 :].split()
        table[int(entry.name)] = (int(fields[1]), stat[stat.find("(") + 1 : close])
    return table


def _cmdline(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def descendants(roots: Iterable[int], table: dict[int, tuple[int, str]]) -> set[int]:
    """The roots and every process below them in ``table`` (pid → (ppid, name))."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found: set[int] = set()
    todo = [r for r in roots if r in table]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo += children.get(pid, [])
    return found


class Sampler:
    """Samples PSS in a background thread from :meth:`start` until :meth:`stop`.

    Parameters
    ----------
    roots
        Processes counted with their descendants; this process when ``None``.
    interval
        Seconds between polls (20 ms: a 1 s run gets ~50 samples).
    """

    def __init__(self, roots: Sequence[int] | None = None, interval: float = 0.02) -> None:
        self.roots = list(roots) if roots is not None else [os.getpid()]
        self.interval = interval
        self.samples: list[Sample] = []
        self._backends: set[int] = set()
        self._databases: set[str] = set()
        self._postmasters: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="pss-sampler", daemon=True)

    def watch_backend(self, pid: int) -> None:
        """Count this PostgreSQL backend and its parallel workers from now on."""
        self._backends.add(pid)

    def watch_database(self, name: str, postmaster: int) -> None:
        """Count every client backend on database ``name`` of the cluster whose postmaster
        is ``postmaster``, and their parallel workers."""
        self._databases.add(name)
        self._postmasters.add(postmaster)

    def forget(self) -> None:
        """Stop counting backends and databases (the roots stay)."""
        self._backends.clear()
        self._databases.clear()
        self._postmasters.clear()

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> Sampler:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def sample(self) -> Sample:
        """One poll now (also what the thread records)."""
        t = time.monotonic()
        table = _table()
        client = {
            pid
            for pid in descendants(self.roots, table)
            if table[pid][1] not in ("postgres", "postmaster")
        }
        backends = set(self._backends) & set(table)
        if backends or self._databases:
            masters = self._postmasters | {table[b][0] for b in backends}
            lines = {
                p: _cmdline(p)
                for p, (ppid, name) in table.items()
                if name == "postgres" and ppid in masters
            }
            watched = self._databases
            backends |= {p for p, line in lines.items() if backend_database(line) in watched}
            backends |= {p for p, line in lines.items() if parallel_leader(line) in backends}
        client_mb = sum(filter(None, (pss_mb(p) for p in client)))
        database_mb = sum(filter(None, (pss_mb(p) for p in backends)))
        return Sample(t, client_mb + database_mb, client_mb, database_mb, len(client | backends))

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self.sample())
            self._stop.wait(self.interval)

    def peak(self, start: float, end: float) -> Sample | None:
        """The sample of the highest sum between ``start`` and ``end`` (monotonic s)."""
        window = [s for s in list(self.samples) if start <= s.t <= end]
        return max(window, key=lambda s: s.total_mb) if window else None
