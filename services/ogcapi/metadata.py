"""JSON of conformance, collections and queryables, written from the registry.

pygeoapi would claim conformance classes we do not implement (schemas, its own transactions)
and describe storage as it sees it; these documents say exactly what the routes do.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from services.ogcapi.crs import default_crs, served, storage_crs
from services.ogcapi.sources import Registry
from services.ogcapi.specs import GEOMETRY_QUERYABLE, CollectionSpec
from services.ogcapi.styles import MAPBOX_STYLE, PLAN_MAP, style_url
from services.ogcapi.tile_documents import CONFORMANCE as TILES_CONFORMANCE
from services.ogcapi.tile_documents import REL

PROCESSES_CONFORMANCE: Final = tuple(
    f"http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/{name}"
    for name in ("core", "json", "job-list", "dismiss", "ogc-process-description", "oas30")
)
"""OGC API – Processes – Part 1 (services/ogcapi/process_routes.py); not html, callback."""

CONFORMANCE: Final = (
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/landing-page",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/json",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/collections",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/optimistic-locking-etags",
    *TILES_CONFORMANCE,
    *PROCESSES_CONFORMANCE,
)
"""What the routes implement, checked by tests/services/test_ogc_*.py."""

PROCESSES_REL: Final = "http://www.opengis.net/def/rel/ogc/1.0"
_QUERYABLES_REL: Final = "http://www.opengis.net/def/rel/ogc/1.0/queryables"


def landing(base_url: str, title: str, description: str) -> dict[str, Any]:
    """The landing page: only links that lead somewhere here."""
    return {
        "title": title,
        "description": description,
        "links": [
            {"rel": "self", "type": "application/json", "title": "this document",
             "href": base_url},
            {"rel": "alternate", "type": "text/html", "title": "this document as HTML",
             "href": f"{base_url}?f=html"},
            {"rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.0",
             "title": "the OpenAPI definition", "href": f"{base_url}/openapi"},
            {"rel": "service-doc", "type": "text/html", "title": "the OpenAPI definition as HTML",
             "href": f"{base_url}/openapi?f=html"},
            {"rel": "conformance", "type": "application/json", "title": "conformance classes",
             "href": f"{base_url}/conformance"},
            {"rel": "data", "type": "application/json", "title": "collections",
             "href": f"{base_url}/collections"},
            {"rel": f"{REL}/tiling-schemes", "type": "application/json",
             "title": "tile matrix sets", "href": f"{base_url}/tileMatrixSets"},
            {"rel": f"{REL}/tilesets-vector", "type": "application/json",
             "title": "vector tiles of the plans, cells and buildings",
             "href": f"{base_url}/tiles"},
            {"rel": f"{REL}/styles", "type": "application/json",
             "title": "MapLibre styles of the collections and the plan map",
             "href": f"{base_url}/styles"},
            {"rel": "stylesheet", "type": MAPBOX_STYLE, "title": "the plan map (MapLibre style)",
             "href": style_url(base_url, PLAN_MAP)},
            {"rel": f"{PROCESSES_REL}/processes", "type": "application/json",
             "title": "processes: the analyses, run synchronously or as jobs",
             "href": f"{base_url}/processes"},
            {"rel": f"{PROCESSES_REL}/job-list", "type": "application/json",
             "title": "jobs", "href": f"{base_url}/jobs"},
        ],
    }  # fmt: skip


def conformance() -> dict[str, Any]:
    return {"conformsTo": list(CONFORMANCE)}


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def collection(spec: CollectionSpec, base_url: str) -> dict[str, Any]:
    """One collection: extent, CRSs (storage EPSG:4490), links to items and queryables."""
    url = f"{base_url}/collections/{spec.id}"
    extent: dict[str, Any] = {}
    if spec.extent.bbox:
        extent["spatial"] = {"bbox": [list(spec.extent.bbox)], "crs": default_crs().uri}
    if spec.extent.interval:
        begin, end = spec.extent.interval
        extent["temporal"] = {
            "interval": [[_iso(begin), _iso(end)]],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        }
    return {
        "id": spec.id,
        "title": spec.title,
        "description": spec.description,
        "keywords": list(spec.keywords),
        "itemType": "feature",
        "extent": extent,
        "crs": [c.uri for c in served()],
        "storageCrs": storage_crs().uri,
        "links": [
            {"rel": "self", "type": "application/json", "title": spec.title, "href": url},
            {"rel": "alternate", "type": "text/html", "title": "as HTML", "href": f"{url}?f=html"},
            {
                "rel": "items",
                "type": "application/geo+json",
                "title": "Items as GeoJSON",
                "href": f"{url}/items",
            },
            {
                "rel": "items",
                "type": "text/html",
                "title": "Items as HTML",
                "href": f"{url}/items?f=html",
            },
            {
                "rel": _QUERYABLES_REL,
                "type": "application/schema+json",
                "title": "Queryables",
                "href": f"{url}/queryables",
            },
            {
                "rel": f"{REL}/tilesets-vector",
                "type": "application/json",
                "title": "Vector tiles",
                "href": f"{url}/tiles",
            },
            {
                "rel": f"{REL}/styles",
                "type": "application/json",
                "title": "Styles",
                "href": f"{url}/styles",
            },
            {
                "rel": "stylesheet",
                "type": MAPBOX_STYLE,
                "title": "MapLibre style",
                "href": style_url(base_url, spec.id),
            },
        ],
    }


def collections(registry: Registry, base_url: str) -> dict[str, Any]:
    url = f"{base_url}/collections"
    return {
        "collections": [collection(s, base_url) for s in registry.specs.values()],
        "links": [
            {"rel": "self", "type": "application/json", "title": "Collections", "href": url},
            {"rel": "alternate", "type": "text/html", "title": "as HTML", "href": f"{url}?f=html"},
        ],
    }


def queryables(spec: CollectionSpec, base_url: str) -> dict[str, Any]:
    """JSON Schema of what filters, equality parameters and ``sortby`` may use."""
    geometry_format = {
        "Polygon": "geometry-polygon",
        "MultiPolygon": "geometry-multipolygon",
        "Point": "geometry-point",
        "LineString": "geometry-linestring",
    }.get(spec.geometry_type, "geometry-any")
    properties: dict[str, Any] = {
        GEOMETRY_QUERYABLE: {"title": "geometry", "format": geometry_format,
                             "x-ogc-role": "primary-geometry"},
    }  # fmt: skip
    for name, prop in spec.queryables().items():
        entry: dict[str, Any] = {"title": prop.title or name, **prop.type.json_schema()}
        if prop.column == spec.id_column:
            entry["x-ogc-role"] = "id"
        if prop.column == spec.datetime_column:
            entry["x-ogc-role"] = "primary-instant"
        properties[name] = entry
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base_url}/collections/{spec.id}/queryables",
        "type": "object",
        "title": spec.title,
        "properties": properties,
        "additionalProperties": False,
    }
