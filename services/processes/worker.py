"""A worker process: runs jobs one at a time for the server process that started it.

Started from a ``forkserver`` with the definitions preloaded (services/processes/pool.py), it
builds the registry, its engine and a control connection once, then waits on its pipe for a
:class:`Task`: a synchronous job to start (its id chosen by the server), or the next queued
job to take. It answers :class:`Started` when the job row says ``running`` (or that the
queue is empty), then :class:`Outcome` when the run ended.

While a job runs, the control connection holds a session-level advisory lock on the job's
``lock_key``, taken in the same statement that marks the row running: if this process dies,
its sessions end and the lock with them, which is how the server's reaper tells a stopped
worker from a slow one (services/processes/store.py). The run's own sessions check for a
gone client every second (``client_connection_check_interval``), so a killed worker's
statement stops and its transaction rolls back. The control connection also writes progress
and sees a dismissal (:class:`WorkerContext`).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Final

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import Engine, text

from gis.engine import app_database_url, create_engine, database_url
from services.auth.keys import Principal
from services.processes.base import JobCancelled, JsonDict, Process
from services.processes.failures import failure_document
from services.processes.models import LOCK_SPACE
from services.settings import Settings

log = logging.getLogger("onemap.processes")

SESSION: Final = (
    "-c timezone=UTC -c client_connection_check_interval=1000"
    " -c idle_session_timeout=0 -c idle_in_transaction_session_timeout=0"
    " -c application_name=onemap-job-worker"
)
"""Every session of a worker: a statement whose client died stops within a second; none is
ended for idling by a database-wide setting (the control session idles while it holds the
job's lock, a run's transaction while Python computes)."""

_START_SYNC: Final = """
WITH j AS (
    INSERT INTO jobs.jobs (id, process_id, mode, status, inputs, delivery, caller_role,
                           caller_name, caller_worker_id, caller_key_id, started, worker)
    VALUES (%(id)s, %(process)s, 'sync', 'running', %(inputs)s, %(delivery)s, %(role)s,
            %(name)s, %(worker_id)s, %(key_id)s, now(), %(worker)s)
    RETURNING lock_key
)
SELECT pg_advisory_lock(%(space)s::int, j.lock_key) FROM j
"""
_TAKE_NEXT: Final = """
WITH next AS (
    SELECT id FROM jobs.jobs WHERE status = 'accepted' AND process_id = ANY(%(served)s)
    ORDER BY created LIMIT 1 FOR UPDATE SKIP LOCKED
)
UPDATE jobs.jobs AS j
SET status = 'running', started = now(), updated = now(), worker = %(worker)s
FROM next WHERE j.id = next.id
RETURNING j.id::text, j.process_id, j.inputs, j.caller_role, j.caller_name,
          j.caller_worker_id, j.caller_key_id, pg_advisory_lock(%(space)s::int, j.lock_key)
"""
_PROGRESS: Final = """
UPDATE jobs.jobs SET progress = %(progress)s, message = %(message)s, updated = now()
WHERE id = %(id)s AND status = 'running' RETURNING 1
"""
_SUCCEEDED: Final = """
UPDATE jobs.jobs SET status = 'successful', outputs = %(body)s::json, progress = 100,
    message = %(message)s, finished = now(), updated = now()
WHERE id = %(id)s AND status = 'running' RETURNING 1
"""
_FAILED: Final = """
UPDATE jobs.jobs SET status = 'failed', failure = %(body)s::json, message = %(message)s,
    finished = now(), updated = now()
