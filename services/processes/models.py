"""The ``jobs`` schema: one row per execution of a process (migration 0013).

The row is the job: the queue (``accepted`` rows, taken with ``FOR UPDATE SKIP LOCKED`` by
any server process), its state while it runs, and its outputs. A running job's worker holds
a session-level advisory lock on (:data:`LOCK_SPACE`, ``lock_key``); a job marked running
whose lock nobody holds has lost its worker (services/processes/store.py fails it).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Identity,
    Index,
    Integer,
    SmallInteger,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSON, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from gis.dbmodel import schema_metadata

STATUSES: Final = ("accepted", "running", "successful", "failed", "dismissed")
"""OGC API – Processes' job statuses."""
FINISHED: Final = ("successful", "failed", "dismissed")
LOCK_SPACE: Final = 0x6A6F6273
"""First key of the two-key advisory locks of running jobs ('jobs'): the two-key locks
never meet the one-key ones (gis/pgroles.py)."""


class JobsBase(DeclarativeBase):
    metadata = schema_metadata("jobs")


class Job(JobsBase):
    """One execution of a process, synchronous or queued."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(f"status IN {STATUSES!r}", name="status"),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress"),
        CheckConstraint("mode IN ('sync', 'async')", name="mode"),
        Index("ix_jobs_queue", "created", postgresql_where=text("status = 'accepted'")),
        Index("ix_jobs_running", "lock_key", postgresql_where=text("status = 'running'")),
        Index("ix_jobs_caller", "caller_key_id", "created"),
        Index("ix_jobs_created", "created"),
        Index("ix_jobs_finished", "finished"),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )
    process_id: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default=text("'accepted'"))
    mode: Mapped[str] = mapped_column(Text)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONB)
    delivery: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    """What the results answer with, when the request chose: ``{"outputs": [ids],
    "response": "document" | "raw"}`` (null: every output, as a document)."""
    outputs: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The outputs by id, once successful (all of them), as the worker wrote them: ``json``,
    not ``jsonb``, so the results are the synchronous answer's very text (key order kept),
    and a large document is stored without being taken apart (≈3x faster)."""
    failure: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The exception document of a failed job (its ``status`` is the HTTP status)."""
    message: Mapped[str] = mapped_column(Text, server_default=text("''"))
    progress: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    caller_role: Mapped[str] = mapped_column(Text)
    caller_name: Mapped[str] = mapped_column(Text)
    caller_worker_id: Mapped[int | None] = mapped_column(BigInteger)
    caller_key_id: Mapped[int | None] = mapped_column(BigInteger)
    created: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    started: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    updated: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    worker: Mapped[str | None] = mapped_column(Text)
    """The worker process running it: host, process id and database backend."""
    lock_key: Mapped[int] = mapped_column(Integer, Identity(cycle=True))


METADATA = [JobsBase.metadata]
