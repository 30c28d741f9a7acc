"""Collection sheets over HTTP: a grid worker posts the sheet of their cell (issue 15).

``POST /grid/cells/{code}/sheet`` takes the file itself as the body, ``Content-Type``
``text/csv`` (UTF-8) or the XLSX media type, and imports it through the function
``onemap grid import`` uses (:func:`grid.sheets.import_sheet`): the same checks, all rows
or none, in one transaction, recorded as the key's :attr:`Principal.label` (its holder and worker).
``GET /grid/cells/{code}/sheet`` is the blank sheet (its header, CSV) for that cell.

A grid worker's key may post only for the cells assigned to its worker; an admin key for
any cell (and may move persons and households in from other cells); other keys 403, no key
401. Answers: 200 with the report (as ``onemap grid import --json`` prints it); 422 with
the same report listing every rejected row (line, field, reason) when any row is refused,
nothing written; 400 for a file that cannot be read or has no rows; 404 for an unknown
cell; 413 above ``ONEMAP_HTTP_MAX_SHEET_BYTES``; 415 for another media type (multipart
forms included). Errors carry the OGC exception body (``code``, ``type``, ``description``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from gis.errors import DatabaseError
from grid.privacy import Keyring
from grid.sheets import (
    TEMPLATE_HEADER,
    SheetRejectedError,
    SheetReport,
    import_sheet,
    read_sheet_data,
    sheet_cell,
)
from services.auth import Principal, require
from services.http.errors import CODES, exception_body

LOG = logging.getLogger("onemap.sheets")

XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KINDS: Final = {"text/csv": "csv", XLSX: "xlsx"}
"""Media types taken, and the kind of sheet each is."""
ROLES: Final = ("grid_worker", "admin")
PATH: Final = "/grid/cells/{code}/sheet"


def sheet_kind(content_type: str) -> str:
    """``csv`` or ``xlsx`` for a ``Content-Type`` header; else HTTP 415 saying what is taken."""
    media, _, params = content_type.partition(";")
    kind = KINDS.get(media.strip().lower())
    charset = next(
        (v.strip().strip('"').lower() for k, _, v in (p.partition("=") for p in params.split(";"))
         if k.strip().lower() == "charset"),
        None,
    )  # fmt: skip
    if kind == "csv" and charset not in (None, "utf-8", "utf8"):
        raise HTTPException(415, f"a CSV sheet is UTF-8, not {charset}: save it as CSV UTF-8")
    if kind is None:
        given = media.strip()[:100] or "no Content-Type"
        raise HTTPException(
            415,
            f"{given} is not a collection sheet: send the file itself as the body with "
            f"Content-Type text/csv (UTF-8) or {XLSX} (multipart forms are not taken)",
            {"Accept-Post": ", ".join(KINDS)},
        )
    return kind


async def sheet_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed ``limit`` bytes."""
    too_large = HTTPException(
        413, f"a collection sheet may have at most {limit} bytes", {"Connection": "close"}
    )
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def sheet_routes(engine: Engine, keyring: Callable[[], Keyring], max_bytes: int) -> list[BaseRoute]:
    """The routes, on the app's engine; ``max_bytes`` is the largest sheet taken."""

    async def post(request: Request) -> Response:
        caller = require(request, *ROLES)
        kind = sheet_kind(request.headers.get("content-type", ""))
        data = await sheet_body(request, max_bytes)
        code = request.path_params["code"]
        try:
            report = await run_in_threadpool(_import, engine, keyring(), caller, code, data, kind)
        except SheetRejectedError as exc:
            body = {**exception_body(CODES[422], str(exc)), **exc.report.as_dict()}
            return JSONResponse(body, 422)
        return JSONResponse(report.as_dict())

    async def template(request: Request) -> Response:
        caller = require(request, *ROLES)
        code = request.path_params["code"]
        await run_in_threadpool(_check_cell, engine, caller, code)
        return Response(
            "\ufeff" + ",".join(TEMPLATE_HEADER) + "\r\n",
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{code}.csv"'},
        )

    return [Route(PATH, post, methods=["POST"]), Route(PATH, template, methods=["GET"])]


@contextmanager
def _database(code: str) -> Iterator[None]:
    """A database that cannot be reached is a 503 (logged), not an internal error."""
    try:
        yield
    except OperationalError:
        LOG.exception("the sheet routes of cell %s could not use the database", code[:20])
        raise DatabaseError("the database is not available: try again later") from None


def _import(
    engine: Engine, keyring: Keyring, caller: Principal, code: str, data: bytes, kind: str
) -> SheetReport:
    with _database(code), engine.begin() as conn:
        sheet_cell(conn, code, caller.worker_id)  # 404 or 403 before the file is read
        rows = read_sheet_data(data, kind)
        return import_sheet(conn, rows, code, caller.worker_id, keyring, actor=caller.label)


def _check_cell(engine: Engine, caller: Principal, code: str) -> None:
    with _database(code), engine.connect() as conn:
        sheet_cell(conn, code, caller.worker_id)
