"""Jobs as the issue asks them to behave, with real processes and a real database: progress,
dismissal of a queued and of a running job (its worker killed, its statement stopped), a
worker killed mid-job, a time limit, two servers sharing one queue. A database of the
module's own (``own_database``): no other module's app takes these jobs."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from gis.engine import create_engine
from gis.settings import DatabaseSettings
from services.processes.failures import WORKER_STOPPED
from tests.services.conftest import serve
from tests.services.processes_support import (
    Keys,
    own_database,
    planner_key,
    settings,
    wait_for,
)

JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("jobs-home")


@pytest.fixture(scope="module")
def url(database_url: URL, db_settings: DatabaseSettings, server_url: URL) -> Iterator[str]:
    yield from own_database(database_url, db_settings, server_url)


@pytest.fixture(scope="module")
def db(url: str) -> Iterator[Engine]:
    made = create_engine(url)
    yield made
    made.dispose()


@pytest.fixture(scope="module")
def apps() -> list[Any]:
    return []


@pytest.fixture(scope="module")
def base(url: str, home: Path, apps: list[Any]) -> Iterator[str]:
    yield from serve(settings(url, home), apps)


def _workers_whole(apps: list[Any]) -> None:
    """The app's pool is back to its two live workers (a killed one was replaced)."""
    pool = apps[0].state.processes.pool
    _until(lambda: len(pool.slots) == 2 and all(s.process.is_alive() for s in pool.slots))


@pytest.fixture(scope="module")
def http(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{base}/ogc/", timeout=120) as client:
        yield client


@pytest.fixture(scope="module")
def key(db: Engine) -> str:
    return planner_key(db)


def _sleep(
    http: httpx.Client, key: str, seconds: float, steps: int = 1, prefer: str = "respond-async"
) -> httpx.Response:
    body = json.dumps({"inputs": {"seconds": seconds, "steps": steps}})
    headers = {**JSON, **Keys.header(key), "Prefer": prefer}
    return http.post("processes/test-sleep/execution", content=body, headers=headers)


def _row(db: Engine, job_id: str) -> Any:
    with db.connect() as conn:
        return conn.execute(
            text("SELECT status, worker, message, started FROM jobs.jobs WHERE id = :id"),
            {"id": job_id},
        ).one()


def _pid(worker: str) -> int:
    """The worker's process id from its label (``host:pid (backend n)``)."""
    return int(worker.split(":", 1)[1].split(" ", 1)[0])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie of ours is dead too
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _sleeping_sessions(db: Engine) -> set[int]:
    with db.connect() as conn:
        return set(
            conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE application_name ="
                     " 'onemap-job-worker' AND state = 'active' AND query LIKE '%pg_sleep%'")
            ).scalars()
        )  # fmt: skip


