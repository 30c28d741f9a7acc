"""Errors of the OGC API, answered with the platform's one error body (the code follows from
the status: :data:`services.http.errors.CODES`).

Request checks raise :class:`BadRequestError` (400) or :class:`NotFoundError` (404);
nothing a client sends reaches SQL before it passed them, so a client never causes a 500.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from services.http.errors import render_error


class OgcError(Exception):
    """An error answered with ``status`` and its description; ``extra`` members go into the
    body (e.g. each field's problem), ``headers`` into the answer (e.g. ``Allow``)."""

    status = 500

    def __init__(
        self,
        description: str,
        *,
        extra: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(description)
        self.description = description
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})


class BadRequestError(OgcError):
    """A parameter the client can fix (OGC API Features: HTTP 400)."""

    status = 400


class NotFoundError(OgcError):
    """An unknown collection or feature (HTTP 404)."""

    status = 404


class UnauthorisedError(OgcError):
    """No API key where one is needed (HTTP 401, with the challenge)."""

    status = 401


class ForbiddenError(OgcError):
    """The caller's role may not do this, or not to this row (HTTP 403)."""

    status = 403


class MethodNotAllowedError(OgcError):
    """The collection or item does not take this method (HTTP 405, with ``Allow``)."""

    status = 405


class NotAcceptableError(OgcError):
    """No representation the client accepts (HTTP 406)."""

    status = 406


class ConflictError(OgcError):
    """A concurrent edit got there first (HTTP 409)."""

    status = 409


class PreconditionFailedError(OgcError):
    """``If-Match`` names a version that is no longer current (HTTP 412)."""

    status = 412


class PayloadTooLargeError(OgcError):
    """A request body over the limit (HTTP 413)."""

    status = 413


class UnsupportedMediaTypeError(OgcError):
    """A request body of a type the route does not read (HTTP 415)."""

    status = 415


class PreconditionRequiredError(OgcError):
    """A change without ``If-Match`` (HTTP 428): the server cannot know what it was based on."""

    status = 428


class UnavailableError(OgcError):
    """The database cannot answer now (HTTP 503)."""

    status = 503


def error_response(exc: OgcError) -> Response:
    return render_error(exc.status, exc.description, headers=exc.headers, extra=exc.extra)
