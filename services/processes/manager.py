"""The job manager of one server process: executions, the queue, dismissal, the reaper.

* A synchronous execution takes an idle worker (waiting in line for one), which records the
  job as running, runs it and answers; the request awaits that answer on the event loop.
* An asynchronous execution is a row (``accepted``) and a wake-up; whenever a worker of any
  server process is idle it takes the oldest queued row (``FOR UPDATE SKIP LOCKED``), so
  jobs queued by a server that died are run by the others, or by it once restarted.
* Dismissing a queued job is a row update; a running one's worker is killed, by this server
  at once or, when another server runs it, by that server's watch of its running jobs
  (every :data:`WATCH_S`), and replaced by a fresh one.
* Every ``ONEMAP_PROCESSES_REAP_INTERVAL`` seconds (and at start) the reaper fails running
  jobs whose worker is gone and forgets old finished ones (services/processes/store.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import uuid
from collections.abc import Coroutine, Mapping
from typing import Any, Final

from sqlalchemy import Engine

from services.auth.keys import Principal
from services.ogcapi.pool import AsyncPool, connect_kwargs
from services.processes.base import Process
from services.processes.execution import ExecuteRequest, delivery
from services.processes.failures import WORKER_STOPPED, document
from services.processes.pool import PoolClosedError, Slot, WorkerDiedError, WorkerPool
from services.processes.registry import processes
from services.processes.store import JobRecord, JobStore
from services.processes.worker import Outcome, Started, Task
from services.settings import Settings

log = logging.getLogger("onemap.processes")

WATCH_S: Final = 0.5
"""How often a server looks whether its running jobs were dismissed elsewhere."""
SESSION: Final = "-c timezone=UTC -c statement_timeout=10000 -c application_name=onemap-jobs"
SERVER_STOPPED: Final = "the server stopped while it ran"


class ProcessManager:
    """Processes, jobs and the worker pool of one server process."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.config = settings.processes
        self.engine = engine
        """The server's engine (its role): the processes' :attr:`Process.authorise`."""
        self.processes: Mapping[str, Process] = processes(self.config)
        self.store = JobStore(AsyncPool(connect_kwargs(engine, SESSION), 2))
        self.pool = WorkerPool(settings)
        self._wake = asyncio.Event()
        self._maybe_queued = True
        """Whether queued jobs may be waiting (a freed worker then looks at once); the
        periodic look happens whatever it says."""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loops: list[asyncio.Task[None]] = []

    # --- life -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the reaper, the queue and the watch, and the workers in the background (so
        the first execution finds them warm; if they cannot start now, the first execution
        tries again)."""
        self._loops = [
            asyncio.create_task(self._every(self.config.reap_interval, self._reap)),
            asyncio.create_task(self._drain()),
            asyncio.create_task(self._every(WATCH_S, self._watch)),
        ]
        self._spawn(self._prestart())

    async def _prestart(self) -> None:
        try:
            await self.pool.ensure_started()
        except Exception as exc:
            log.warning("jobs: the workers could not start yet: %s", exc)

    async def close(self) -> None:
        """Fail the jobs still running here, stop the workers and the loops."""
        for loop in self._loops:
            loop.cancel()
        for job_id in list(self.pool.running()):
            with contextlib.suppress(Exception):
                await self.store.fail(job_id, 500, SERVER_STOPPED)
        await self.pool.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._loops, *self._tasks, return_exceptions=True)
        await self.store.pool.close()

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _every(self, seconds: float, work: Any) -> None:
        while True:
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is down, say: try again next time
                log.warning("jobs: %s failed: %s", work.__name__, exc)
            await asyncio.sleep(seconds)

    # --- executing ------------------------------------------------------------------------

    async def execute(
        self, process: Process, request: ExecuteRequest, caller: Principal
    ) -> Outcome:
        """Run ``process`` now on a worker and return how it ended (the job is recorded)."""
        slot = await self.pool.acquire()
        kept = delivery(request, process)
        task = Task(str(uuid.uuid4()), process.id, request.inputs, caller, kept)
        # shielded: a request that goes away leaves the job to end and its worker released
        return await asyncio.shield(self._spawn(self._run(slot, task)))

    async def queue(
        self, process: Process, request: ExecuteRequest, caller: Principal
    ) -> JobRecord:
        """Queue ``process`` as a job (201: the caller follows its status)."""
        kept = delivery(request, process)
        record = await self.store.queue(process.id, request.inputs, kept, caller)
        self._maybe_queued = True
        self._wake.set()
        return record

    async def _run(self, slot: Slot, task: Task) -> Outcome:
        """Hand ``task`` to ``slot`` and see it to its end; the slot is released (or
        replaced, if its worker died) whatever happens."""
        try:
            try:
                started = await self.pool.start(slot, task)
            except WorkerDiedError:
                await self._replace(slot)
                return _stopped(task.job_id or "", WORKER_STOPPED)
            if isinstance(started, Outcome):
                self.pool.release(slot)
                return started
            assert started.job_id is not None
            return await self._finish(slot, started.job_id)
        except BaseException:
            await self._replace(slot)  # in an unknown state: a fresh one
            raise

    async def _finish(self, slot: Slot, job_id: str) -> Outcome:
        """Await the end of the job ``slot`` runs; release the slot, or replace it if its
        worker died, was killed or cannot be trusted (an error here)."""
        try:
            outcome = await self._outcome(slot, job_id)
        except BaseException:
            await self._replace(slot)
            raise
        if slot.stopping is not None:  # killed as it answered: a fresh one
            await self._replace(slot)
        elif slot in self.pool.slots:
            self.pool.release(slot)
        if self._maybe_queued:
            self._wake.set()
        return outcome

    async def _outcome(self, slot: Slot, job_id: str) -> Outcome:
        limit = self.config.max_job_seconds
        try:
            return await asyncio.wait_for(self.pool.outcome(slot), limit)
        except TimeoutError:
            message = f"the job ran longer than {limit:g} s (ONEMAP_PROCESSES_MAX_JOB_SECONDS)"
            await self.store.fail(job_id, 500, message)
            self.pool.kill(slot, message)
            await self._replace(slot)
            return _stopped(job_id, message)
        except WorkerDiedError:
            reason = slot.stopping
            if reason is None:
                await asyncio.to_thread(slot.process.join, 2)  # its exit status, to tell
                reason = f"{WORKER_STOPPED} ({slot.describe_death()})"
                slot.stopping = reason
                await self.store.fail(job_id, 500, reason)
                log.warning("job %s: %s", job_id, reason)
            await self._replace(slot)
            return _stopped(job_id, reason, dismissed=reason == "dismissed")

    async def _replace(self, slot: Slot) -> None:
        try:
            await self.pool.replace(slot)
        except (RuntimeError, PoolClosedError) as exc:
            log.warning("jobs: a worker could not be replaced: %s", exc)
        self._wake.set()

    # --- the queue ------------------------------------------------------------------------

    async def _drain(self) -> None:
        """Give queued jobs to idle workers: on a wake-up (a job queued here, a worker
        freed) and every reap interval (jobs queued by other servers)."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.config.reap_interval)
            self._wake.clear()
            try:
                await self._take_queued()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("jobs: the queue could not be read: %s", exc)

    async def _take_queued(self) -> None:
        if not self.pool.started:
            if not await self.store.has_queued():
                return
            await self.pool.ensure_started()
        while (slot := self.pool.try_acquire()) is not None:
            try:
                started = await self.pool.start(slot, Task())
            except WorkerDiedError:
                await self._replace(slot)
                continue
            if not isinstance(started, Started) or started.job_id is None:
                self.pool.release(slot)
                self._maybe_queued = not isinstance(started, Started)  # empty, or unknown
                return
            self._maybe_queued = True
            self._spawn(self._finish(slot, started.job_id))

    # --- dismissal, the watch and the reaper -----------------------------------------------

    async def dismiss(self, job_id: str, caller: Principal) -> str | None:
        """Dismiss a job (store.JobStore.dismiss), killing its worker if it runs here;
        its status before (None: it was dismissed already)."""
        was = await self.store.dismiss(job_id, f"dismissed by {caller.label}")
        if was == "running":
            slot = self.pool.running().get(job_id)
            if slot is not None:
                self.pool.kill(slot, "dismissed")
        return was

    async def _watch(self) -> None:
        """Kill the workers of jobs that stopped running elsewhere (dismissed by another
        server process)."""
        running = self.pool.running()
        if not running:
            return
        for job_id in await self.store.dismissed(list(running)):
            slot = running[job_id]
            if slot.job_id == job_id and slot.stopping is None:
                self.pool.kill(slot, "dismissed")

    async def _reap(self) -> None:
        keep = dt.timedelta(days=self.config.keep_days)
        for job_id in await self.store.reap(keep):
            log.warning("job %s: %s", job_id, WORKER_STOPPED)


def _stopped(job_id: str, message: str, *, dismissed: bool = False) -> Outcome:
    """The outcome of a job whose worker the server killed or lost."""
    if dismissed:
        return Outcome(job_id, "dismissed", b"", 409, message)
    body = json.dumps(document(500, message), ensure_ascii=False).encode()
    return Outcome(job_id, "failed", body, 500, message)
