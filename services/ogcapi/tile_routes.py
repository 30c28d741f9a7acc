"""The OGC API – Tiles routes of ``/ogc``: tile matrix sets, tilesets, vector tiles.

``/tileMatrixSets[/{id}]``; per collection ``/collections/{id}/tiles[/{set}[/{z}/{row}/{col}]]``
and the dataset tileset ``/tiles[/{set}[/{z}/{row}/{col}]]`` holding the plans (latest
versions), cells and buildings as layers of one tile. A tileset is OGC tileset JSON, or
TileJSON 3.0 with ``?f=tilejson``. Tiles are Mapbox vector tiles, one SQL statement each
(services/ogcapi/tiles.py); an empty tile is ``204 No Content``. Who sees a collection sees
its tiles (services/ogcapi/access.py): a keyed collection is 404 to anonymous callers.

Tiles of public collections go through the in-process cache (services/ogcapi/tile_cache.py):
the current change stamps are read first (also answering ``304``), a kept tile made under
the same tag is sent as it is, and a missing one is made once for all who ask at the same
moment; ``X-Cache`` says which.
"""

from __future__ import annotations

from collections.abc import Sequence

from morecantile import TileMatrixSet
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response

from gis.tms import Tile
from services.auth.routes import principal_of
from services.http.caching import Validators, conditional
from services.ogcapi import access, styles, tiles
from services.ogcapi.errors import BadRequestError, NotFoundError
from services.ogcapi.route_base import JSON, VARY, RouteBase
from services.ogcapi.specs import Audience, CollectionSpec
from services.ogcapi.tile_cache import CachedTile
from services.ogcapi.tile_documents import (
    tile_matrix_set,
    tile_matrix_sets,
    tilejson,
    tileset,
    tilesets,
)

TRUNCATED = "OGC-Tile-Truncated"
FEATURES = "OGC-Tile-Features"
"""Per layer ``{layer}={sent}/{matched}``: features in the tile and features meeting it."""
DATASET_TITLE = "连云港一张图 One Map"
CACHE = "X-Cache"
"""Where a tile came from: ``hit`` (the in-process cache, at the current change stamps),
``miss`` (made now, then kept) or ``bypass`` (not cacheable: a keyed collection)."""
HIT, MISS, BYPASS = "hit", "miss", "bypass"


