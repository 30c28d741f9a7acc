"""Errors of the OGC API, answered with the platform's one error body (the code follows from
the status: :data:`services.http.errors.CODES`).

Request checks raise :class:`BadRequestError` (400) or :class:`NotFoundError` (404);
nothing a client sends reaches SQL before it passed them, so a client never causes a 500.
"""

from __future__ import annotations

from starlette.responses import Response

from services.http.errors import render_error


class OgcError(Exception):
    """An error answered with ``status`` and its description."""

    status = 500

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class BadRequestError(OgcError):
    """A parameter the client can fix (OGC API Features: HTTP 400)."""

    status = 400


class NotFoundError(OgcError):
    """An unknown collection or feature (HTTP 404)."""

    status = 404


class UnavailableError(OgcError):
    """The database cannot answer now (HTTP 503)."""

    status = 503


def error_response(exc: OgcError) -> Response:
    return render_error(exc.status, exc.description)