WHERE id = %(id)s AND status = 'running' RETURNING 1
"""
_NOW: Final = "SELECT status, message FROM jobs.jobs WHERE id = %(id)s"


@dataclass(frozen=True)
class Task:
    """What the server asks: start job ``job_id`` now (synchronous), or, with no id, take
    the next queued job."""

    job_id: str | None = None
    process_id: str = ""
    inputs: JsonDict = field(default_factory=dict)
    caller: Principal | None = None
    delivery: JsonDict | None = None


@dataclass(frozen=True)
class Started:
    """The job is running here (None: the queue was empty)."""

    job_id: str | None


@dataclass(frozen=True)
class Outcome:
    """How a job ended: ``successful`` with the outputs as JSON, ``failed`` with the
    exception document (``http_status`` is its status), or ``dismissed``."""

    job_id: str
    status: str
    body: bytes
    http_status: int
    message: str = ""


class WorkerContext:
    """The :class:`~services.processes.base.JobContext` a run gets."""

    def __init__(
        self,
        worker: Worker,
        job_id: str | None,
        caller: Principal,
        writes: bool = False,
        sync: bool = False,
    ) -> None:
        self.engine: Engine = worker.owner() if writes else worker.engine
        self._sync = sync
        self.caller = caller
        self.job_id = job_id
        self.settings: Settings = worker.settings
        self._worker = worker
        self._last = 0.0

    def progress(self, percent: int, message: str = "") -> None:
        """Write progress at most every ``ONEMAP_PROCESSES_PROGRESS_INTERVAL`` seconds;
        raise :class:`JobCancelled` when the row is no longer running (dismissed)."""
        if self.job_id is None or self._sync:  # its caller waits for the answer, not the
            return  # percentage; a dismissal kills the worker: a write would only cost a commit
        now = time.monotonic()
        if now - self._last < self._worker.settings.processes.progress_interval:
            return
        self._last = now
        values = {"id": self.job_id, "progress": max(0, min(100, int(percent))),
                  "message": message[:1000]}  # fmt: skip
        if self._worker.control().execute(_PROGRESS, values).fetchone() is None:
            raise JobCancelled(self.job_id)


class Worker:
    """This process's registry, engine and control connection."""

    def __init__(self, settings: Settings) -> None:
        from services.processes.registry import processes  # the definitions, once this
        # module is whole: one of them may import what imports this module

        self.settings = settings
        self.processes = processes(settings.processes)
        url = app_database_url(settings.database)
        self.engine = create_engine(
            url, pool_size=1, max_overflow=4, connect_args={"options": SESSION}
        )
        _, found = self.engine.dialect.create_connect_args(self.engine.url)
        self._connect = {k: v for k, v in found.items() if k != "context"}
        self._connect["options"] = f"{found.get('options', '')} {SESSION}".strip()
        self._control: psycopg.Connection[Any] | None = None
        self._owner: Engine | None = None
        self.label = f"{socket.gethostname()}:{os.getpid()}"

    def owner(self) -> Engine:
        """The owner's engine, for processes that write what the CLI writes
        (``Process.writes``); made at the first such job, one connection kept."""
        if self._owner is None:
            self._owner = create_engine(
                database_url(self.settings.database),
                pool_size=1,
                max_overflow=2,
                connect_args={"options": SESSION},
            )
        return self._owner

    def control(self) -> psycopg.Connection[Any]:
        """The control connection (autocommit), opened again if it was lost."""
        if self._control is None or self._control.closed or self._control.broken:
            self._control = psycopg.connect(**self._connect, autocommit=True)
        return self._control

    def warm(self) -> None:
        """Open both connections and load PostGIS in the run's session, so that the first
        job pays for neither (a failure here is retried by the first job)."""
        try:
            self.control()
            with self.engine.connect() as conn:
                conn.execute(text("SELECT ST_Area(ST_MakeEnvelope(0, 0, 1, 1, 4490)::geography)"))
        except Exception as exc:  # warm-up only: the first job connects again
            log.warning("job worker %s could not warm up: %s", self.label, exc)

    def _who(self) -> str:
        return f"{self.label} (backend {self.control().info.backend_pid})"

    def start(self, task: Task) -> tuple[str, Process | None, JsonDict, Principal, bool] | None:
        """Mark the job running here, its lock held; None when the queue is empty. The
        last member says whether it is a synchronous job (its caller waits on the pipe)."""
        conn = self.control()
        if task.job_id is not None:
            caller = task.caller
            assert caller is not None
            conn.execute(_START_SYNC, {
                "id": task.job_id, "process": task.process_id, "inputs": Jsonb(task.inputs),
                "delivery": Jsonb(task.delivery) if task.delivery is not None else None,
                "role": caller.role, "name": caller.name, "worker_id": caller.worker_id,
                "key_id": caller.key_id, "worker": self._who(), "space": LOCK_SPACE,
            })  # fmt: skip
            return task.job_id, self.processes.get(task.process_id), task.inputs, caller, True
        served = list(self.processes)  # a job of a process served elsewhere only waits
        values = {"worker": self._who(), "space": LOCK_SPACE, "served": served}
        row = conn.execute(_TAKE_NEXT, values).fetchone()
        if row is None:
            return None
        job_id, process_id, inputs, role, name, worker_id, key_id, _ = row
        caller = Principal(role, name, worker_id, key_id)
        return job_id, self.processes.get(process_id), inputs, caller, False

    def run(
        self,
        job_id: str,
        process: Process | None,
        inputs: JsonDict,
        caller: Principal,
        sync: bool = False,
    ) -> Outcome:
        """Run the job and record how it ended."""
        try:
            if process is None:
                raise LookupError("the process is no longer served")
            context = WorkerContext(self, job_id, caller, process.writes, sync)
            outputs = process.run(inputs, context)
            body = json.dumps(outputs, ensure_ascii=False, default=str).encode()
        except JobCancelled:
            return self._now(job_id)
        except Exception as exc:  # every failure is the job's, never the worker's
            status, document = failure_document(exc)
            if status >= 500:
                log.exception("job %s (%s) failed", job_id, process.id if process else "?")
            body = json.dumps(document, ensure_ascii=False).encode()
            return self._finish(_FAILED, job_id, "failed", body, status, document["description"])
        return self._finish(_SUCCEEDED, job_id, "successful", body, 200, "")

    def _finish(
        self, sql: str, job_id: str, status: str, body: bytes, http_status: int, message: str
    ) -> Outcome:
        conn = self.control()
        values = {"id": job_id, "body": body.decode(), "message": message[:1000]}
        written = conn.execute(sql, values).fetchone()
        conn.execute("SELECT pg_advisory_unlock_all()")
        if written is None:  # dismissed (or failed by the server) meanwhile
            return self._now(job_id)
        return Outcome(job_id, status, body, http_status, message)

    def _now(self, job_id: str) -> Outcome:
        """The job as its row says (it was dismissed or failed while it ran)."""
        conn = self.control()
        conn.execute("SELECT pg_advisory_unlock_all()")
        row = conn.execute(_NOW, {"id": job_id}).fetchone()
        status, message = row if row is not None else ("dismissed", "")
        return Outcome(job_id, status, b"", 409, message)


