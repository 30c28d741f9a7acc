"""The one-map page (``/`` and ``/map``) and its JSON routes below ``/map/api``.

The page is a template (``templates/onemap/index.html``) that loads Leaflet and its plugins
from the vendored files and the page's ES modules from ``static/onemap`` (all served at
``/ogc/static``); everything it draws comes from this app: base maps from the WMTS routes,
layers from the vector tiles and the features of the OGC API. Its own JSON routes:

- ``/map/api/layers``: the layer list, symbols and legend for the caller, and what the site
  check shows of the rule file (:mod:`.catalogue`);
- ``/map/api/coordinates``: a point converted by ``gis.crs`` (:mod:`.coordinates`);
- ``/map/api/conflicts/{run}``: a conflict run's summaries (:mod:`.conflict_report`).

Errors are the platform's OGC exception body. Who sees what is decided by
services/ogcapi/access.py, as for the OGC API.
"""

from __future__ import annotations

import functools
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from layers.errors import UnknownLayerError
from layers.rules import Rules, load_rules
from services.auth.keys import PUBLIC
from services.auth.routes import principal_of
from services.http.errors import render_error
from services.ogcapi import access
from services.ogcapi.errors import BadRequestError, NotFoundError
from services.ogcapi.route_base import JSON, VARY, RouteBase, json_response
from services.ogcapi.service import OgcService
from services.processes.definitions import site_check
from services.web import catalogue, conflict_report, coordinates
from services.web.assets import templates_dir

TEMPLATE = "onemap/index.html"
API = "/map/api"


@functools.cache
def _environment(folder: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder), autoescape=True, undefined=jinja2.StrictUndefined
    )


@functools.cache
def _rules(path: Path) -> Rules:
    return load_rules(path)


class PageRoutes(RouteBase):
    """The page and its JSON routes, bound to the app's :class:`OgcService`."""

    def __init__(self, service: OgcService, engine: Engine) -> None:
        super().__init__(service)
        self.engine = engine

    def _paths(self, request: Request) -> tuple[str, str]:
        """The paths (no host) of the app's root and of the OGC API, as the caller reaches
        them (``ONEMAP_OGC_PUBLIC_URL`` may put the app below a path)."""
        ogc = urlsplit(self._base(request)).path.rstrip("/")
        return ogc.removesuffix("/ogc"), ogc

    async def page(self, request: Request) -> Response:
        root, ogc = self._paths(request)
        template = _environment(templates_dir()).get_template(TEMPLATE)
        body = template.render(root=root, ogc=ogc, api=f"{root}{API}", static=f"{ogc}/static")
        return HTMLResponse(body, headers={"Vary": VARY})

    async def layers(self, request: Request) -> Response:
        async def work() -> Response:
            root, ogc = self._paths(request)
            registry = access.visible(principal_of(request), await self.service.current_registry())
            rules = _rules(self.service.settings.plans.rules_file)
            public = site_check.PROCESS.allowed(PUBLIC)
            document = catalogue.catalogue(
                registry, ogc, f"{root}{API}", rules, site_check_public=public
            )
            return self._document(request, document, JSON)

        return await self._guard(work)

    async def coordinates(self, request: Request) -> Response:
        try:
            answer = coordinates.convert(request.query_params.multi_items())
        except coordinates.CoordinateRequestError as exc:
            return render_error(400, str(exc))
        return json_response(answer)

    async def conflicts(self, request: Request) -> Response:
        async def work() -> Response:
            run_id = _run_number(request.path_params["run"])
            _, ogc = self._paths(request)
            registry = access.visible(principal_of(request), await self.service.current_registry())
            try:
                document = await run_in_threadpool(self._report, run_id)
            except UnknownLayerError:
                raise NotFoundError(f"no conflict run {run_id}") from None
            limit = self.service.ogc.max_limit
            root, _ = self._paths(request)
            api = f"{root}{API}"
            document["links"] = conflict_report.links(registry, run_id, ogc, api, limit)
            return self._document(request, document, JSON)

        return await self._guard(work)

    async def conflict_file(self, request: Request) -> Response:
        """A file of the run's report, as ``onemap plans report`` writes it."""

        async def work() -> Response:
            run_id = _run_number(request.path_params["run"])
            name = request.path_params["name"]
            if name not in conflict_report.FILES:
                raise NotFoundError(
                    f"no report file {name[:40]!r}; served: {', '.join(conflict_report.FILES)}"
                )
            registry = access.visible(principal_of(request), await self.service.current_registry())
            if f"conflicts.run{run_id}" not in registry.specs:
                raise NotFoundError(f"no conflict run {run_id}")
            try:
                body, filename = await run_in_threadpool(self._file, run_id, name)
            except UnknownLayerError:
                raise NotFoundError(f"no conflict run {run_id}") from None
            media_type = conflict_report.FILES[name][0]
            disposition = f'attachment; filename="{filename}"'
            return Response(
                body, media_type=media_type, headers={"Content-Disposition": disposition}
            )

        return await self._guard(work)

    def _file(self, run_id: int, name: str) -> tuple[bytes, str]:
        with self.engine.connect() as conn:
            return conflict_report.report_file(conn, run_id, name)

    def _report(self, run_id: int) -> dict[str, object]:
        with self.engine.connect() as conn:
            return conflict_report.report(conn, run_id)


def _run_number(text: str) -> int:
    if not text.isdigit() or len(text) > 12:
        raise BadRequestError(f"run {text[:30]!r} is not a run number")
    return int(text)


def page_routes(service: OgcService, engine: Engine) -> list[BaseRoute]:
    """The page at ``/`` and ``/map``, and its JSON routes."""
    handlers = PageRoutes(service, engine)
    return [
        Route("/", handlers.page),
        Route("/map", handlers.page),
        Route(f"{API}/layers", handlers.layers),
        Route(f"{API}/coordinates", handlers.coordinates),
        Route(f"{API}/conflicts/{{run}}", handlers.conflicts),
        Route(f"{API}/conflicts/{{run}}/files/{{name}}", handlers.conflict_file),
    ]
