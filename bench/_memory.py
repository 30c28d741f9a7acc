"""Peak memory of everything that works on a run, measured the same way for every side.

A :class:`Sampler` thread polls ``/proc`` every ``interval`` seconds (CPU time) and, every
``scan_every`` polls, records the proportional set size (``Pss:`` of
``/proc/PID/smaps_rollup``, in MB) summed over:

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
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final, NamedTuple

__all__ = [
    "Proc",
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
    cpu_s: float = 0.0
    """CPU time (user + system) the counted processes used since the sampler first saw
    them: a window's difference is the CPU work of the run, whatever else loads the machine
    (a parallel worker's last < 20 ms before it exits are missed)."""


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


TICK: Final = os.sysconf("SC_CLK_TCK")


class Proc(NamedTuple):
    """One process of ``/proc``: its parent, name, CPU ticks used and start (ticks)."""

    ppid: int
    name: str
    cpu: int = 0
    started: int = 0


def _proc(pid: int, known: Proc) -> Proc | None:
    """``known`` with its CPU ticks read again; ``None`` when the process is gone."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    if int(fields[19]) != known.started:
        return None  # the pid was reused
    return known._replace(cpu=int(fields[11]) + int(fields[12]))


def _table() -> dict[int, Proc]:
    """Every process by pid."""
    table: dict[int, Proc] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        close = stat.rfind(")")
        fields = stat[close + 2 :].split()
        table[int(entry.name)] = Proc(
            int(fields[1]),
            stat[stat.find("(") + 1 : close],
            int(fields[11]) + int(fields[12]),  # utime + stime
            int(fields[19]),  # starttime
        )
    return table


def _cmdline(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def descendants(roots: Iterable[int], table: Mapping[int, tuple[int, str] | Proc]) -> set[int]:
    """The roots and every process below them in ``table`` (pid → (ppid, name))."""
    children: dict[int, list[int]] = {}
    for pid, row in table.items():
        children.setdefault(row[0], []).append(pid)
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
    scan_every
        Polls between two looks through every process for new ones and two PSS readings
        (a worker started in between is counted from the next scan, ≤ 100 ms later by
        default; a memory peak shorter than that may be missed).
    """

    def __init__(
        self, roots: Sequence[int] | None = None, interval: float = 0.02, scan_every: int = 5
    ) -> None:
        self.roots = list(roots) if roots is not None else [os.getpid()]
        self.interval = interval
        self.samples: list[Sample] = []
        self._backends: set[int] = set()
        self._databases: set[str] = set()
        self._postmasters: set[int] = set()
        self.scan_every = scan_every
        self._last: tuple[dict[int, Proc], set[int]] | None = None
        self._database_pids: set[int] = set()
        self._own_cpu = 0.0
        self._pss: tuple[float, float] | None = None
        self._cpu: dict[tuple[int, int], tuple[int, int]] = {}
        self._boot_ticks = int(time.clock_gettime(time.CLOCK_BOOTTIME) * TICK)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="pss-sampler", daemon=True)

    def watch_backend(self, pid: int) -> None:
        """Count this PostgreSQL backend and its parallel workers from now on."""
        self._backends.add(pid)
        self._last = None  # scanned again at the next poll

    def watch_database(self, name: str, postmaster: int) -> None:
        """Count every client backend on database ``name`` of the cluster whose postmaster
        is ``postmaster``, and their parallel workers."""
        self._databases.add(name)
        self._postmasters.add(postmaster)
        self._last = None

    def forget(self) -> None:
        """Stop counting backends and databases (the roots stay)."""
        self._backends.clear()
        self._databases.clear()
        self._postmasters.clear()
        self._last = None

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

    def sample(self, scan: bool = True) -> Sample:
        """One poll now (also what the thread records). ``scan``: look through every
        process for new ones (≈ 4 ms of CPU for 100 processes) and read their PSS;
        otherwise reread the CPU time of those found by the last scan and keep its PSS (the
        thread scans every ``scan_every`` polls). Reading ``smaps_rollup`` walks the page
        tables, ≈ 1.2 ms of CPU per 100 MB resident: every 20 ms on geopandas' 750 MB it
        took 45 % of a core, every 100 ms it takes 9 %."""
        t = time.monotonic()
        if scan or self._last is None:
            table = _table()
            counted = self._counted(table)
            self._last = (table, counted)
        else:
            known, counted = self._last
            table = {p: row for p in counted if (row := _proc(p, known[p])) is not None}
            counted = counted & set(table)
        if scan or self._pss is None:
            self._pss = (
                sum(filter(None, (pss_mb(p) for p in counted - self._database_pids))),
                sum(filter(None, (pss_mb(p) for p in counted & self._database_pids))),
            )
        client_mb, database_mb = self._pss
        return Sample(
            t,
            client_mb + database_mb,
            client_mb,
            database_mb,
            len(counted),
            self._cpu_s(table, counted),
        )

    def _counted(self, table: dict[int, Proc]) -> set[int]:
        client = {
            pid
            for pid in descendants(self.roots, table)
            if table[pid].name not in ("postgres", "postmaster")
        }
        backends = set(self._backends) & set(table)
        if backends or self._databases:
            masters = self._postmasters | {table[b].ppid for b in backends}
            lines = {
                p: _cmdline(p)
                for p, row in table.items()
                if row.name == "postgres" and row.ppid in masters
            }
            watched = self._databases
            backends |= {p for p, line in lines.items() if backend_database(line) in watched}
            backends |= {p for p, line in lines.items() if parallel_leader(line) in backends}
        self._database_pids = backends
        return client | backends

    def _cpu_s(self, table: dict[int, Proc], counted: set[int]) -> float:
        """CPU seconds of every process counted so far: from when it was first seen, or
        from its start when it started after the sampler was made."""
        for pid in counted:
            row = table[pid]
            key = (pid, row.started)
            first = self._cpu.get(key, (0 if row.started >= self._boot_ticks else row.cpu, 0))
            self._cpu[key] = (first[0], row.cpu)
        used = sum(last - first for first, last in self._cpu.values()) / TICK
        if os.getpid() in counted:
            used -= self._own_cpu  # the sampler's thread is not the run's work
        return used

    def _loop(self) -> None:
        polls = 0
        while not self._stop.is_set():
            started = time.thread_time()
            self.samples.append(self.sample(scan=polls % self.scan_every == 0))
            polls += 1
            self._own_cpu += time.thread_time() - started
            self._stop.wait(self.interval)

    def cpu(self, start: float, end: float) -> float | None:
        """CPU seconds the counted processes used between ``start`` and ``end``."""
        window = [s for s in list(self.samples) if start <= s.t <= end]
        return round(window[-1].cpu_s - window[0].cpu_s, 2) if len(window) > 1 else None

    def peak(self, start: float, end: float) -> Sample | None:
        """The sample of the highest sum between ``start`` and ``end`` (monotonic s)."""
        window = [s for s in list(self.samples) if start <= s.t <= end]
        return max(window, key=lambda s: s.total_mb) if window else None
