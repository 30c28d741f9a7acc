"""The server's side of the job rows: queue, read, list, dismiss, fail, reap.

Statements run on a small async pool of the server's role, on the event loop. The worker's
side (take a queued job, progress, outputs) is in services/processes/worker.py.

The reaper is one statement: a running job whose advisory lock (models.LOCK_SPACE,
``lock_key``) it can take has no worker any more, since a worker takes that lock in the very
statement that marks its job running and holds it until the job's end is written; such a
job is failed with :data:`~services.processes.failures.WORKER_STOPPED`. Rows are taken
``FOR UPDATE SKIP LOCKED``, so a job whose end is being written is left alone.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any, Final, NamedTuple

from psycopg.types.json import Json, Jsonb

from services.auth.keys import Principal
from services.ogcapi.pool import AsyncPool
from services.processes.failures import WORKER_STOPPED, document
from services.processes.models import LOCK_SPACE

_QUEUE: Final = """
INSERT INTO jobs.jobs (process_id, mode, inputs, delivery, caller_role, caller_name,
                       caller_worker_id, caller_key_id)
VALUES (%(process)s, 'async', %(inputs)s, %(delivery)s, %(role)s, %(name)s, %(worker_id)s,
        %(key_id)s)
RETURNING id::text, process_id, status, mode, message, progress, caller_role, caller_name,
       caller_worker_id, caller_key_id, created, started, finished, updated
"""
_GET: Final = """
SELECT id::text, process_id, status, mode, message, progress, caller_role, caller_name,
       caller_worker_id, caller_key_id, created, started, finished, updated
FROM jobs.jobs WHERE id = %(id)s
"""
_LIST: Final = """
SELECT id::text, process_id, status, mode, message, progress, caller_role, caller_name,
       caller_worker_id, caller_key_id, created, started, finished, updated
FROM jobs.jobs
WHERE (%(everyone)s OR caller_key_id = %(key_id)s)
  AND (%(process)s::text IS NULL OR process_id = %(process)s)
  AND (%(statuses)s::text[] IS NULL OR status = ANY(%(statuses)s))
ORDER BY created DESC, id
LIMIT %(limit)s OFFSET %(offset)s
"""
_RESULTS: Final = """
SELECT status, outputs::text, failure::text, message, delivery FROM jobs.jobs WHERE id = %(id)s
"""
_DISMISS: Final = """
WITH before AS (SELECT id, status FROM jobs.jobs WHERE id = %(id)s FOR UPDATE)
UPDATE jobs.jobs AS j
SET status = 'dismissed', message = %(message)s, outputs = NULL, failure = NULL,
    finished = coalesce(j.finished, now()), updated = now()
FROM before WHERE j.id = before.id AND before.status <> 'dismissed'
RETURNING before.status
"""
_FAIL: Final = """
UPDATE jobs.jobs SET status = 'failed', failure = %(failure)s, message = %(message)s,
    finished = coalesce(finished, now()), updated = now()