class TileRoutes(RouteBase):
    """Handlers of the tile routes, bound to one :class:`OgcService`."""

    @staticmethod
    def _metadata_format(request: Request, *, tilejson: bool = False) -> str:
        chosen = (request.query_params.get("f") or "json").strip().lower()
        allowed = ("json", "tilejson") if tilejson else ("json",)
        if chosen not in allowed:
            raise BadRequestError(f"f={chosen[:30]!r}: use {' or '.join(allowed)}")
        return chosen

    async def tile_matrix_sets(self, request: Request) -> Response:
        async def work() -> Response:
            self._metadata_format(request)
            return self._document(request, tile_matrix_sets(self._base(request)), JSON)

        return await self._guard(work)

    async def tile_matrix_set(self, request: Request) -> Response:
        async def work() -> Response:
            self._metadata_format(request)
            document = tile_matrix_set(request.path_params["tms"])
            return self._document(request, document, JSON)

        return await self._guard(work)

    # --- per collection ---------------------------------------------------------------------

    async def collection_tilesets(self, request: Request) -> Response:
        async def work() -> Response:
            self._metadata_format(request)
            spec = await self._spec(request, request.path_params["cid"])
            url = f"{self._base(request)}/collections/{spec.id}/tiles"
            return self._document(request, tilesets(url, spec.title, self._base(request)), JSON)

        return await self._guard(work)

    async def collection_tileset(self, request: Request) -> Response:
        async def work() -> Response:
            chosen = self._metadata_format(request, tilejson=True)
            spec = await self._spec(request, request.path_params["cid"])
            tms = tiles.tile_set(request.path_params["tms"])
            base = self._base(request)
            url = f"{base}/collections/{spec.id}/tiles/{tiles.name_of(tms)}"
            style = _style(base, tms, spec.id)
            if chosen == "tilejson":
                document = tilejson(url, spec.title, [spec], tms, style)
            else:
                document = tileset(url, spec.title, [spec], tms, base, style)
            return self._document(request, document, JSON)

        return await self._guard(work)

    async def collection_tile(self, request: Request) -> Response:
        async def work() -> Response:
            self._tile_format(request)
            spec = await self._spec(request, request.path_params["cid"])
            return await self._tile(request, [spec], strict=True)

        return await self._guard(work)

    # --- the dataset ------------------------------------------------------------------------

    async def _dataset(self, request: Request) -> list[CollectionSpec]:
        registry = access.visible(principal_of(request), await self.service.current_registry())
        return tiles.dataset_layers(registry)

    async def dataset_tilesets(self, request: Request) -> Response:
        async def work() -> Response:
            self._metadata_format(request)
            base = self._base(request)
            return self._document(request, tilesets(f"{base}/tiles", DATASET_TITLE, base), JSON)

        return await self._guard(work)

    async def dataset_tileset(self, request: Request) -> Response:
        async def work() -> Response:
            chosen = self._metadata_format(request, tilejson=True)
            tms = tiles.tile_set(request.path_params["tms"])
            specs = await self._dataset(request)
            base = self._base(request)
            url = f"{base}/tiles/{tiles.name_of(tms)}"
            style = _style(base, tms, styles.PLAN_MAP)
            if chosen == "tilejson":
                document = tilejson(url, DATASET_TITLE, specs, tms, style)
            else:
                document = tileset(url, DATASET_TITLE, specs, tms, base, style)
            return self._document(request, document, JSON)

        return await self._guard(work)

    async def dataset_tile(self, request: Request) -> Response:
        async def work() -> Response:
            self._tile_format(request)
            return await self._tile(request, await self._dataset(request), strict=False)

        return await self._guard(work)

    # --- tiles ------------------------------------------------------------------------------

    @staticmethod
    def _tile_format(request: Request) -> None:
        chosen = request.query_params.get("f")
        if chosen is not None and chosen.strip().lower() not in ("mvt", "pbf"):
            raise BadRequestError(f"f={chosen[:30]!r}: tiles are Mapbox vector tiles (f=mvt)")

    async def _tile(
        self, request: Request, specs: Sequence[CollectionSpec], *, strict: bool
    ) -> Response:
        """The tile of ``specs`` at the request's set and indices; a level outside a
        collection's zoom limits is 404 (``strict``: the one collection), or leaves that
        layer out of a dataset tile (404 when no layer is left)."""
        path = request.path_params
        tms = tiles.tile_set(path["tms"])
        tile = tiles.parse_tile(tms, path["z"], path["row"], path["col"])
        shown = [s for s in specs if tile.z in _levels(tiles.zooms(s, tiles.name_of(tms)))]
        if not shown:
            low, high = tiles.dataset_zooms(specs, tiles.name_of(tms))
            what = specs[0].id if strict and specs else "the dataset"
            raise NotFoundError(
                f"{what} is tiled at {tiles.name_of(tms)} levels {low}-{high}, not {tile.z}"
            )
        limit = self.service.ogc.tile_feature_limit
        parts = (tiles.name_of(tms), tile.z, tile.y, tile.x, limit)
        tables = tiles.stamp_tables(shown)
        defined = tiles.definitions(shown)
        headers = request.headers
        cache = self.service.tile_cache
        cacheable = cache.enabled and all(s.audience is Audience.PUBLIC for s in shown)
        if "if-none-match" in headers or "if-modified-since" in headers or cacheable:
            stamps = await self.service.tile_pool.fetchone(
                tiles.stamps_sql(), {"stamp_tables": list(tables)}
            )
            assert stamps is not None
            found = tiles.tile_validators(
                shown, tables, stamps[0], stamps[1], *parts, defined=defined
            )
            if found is not None and conditional(headers, found):
                return Response(status_code=304, headers={**self._cache(found), "Vary": VARY})
            if cacheable and found is not None:
                key = (defined, *parts)
                kept = cache.get(key, found.etag)
                if kept is not None:
                    return _answer(kept, HIT)
                made = await cache.made(
                    key, found.etag, lambda: self._make(shown, tms, tile, limit, parts, defined)
                )
                return _answer(made, MISS, headers)
        made = await self._make(shown, tms, tile, limit, parts, defined)
        return _answer(made, BYPASS, headers)

    async def _make(
        self,
        shown: Sequence[CollectionSpec],
        tms: TileMatrixSet,
        tile: Tile,
        limit: int,
        parts: tuple[object, ...],
        defined: tuple[str, ...],
    ) -> CachedTile:
        """Run the tile's statement: its bytes, tag and headers."""
        statement = tiles.tile_statement(shown, tms, tile, limit)
        row = await self.service.tile_pool.fetchone(statement.sql, statement.values)
        assert row is not None  # aggregates only: always one row
        body, matched, sent, serials, changed_at = row
        found = tiles.tile_validators(
            shown, statement.tables, serials, changed_at, *parts, defined=defined
        )
        truncated = any(m > limit for m in matched)
        sent_headers = {
            "Vary": VARY,
            TRUNCATED: "true" if truncated else "false",
            FEATURES: ", ".join(
                f"{layer}={s}/{m}"
                for layer, s, m in zip(statement.layers, sent, matched, strict=True)
            ),
            **(self._cache(found) if found is not None else {}),
        }
        return CachedTile(
            bytes(body) if body is not None else None,
            found.etag if found is not None else "",
            sent_headers,
        )

    def _cache(self, found: Validators) -> dict[str, str]:
        return found.headers(self.service.settings.http.cache_max_age)


def _answer(made: CachedTile, source: str, request: Headers | None = None) -> Response:
    """The tile as sent, saying where it came from (``X-Cache``); a tile made under a tag
    the request already holds is ``304`` (the data changed in between, back to its tag)."""
    sent = {**made.headers, CACHE: source}
    if request is not None and made.etag and conditional(request, Validators(made.etag, None)):
        return Response(status_code=304, headers=sent)
    if made.body is None:
        return Response(status_code=204, headers=sent)
    return Response(made.body, media_type=tiles.MVT, headers=sent)


def _style(base_url: str, tms: TileMatrixSet, style_id: str) -> str | None:
    """The style drawing a tileset: styles draw the WebMercatorQuad tiles only."""
    return styles.style_url(base_url, style_id) if tiles.name_of(tms) == styles.TMS else None


def _levels(limits: tuple[int, int]) -> range:
    return range(limits[0], limits[1] + 1)
