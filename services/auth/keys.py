"""API keys: made once and shown once, kept only as a keyed hash, looked up by that hash.

A key is ``lyg_`` and 43 URL-safe characters (256 random bits). Its hash is an HMAC-SHA256
under the platform's lookup key (:class:`grid.privacy.Keyring`) with a purpose prefix, so it
cannot be matched against hashes of other data, and a stolen database does not open the API.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import asdict, dataclass
from typing import Final

from sqlalchemy import Connection, func, insert, select, update

from grid.edits import Actor
from grid.errors import GridError, NotFoundError
from grid.models import Worker
from grid.privacy import Keyring
from services.auth.models import ROLES, ApiKey

KEY_PREFIX: Final = "lyg_"
SHOWN_CHARS: Final = 12
"""Characters of a key kept in the clear (``prefix``) to tell keys apart in listings."""
_PURPOSE: Final = b"onemap/api-key/v1:"


class ApiKeyError(GridError):
    """A key cannot be made as asked (unknown role, a worker missing or not wanted); a 400."""


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: the key's role, name and worker (``public``: no key)."""

    role: str
    name: str
    worker_id: int | None = None
    key_id: int | None = None

    @property
    def label(self) -> str:
        """How edits and logs name the caller (``updated_by``, ``changed_by``, the access
        log): the key's holder, and the worker, as the CLI names its editors."""
        return self.actor.label

    @property
    def actor(self) -> Actor:
        """The editor grid/edits.py records: the key's holder, limited to their cells if a
        grid worker."""
        return Actor(self.name, self.worker_id if self.role == "grid_worker" else None)


PUBLIC: Final = Principal(role="public", name="anonymous")


@dataclass(frozen=True)
class KeyInfo:
    """A key as listings show it: never the key, only its prefix."""

    id: int
    name: str
    role: str
    worker_id: int | None
    prefix: str
    created_by: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None

    def as_dict(self, now: dt.datetime) -> dict[str, object]:
        """As listings print it (JSON-ready: times as ISO text), with its state at ``now``."""
        fields = {
            k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in asdict(self).items()
        }
        return {**fields, "state": self.state(now)}

    def state(self, now: dt.datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


def key_hash(keyring: Keyring, key: str) -> bytes:
    """The stored form of ``key``."""
    return hmac.new(keyring.mac_key, _PURPOSE + key.encode(), hashlib.sha256).digest()


def create_key(
    conn: Connection,
    keyring: Keyring,
    *,
    role: str,
    name: str,
    created_by: str,
    worker_id: int | None = None,
    expires_at: dt.datetime | None = None,
) -> tuple[str, KeyInfo]:
    """A new key (returned once, in the clear) and its stored record."""
    if role not in ROLES:
        raise ApiKeyError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if (role == "grid_worker") != (worker_id is not None):
        raise ApiKeyError("a grid_worker key names its worker (--worker), other roles none")
    if (
        worker_id is not None
        and conn.scalar(select(Worker.id).where(Worker.id == worker_id)) is None
    ):
        raise NotFoundError(f"no grid worker with id {worker_id}")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = conn.execute(
        insert(ApiKey)
        .values(name=name, role=role, worker_id=worker_id, prefix=key[:SHOWN_CHARS],
                key_hash=key_hash(keyring, key), created_by=created_by, expires_at=expires_at)
        .returning(*ApiKey.__table__.c)
    ).one()  # fmt: skip
    return key, _info(row)


def list_keys(conn: Connection) -> list[KeyInfo]:
    return [_info(r) for r in conn.execute(select(*ApiKey.__table__.c).order_by(ApiKey.id))]


def revoke_key(conn: Connection, key_id: int) -> KeyInfo:
    """Revoke a key by id (idempotent: an already revoked key keeps its first date)."""
    row = conn.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id)
        .values(revoked_at=func.coalesce(ApiKey.revoked_at, func.now()))
        .returning(*ApiKey.__table__.c)
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"no API key with id {key_id}")
    return _info(row)


@dataclass(frozen=True)
class Verdict:
    """What a presented key is worth: a principal, or why not (unknown, expired, revoked)."""

    principal: Principal | None
    problem: str = ""


MALFORMED: Final = Verdict(None, "not an API key of this platform")


def well_formed(key: str) -> bool:
    """Whether ``key`` could be one of ours (checked before hashing, caching or asking)."""
    return key.startswith(KEY_PREFIX) and len(key) <= 200


def check_key(conn: Connection, digest: bytes, now: dt.datetime) -> Verdict:
    """Look a presented key up by its hash (:func:`key_hash`)."""
    row = conn.execute(select(*ApiKey.__table__.c).where(ApiKey.key_hash == digest)).one_or_none()
    if row is None:
        return Verdict(None, "unknown API key")
    info = _info(row)
    state = info.state(now)
    if state != "active":
        return Verdict(None, f"API key {info.prefix}… is {state}")
    return Verdict(Principal(info.role, info.name, info.worker_id, info.id))


def _info(row: object) -> KeyInfo:
    return KeyInfo(**{f: getattr(row, f) for f in KeyInfo.__dataclass_fields__})
