"""The collection and items pages as HTML, made from the same answers as the JSON.

pygeoapi's own items page would read ``filter`` again with pygeofilter's grammar, which
refuses valid CQL2 that the GeoJSON route answers (``NOT (a = 1 OR a = 2)``), and would check
``bbox``, ``bbox-crs`` and ``limit`` its own way. So the page is the GeoJSON answer
(services/ogcapi/features.py) put into pygeoapi's ``collections/items/index.html`` (our copy
in services/web/templates): whatever the GeoJSON route accepts, the page shows, and whatever
it refuses, the page refuses with the same message. The collection page is our collection
document in pygeoapi's ``collections/collection.html``, so it offers the links the JSON
offers (pygeoapi's own adds a CSV download the API does not serve).

Two things differ on purpose. The map draws longitude/latitude, so ``crs`` is not applied
(the features come in CRS84; ``bbox-crs`` and ``filter-crs`` still say how the request's
coordinates are read). A page holds at most ``max_html_limit`` features: a browser drawing
ten thousand polygons stalls.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from services.ogcapi.features import GEOJSON, HTML, JSON
from services.ogcapi.specs import CollectionSpec

NOT_APPLIED = frozenset({"f", "crs"})
"""Parameters the page does not pass on: the format is HTML, the map needs CRS84."""

ITEMS_TEMPLATE = "collections/items/index.html"
COLLECTION_TEMPLATE = "collections/collection.html"


def page_query(query: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The request's parameters as the GeoJSON route should see them for the page."""
    return [(key, value) for key, value in query if key not in NOT_APPLIED]


def as_html(href: str) -> str:
    """``href`` (a GeoJSON page) with ``f=html``."""
    parts = urlsplit(href)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "f"]
    return urlunsplit(parts._replace(query=urlencode([*kept, ("f", "html")])))


def page_links(links: list[dict[str, str]]) -> list[dict[str, str]]:
    """The GeoJSON page's links, turned round: self, next and prev lead to HTML pages and
    the alternate to this page as GeoJSON."""
    turned: list[dict[str, str]] = []
    for link in links:
        rel = link["rel"]
        if rel == "self":
            turned.append({**link, "type": HTML, "href": as_html(link["href"])})
            turned.append(
                {**link, "rel": "alternate", "type": GEOJSON, "title": "this page as GeoJSON"}
            )
        elif rel in ("next", "prev"):
            turned.append({**link, "type": HTML, "href": as_html(link["href"])})
        elif rel == "collection":
            turned.append({**link, "type": JSON})
    return turned


def items_data(geojson: str, spec: CollectionSpec, base_url: str) -> dict[str, Any]:
    """What the items template reads, from the GeoJSON answer's body."""
    data: dict[str, Any] = json.loads(geojson)
    items_url = f"{base_url}/collections/{spec.id}/items"
    data["links"] = page_links(data["links"])
    data.update(
        title=spec.title,
        itemtype="feature",
        items_path=items_url,
        dataset_path=f"{base_url}/collections/{spec.id}",
        collections_path=f"{base_url}/collections",
        id_field="id",
    )
    return data


def collection_data(document: dict[str, Any], base_url: str) -> dict[str, Any]:
    """What the collection template reads, from the collection document."""
    return {**document, "collections_path": f"{base_url}/collections"}


def render(api: Any, spec: CollectionSpec, template: str, data: dict[str, Any], locale: Any) -> str:
    """A page, rendered by pygeoapi's template machinery (our templates first)."""
    from pygeoapi.util import render_j2_template

    templates = api.get_dataset_templates(spec.id)
    return str(render_j2_template(api.tpl_config, templates, template, data, locale))
