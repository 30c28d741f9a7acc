"""The Tianditu-compatible WMTS endpoints (docs/basemaps.md):

- KVP GetCapabilities and GetTile on ``/{layer}_{set}/wmts`` (Tianditu's paths) and ``/wmts``;
- Tianditu's ``/DataServer?T={layer}_{set}&x={col}&y={row}&l={level}``;
- RESTful ``/wmts/1.0.0/{layer}/default/{set}/{level}/{row}/{col}.{png|jpg}`` and
  ``/wmts/1.0.0/WMTSCapabilities.xml``.

Tiles come from the cache or are rendered in worker processes (:mod:`.tiles`); each
carries a strong ``ETag`` of its bytes and ``Cache-Control``, and ``If-None-Match`` is
answered 304. A non-empty ``tk`` (Tianditu's key
parameter) is checked as an API key of this platform; a bad one is 401.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from grid.privacy import SecretKeyError
from services.auth.gate import CHALLENGE, KeyResolver
from services.basemaps import capabilities as caps
from services.basemaps import tile_requests as wmts_requests
from services.basemaps.encode import blank_tile
from services.basemaps.exceptions import WmtsError, exception_report
from services.basemaps.jobs import LAYERS, SETS, TileJob
from services.basemaps.tiles import RenderUnavailableError, TileService
from services.http.caching import Validators, conditional
from services.settings import Settings

LOG = logging.getLogger("onemap.basemaps")
Endpoint = Callable[[Request], Awaitable[Response]]


class WmtsService:
    """Answers tiles (from :class:`~services.basemaps.tiles.TileService`) and capabilities."""

    def __init__(
        self, settings: Settings, tiles: TileService, resolver: KeyResolver | None
    ) -> None:
        self.tiles = tiles
        self.resolver = resolver
        self.max_age = settings.basemap.cache_max_age
        self.public_url = settings.ogc.public_url

    def base(self, request: Request) -> str:
        """The server's root URL as clients see it (the public URL without ``/ogc``)."""
        if self.public_url:
            return self.public_url.rstrip("/").removesuffix("/ogc")
        return str(request.base_url).rstrip("/")

    async def check_tk(self, params: Mapping[str, str]) -> None:
        key = params.get("tk", "").strip()
        if not key or self.resolver is None:
            return
        try:
            verdict = await self.resolver.verdict(key)
        except SecretKeyError:
            raise WmtsError(
                "ServiceUnavailable", "tk cannot be checked: the platform has no secret key"
            ) from None
        if verdict.principal is None:
            raise WmtsError("NotAuthorised", f"tk: {verdict.problem}", "tk")

    async def tile(self, request: Request, job: TileJob) -> Response:
        try:
            body = await self.tiles.tile(job)
        except RenderUnavailableError:
            raise WmtsError("ServiceUnavailable", "the renderers restarted; retry") from None
        except Exception:  # a renderer's failure is ours: logged, answered in WMTS terms
            LOG.exception("rendering %s failed", job)
            raise WmtsError("NoApplicableCode", "the tile could not be rendered") from None
        if body is None:
            body = blank_tile(job.media_type, job.size)
        validators = Validators(f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"', None)
        headers = validators.headers(self.max_age)
        if conditional(request.headers, validators):
            return Response(status_code=304, headers=headers)
        return Response(body, headers=headers, media_type=job.media_type)

    def capabilities(
        self, request: Request, kvp_path: str, layers: tuple[str, ...], sets: tuple[str, ...]
    ) -> Response:
        base = self.base(request)
        text = caps.capabilities(base, f"{base}{kvp_path}?", layers, sets)
        return Response(
            text,
            media_type="application/xml",
            headers={"Cache-Control": f"max-age={self.max_age}"},
        )


def _guarded(handler: Endpoint) -> Endpoint:
    """Every WmtsError raised by ``handler`` as an ExceptionReport."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except WmtsError as error:
            headers = None
            if error.status == 401:
                headers = {"WWW-Authenticate": f'{CHALLENGE}, error="invalid_token"'}
            return exception_report(error, headers)

    return endpoint


def _kvp(service: WmtsService, layer: str | None, tileset: str | None) -> Endpoint:
    path = f"/{layer}_{tileset}/wmts" if layer else "/wmts"

    async def kvp(request: Request) -> Response:
        params = wmts_requests.lower_keys(request.query_params)
        await service.check_tk(params)
        operation = wmts_requests.required(params, "REQUEST")
        if operation.lower() == "getcapabilities":
            layers = (layer,) if layer else LAYERS
            sets = (tileset,) if tileset else SETS
            return service.capabilities(request, path, layers, sets)
        if operation.lower() == "gettile":
            return await service.tile(request, wmts_requests.kvp_tile(params, layer, tileset))
        raise WmtsError(
            "OperationNotSupported",
            f"REQUEST {operation!r} is not served; GetCapabilities and GetTile are",
            "REQUEST",
        )

    return _guarded(kvp)


def wmts_routes(service: WmtsService) -> list[BaseRoute]:
    """The routes, all GET (and HEAD)."""

    async def dataserver(request: Request) -> Response:
        params = wmts_requests.lower_keys(request.query_params)
        await service.check_tk(params)
        return await service.tile(request, wmts_requests.dataserver_tile(params))

    async def rest_tile(request: Request) -> Response:
        await service.check_tk(wmts_requests.lower_keys(request.query_params))
        p = request.path_params
        job = wmts_requests.rest_tile(
            p["layer"], p["style"], p["tileset"], p["matrix"], p["row"], p["last"]
        )
        return await service.tile(request, job)

    async def rest_capabilities(request: Request) -> Response:
        return service.capabilities(request, "/wmts", LAYERS, SETS)

    per_layer = [
        Route(f"/{layer}_{tileset}/wmts", _kvp(service, layer, tileset))
        for layer in LAYERS
        for tileset in SETS
    ]
    return [
        *per_layer,
        Route("/wmts", _kvp(service, None, None)),
        Route("/DataServer", _guarded(dataserver)),
        Route("/wmts/1.0.0/WMTSCapabilities.xml", rest_capabilities),
        Route("/wmts/1.0.0/{layer}/{style}/{tileset}/{matrix}/{row}/{last}", _guarded(rest_tile)),
    ]


def basemap_routes(
    settings: Settings, tiles: TileService, resolver: KeyResolver | None = None
) -> list[BaseRoute]:
    """The WMTS routes over ``tiles``."""
    return wmts_routes(WmtsService(settings, tiles, resolver))
