"""A real server (``onemap serve``) killed with SIGKILL while a job runs, then started
again: its worker follows it, the job ends failed with the reason (never left running),
and a job it had queued but not started runs after the restart. A database of the
module's own (``own_database``), so that no other app takes the queued job."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from gis.engine import create_engine
from gis.settings import DatabaseSettings
from services.processes.failures import WORKER_STOPPED
from tests.conftest import SERVER_URLS
from tests.services.conftest import ROOT, free_port
from tests.services.processes_support import (
    SECRET,
    SLOW_MODULE,
    Keys,
    own_database,
    planner_key,
    wait_for,
)
from tests.services.test_processes_jobs import _alive, _pid, _sleep, _until


@pytest.fixture(scope="module")
def url(database_url: URL, db_settings: DatabaseSettings, server_url: URL) -> Iterator[str]:
    yield from own_database(database_url, db_settings, server_url)


@pytest.fixture(scope="module")
def db(url: str) -> Iterator[Engine]:
    made = create_engine(url)
    yield made
    made.dispose()


def _start_server(url: str, home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ONEMAP_DATABASE_URL": url,
        "ONEMAP_APP_DATABASE_URL": SERVER_URLS[url],
        "ONEMAP_SECRET_KEY": SECRET,
        "ONEMAP_HOME": str(home),
        "ONEMAP_PROCESSES_EXTRA_MODULES": json.dumps([SLOW_MODULE]),
        "ONEMAP_PROCESSES_WORKERS": "1",
        "ONEMAP_PROCESSES_REAP_INTERVAL": "0.5",
        "PYTHONPATH": str(ROOT),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "serve", "--host", "127.0.0.1", "--port",
         str(port), "--workers", "1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return server
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline and server.poll() is None, "serve did not start"
        time.sleep(0.2)


def test_a_server_killed_mid_job_fails_it_and_runs_what_it_queued(
    url: str, db: Engine, tmp_path: Path
) -> None:
    key = planner_key(db)
    port = free_port()
    server = _start_server(url, tmp_path, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/ogc/", timeout=60) as http:
            running = _sleep(http, key, 120, steps=120).headers["location"]
            job = wait_for(http, running, lambda j: j["status"] == "running", key)
            queued = _sleep(http, key, 0).headers["location"]
            assert http.get(queued, headers=Keys.header(key)).json()["status"] == "accepted"
            with db.connect() as conn:
                label = conn.execute(
                    text("SELECT worker FROM jobs.jobs WHERE id = :id"), {"id": job["jobID"]}
                ).scalar_one()
            worker = _pid(label)
            server.send_signal(signal.SIGKILL)
            server.wait(10)
            _until(lambda: not _alive(worker), timeout=10)  # the worker followed its server
            server = _start_server(url, tmp_path, port)
            failed = wait_for(http, running, lambda j: j["status"] != "running", key)
            assert failed["status"] == "failed" and failed["message"] == WORKER_STOPPED
            results = http.get(f"{running}/results", headers=Keys.header(key))
            assert results.status_code == 500 and results.json()["description"] == WORKER_STOPPED
            done = wait_for(http, queued, lambda j: j["status"] == "successful", key)
            assert done["progress"] == 100
    finally:
        server.terminate()
        server.wait(30)
