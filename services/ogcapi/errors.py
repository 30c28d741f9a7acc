"""Errors of the OGC API and their one rendering: ``{"code", "type", "description"}``.

Request checks raise :class:`BadRequestError` (400) or :class:`NotFoundError` (404);
nothing a client sends reaches SQL before it passed them, so a client never causes a 500.
"""

from __future__ import annotations

import json

from starlette.responses import Response

from services.errors import exception_body

JSON_TYPE = "application/json"


class OgcError(Exception):
    """An error answered with ``status`` and the OGC exception ``code``."""

    status = 500
    code = "NoApplicableCode"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class BadRequestError(OgcError):
    """A parameter the client can fix (OGC API Features: HTTP 400)."""

    status = 400
    code = "InvalidParameterValue"


class NotFoundError(OgcError):
    """An unknown collection or feature (HTTP 404)."""

    status = 404
    code = "NotFound"


class UnavailableError(OgcError):
    """The database cannot answer now (HTTP 503)."""

    status = 503
    code = "ServiceUnavailable"


def error_response(exc: OgcError) -> Response:
    body = json.dumps(exception_body(exc.code, exc.description), ensure_ascii=False)
    return Response(body, status_code=exc.status, media_type=JSON_TYPE)
