"""Personal data at rest: citizen IDs and phones are stored encrypted, hashed and masked.

* ``*_enc``: AES-256-GCM of the value (random nonce, so equal values differ on disk);
* ``*_hash``: HMAC-SHA256 of the normalised value, for exact lookup without decrypting;
* ``*_masked``: the form every ordinary read shows (``320706********123X``, ``138****1234``).

Both keys are derived from one secret (``ONEMAP_SECRET_KEY`` or the key file) with HKDF, so
the encryption key and the lookup key are independent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Connection, text

from grid.errors import GridError, NotFoundError, ReasonRequiredError
from grid.settings import PrivacySettings

_NONCE_BYTES = 12


class SecretKeyError(GridError):
    """The secret key is missing or unusable."""


class Protected(NamedTuple):
    """The three stored forms of one personal value."""

    enc: bytes
    hash: bytes
    masked: str


def generate_key_file(path: Path) -> bool:
    """Write a new random secret to ``path`` with mode 0600; False if one is already there."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode() + "\n")
    return True


def _secret(settings: PrivacySettings) -> bytes:
    if settings.secret_key is not None:
        raw = settings.secret_key.get_secret_value()
    else:
        try:
            raw = settings.secret_key_file.read_text().strip()
        except FileNotFoundError:
            raise SecretKeyError(
                f"no secret key: set ONEMAP_SECRET_KEY or create {settings.secret_key_file} "
                "with `onemap keys init`"
            ) from None
    if len(raw) < 32:
        raise SecretKeyError("the secret key is too short: use at least 32 characters")
    return raw.encode()


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


@dataclass(frozen=True)
class Keyring:
    """Encryption and lookup keys derived from the platform secret."""

    enc_key: bytes
    mac_key: bytes

    @classmethod
    def from_settings(cls, settings: PrivacySettings) -> Keyring:
        secret = _secret(settings)
        return cls(_derive(secret, b"onemap/encrypt/v1"), _derive(secret, b"onemap/lookup/v1"))

    def encrypt(self, value: str) -> bytes:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return nonce + AESGCM(self.enc_key).encrypt(nonce, value.encode(), None)

    def decrypt(self, blob: bytes) -> str:
        nonce, sealed = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
        return AESGCM(self.enc_key).decrypt(nonce, sealed, None).decode()

    def lookup_hash(self, value: str) -> bytes:
        return hmac.new(self.mac_key, normalise(value).encode(), hashlib.sha256).digest()

    def protect_citizen_id(self, value: str) -> Protected:
        value = normalise(value)
        return Protected(self.encrypt(value), self.lookup_hash(value), mask_citizen_id(value))

    def protect_phone(self, value: str) -> Protected:
        value = normalise(value)
        return Protected(self.encrypt(value), self.lookup_hash(value), mask_phone(value))


def normalise(value: str) -> str:
    """Upper case without spaces or dashes: one value, one hash."""
    return "".join(value.split()).replace("-", "").upper()


def mask_citizen_id(value: str) -> str:
    """Keep the address code and the last four characters.

    >>> mask_citizen_id("32070619800101123X")
    '320706********123X'
    """
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    """Keep the first three and last four digits.

    >>> mask_phone("13812341234")
    '138****1234'
    """
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str) -> str:
    """Keep the surname character.

    >>> mask_name("张三")
    '张*'
    >>> mask_name("欧阳娜娜")
    '欧***'
    """
    return value[:1] + "*" * (len(value) - 1)


# -- reads -------------------------------------------------------------------------------------
# Masked is the default form of every read; the one way to unmasked values is reveal(), which
# needs a reason and logs who read what in audit.access_log before returning anything.


class MaskedPerson(NamedTuple):
    """A person as every ordinary read shows them (the view grid.persons_masked)."""

    id: int
    household_id: int | None
    name: str
    sex: str
    birth_year: int
    relation: str | None
    citizen_id: str | None
    phone: str | None
    version: int


_PERSONS_BY_ID = text(
    "SELECT id, household_id, name, sex, birth_year, relation, citizen_id_masked, phone_masked,"
    " version FROM grid.persons_masked WHERE id = ANY(:ids) ORDER BY id"
)
_PERSONS_BY_HOUSEHOLD = text(
    "SELECT id, household_id, name, sex, birth_year, relation, citizen_id_masked, phone_masked,"
    " version FROM grid.persons_masked WHERE household_id = :household ORDER BY id"
)
_PERSONS_BY_HASH = text(
    "SELECT m.id, m.household_id, m.name, m.sex, m.birth_year, m.relation, m.citizen_id_masked,"
    " m.phone_masked, m.version FROM grid.persons_masked AS m"
    " JOIN grid.persons AS p ON p.id = m.id WHERE p.citizen_id_hash = :hash ORDER BY m.id"
)
_PERSONS_IN_CELL = text(
    "SELECT m.id, m.household_id, m.name, m.sex, m.birth_year, m.relation, m.citizen_id_masked,"
    " m.phone_masked, m.version FROM grid.persons_masked AS m"
    " JOIN grid.households AS hh ON hh.id = m.household_id"
    " JOIN grid.houses AS h ON h.id = hh.house_id"
    " JOIN grid.buildings AS b ON b.id = h.building_id"
    " JOIN grid.cells AS c ON c.id = b.cell_id WHERE c.code = :cell ORDER BY m.id"
)
_REVEALABLE = {
    "persons": {"name": "name", "citizen_id": "citizen_id_enc", "phone": "phone_enc",
                "birth_date": "birth_date"},
    "workers": {"name": "name", "phone": "phone_enc"},
}  # fmt: skip
_REVEAL = {
    "persons": text(
        "SELECT name, citizen_id_enc, phone_enc, birth_date FROM grid.persons WHERE id = :id"
    ),
    "workers": text("SELECT name, phone_enc FROM grid.workers WHERE id = :id"),
}
_LOG = text(
    "INSERT INTO audit.access_log (accessed_by, reason, table_name, row_id, fields)"
    " VALUES (:who, :reason, :table, :row_id, :fields)"
)


