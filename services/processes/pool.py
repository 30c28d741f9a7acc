"""The worker processes of one server process: started once, handed one task at a time,
killed to stop a job, replaced when they die.

Not a ``ProcessPoolExecutor``: stopping one job means killing its worker, and an executor
whose worker is killed breaks for every job. Each worker here has a pipe of its own; the
event loop watches the pipe's descriptor (``add_reader``), so waiting for a job costs no
thread. Workers start from a ``forkserver`` with the worker module and the process
definitions preloaded: a replaced worker is a fork of a warm interpreter, never a fork of
the server (its event loop, threads and sockets). The manager starts them in the background
when the server starts (services/processes/manager.py).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Final

from services.processes import registry
from services.processes.worker import Outcome, Started, Task, serve
from services.settings import Settings

JOIN_S: Final = 5.0


class WorkerDiedError(Exception):
    """A worker's pipe closed: the process died (killed, crashed, out of memory)."""


class PoolClosedError(RuntimeError):
    """The pool is closed (the server is stopping)."""


@dataclass(eq=False)
class Slot:
    """One worker process, and the job it runs now."""

    process: BaseProcess
    channel: Connection
    job_id: str | None = None
    stopping: str | None = None
    """Why the server killed it (a dismissal, a time limit, shutdown), if it did."""

    def describe_death(self) -> str:
        code = self.process.exitcode
        if code is not None and code < 0:
            return f"signal {-code}"
        return f"exit code {code}" if code is not None else "pipe closed"


class WorkerPool:
    """At most ``ONEMAP_PROCESSES_WORKERS`` workers; tasks wait for an idle one in order."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.size = settings.processes.workers
        self.slots: set[Slot] = set()
        self._idle: deque[Slot] = deque()
        self._waiters: deque[asyncio.Future[Slot]] = deque()
        self._starting: asyncio.Task[None] | None = None
        self.closed = False

    @property
    def started(self) -> bool:
        return self._starting is not None and self._starting.done()

    async def ensure_started(self) -> None:
        """Start the workers (once; concurrent callers wait for the same start)."""
        if self.closed:
            raise PoolClosedError("the server is stopping")
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._start())
        try:
            await asyncio.shield(self._starting)
        except Exception:
            self._starting = None  # the next request tries again
            raise

    async def _start(self) -> None:
        made = await asyncio.gather(*(self._new_slot() for _ in range(self.size)))
        for slot in made:
            self.slots.add(slot)
            self.release(slot)

    async def _new_slot(self) -> Slot:
        slot = await asyncio.to_thread(self._spawn)
        try:
            await receive(slot.channel)  # ready
        except WorkerDiedError:
            await asyncio.to_thread(slot.process.join, JOIN_S)
            raise RuntimeError(
                f"a job worker died while starting ({slot.describe_death()})"
            ) from None
        return slot

    def _spawn(self) -> Slot:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__, *registry.modules(self.settings.processes)])
        ours, theirs = context.Pipe()
        process = context.Process(
            target=serve, args=(theirs, self.settings, os.getpid()), daemon=True,
            name="onemap-job-worker",
        )  # fmt: skip
        process.start()
        theirs.close()
        return Slot(process, ours)

    # --- handing out ----------------------------------------------------------------------

    async def acquire(self) -> Slot:
        """An idle worker, waiting for one in arrival order."""
        await self.ensure_started()
        slot = self.try_acquire()
        if slot is not None:
            return slot
        waiter: asyncio.Future[Slot] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release(waiter.result())
            raise

    def try_acquire(self) -> Slot | None:
        """An idle worker if one is free and nobody waits for it; else None."""
        if self._idle and not self._waiters:
            return self._idle.popleft()
        return None

    def release(self, slot: Slot) -> None:
        """Give ``slot`` to the first waiter, or keep it idle."""
        slot.job_id = None
        if self.closed:
            slot.channel.close()
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(slot)
                return
        self._idle.append(slot)

    @property
    def idle(self) -> int:
        return len(self._idle)

    # --- talking to a worker --------------------------------------------------------------

    async def start(self, slot: Slot, task: Task) -> Started | Outcome:
        """Send ``task``; the worker's first answer (an Outcome when it could not start)."""
        slot.channel.send(task)
        answer = await receive(slot.channel)
        if isinstance(answer, Started):
            slot.job_id = answer.job_id
        assert isinstance(answer, Started | Outcome)
        return answer

    async def outcome(self, slot: Slot) -> Outcome:
        answer = await receive(slot.channel)
        assert isinstance(answer, Outcome)
        return answer

    def running(self) -> dict[str, Slot]:
        """The workers running a job, by job id."""
        return {s.job_id: s for s in self.slots if s.job_id is not None}

    def kill(self, slot: Slot, reason: str) -> None:
        """Stop ``slot``'s job the hard way: its process, sessions and transaction go."""
        slot.stopping = reason
        slot.process.kill()

    async def replace(self, slot: Slot) -> None:
        """Put a new worker in place of ``slot``, which died or was killed (once: a slot
        already replaced is left alone)."""
        if slot not in self.slots:
            return
        self.slots.discard(slot)
        if slot in self._idle:
            self._idle.remove(slot)
        slot.channel.close()
        slot.process.kill()
        await asyncio.to_thread(slot.process.join, JOIN_S)
        if self.closed:
            return
        try:
            fresh = await self._new_slot()
        except RuntimeError:
            if not self.slots:
                self._starting = None  # none left: the next request starts the pool again
            raise
        if self.closed:
            fresh.channel.close()
            return
        self.slots.add(fresh)
        self.release(fresh)

    async def close(self) -> None:
        """Stop every worker (running jobs are killed: the caller fails them first)."""
        self.closed = True
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(PoolClosedError("the server is stopping"))
        self._waiters.clear()
        for slot in list(self.slots):
            slot.channel.close()
            if slot.job_id is not None:
                slot.process.kill()
        self._idle.clear()
        await asyncio.to_thread(_join_all, [s.process for s in self.slots])
        self.slots.clear()


def _join_all(processes: list[BaseProcess]) -> None:
    for process in processes:
        process.join(JOIN_S)
        if process.is_alive():
            process.kill()
            process.join(JOIN_S)


async def receive(channel: Connection) -> Any:
    """The next message on ``channel``, awaited on the event loop (no thread)."""
    if not channel.poll():
        loop = asyncio.get_running_loop()
        readable: asyncio.Future[None] = loop.create_future()
        fd = channel.fileno()

        def ready() -> None:
            if not readable.done():
                readable.set_result(None)

        loop.add_reader(fd, ready)
        try:
            await readable
        finally:
            loop.remove_reader(fd)
    try:
        return channel.recv()
    except (EOFError, OSError) as exc:
        raise WorkerDiedError(str(exc)) from None
