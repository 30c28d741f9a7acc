"""HTTP cache validators: ``ETag`` and ``Last-Modified`` from the data's change stamp, and
the ``304 Not Modified`` decision for conditional requests (RFC 9110 §13).

Feature answers carry a ``timeStamp`` of the moment they were built, so two answers for the
same data differ in that field only: their tags are weak (``W/"…"``), which is what RFC 9110
asks for representations equivalent but not byte-identical.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from email.utils import format_datetime, parsedate_to_datetime
from typing import NamedTuple


class Validators(NamedTuple):
    """What a client may revalidate with; ``last_modified`` is None when unknown."""

    etag: str
    last_modified: dt.datetime | None

    def headers(self, max_age: int) -> dict[str, str]:
        found = {
            "ETag": self.etag,
            "Cache-Control": f"max-age={max_age}, must-revalidate" if max_age else "no-cache",
        }
        if self.last_modified is not None:
            found["Last-Modified"] = format_datetime(
                self.last_modified.astimezone(dt.UTC), usegmt=True
            )
        return found


def validators_for(
    parts: Iterable[object], last_modified: dt.datetime | None = None, *, weak: bool = True
) -> Validators:
    """Validators whose tag changes whenever any of ``parts`` does (the data's change stamp,
    the collection, the request's parameters, the media type, the base URL)."""
    tag = f'"{digest(parts)}"'
    return Validators(f"W/{tag}" if weak else tag, last_modified)


def digest(parts: Iterable[object]) -> str:
    """A hex digest that changes whenever any of ``parts`` does (their ``repr``)."""
    found = hashlib.blake2b(digest_size=12)
    for part in parts:
        found.update(repr(part).encode())
        found.update(b"\x1f")
    return found.hexdigest()


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def conditional(headers: Mapping[str, str], validators: Validators) -> bool:
    """Whether a GET with these request headers is answered ``304`` (weak comparison for
    ``If-None-Match``; ``If-Modified-Since`` only when no ``If-None-Match`` was sent, and
    ignored when it cannot be read or lies in the future)."""
    none_match = headers.get("if-none-match")
    if none_match is not None:
        wanted = {_opaque(t) for t in none_match.split(",")}
        return "*" in wanted or _opaque(validators.etag) in wanted
    since = headers.get("if-modified-since")
    if since is None or validators.last_modified is None:
        return False
    try:
        when = parsedate_to_datetime(since)
    except (TypeError, ValueError, IndexError):
        return False
    if when.tzinfo is None or when > dt.datetime.now(dt.UTC):
        return False  # RFC 9110 13.1.3: a date later than the server's clock is invalid
    return validators.last_modified.replace(microsecond=0) <= when