def _until(check: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_progress_then_dismissal_of_a_running_job(
    http: httpx.Client, key: str, db: Engine, apps: list[Any]
) -> None:
    created = _sleep(http, key, 60, steps=120)
    assert created.status_code == 201, created.text
    url = created.headers["location"]
    job = wait_for(http, url, lambda j: j["status"] == "running" and j["progress"] > 0,
                   key)  # fmt: skip
    assert job["message"].startswith("step ") and job["started"]
    job_id = job["jobID"]
    worker = _pid(_row(db, job_id).worker)
    sessions = _sleeping_sessions(db)
    assert sessions, "the run is not sleeping in the database"
    dismissed = http.delete(url, headers=Keys.header(key))
    assert dismissed.status_code == 200, dismissed.text
    assert dismissed.json()["status"] == "dismissed"
    _until(lambda: not _alive(worker))
    _until(lambda: not (_sleeping_sessions(db) & sessions), timeout=10)
    assert _row(db, job_id).status == "dismissed"
    gone = http.get(f"{url}/results", headers=Keys.header(key))
    assert gone.status_code == 409 and "dismissed" in gone.json()["description"]
    again = _sleep(http, key, 0, prefer="respond-sync")  # a new worker took its place
    assert again.status_code == 200, again.text
    _workers_whole(apps)


def test_dismissal_of_a_queued_job_and_of_a_finished_one(
    http: httpx.Client, key: str, db: Engine, apps: list[Any]
) -> None:
    busy = [_sleep(http, key, 60).headers["location"] for _ in range(2)]
    for url in busy:
        wait_for(http, url, lambda j: j["status"] == "running", key)
    queued = _sleep(http, key, 0)
    url = queued.headers["location"]
    assert http.get(url, headers=Keys.header(key)).json()["status"] == "accepted"
    assert http.delete(url, headers=Keys.header(key)).json()["status"] == "dismissed"
    for other in busy:
        http.delete(other, headers=Keys.header(key))
    time.sleep(1.5)  # workers free again: the dismissed job is never taken
    row = _row(db, queued.json()["jobID"])
    assert (row.status, row.started) == ("dismissed", None)
    done = _sleep(http, key, 0, prefer="respond-sync")
    monitor = done.headers["link"].split(">")[0].lstrip("<")
    assert http.delete(monitor, headers=Keys.header(key)).json()["status"] == "dismissed"
    assert http.get(f"{monitor}/results", headers=Keys.header(key)).status_code == 409
    _workers_whole(apps)


def test_a_worker_killed_mid_job_fails_the_job(
    http: httpx.Client, key: str, db: Engine, apps: list[Any]
) -> None:
    """Its statement (one sleep of a minute) stops within seconds too: the run's session
    sees its client gone (client_connection_check_interval)."""
    created = _sleep(http, key, 60, steps=1)
    url = created.headers["location"]
    job = wait_for(http, url, lambda j: j["status"] == "running", key)
    worker = _pid(_row(db, job["jobID"]).worker)
    _until(lambda: bool(_sleeping_sessions(db)), timeout=10)
    sessions = _sleeping_sessions(db)
    os.kill(worker, signal.SIGKILL)  # the machine's OOM killer, say
    _until(lambda: not (_sleeping_sessions(db) & sessions), timeout=5)
    failed = wait_for(http, url, lambda j: j["status"] == "failed", key, timeout=20)
    assert WORKER_STOPPED in failed["message"] and "signal 9" in failed["message"]
    results = http.get(f"{url}/results", headers=Keys.header(key))
    assert results.status_code == 500 and WORKER_STOPPED in results.json()["description"]
    again = _sleep(http, key, 0, prefer="respond-sync")
    assert again.status_code == 200, again.text
    _workers_whole(apps)


def test_a_job_over_the_time_limit_is_stopped(url: str, home: Path, key: str, db: Engine) -> None:
    """Synchronous, so that this server runs it (a queued job may go to any server)."""
    for base in serve(settings(url, home, max_job_seconds=1)):
        with httpx.Client(base_url=f"{base}/ogc/", timeout=60) as http:
            sync = _sleep(http, key, 30, steps=30, prefer="respond-sync")
            assert sync.status_code == 500 and "longer than 1 s" in sync.json()["description"]
            job_id = sync.headers["link"].split("/jobs/")[1].split(">")[0]
            row = _row(db, job_id)
            assert row.status == "failed" and "ONEMAP_PROCESSES_MAX_JOB_SECONDS" in row.message
            worker = _pid(row.worker)
            _until(lambda w=worker: not _alive(w))  # type: ignore[misc]
            again = _sleep(http, key, 0, prefer="respond-sync")
            assert again.status_code == 200, again.text


def test_two_servers_share_the_queue_and_dismissals(
    url: str, home: Path, key: str, db: Engine
) -> None:
    """A job queued where every worker is busy runs on another server's idle worker; a
    DELETE through one server stops a job running on the other."""
    one = serve(settings(url, home, workers=1))
    two = serve(settings(url, home, workers=1))
    try:
        with (
            httpx.Client(base_url=f"{next(one)}/ogc/", timeout=60) as first,
            httpx.Client(base_url=f"{next(two)}/ogc/", timeout=60) as second,
        ):
            _sleep(second, key, 0, prefer="respond-sync")  # its worker is up, idle
            blocker = _sleep(first, key, 60).headers["location"]
            blocked = wait_for(first, blocker, lambda j: j["status"] == "running", key)
            queued = _sleep(first, key, 0).headers["location"]
            done = wait_for(first, queued, lambda j: j["status"] == "successful", key)
            ran_on = _pid(_row(db, done["jobID"]).worker)
            assert ran_on != _pid(_row(db, blocked["jobID"]).worker)
            job_id = blocked["jobID"]
            stopped = second.delete(f"jobs/{job_id}", headers=Keys.header(key))
            assert stopped.json()["status"] == "dismissed"
            worker = _pid(_row(db, job_id).worker)
            _until(lambda: not _alive(worker), timeout=10)
    finally:
        for server in (one, two):
            for _ in server:  # runs to its end: the server stops
                pass


def test_a_server_leaves_jobs_of_processes_it_does_not_serve(
    url: str, home: Path, key: str, http: httpx.Client, db: Engine
) -> None:
    """A server without the test-only process (a rolling update, say) has idle workers but
    never takes its jobs: they wait for a server that serves it."""
    plain = serve(settings(url, home, extra_modules=[]))
    try:
        with httpx.Client(base_url=f"{next(plain)}/ogc/", timeout=60) as other:
            assert other.get("processes/test-sleep").status_code == 404
            busy = [_sleep(http, key, 60).headers["location"] for _ in range(2)]
            for url_ in busy:
                wait_for(http, url_, lambda j: j["status"] == "running", key)
            queued = _sleep(http, key, 0).headers["location"]
            time.sleep(2.5)  # several looks at the queue by the other server
            assert http.get(queued, headers=Keys.header(key)).json()["status"] == "accepted"
            for url_ in busy:
                http.delete(url_, headers=Keys.header(key))
            wait_for(http, queued, lambda j: j["status"] == "successful", key)
    finally:
        for _ in plain:
            pass


def test_finished_jobs_are_forgotten_after_keep_days(url: str, home: Path, key: str) -> None:
    """Last in the module: with a keep of about a second, this server's reaper deletes every
    finished job of the database."""
    for base in serve(settings(url, home, keep_days=1 / 86_400)):
        with httpx.Client(base_url=f"{base}/ogc/", timeout=60) as http:
            done = _sleep(http, key, 0, prefer="respond-sync")
            monitor = done.headers["link"].split(">")[0].lstrip("<")
            deadline = time.monotonic() + 20
            while http.get(monitor, headers=Keys.header(key)).status_code == 200:
                assert time.monotonic() < deadline, "the finished job is still kept"
                time.sleep(0.2)
