"""Domain errors to HTTP: one table, one OGC exception body ``{"code","type","description"}``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from gis.errors import DatabaseError, GisError
from grid.errors import ConflictError, GridError, NotAuthorisedError, NotFoundError
from layers.errors import LayerError

# Most specific first: the first matching class decides the status.
STATUS: tuple[tuple[type[Exception], int, str], ...] = (
    (DatabaseError, 503, "ServiceUnavailable"),
    (NotFoundError, 404, "NotFound"),
    (NotAuthorisedError, 403, "Forbidden"),
    (ConflictError, 409, "Conflict"),
    (GisError, 400, "InvalidParameterValue"),
    (GridError, 400, "InvalidParameterValue"),
    (LayerError, 400, "InvalidParameterValue"),
)


def exception_body(code: str, description: str) -> dict[str, str]:
    return {"code": code, "type": code, "description": description}


def ogc_error(status: int, code: str, description: str) -> JSONResponse:
    return JSONResponse(exception_body(code, description), status_code=status)


async def domain_error(request: Request, exc: Exception) -> JSONResponse:
    for kind, status, code in STATUS:
        if isinstance(exc, kind):
            return ogc_error(status, code, str(exc))
    return ogc_error(500, "NoApplicableCode", "internal error")
