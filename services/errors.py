"""Domain errors to HTTP: one table from error class to status; the body is the one OGC
exception document every error answer carries (:func:`services.http.errors.render_error`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gis.errors import DatabaseError, GisError
from grid.errors import ConflictError, GridError, NotAuthorisedError, NotFoundError
from layers.errors import LayerError
from services.http.errors import render_error

# Most specific first: the first matching class decides the status.
STATUS: tuple[tuple[type[Exception], int], ...] = (
    (DatabaseError, 503),
    (NotFoundError, 404),
    (NotAuthorisedError, 403),
    (ConflictError, 409),
    (GisError, 400),
    (GridError, 400),
    (LayerError, 400),
)


async def domain_error(request: Request, exc: Exception) -> Response:
    for kind, status in STATUS:
        if isinstance(exc, kind):
            return render_error(status, str(exc))
    return render_error(500, "internal error")
