"""The ``auth`` schema: API keys, stored only as a keyed hash (migration 0008)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Identity, Text, text
from sqlalchemy.dialects.postgresql import BYTEA
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from gis.dbmodel import schema_metadata
from grid.models import Worker

ROLES = ("planner", "grid_worker", "admin")
"""Roles a key can carry; a request without a key is ``public``."""


class AuthBase(DeclarativeBase):
    metadata = schema_metadata("auth")


class ApiKey(AuthBase):
    """One API key: who holds it, its role, and when it stops working.

    The key itself is never stored: ``key_hash`` is an HMAC of it under a key derived from the
    platform secret, so a copy of the database lets nobody call the API. ``prefix`` (the
    first characters of the key) names a key in listings and logs without revealing it.
    A grid worker's key is bound to its ``grid.workers`` row, and so to that worker's cells.
    """

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(f"role IN {ROLES!r}", name="role"),
        CheckConstraint("(role = 'grid_worker') = (worker_id IS NOT NULL)", name="worker"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    worker_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey(Worker.id, ondelete="CASCADE"), index=True
    )
    prefix: Mapped[str] = mapped_column(Text)
    key_hash: Mapped[bytes] = mapped_column(BYTEA, unique=True)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


METADATA = [AuthBase.metadata]
