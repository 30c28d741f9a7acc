"""Errors the framework raises itself (unknown path, wrong method) and failures nobody
expected, rendered like every other error: OGC exception JSON, or HTML when the client
asked for HTML. Never Starlette's plain text, never a traceback to the client."""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

LOG = logging.getLogger("onemap.http")

CODES: Mapping[int, str] = {
    400: "InvalidParameterValue",
    401: "NotAuthorised",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    412: "PreconditionFailed",
    413: "RequestEntityTooLarge",
    414: "URITooLong",
    415: "UnsupportedMediaType",
    422: "UnprocessableContent",
    428: "PreconditionRequired",
    429: "TooManyRequests",
    431: "RequestHeaderFieldsTooLarge",
    500: "NoApplicableCode",
    503: "ServiceUnavailable",
}


def exception_body(code: str, description: str) -> dict[str, str]:
    """The OGC exception document every error answer carries."""
    return {"code": code, "type": code, "description": description}


def wants_html(accept: str, query_format: str | None) -> bool:
    """HTML only when the client said so (``f=html``, or a browser's Accept without JSON)."""
    if query_format is not None:
        return query_format.strip().lower() == "html"
    lowered = accept.lower()
    return "text/html" in lowered and "json" not in lowered


def render_error(
    status: int,
    description: str,
    *,
    html_wanted: bool = False,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, object] | None = None,
) -> Response:
    """The one error body: ``{"code","type","description"}`` (or the same as a small page);
    ``extra`` members (the problems of each field, the current version) follow them."""
    code = CODES.get(status, "NoApplicableCode")
    if html_wanted:
        page = (
            '<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8">'
            f"<title>{status} {code}</title></head><body><h1>{status} {code}</h1>"
            f"<p>{html.escape(description)}</p></body></html>"
        )
        return Response(page, status, headers=dict(headers or {}), media_type="text/html")
    body = json.dumps({**exception_body(code, description), **(extra or {})}, ensure_ascii=False)
    return Response(body, status, headers=dict(headers or {}), media_type="application/json")


def _describe(request: Request, exc: HTTPException) -> str:
    path = request.url.path[:200]
    if exc.status_code == 404:
        return f"nothing at {path}: see /ogc for the API and /health for the service"
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "GET, HEAD")
        return f"{request.method[:20]} is not allowed on {path}; allowed: {allowed}"
    detail = exc.detail if isinstance(exc.detail, str) else ""
    return detail or CODES.get(exc.status_code, "error")


async def http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return render_error(
        exc.status_code,
        _describe(request, exc),
        html_wanted=wants_html(request.headers.get("accept", ""), request.query_params.get("f")),
        headers=exc.headers,
    )


async def unexpected(request: Request, exc: Exception) -> Response:
    """A failure of ours: logged with its traceback, answered with a sentence."""
    LOG.exception("unexpected error on %s %s", request.method, request.url.path[:200])
    return render_error(500, "internal error: the failure is logged on the server")


def error_handlers() -> dict[Any, Any]:
    """Starlette ``exception_handlers`` for the framework's own errors."""
    return {HTTPException: http_exception, Exception: unexpected}
