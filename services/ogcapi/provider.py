"""Our pygeoapi feature provider: a thin adapter from pygeoapi's ``query``/``get`` to the
same SQL our GeoJSON routes run (``services.ogcapi.feature_sql``), so HTML and JSON-LD pages, which
pygeoapi renders, show exactly what the GeoJSON routes return.

pygeoapi builds a provider per request from its configuration, so the collection spec
travels in the provider definition (``spec``) and the engine is looked up by name in a
module-level registry filled by the app (:func:`register_engine`): no password in the
configuration, no engine per request.

pygeoapi moves bbox and filter geometries to the storage CRS itself and assumes (lat, lon)
numbers for EPSG:4490 (docs/performance.md); the generated configuration therefore tells it that
storage is CRS84, whose numbers are those of our x = lon EPSG:4490 columns.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from pygeoapi.provider.base import (
    BaseProvider,
    ProviderInvalidQueryError,
    ProviderItemNotFoundError,
    ProviderQueryError,
)
from sqlalchemy import Engine

from services.ogcapi import params
from services.ogcapi.crs import default_crs, parse_crs
from services.ogcapi.errors import BadRequestError
from services.ogcapi.feature_sql import item_statement, items_statement
from services.ogcapi.params import Interval, ItemsRequest, Output, SortKey
from services.ogcapi.specs import CollectionSpec
from services.ogcapi.values import from_text

_ENGINES: dict[str, Engine] = {}


def register_engine(key: str, engine: Engine) -> None:
    """Make ``engine`` reachable to providers whose definition says ``data: key``."""
    _ENGINES[key] = engine


def unregister_engine(key: str) -> None:
    _ENGINES.pop(key, None)


@functools.lru_cache(maxsize=1024)
def _spec(text: str) -> CollectionSpec:
    return CollectionSpec.model_validate_json(text)


class OneMapProvider(BaseProvider):  # type: ignore[misc]
    """pygeoapi provider over a :class:`CollectionSpec` (``provider_def['spec']``)."""

    def __init__(self, provider_def: dict[str, Any]) -> None:
        super().__init__(provider_def)
        self.spec = _spec(json.dumps(provider_def["spec"], sort_keys=True))
        self.count_limit = int(provider_def.get("count_limit", 100_000))
        self.id_field = "id"
        self.title_field = "name" if any(p.name == "name" for p in self.spec.properties) else None
        self._fields = {
            p.name: {**p.type.json_schema(), **({"title": p.title} if p.title else {})}
            for p in self.spec.properties
        }

    def get_fields(self) -> dict[str, Any]:
        return dict(self._fields)

    @property
    def _engine(self) -> Engine:
        try:
            return _ENGINES[self.data]
        except KeyError:
            raise ProviderQueryError("the OGC API is not connected to a database") from None

    def query(
        self,
        offset: int = 0,
        limit: int = 10,
        resulttype: str = "results",
        bbox: list[float] | None = None,
        datetime_: str | None = None,
        properties: list[tuple[str, str]] | None = None,
        sortby: list[dict[str, str]] | None = None,
        select_properties: list[str] | None = None,
        skip_geometry: bool = False,
        q: str | None = None,
        filterq: Any = None,
        crs_transform_spec: Any = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        try:
            request = self._request(
                offset, limit, bbox, datetime_, properties or [], sortby or [],
                select_properties or [], skip_geometry, filterq, crs_transform_spec,
            )  # fmt: skip
            statement = items_statement(self.spec, request, self.count_limit)
        except BadRequestError as exc:
            raise ProviderInvalidQueryError(user_msg=exc.description) from None
        with self._engine.connect() as conn:
            features, fetched, _, _, matched = conn.exec_driver_sql(
                statement.sql, statement.values
            ).one()
        result: dict[str, Any] = {
            "type": "FeatureCollection",
            "features": json.loads(f"[{features or ''}]"),
            "numberReturned": min(int(fetched), request.limit),
        }
        if matched is not None and (not request.filtered or int(matched) <= self.count_limit):
            result["numberMatched"] = int(matched)
        return result

    def get(self, identifier: str, crs_transform_spec: Any = None, **kwargs: Any) -> Any:
        key = params.feature_id(str(identifier), self.spec)
        if key is None:
            raise ProviderItemNotFoundError(user_msg=f"no feature {identifier!r}")
        output = Output(self._crs(crs_transform_spec), self.spec.properties, False)
        statement = item_statement(self.spec, key, output)
        with self._engine.connect() as conn:
            text = conn.exec_driver_sql(statement.sql, statement.values).scalar_one_or_none()
        if text is None:
            raise ProviderItemNotFoundError(user_msg=f"no feature {identifier!r}")
        return json.loads(text)

    # --- translation ----------------------------------------------------------------------

    @staticmethod
    def _crs(crs_transform_spec: Any) -> Any:
        if crs_transform_spec is None:
            return default_crs()
        return parse_crs(str(crs_transform_spec.target_crs_uri))

    def _request(
        self,
        offset: int,
        limit: int,
        bbox: list[float] | None,
        datetime_: str | None,
        equals: list[tuple[str, str]],
        sortby: list[dict[str, str]],
        select: list[str],
        skip_geometry: bool,
        filterq: Any,
        crs_transform_spec: Any,
    ) -> ItemsRequest:
        queryables = self.spec.queryables()
        sort_text = ",".join(f"{s.get('order', '+')}{s['property']}" for s in sortby)
        sort: tuple[SortKey, ...] = params.sort_keys(sort_text.replace("+", ""), self.spec)
        by_name = {p.name: p for p in self.spec.properties}
        props = tuple(by_name[n] for n in select if n in by_name) or self.spec.properties
        interval = None
        if datetime_:
            found = params.parse_interval(datetime_, self.spec)
            interval = found if isinstance(found, Interval) else None
        return ItemsRequest(
            limit=limit,
            offset=offset,
            cursor=None,
            bbox=(bbox[0], bbox[1], bbox[2], bbox[3]) if bbox and len(bbox) >= 4 else None,
            interval=interval,
            equals=tuple(
                (queryables[k], from_text(queryables[k], v, k))
                for k, v in equals
                if k in queryables
            ),
            filter=filterq,
            filter_crs=default_crs(),
            sort=sort,
            output=Output(self._crs(crs_transform_spec), props, skip_geometry),
        )
