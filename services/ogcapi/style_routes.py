"""The style routes of ``/ogc`` (OGC API – Styles paths; the documents: styles.py).

``/styles`` lists the styles the caller may use (the plan map and one per collection they
see); ``/styles/{styleId}`` is a MapLibre style (``f=mapbox``, the only encoding);
``/collections/{id}/styles`` lists the collection's style and
``/collections/{id}/styles/{styleId}`` serves it. Who may not see a collection gets 404 for
its style, like for its tiles.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from services.auth.routes import principal_of
from services.ogcapi import access, styles
from services.ogcapi.errors import BadRequestError, NotFoundError
from services.ogcapi.route_base import JSON, RouteBase
from services.ogcapi.sources import Registry


class StyleRoutes(RouteBase):
    """Handlers of the style routes, bound to one :class:`OgcService`."""

    @staticmethod
    def _list_format(request: Request) -> None:
        chosen = (request.query_params.get("f") or "json").strip().lower()
        if chosen != "json":
            raise BadRequestError(f"f={chosen[:30]!r}: use json")

    @staticmethod
    def _style_format(request: Request) -> None:
        chosen = (request.query_params.get("f") or "mapbox").strip().lower()
        if chosen != "mapbox":
            raise BadRequestError(f"f={chosen[:30]!r}: styles are MapLibre styles (f=mapbox)")

    async def _registry(self, request: Request) -> Registry:
        return access.visible(principal_of(request), await self.service.current_registry())

    async def styles(self, request: Request) -> Response:
        async def work() -> Response:
            self._list_format(request)
            document = styles.styles_list(await self._registry(request), self._base(request))
            return self._document(request, document, JSON)

        return await self._guard(work)

    async def style(self, request: Request) -> Response:
        async def work() -> Response:
            self._style_format(request)
            registry = await self._registry(request)
            document = styles.style(registry, request.path_params["sid"], self._base(request))
            return self._document(request, document, styles.MAPBOX_STYLE)

        return await self._guard(work)

    async def collection_styles(self, request: Request) -> Response:
        async def work() -> Response:
            self._list_format(request)
            spec = await self._spec(request, request.path_params["cid"])
            document = styles.collection_styles(spec, self._base(request))
            return self._document(request, document, JSON)

        return await self._guard(work)

    async def collection_style(self, request: Request) -> Response:
        async def work() -> Response:
            self._style_format(request)
            spec = await self._spec(request, request.path_params["cid"])
            asked = request.path_params["sid"]
            if asked != spec.id:
                raise NotFoundError(f"{spec.id} has one style, {spec.id!r}; not {asked[:100]!r}")
            document = styles.collection_style(spec, self._base(request))
            return self._document(request, document, styles.MAPBOX_STYLE)

        return await self._guard(work)
