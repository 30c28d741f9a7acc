"""The feature routes as GeoJSON: ``/collections/{id}/items`` and ``/items/{featureId}``.

PostGIS returns the features as one text (services/ogcapi/feature_sql.py); Python checks the
request, awaits one statement on the async pool (services/ogcapi/pool.py) and frames the
text with ``numberMatched``, ``numberReturned``, ``timeStamp`` and the links. HTML and
JSON-LD go to pygeoapi (same SQL, through our provider).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from services.http.caching import Validators
from services.ogcapi import params
from services.ogcapi.errors import BadRequestError, NotFoundError
from services.ogcapi.feature_sql import item_statement, items_statement
from services.ogcapi.pages import encode_cursor, page_url
from services.ogcapi.params import ItemsRequest
from services.ogcapi.pool import AsyncPool
from services.ogcapi.specs import CollectionSpec
from services.ogcapi.validators import row_validators, validators, with_stamp

GEOJSON: Final = "application/geo+json"
JSON: Final = "application/json"
HTML: Final = "text/html"


@dataclass(frozen=True)
class Answer:
    """A response body with its media type and headers."""

    body: str
    media_type: str
    headers: dict[str, str]
    validators: Validators | None = None


def negotiate(format_param: str | None, accept: str) -> str:
    """``json``, ``html`` or ``jsonld`` from ``f`` (wins) or the Accept header (``*/*``: JSON)."""
    if format_param is not None:
        chosen = format_param.strip().lower()
        if chosen in ("json", "geojson"):
            return "json"
        if chosen in ("html", "jsonld"):
            return chosen
        raise BadRequestError(f"f={format_param[:50]!r}: use json, geojson, html or jsonld")
    accept = accept.lower()
    if "json" not in accept and HTML in accept:
        return "html"
    if "application/ld+json" in accept and "geo+json" not in accept:
        return "jsonld"
    return "json"


def media_type(accept: str) -> str:
    """GeoJSON's type, unless the client asked for plain JSON only."""
    lowered = accept.lower()
    if JSON in lowered and "geo+json" not in lowered and "*/*" not in lowered:
        return JSON
    return GEOJSON


def _link(rel: str, href: str, kind: str, title: str) -> dict[str, str]:
    return {"rel": rel, "type": kind, "title": title, "href": href}


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def items(
    pool: AsyncPool,
    spec: CollectionSpec,
    query: Sequence[tuple[str, str]],
    base_url: str,
    accept: str,
    limits: tuple[int, int, int],
    filters: params.FilterLimits,
) -> Answer:
    """``/collections/{id}/items`` as GeoJSON; ``limits`` = (default, max, count limit)."""
    default_limit, max_limit, count_limit = limits
    request = params.items_request(query, spec, default_limit, max_limit, filters)
    statement = items_statement(spec, request, count_limit)
    row = await pool.fetchone(*with_stamp(statement.sql, statement.values, spec))
    assert row is not None  # an aggregate without GROUP BY: always one row
    features, fetched, first_key, last_key, matched, serial, changed_at = row
    returned = min(int(fetched), request.limit)
    items_url = f"{base_url}/collections/{spec.id}/items"
    links = _page_links(request, query, items_url, spec, int(fetched), first_key, last_key)
    links.append(_link("collection", f"{base_url}/collections/{spec.id}", JSON, spec.title))
    head = ['{"type":"FeatureCollection","features":[', features or "", "]"]
    if matched is not None and (not request.filtered or int(matched) <= count_limit):
        head.append(f',"numberMatched":{int(matched)}')
    head.append(f',"numberReturned":{returned},"timeStamp":"{_now()}","links":')
    head.append(json.dumps(links, ensure_ascii=False))
    head.append("}")
    crs = request.output.crs
    kind = media_type(accept)
    found = validators(spec, serial, changed_at, query, base_url, kind)
    return Answer("".join(head), kind, {"Content-Crs": f"<{crs.uri}>"}, found)


def _page_links(
    request: ItemsRequest,
    query: Sequence[tuple[str, str]],
    items_url: str,
    spec: CollectionSpec,
    fetched: int,
    first_key: str | None,
    last_key: str | None,
) -> list[dict[str, str]]:
    links = [
        _link("self", page_url(items_url, query), GEOJSON, f"{spec.title}: this page"),
        _link("alternate", page_url(items_url, query, f="html"), HTML, "this page as HTML"),
    ]
    backwards = request.cursor is not None and request.cursor.backwards
    more = fetched > request.limit
    if backwards:  # the page ends where the request began; keys come in reverse order
        first_key, last_key = last_key, first_key
        has_next, has_prev = True, more
    else:
        has_next, has_prev = more, request.cursor is not None or request.offset > 0
    if has_next and last_key is not None:
        cursor = encode_cursor(False, request.sort, last_key)
        href = page_url(items_url, query, cursor=cursor, offset=None)
        links.append(_link("next", href, GEOJSON, "next page"))
    if has_prev and first_key is not None:
        cursor = encode_cursor(True, request.sort, first_key)
        href = page_url(items_url, query, cursor=cursor, offset=None)
        links.append(_link("prev", href, GEOJSON, "previous page"))
    elif has_prev and request.offset > 0:  # past the end: step back by offset
        offset = str(max(0, request.offset - request.limit))
        href = page_url(items_url, query, offset=offset, cursor=None)
        links.append(_link("prev", href, GEOJSON, "previous page"))
    return links


def item_query(
    spec: CollectionSpec, feature_id: str, query: Sequence[tuple[str, str]]
) -> tuple[str, dict[str, object]]:
    """The one statement of ``/items/{featureId}`` (the feature, its version, its change
    stamp); 404 when the id cannot be one of the collection's."""
    output = params.item_output(query, spec)
    key = params.feature_id(feature_id, spec)
    if key is None:
        raise NotFoundError(f"no feature {feature_id[:100]!r} in {spec.id}")
    statement = item_statement(spec, key, output)
    return with_stamp(statement.sql, statement.values, spec)


def item_answer(
    spec: CollectionSpec,
    feature_id: str,
    row: Sequence[Any] | None,
    query: Sequence[tuple[str, str]],
    base_url: str,
    accept: str,
) -> Answer:
    """The Feature of :func:`item_query`'s row, with links and validators; 404 without."""
    if row is None or row[0] is None:
        raise NotFoundError(f"no feature {feature_id[:100]!r} in {spec.id}")
    text: str = row[0]
    item_url = f"{base_url}/collections/{spec.id}/items/{feature_id}"
    links = [
        _link("self", page_url(item_url, query), GEOJSON, "this feature"),
        _link("alternate", page_url(item_url, query, f="html"), HTML, "this feature as HTML"),
        _link("collection", f"{base_url}/collections/{spec.id}", JSON, spec.title),
    ]
    body = f'{text[:-1]},"links":{json.dumps(links, ensure_ascii=False)}}}'
    crs = params.item_output(query, spec).crs
    kind = media_type(accept)
    version, modified, serial, changed_at = row[1], row[2], row[3], row[4]
    found: Validators | None
    if version is not None:  # the row's version: If-Match on PUT, PATCH and DELETE names it
        found = row_validators(int(version), modified, spec, feature_id, query, base_url, kind)
    else:
        found = validators(spec, serial, changed_at, feature_id, query, base_url, kind)
    return Answer(body, kind, {"Content-Crs": f"<{crs.uri}>"}, found)


async def item(
    pool: AsyncPool,
    spec: CollectionSpec,
    feature_id: str,
    query: Sequence[tuple[str, str]],
    base_url: str,
    accept: str,
) -> Answer:
    """``/collections/{id}/items/{featureId}`` as a GeoJSON Feature; 404 when absent."""
    row = await pool.fetchone(*item_query(spec, feature_id, query))
    return item_answer(spec, feature_id, row, query, base_url, accept)
