"""What a process is: its description (inputs and outputs as JSON schemas), who may run it,
and the function that runs it in a worker process.

A process is a thin adapter over the domain function the CLI calls: :attr:`Process.run`
receives the inputs already checked against their schemas (plus the process's own
:attr:`Process.check`, which runs on the server before anything is queued, so bad input is a
400 and nothing is written) and a :class:`JobContext`; it returns the outputs as a JSON-ready
dict keyed by output id. It runs in a worker process, never on the event loop, and may be
killed at any moment: whatever it writes it writes in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from services.auth.keys import Principal
    from services.settings import Settings

JsonDict = dict[str, Any]


class ProcessInputError(ValueError):
    """An input a process cannot use (answered 400 with this message, nothing written)."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"input {name!r}: {problem}")
        self.input = name


class ProcessForbiddenError(PermissionError):
    """The caller may run the process, but not on these inputs (a grid worker's community
    other than their own): answered 403, nothing queued."""


class JobCancelled(Exception):  # noqa: N818 - the contract's name, used by every run
    """Raised inside a run when its job was dismissed (:meth:`JobContext.progress` checks)."""


class JobContext(Protocol):
    """What a run gets from the worker process running it."""

    engine: Engine
    """The database (the worker's own engine; open a transaction for anything written)."""
    caller: Principal
    """Who asked (role, name, worker id): for rights the run itself enforces (scoping)."""
    job_id: str | None
    """The job's id (None when run synchronously without a job record)."""
    settings: Settings
    """The platform's settings, as the server that queued the job was started with."""

    def progress(self, percent: int, message: str = "") -> None:
        """Record progress (0-100) and raise :class:`JobCancelled` if the job was dismissed."""


@dataclass(frozen=True)
class Port:
    """One input or output: its JSON schema and its description in the process document."""

    title: str
    schema: JsonDict
    description: str = ""
    min_occurs: int = 1
    max_occurs: int = 1
    keywords: tuple[str, ...] = ()
    qualified: bool = False
    """Whether the run receives a qualified value whole (``{"value", "mediaType",
    "encoding"}``: a file, whose media type matters) rather than the bare value; the schema
    checks the ``value`` either way."""


@dataclass(frozen=True)
class Process:
    """A process as the API lists, describes, authorises and runs it."""

    id: str
    title: str
    description: str
    inputs: Mapping[str, Port]
    outputs: Mapping[str, Port]
    run: Callable[[JsonDict, JobContext], JsonDict]
    """Module-level function (it is pickled by reference into the worker process)."""
    allowed: Callable[[Principal], bool]
    """Whether a caller may execute it (and see its jobs); refused callers get 403, or 404
    for the description when they may not even know it exists (anonymous)."""
    check: Callable[[JsonDict, Principal], None] | None = None
    """Cheap checks on the server before queueing (raise :class:`ProcessInputError`)."""
    authorise: Callable[[Connection, JsonDict, Principal], None] | None = None
    """Refusals that need the database (a grid worker's own community), run on the server
    after :attr:`check` and before queueing, as the server's role (raise
    :class:`ProcessForbiddenError`, or :class:`ProcessInputError` for an unknown value)."""
    version: str = "1.0.0"
    sync: bool = True
    """Whether it runs synchronously when the client states no preference (quick ones)."""
    writes: bool = False
    """Whether the run writes what the CLI writes as the database owner (a stored site
    check, a conflict run and its work tables, a plan import): its ``ctx.engine`` is then
    the owner's, as the CLI's is; otherwise the server's role, which may only read plans.
    The HTTP-serving process itself never connects as the owner."""
    example: JsonDict = field(default_factory=dict)
    """An execute request body that works on the sample city."""
    keywords: tuple[str, ...] = ()
