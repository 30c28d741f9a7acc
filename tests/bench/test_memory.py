"""bench/_memory.py: the PSS sampler counts a child's memory, a database's backends and the
parallel workers serving them, and takes a window's peak."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from bench import _memory as memory
from gis.settings import DatabaseSettings
from tests.conftest import scratch_database

CHILD = (
    "import sys, time\n"
    "block = b'x' * (160 * 2**20)\n"  # written, so resident (a zeroed bytearray may not be)
    "print('ready', flush=True)\n"
    "sys.stdin.read()\n"
)


def test_pss_of_this_process_and_of_a_missing_one() -> None:
    mine = memory.pss_mb(os.getpid())
    assert mine is not None and mine > 5
    assert memory.pss_mb(2**22 + 1) is None  # above pid_max's default: no such process


def test_a_child_and_its_memory_are_counted_and_the_window_peak_found() -> None:
    sampler = memory.Sampler(interval=0.01)
    before = sampler.sample()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        with sampler:
            t0 = time.monotonic()
            time.sleep(0.2)
            t1 = time.monotonic()
        during = sampler.sample()
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait()
    assert during.processes == before.processes + 1
    assert during.client_mb - before.client_mb > 140
    peak = sampler.peak(t0, t1)
    assert peak is not None and peak.total_mb - before.total_mb > 140
    assert sampler.peak(t1 + 10, t1 + 20) is None


def test_cpu_of_a_busy_child_is_counted_and_an_idle_one_is_not() -> None:
    busy = "import time\nend = time.process_time() + 0.6\nwhile time.process_time() < end: pass\n"
    with memory.Sampler(interval=0.01) as sampler:
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-c", busy], check=True)
        t1 = time.monotonic()
        time.sleep(0.3)
        t2 = time.monotonic()
    used = sampler.cpu(t0, t1)
    assert used is not None and 0.5 < used < 0.6 + (t1 - t0)
    idle = sampler.cpu(t1 + 0.05, t2)
    assert idle is not None and idle < 0.1


def test_descendants_follow_parents_only_down() -> None:
    table = {1: (0, "init"), 10: (1, "bench"), 11: (10, "worker"), 12: (11, "sub"), 13: (1, "x")}
    assert memory.descendants([10], table) == {10, 11, 12}
    assert memory.descendants([99], table) == set()


@pytest.mark.parametrize(
    ("line", "database", "leader"),
    [
        ("postgres: onemap plans_bench 127.0.0.1(4242) SELECT ", "plans_bench", None),
        ("postgres: parallel worker for PID 4242 ", None, 4242),
        ("postgres: autovacuum worker plans_bench ", None, None),
        ("postgres: checkpointer ", None, None),
    ],
)
def test_command_lines(line: str, database: str | None, leader: int | None) -> None:
    assert memory.backend_database(line) == database
    assert memory.parallel_leader(line) == leader


def test_a_database_backend_and_its_parallel_worker_are_counted(
    database_url: URL, db_settings: DatabaseSettings
) -> None:
    # A database of its own: the session's database has other tests' pooled backends on it.
    with scratch_database(database_url, db_settings, "onemap_memory") as scratch:
        _count_backends(scratch.url)


def _count_backends(database_url: URL) -> None:
    engine = create_engine(database_url)
    sampler = memory.Sampler(roots=[], interval=0.01)
    assert sampler.sample().processes == 0
    seen: list[int] = []
    try:
        with engine.connect() as conn:
            backend = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            postmaster = memory.parent(backend)
            assert postmaster is not None
            sampler.watch_database(str(database_url.database), postmaster + 10**7)  # not it
            assert sampler.sample().processes == 0
            sampler.forget()
            sampler.watch_database(str(database_url.database), postmaster)
            assert sampler.sample().processes == 1
            conn.execute(text("SET force_parallel_mode = on"))
            conn.execute(text("SET max_parallel_workers_per_gather = 1"))

            def query() -> None:
                conn.execute(text("SELECT pg_sleep(1.5)"))

            worker = threading.Thread(target=query)
            worker.start()
            deadline = time.monotonic() + 1.2
            while time.monotonic() < deadline:
                seen.append(sampler.sample().processes)
                time.sleep(0.05)
            worker.join()
            assert sampler.sample().processes == 1  # the backend alone, idle again
    finally:
        engine.dispose()
    assert max(seen) == 2  # the backend and the parallel worker running pg_sleep
