"""Keyset paging: the ``cursor`` of ``next``/``prev`` links, and the links themselves.

A cursor holds the sort key of the row a page ends (or starts) at, the direction, and a
signature of the sort order it belongs to. The next page is then ``WHERE key > cursor
ORDER BY key LIMIT n``: one index range scan however deep the page, where ``OFFSET`` would
read and throw away every row before it. ``offset`` is still accepted; its ``next`` link
switches to a cursor.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final
from urllib.parse import urlencode

from services.ogcapi.errors import BadRequestError
from services.ogcapi.values import Scalar, from_json

if TYPE_CHECKING:
    from services.ogcapi.params import SortKey

MAX_CURSOR: Final = 4096


@dataclass(frozen=True)
class Cursor:
    """Rows strictly after (or, ``backwards``, before) the key ``values`` in sort order."""

    backwards: bool
    values: tuple[Scalar, ...]


def sort_signature(sort: Sequence[SortKey]) -> str:
    text = ",".join(f"{'-' if k.descending else '+'}{k.prop.column}" for k in sort)
    return hashlib.blake2s(text.encode(), digest_size=4).hexdigest()


def encode_cursor(backwards: bool, sort: Sequence[SortKey], key_json: str) -> str:
    """The cursor token for the row whose sort key is ``key_json`` (a JSON array from SQL)."""
    raw = f"{'p' if backwards else 'n'}{sort_signature(sort)}{key_json}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, sort: Sequence[SortKey]) -> Cursor:
    """The cursor of a token, checked against the request's sort order; 400 if foreign."""
    bad = "cursor: not a cursor of this collection and sort order (take it from a next link)"
    if len(token) > MAX_CURSOR:
        raise BadRequestError(bad)
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        direction, signature, payload = raw[0], raw[1:9], json.loads(raw[9:])
    except (binascii.Error, UnicodeDecodeError, ValueError, IndexError):
        raise BadRequestError(bad) from None
    if (
        direction not in "np"
        or signature != sort_signature(sort)
        or not isinstance(payload, list)
        or len(payload) != len(sort)
    ):
        raise BadRequestError(bad)
    values = tuple(from_json(k.prop, v, "cursor") for k, v in zip(sort, payload, strict=True))
    return Cursor(direction == "p", values)


def page_url(items_url: str, params: Sequence[tuple[str, str]], **changes: str | None) -> str:
    """``items_url`` with the request's parameters, ``changes`` applied (None removes)."""
    kept = [(k, v) for k, v in params if k not in changes]
    kept += [(k, v) for k, v in changes.items() if v is not None]
    return f"{items_url}?{urlencode(kept)}" if kept else items_url
