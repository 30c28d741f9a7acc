"""What every route of ``/ogc`` shares: the caller's view of a collection, the base URL,
database faults as OGC errors, and answers with cache validators (``ETag``, ``304``).

:class:`RouteBase` is the parent of the read routes (routes.py) and the edit routes
(edit_routes.py), so both answer the same way and ask the same access rules.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import psycopg
from sqlalchemy.exc import DBAPIError
from starlette.requests import Request
from starlette.responses import Response

from services.auth.routes import principal_of
from services.http.caching import Validators, conditional, validators_for
from services.http.errors import render_error
from services.ogcapi import access, features
from services.ogcapi.errors import (
    BadRequestError,
    NotAcceptableError,
    OgcError,
    UnavailableError,
    error_response,
)
from services.ogcapi.features import Answer, negotiate
from services.ogcapi.service import OgcService
from services.ogcapi.specs import Audience, CollectionSpec
from services.ogcapi.validators import read_stamp, validators


def database_error(exc: DBAPIError | psycopg.Error) -> OgcError:
    """What a database error means for the client: only a timeout or a value the database
    rejects is the request's fault (400); a lost server is a 503; anything else is ours."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(orig, psycopg.errors.QueryCanceled):
        return BadRequestError(
            "the query took too long: narrow it with bbox, filter or a smaller limit"
        )
    if isinstance(orig, psycopg.DataError):
        return BadRequestError(f"a value was rejected: {str(orig).strip().splitlines()[0][:200]}")
    if isinstance(orig, psycopg.OperationalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        return UnavailableError("the database is not reachable; try again later")
    raise exc


JSON = "application/json"
VARY = "Accept, Authorization, X-API-Key"
"""What our answers depend on besides the URL: the format, and who asks (what a caller
sees depends on their key), so that no shared cache hands one caller's answer to another."""


def json_response(document: Any, media_type: str = JSON) -> Response:
    return Response(json.dumps(document, ensure_ascii=False), media_type=media_type)


class RouteBase:
    """Route handlers bound to one :class:`OgcService`."""

    def __init__(self, service: OgcService) -> None:
        self.service = service

    def _base(self, request: Request) -> str:
        return self.service.base_url(request.url.scheme, request.headers.get("host"))

    async def _guard(
        self, work: Callable[[], Awaitable[Response]], html_wanted: bool = False
    ) -> Response:
        """Await ``work`` on the event loop (it never blocks: its one statement goes to the
        async pool); OGC errors and database failures as OGC JSON (a page for a page)."""
        try:
            return await work()
        except (OgcError, DBAPIError, psycopg.Error) as exc:
            error = exc if isinstance(exc, OgcError) else database_error(exc)
            if html_wanted:
                return render_error(error.status, error.description, html_wanted=True)
            return error_response(error)

    def _format(self, request: Request) -> str:
        return negotiate(request.query_params.get("f"), request.headers.get("accept", ""))

    async def _spec(self, request: Request, cid: str, *, json_only: bool = False) -> CollectionSpec:
        """The collection as the caller sees it (services/ogcapi/access.py); 404 when it
        does not exist for them. Keyed collections are JSON only: pygeoapi's pages and
        JSON-LD are public documents."""
        spec = access.scoped(
            principal_of(request), (await self.service.current_registry()).get(cid)
        )
        if json_only and spec.audience is not Audience.PUBLIC:
            raise NotAcceptableError(f"{cid} is served as JSON (GeoJSON) only: use f=json")
        return spec

    # --- caching ----------------------------------------------------------------------------

    def _respond(self, request: Request, answer: Answer) -> Response:
        """The answer with its validators, or ``304`` when the client's copy is current."""
        return self._validated(
            request, answer.body, answer.media_type, answer.validators, headers=answer.headers
        )

    def _validated(
        self,
        request: Request,
        body: str | bytes,
        media_type: str,
        found: Validators | None,
        *,
        vary: str = VARY,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Every answer that can be revalidated: ``body`` with its validators and ``Vary``,
        or ``304`` (same headers, no body) when the client's copy is current."""
        sent = {**(headers or {}), "Vary": vary}
        if found is not None:
            sent.update(found.headers(self.service.settings.http.cache_max_age))
            if conditional(request.headers, found):
                return Response(status_code=304, headers=sent)
        return Response(body, media_type=media_type, headers=sent)

    async def _unchanged(
        self, request: Request, spec: CollectionSpec, *parts: str
    ) -> Response | None:
        """``304`` for a conditional request whose copy is current, decided from the
        table's change stamp alone (no feature is read); None otherwise."""
        headers = request.headers
        if "if-none-match" not in headers and "if-modified-since" not in headers:
            return None
        serial, changed_at = await read_stamp(self.service.pool, spec)
        media_type = features.media_type(headers.get("accept", ""))
        query = request.query_params.multi_items()
        found = validators(spec, serial, changed_at, *parts, query, self._base(request), media_type)
        if found is None or not conditional(headers, found):
            return None
        found_headers = found.headers(self.service.settings.http.cache_max_age)
        return Response(status_code=304, headers={**found_headers, "Vary": VARY})

    def _document(self, request: Request, document: Any, media_type: str) -> Response:
        """A metadata document with an ``ETag`` of its body (they are small)."""
        body = json.dumps(document, ensure_ascii=False)
        return self._validated(request, body, media_type, validators_for((body,)))