def persons(
    conn: Connection,
    *,
    ids: Sequence[int] | None = None,
    household_id: int | None = None,
    cell_code: str | None = None,
) -> list[MaskedPerson]:
    """Persons, masked, by id, by household or by the cell they live in (exactly one)."""
    chosen = [x is not None for x in (ids, household_id, cell_code)]
    if sum(chosen) != 1:
        raise GridError("name exactly one of ids, household_id, cell_code")
    if ids is not None:
        rows = conn.execute(_PERSONS_BY_ID, {"ids": list(ids)})
    elif household_id is not None:
        rows = conn.execute(_PERSONS_BY_HOUSEHOLD, {"household": household_id})
    else:
        rows = conn.execute(_PERSONS_IN_CELL, {"cell": cell_code})
    return [MaskedPerson(*row) for row in rows]


def find_by_citizen_id(conn: Connection, keyring: Keyring, value: str) -> list[MaskedPerson]:
    """Persons holding this citizen ID (exact lookup by keyed hash), masked."""
    rows = conn.execute(_PERSONS_BY_HASH, {"hash": keyring.lookup_hash(value)})
    return [MaskedPerson(*row) for row in rows]


def reveal(
    conn: Connection,
    keyring: Keyring,
    table: str,
    row_id: int,
    *,
    reason: str,
    who: str,
    fields: Sequence[str] | None = None,
    durable: bool = True,
) -> dict[str, str | None]:
    """The one unmasked read: plain ``fields`` of one person or worker, logged first.

    ``reason`` is required (at least 4 characters: what the read is for, e.g. a case number).
    The access_log row is written before anything is returned; with ``durable`` (the
    default) it is committed on its own connection, so a rollback of the caller's
    transaction cannot erase it.
    """
    if not reason or len(reason.strip()) < 4:
        raise ReasonRequiredError("an unmasked read needs a reason (what it is for, ≥ 4 chars)")
    short = table.removeprefix("grid.")
    if short not in _REVEALABLE:
        raise GridError(f"no personal fields to reveal in {table!r}: persons or workers")
    columns = _REVEALABLE[short]
    wanted = list(fields) if fields is not None else list(columns)
    unknown = [f for f in wanted if f not in columns]
    if unknown:
        raise GridError(
            f"{short} has no revealable field {', '.join(unknown)}: one of {', '.join(columns)}"
        )
    row = conn.execute(_REVEAL[short], {"id": row_id}).mappings().one_or_none()
    if row is None:
        raise NotFoundError(f"{short} {row_id} does not exist")
    entry = {"who": who, "reason": reason.strip(), "table": f"grid.{short}",
             "row_id": str(row_id), "fields": wanted}  # fmt: skip
    if durable:
        with conn.engine.begin() as log:
            log.execute(_LOG, entry)
    else:
        conn.execute(_LOG, entry)
    result: dict[str, str | None] = {}
    for name in wanted:
        value = row[columns[name]]
        if isinstance(value, bytes):
            result[name] = keyring.decrypt(value)
        else:
            result[name] = None if value is None else str(value)
    return result


_REVEAL_PERSONS = text(
    "SELECT id, name, citizen_id_enc, phone_enc, birth_date FROM grid.persons"
    " WHERE id = ANY(:ids) ORDER BY id"
)


def reveal_persons(
    conn: Connection, keyring: Keyring, ids: Sequence[int], *, reason: str, who: str
) -> dict[int, dict[str, str | None]]:
    """:func:`reveal` for a page of persons: one access_log row per person, written in the
    caller's transaction, which must commit before anything is shown."""
    if not reason or len(reason.strip()) < 4:
        raise ReasonRequiredError("an unmasked read needs a reason (what it is for, ≥ 4 chars)")
    rows = conn.execute(_REVEAL_PERSONS, {"ids": list(ids)}).all()
    fields = list(_REVEALABLE["persons"])
    if rows:
        entries = [{"who": who, "reason": reason.strip(), "table": "grid.persons",
                    "row_id": str(row.id), "fields": fields} for row in rows]  # fmt: skip
        conn.execute(_LOG, entries)
    return {
        int(row.id): {
            "name": row.name,
            "citizen_id": keyring.decrypt(row.citizen_id_enc) if row.citizen_id_enc else None,
            "phone": keyring.decrypt(row.phone_enc) if row.phone_enc else None,
            "birth_date": row.birth_date.isoformat() if row.birth_date else None,
        }
        for row in rows
    }
