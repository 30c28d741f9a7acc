"""Unmasked persons for an admin who says why: ``X-Reveal-Reason`` on a persons read.

Every read of the service is masked (the persons view holds no plain value). An admin who
sends ``X-Reveal-Reason: <what for, ≥ 4 characters>`` gets the page or feature with the
plain name, citizen ID, phone and birth date, after one ``audit.access_log`` row per person
shown has been committed: the log is written before the answer leaves, never after. The
reason may be percent-encoded UTF-8 (headers are ASCII; ``案件`` is ``%E6%A1%88%E4%BB%B6``). Such
an answer is never cached (``Cache-Control: no-store``, no ``ETag``). Anybody else sending
the header gets 403; on another collection it is a 400.
"""

from __future__ import annotations

import contextlib
import json
import urllib.parse
from collections.abc import Callable
from typing import Any, Final

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from grid.errors import GridError
from grid.privacy import Keyring, reveal_persons
from services.auth.keys import Principal
from services.ogcapi import access
from services.ogcapi.errors import BadRequestError, ForbiddenError, UnavailableError
from services.ogcapi.features import Answer
from services.ogcapi.specs import CollectionSpec

HEADER: Final = "x-reveal-reason"
MAX_REASON: Final = 500


def header_text(value: str) -> str:
    """A header's text: raw UTF-8 bytes (read as Latin-1 by the server) decoded, then
    percent-escapes undone, so ``案件 12`` arrives whether sent raw or as ``%E6%A1%88…``."""
    with contextlib.suppress(UnicodeError):
        value = value.encode("latin-1").decode("utf-8")
    return urllib.parse.unquote(value)


def _features(document: dict[str, Any]) -> list[dict[str, Any]]:
    if document.get("type") == "Feature":
        return [document]
    return list(document.get("features", []))


async def revealed(
    answer: Answer,
    spec: CollectionSpec,
    caller: Principal,
    reason: str,
    writer: Engine,
    keyring: Callable[[], Keyring],
) -> Answer:
    """``answer`` with the persons' plain fields, logged first; 403/400 as the module says."""
    if not access.may_reveal(caller):
        raise ForbiddenError("only an admin's key may read unmasked personal data")
    if spec.edit_table != "persons":
        raise BadRequestError(f"X-Reveal-Reason: {spec.id} holds no masked personal fields")
    reason = header_text(reason).strip()
    if len(reason) < 4 or len(reason) > MAX_REASON:
        raise BadRequestError(
            f"X-Reveal-Reason must say what the read is for in 4 to {MAX_REASON} characters"
        )
    document = json.loads(answer.body)
    shown = _features(document)
    ids = [int(f["id"]) for f in shown]

    def log_and_read() -> dict[int, dict[str, str | None]]:
        ring = keyring()
        with writer.begin() as conn:  # committed before the answer is sent
            return reveal_persons(conn, ring, ids, reason=reason, who=caller.label)

    try:
        plain = await run_in_threadpool(log_and_read) if ids else {}
    except GridError as exc:
        raise UnavailableError(f"personal data cannot be revealed now: {exc}") from None
    for feature in shown:
        values = plain.get(int(feature["id"]))
        if values is not None and isinstance(feature.get("properties"), dict):
            feature["properties"].update(values)
    headers = {**answer.headers, "Cache-Control": "no-store"}
    return Answer(json.dumps(document, ensure_ascii=False), answer.media_type, headers, None)
