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

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from services.auth.routes import principal_of
from services.http.caching import validators_for
from services.ogcapi import access, config, features, html_pages, metadata, params, reveal
from services.ogcapi.errors import (
    OgcError,
    error_response,
)
from services.ogcapi.features import GEOJSON, Answer
from services.ogcapi.history_routes import HistoryRoutes
from services.ogcapi.process_routes import ProcessRoutes
from services.ogcapi.route_base import JSON, VARY, RouteBase, database_error, json_response
from services.ogcapi.service import OgcService
from services.ogcapi.specs import CollectionSpec
from services.ogcapi.style_routes import StyleRoutes
from services.ogcapi.tile_routes import TileRoutes
from services.processes.manager import ProcessManager
from services.web.assets import static_files

OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.0"
Handler = Callable[[Request], Awaitable[Response]]


class OgcRoutes(RouteBase):
    """The read routes: metadata documents, features, pages."""

    # --- pygeoapi -------------------------------------------------------------------------

    async def _pygeoapi(
        self, request: Request, function: Callable[..., Any], *args: Any
    ) -> Response:
        from pygeoapi.api import APIRequest, apply_gzip

        base = self._base(request)
        try:
            api = await run_in_threadpool(self.service.api, base)
        except DBAPIError as exc:
            return error_response(database_error(exc))
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
        return json_response(document)

    async def openapi(self, request: Request) -> Response:
        """pygeoapi serves the public document (and its Swagger page); a caller with a key
        gets, as JSON, the document of every collection they see (access.py)."""
        from pygeoapi.api import openapi_

        try:
            chosen = self._format(request)
        except OgcError as exc:
            return error_response(exc)
        if chosen != "json" or principal_of(request).role == "public":
            return await self._pygeoapi(request, openapi_)

        async def work() -> Response:
            document = await run_in_threadpool(self.service.keyed_openapi, self._base(request))
            return self._document(request, document, OPENAPI_JSON)

        return await self._guard(work)

    # --- ours -----------------------------------------------------------------------------

    async def conformance(self, request: Request) -> Response:
        from pygeoapi.api import conformance

        try:
            chosen = self._format(request)
        except OgcError as exc:
            return error_response(exc)
        if chosen != "json":
            return await self._pygeoapi(request, conformance)
        return json_response(metadata.conformance())

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
            registry = access.visible(principal_of(request), await self.service.current_registry())
            return self._document(request, metadata.collections(registry, base), JSON)

        return await self._guard(work)

    async def collection(self, request: Request) -> Response:
        from pygeoapi.api import describe_collections

        cid = request.path_params["cid"]

        async def work() -> Response:
            spec = await self._spec(request, cid)
            return self._document(request, metadata.collection(spec, self._base(request)), JSON)

        async def page() -> Response:
            base = self._base(request)
            spec = await self._spec(request, cid, json_only=True)
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
            spec = await self._spec(request, cid)
            document = metadata.queryables(spec, self._base(request))
            return self._document(request, document, "application/schema+json")

        return await self._dispatch(request, work, get_collection_queryables, cid)

    async def items(self, request: Request) -> Response:
        from pygeoapi.api.itemtypes import get_collection_items

        cid = request.path_params["cid"]
        ogc = self.service.ogc

        async def work() -> Response:
            spec = await self._spec(request, cid)
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
            return self._respond(request, await self._revealed(request, spec, answer))

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

    async def _revealed(self, request: Request, spec: CollectionSpec, answer: Answer) -> Answer:
        """The answer unmasked for an admin who sent ``X-Reveal-Reason`` (reveal.py)."""
        reason = request.headers.get(reveal.HEADER)
        if reason is None:
            return answer
        caller = principal_of(request)
        service = self.service
        return await reveal.revealed(answer, spec, caller, reason, service.writer, service.keyring)

    async def _items_page(self, request: Request, cid: str) -> Response:
        """The items page: the GeoJSON answer in pygeoapi's template (html_pages.py)."""
        ogc = self.service.ogc
        base = self._base(request)
        spec = await self._spec(request, cid, json_only=True)
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
            vary=f"{VARY}, Accept-Language",
            headers={"Content-Language": locale2str(api_request.locale)},
        )  # fmt: skip

    async def item(self, request: Request) -> Response:
        from pygeoapi.api.itemtypes import get_collection_item

        cid, fid = request.path_params["cid"], request.path_params["fid"]

        async def work() -> Response:
            spec = await self._spec(request, cid)
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
            return self._respond(request, await self._revealed(request, spec, answer))

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
            spec = await self._spec(request, args[0], json_only=True)
            if check is not None:
                check(spec)
        except OgcError as exc:
            return error_response(exc)
        except DBAPIError as exc:
            return error_response(database_error(exc))
        return await self._pygeoapi(request, pygeoapi_function, *args)


