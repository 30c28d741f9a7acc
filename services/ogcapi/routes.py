"""The ``/ogc`` routes: ours for JSON/GeoJSON, pygeoapi's handlers for the rest.

JSON answers are ours: the landing page and conformance (only links and classes that hold),
collections (storage EPSG:4490, extents from the registry), queryables, and the features
(SQL-built GeoJSON), and the collection and items pages, which are those answers in
pygeoapi's templates (services/ogcapi/html_pages.py).
pygeoapi renders the other HTML pages and JSON-LD, and the OpenAPI document; for features it
calls our provider (JSON-LD items), which runs the same SQL.

pygeoapi's functions are called with an ``API`` built from our generated configuration
(never its import-time ``starlette_app``), the way its ``execute_from_starlette`` does.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import psycopg
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from services.http.caching import Validators, conditional, validators_for
from services.http.errors import render_error
from services.ogcapi import config, features, html_pages, metadata, params
from services.ogcapi.errors import BadRequestError, OgcError, UnavailableError, error_response
from services.ogcapi.features import GEOJSON, Answer, negotiate
from services.ogcapi.service import OgcService
from services.ogcapi.specs import CollectionSpec
from services.ogcapi.validators import read_stamp, validators
from services.web.assets import static_files

Handler = Callable[[Request], Awaitable[Response]]


def _database_error(exc: DBAPIError | psycopg.Error) -> OgcError:
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


def _json(document: Any, media_type: str = JSON) -> Response:
    return Response(json.dumps(document, ensure_ascii=False), media_type=media_type)


class OgcRoutes:
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
            error = exc if isinstance(exc, OgcError) else _database_error(exc)
            if html_wanted:
                return render_error(error.status, error.description, html_wanted=True)
            return error_response(error)

    # --- pygeoapi -------------------------------------------------------------------------

    async def _pygeoapi(
        self, request: Request, function: Callable[..., Any], *args: Any
    ) -> Response:
        from pygeoapi.api import APIRequest, apply_gzip

        base = self._base(request)
        try:
            api = await run_in_threadpool(self.service.api, base)
        except DBAPIError as exc:
            return error_response(_database_error(exc))
        try:
            api_request = await APIRequest.from_starlette(request, api.locales)
        except ClientDisconnect:
            return Response(status_code=499)
        if not api_request.is_valid():
            headers, status, content = api.get_format_exception(api_request)
        else:
            async with self.service.heavy:
                headers, status, content = await run_in_threadpool(
                    function, api, api_request, *args
                )
            if status != 204:
                content = apply_gzip(headers, content)
        headers.pop("X-Powered-By", None)  # no software versions to strangers
        response = Response(content, status_code=status)
        response.headers.update(headers)
        return response

    async def landing(self, request: Request) -> Response:
        from pygeoapi.api import landing_page

        try:
            chosen = self._format(request)
        except OgcError as exc:
            return error_response(exc)
        if chosen != "json":
            return await self._pygeoapi(request, landing_page)
        about = config.identification()
        document = metadata.landing(self._base(request), about["title"], about["description"])
        return _json(document)

    async def openapi(self, request: Request) -> Response:
        from pygeoapi.api import openapi_

        return await self._pygeoapi(request, openapi_)

    # --- ours -----------------------------------------------------------------------------

    def _format(self, request: Request) -> str:
        return negotiate(request.query_params.get("f"), request.headers.get("accept", ""))

    async def conformance(self, request: Request) -> Response:
        from pygeoapi.api import conformance

        try:
            chosen = self._format(request)
        except OgcError as exc:
            return error_response(exc)
        if chosen != "json":
            return await self._pygeoapi(request, conformance)
        return _json(metadata.conformance())

    async def collections(self, request: Request) -> Response:
        from pygeoapi.api import describe_collections

        try:
            chosen = self._format(request)
        except OgcError as exc:
            return error_response(exc)
        if chosen != "json":
            return await self._pygeoapi(request, describe_collections)
        base = self._base(request)

        async def work() -> Response:
            registry = await self.service.current_registry()
            return self._document(request, metadata.collections(registry, base), JSON)

        return await self._guard(work)

    async def collection(self, request: Request) -> Response:
        from pygeoapi.api import describe_collections

        cid = request.path_params["cid"]

        async def work() -> Response:
            spec = (await self.service.current_registry()).get(cid)
            return self._document(request, metadata.collection(spec, self._base(request)), JSON)

        async def page() -> Response:
            base = self._base(request)
            spec = (await self.service.current_registry()).get(cid)
            data = html_pages.collection_data(metadata.collection(spec, base), base)
            return await self._page(request, spec, html_pages.COLLECTION_TEMPLATE, data)

        try:
            chosen = self._format(request)
        except OgcError as exc:
            return error_response(exc)
        if chosen == "html":
            return await self._guard(page, html_wanted=True)
        return await self._dispatch(request, work, describe_collections, cid)

    async def queryables(self, request: Request) -> Response:
        from pygeoapi.api.itemtypes import get_collection_queryables

        cid = request.path_params["cid"]

        async def work() -> Response:
            spec = (await self.service.current_registry()).get(cid)
            document = metadata.queryables(spec, self._base(request))
            return self._document(request, document, "application/schema+json")

        return await self._dispatch(request, work, get_collection_queryables, cid)

    async def items(self, request: Request) -> Response:
        from pygeoapi.api.itemtypes import get_collection_items

        cid = request.path_params["cid"]
        ogc = self.service.ogc

        async def work() -> Response:
            spec = (await self.service.current_registry()).get(cid)
            if (unchanged := await self._unchanged(request, spec)) is not None:
                return unchanged
            answer = await features.items(
                self.service.pool,
                spec,
                request.query_params.multi_items(),
                self._base(request),
                request.headers.get("accept", ""),
                (ogc.default_limit, ogc.max_limit, ogc.count_limit),
                params.FilterLimits.of(ogc),
            )
            return self._respond(request, answer)

        def check(spec: CollectionSpec) -> None:
            params.items_request(
                request.query_params.multi_items(),
                spec,
                ogc.default_limit,
                ogc.max_limit,
                params.FilterLimits.of(ogc),
            )

        try:
            chosen = self._format(request)
        except OgcError as exc:
            return error_response(exc)
        if chosen == "html":
            return await self._guard(lambda: self._items_page(request, cid), html_wanted=True)
        return await self._dispatch(request, work, get_collection_items, cid, check=check)

    async def _items_page(self, request: Request, cid: str) -> Response:
        """The items page: the GeoJSON answer in pygeoapi's template (html_pages.py)."""
        ogc = self.service.ogc
        base = self._base(request)
        spec = (await self.service.current_registry()).get(cid)
        answer = await features.items(
            self.service.pool,
            spec,
            html_pages.page_query(request.query_params.multi_items()),
            base,
            GEOJSON,
            (ogc.default_limit, min(ogc.max_limit, ogc.max_html_limit), ogc.count_limit),
            params.FilterLimits.of(ogc),
        )
        data = html_pages.items_data(answer.body, spec, base)
        return await self._page(request, spec, html_pages.ITEMS_TEMPLATE, data)

    async def _page(
        self, request: Request, spec: CollectionSpec, template: str, data: dict[str, Any]
    ) -> Response:
        """``data`` rendered into ``template`` in the request's language, with an ETag."""
        from pygeoapi.api import APIRequest
        from pygeoapi.l10n import locale2str

        api = await run_in_threadpool(self.service.api, self._base(request))
        try:
            api_request = await APIRequest.from_starlette(request, api.locales)
        except ClientDisconnect:
            return Response(status_code=499)
        async with self.service.heavy:
            body = await run_in_threadpool(
                html_pages.render, api, spec, template, data, api_request.locale
            )
        return self._validated(
            request, body, "text/html; charset=utf-8", validators_for((body,)),
            vary="Accept, Accept-Language",
            headers={"Content-Language": locale2str(api_request.locale)},
        )  # fmt: skip

    async def item(self, request: Request) -> Response:
        from pygeoapi.api.itemtypes import get_collection_item

        cid, fid = request.path_params["cid"], request.path_params["fid"]

        async def work() -> Response:
            spec = (await self.service.current_registry()).get(cid)
            if (unchanged := await self._unchanged(request, spec, fid)) is not None:
                return unchanged
            answer = await features.item(
                self.service.pool,
                spec,
                fid,
                request.query_params.multi_items(),
                self._base(request),
                request.headers.get("accept", ""),
            )
            return self._respond(request, answer)

        def check(spec: CollectionSpec) -> None:
            params.item_output(request.query_params.multi_items(), spec)

        return await self._dispatch(
            request,
            work,
            get_collection_item,
            cid,
            fid,
            check=check,
        )

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
        vary: str = "Accept",
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
        return Response(status_code=304, headers={**found_headers, "Vary": "Accept"})

    def _document(self, request: Request, document: Any, media_type: str) -> Response:
        """A metadata document with an ``ETag`` of its body (they are small)."""
        body = json.dumps(document, ensure_ascii=False)
        return self._validated(request, body, media_type, validators_for((body,)))

    async def _dispatch(
        self,
        request: Request,
        work: Callable[[], Awaitable[Response]],
        pygeoapi_function: Callable[..., Any],
        *args: str,
        check: Callable[[CollectionSpec], None] | None = None,
    ) -> Response:
        """JSON through ``work``; JSON-LD (and HTML where we have no page of our own)
        through pygeoapi, once the collection exists and ``check`` accepts the parameters."""
        try:
            chosen = self._format(request)
            if chosen == "json":
                return await self._guard(work)
            spec = (await self.service.current_registry()).get(args[0])
            if check is not None:
                check(spec)
        except OgcError as exc:
            return error_response(exc)
        except DBAPIError as exc:
            return error_response(_database_error(exc))
        return await self._pygeoapi(request, pygeoapi_function, *args)


def ogc_routes(service: OgcService) -> list[BaseRoute]:
    """Routes of the OGC API, to add to the app at ``/ogc``."""
    handlers = OgcRoutes(service)

    async def slash(request: Request) -> Response:
        return RedirectResponse(url=str(request.url.replace(path=request.url.path.rstrip("/"))))

    return [
        Route("/ogc", handlers.landing),
        Mount(
            "/ogc",
            routes=[
                Route("/", slash),
                Route("/openapi", handlers.openapi),
                Route("/api", handlers.openapi),
                Route("/conformance", handlers.conformance),
                Route("/collections", handlers.collections),
                Route("/collections/{cid}", handlers.collection),
                Route("/collections/{cid}/queryables", handlers.queryables),
                Route("/collections/{cid}/items", handlers.items),
                Route("/collections/{cid}/items/{fid}", handlers.item),
                Mount("/static", app=static_files(), name="ogc-static"),
            ],
        ),
    ]
