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
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from grid.errors import GridError
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