def ogc_routes(
    service: OgcService, processes: ProcessManager | None = None, engine: Engine | None = None
) -> list[BaseRoute]:
    """Routes of the OGC API, to add to the app at ``/ogc`` (with ``processes``, its job
    manager, and ``engine``, the server's, the Processes routes too)."""
    handlers = OgcRoutes(service)
    edits = HistoryRoutes(service)
    tiled = TileRoutes(service)
    styled = StyleRoutes(service)
    tile = "{z}/{row}/{col}"

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
                Route("/collections/{cid}/items", edits.create, methods=["POST"]),
                Route("/collections/{cid}/items", edits.options, methods=["OPTIONS"]),
                Route("/collections/{cid}/items/{fid}", handlers.item),
                Route("/collections/{cid}/items/{fid}", edits.replace, methods=["PUT"]),
                Route("/collections/{cid}/items/{fid}", edits.update, methods=["PATCH"]),
                Route("/collections/{cid}/items/{fid}", edits.delete, methods=["DELETE"]),
                Route("/collections/{cid}/items/{fid}", edits.options, methods=["OPTIONS"]),
                Route("/collections/{cid}/items/{fid}/history", edits.history),
                Route("/collections/{cid}/items/{fid}/revert", edits.revert, methods=["POST"]),
                Route("/tileMatrixSets", tiled.tile_matrix_sets),
                Route("/tileMatrixSets/{tms}", tiled.tile_matrix_set),
                Route("/tiles", tiled.dataset_tilesets),
                Route("/tiles/{tms}", tiled.dataset_tileset),
                Route(f"/tiles/{{tms}}/{tile}", tiled.dataset_tile),
                Route("/collections/{cid}/tiles", tiled.collection_tilesets),
                Route("/collections/{cid}/tiles/{tms}", tiled.collection_tileset),
                Route(f"/collections/{{cid}}/tiles/{{tms}}/{tile}", tiled.collection_tile),
                Route("/styles", styled.styles),
                Route("/styles/{sid}", styled.style),
                Route("/collections/{cid}/styles", styled.collection_styles),
                Route("/collections/{cid}/styles/{sid}", styled.collection_style),
                *_process_routes(service, processes, engine),
                Mount("/static", app=static_files(), name="ogc-static"),
            ],
        ),
    ]


def _process_routes(
    service: OgcService, manager: ProcessManager | None, engine: Engine | None
) -> list[BaseRoute]:
    """``/processes`` and ``/jobs`` (OGC API – Processes, process_routes.py)."""
    if manager is None:
        return []
    run = ProcessRoutes(service, manager, engine or service.writer)
    return [
        Route("/processes", run.processes),
        Route("/processes/{pid}", run.process),
        Route("/processes/{pid}/execution", run.execute, methods=["POST"]),
        Route("/jobs", run.jobs),
        Route("/jobs/{jid}", run.job),
        Route("/jobs/{jid}", run.dismiss, methods=["DELETE"]),
        Route("/jobs/{jid}/results", run.results),
    ]