def serve(channel: Connection, settings: Settings, owner: int) -> None:
    """The worker's life: set up, say ready, then one task after another until the server
    closes the pipe (or dies: :func:`_exit_with`). Ctrl-C in a terminal reaches the whole
    process group: the worker leaves it to its server, which fails or finishes its job."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(owner,), daemon=True).start()
    worker = Worker(settings)
    worker.warm()
    if not _send(channel, Started(None)):
        return
    while True:
        try:
            task = channel.recv()
        except (EOFError, OSError):
            return
        try:
            started = worker.start(task)
        except Exception as exc:  # the database is gone, say: the server fails the request
            if not _send(channel, _lost(task.job_id or "", exc)):
                return
            continue
        if started is None:
            if not _send(channel, Started(None)):
                return
            continue
        if not _send(channel, Started(started[0])):
            return
        try:
            outcome = worker.run(*started)
        except Exception as exc:  # its end could not be written: its lock went with the
            outcome = _lost(started[0], exc)  # session, so the reaper fails the row
        if not _send(channel, outcome):
            return


def _send(channel: Connection, message: object) -> bool:
    """Send to the server; False when it has closed the pipe (it stopped, or gave up on
    this worker): the worker then ends quietly, its job's row already written."""
    try:
        channel.send(message)
    except (BrokenPipeError, EOFError, OSError):
        return False
    return True


def _lost(job_id: str, exc: Exception) -> Outcome:
    """The outcome of a job whose row could not be written (the database went away)."""
    status, document = failure_document(exc)
    body = json.dumps(document, ensure_ascii=False).encode()
    return Outcome(job_id, "failed", body, status, document["description"])


def _exit_with(owner: int, every: float = 1.0) -> None:
    """End this worker when ``owner`` is gone (a server killed with SIGKILL): a running job
    is stopped, its lock released, and the reaper fails it."""
    while True:
        time.sleep(every)
        try:
            os.kill(owner, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:  # alive, as another user (pid reused): keep watching
            pass