WHERE id = %(id)s AND (status = 'running' OR (status = 'failed' AND message = %(reaped)s))
RETURNING 1
"""
"""A running job failed by its server; also a job the reaper got to first (its lock went
with the dead worker's session), whose bare message the server, which saw the worker's
exit status, makes precise."""
_REAP: Final = """
WITH running AS MATERIALIZED (
    SELECT id, lock_key FROM jobs.jobs WHERE status = 'running' FOR UPDATE SKIP LOCKED
), orphaned AS MATERIALIZED (
    SELECT id FROM running WHERE pg_try_advisory_xact_lock(%(space)s::int, lock_key)
)
UPDATE jobs.jobs AS j
SET status = 'failed', failure = %(failure)s, message = %(message)s, finished = now(),
    updated = now()
FROM orphaned WHERE j.id = orphaned.id
RETURNING j.id::text
"""
_FORGET: Final = """
DELETE FROM jobs.jobs
WHERE status IN ('successful', 'failed', 'dismissed')
  AND finished < now() - make_interval(secs => %(seconds)s)
"""
_QUEUED: Final = "SELECT EXISTS (SELECT 1 FROM jobs.jobs WHERE status = 'accepted')"
_DISMISSED: Final = """
SELECT id::text FROM jobs.jobs WHERE id = ANY(%(ids)s::uuid[]) AND status = 'dismissed'
"""


class JobRecord(NamedTuple):
    """A job as its status document shows it."""

    id: str
    process_id: str
    status: str
    mode: str
    message: str
    progress: int
    caller_role: str
    caller_name: str
    caller_worker_id: int | None
    caller_key_id: int | None
    created: dt.datetime
    started: dt.datetime | None
    finished: dt.datetime | None
    updated: dt.datetime

    def visible_to(self, caller: Principal) -> bool:
        """Its caller's (the same key), an admin's; an anonymous job, anyone holding its id
        (the id is the only handle: a random UUID)."""
        if caller.role == "admin":
            return True
        if self.caller_key_id is not None:
            return self.caller_key_id == caller.key_id
        return self.caller_role == caller.role and self.caller_name == caller.name


class Results(NamedTuple):
    """A job's end: its outputs (JSON text) or failure (the exception document as JSON
    text), and what the request asked the results to be (``delivery``, models.Job)."""

    status: str
    outputs: str | None
    failure: str | None
    message: str
    delivery: dict[str, Any] | None


class JobStore:
    """Job rows through ``pool``."""

    def __init__(self, pool: AsyncPool) -> None:
        self.pool = pool

    async def _one(self, sql: str, values: Mapping[str, object]) -> tuple[Any, ...] | None:
        return await self.pool.fetchone(sql, values)

    async def queue(
        self,
        process_id: str,
        inputs: Mapping[str, Any],
        delivery: Mapping[str, Any] | None,
        caller: Principal,
    ) -> JobRecord:
        row = await self._one(_QUEUE, {
            "process": process_id, "inputs": Jsonb(dict(inputs)),
            "delivery": Jsonb(dict(delivery)) if delivery is not None else None,
            "role": caller.role,
            "name": caller.name, "worker_id": caller.worker_id, "key_id": caller.key_id,
        })  # fmt: skip
        assert row is not None
        return JobRecord(*row)

    async def get(self, job_id: str) -> JobRecord | None:
        row = await self._one(_GET, {"id": job_id})
        return JobRecord(*row) if row is not None else None

    async def page(
        self,
        caller: Principal,
        limit: int,
        offset: int,
        process_id: str | None = None,
        statuses: list[str] | None = None,
    ) -> list[JobRecord]:
        """The caller's jobs (an admin's: everyone's), newest first; none for anonymous
        callers, whose jobs are known by id only."""
        if caller.role != "admin" and caller.key_id is None:
            return []
        values = {"everyone": caller.role == "admin", "key_id": caller.key_id,
                  "process": process_id, "statuses": statuses, "limit": limit,
                  "offset": offset}  # fmt: skip
        async with self.pool.connection() as conn:
            cursor = await conn.execute(_LIST, values)
            return [JobRecord(*row) for row in await cursor.fetchall()]

    async def results(self, job_id: str) -> Results | None:
        row = await self._one(_RESULTS, {"id": job_id})
        return Results(*row) if row is not None else None

    async def dismiss(self, job_id: str, message: str) -> str | None:
        """Dismiss a job: a queued one will not run, a running one is to be stopped, a
        finished one's results are removed. Its status before (None: already dismissed)."""
        row = await self._one(_DISMISS, {"id": job_id, "message": message})
        return str(row[0]) if row is not None else None

    async def fail(self, job_id: str, status: int, message: str) -> bool:
        """Fail a running job (its worker died or ran out of time), or say precisely why a
        job the reaper failed first did; whether it was."""
        failure = Json(document(status, message))
        values = {"id": job_id, "failure": failure, "message": message, "reaped": WORKER_STOPPED}
        row = await self._one(_FAIL, values)
        return row is not None

    async def reap(self, keep: dt.timedelta) -> list[str]:
        """Fail the running jobs whose worker is gone; forget finished jobs older than
        ``keep``. The ids of the jobs failed."""
        failure = Json(document(500, WORKER_STOPPED))
        async with self.pool.connection() as conn:
            async with conn.transaction():
                values = {"failure": failure, "message": WORKER_STOPPED, "space": LOCK_SPACE}
                cursor = await conn.execute(_REAP, values)
                failed = [str(row[0]) for row in await cursor.fetchall()]
            await conn.execute(_FORGET, {"seconds": keep.total_seconds()})
        return failed

    async def has_queued(self) -> bool:
        row = await self._one(_QUEUED, {})
        return bool(row and row[0])

    async def dismissed(self, job_ids: list[str]) -> set[str]:
        """Which of ``job_ids`` were dismissed (a job that just succeeded or failed is its
        worker's to report, never a reason to kill it)."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(_DISMISSED, {"ids": job_ids})
            return {str(row[0]) for row in await cursor.fetchall()}


def outputs_of(results: Results) -> dict[str, Any]:
    """The outputs of a successful job (parsed: for ``raw`` and selected outputs)."""
    found = json.loads(results.outputs or "{}")
    assert isinstance(found, dict)
    return found
