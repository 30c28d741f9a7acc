"""The OpenAPI 3.0 document of ``/ogc``: exactly the routes that answer, resolved offline.

Generated here from the collection registry rather than post-processed from pygeoapi's
``get_oas``: pygeoapi describes its own routes (POST and OPTIONS on items, ``/schema``,
its tiles, processes), claims statuses our routes never send and points its responses at
schemas.opengis.net, so nearly every part of it would have to be deleted or rewritten.
Walking the registry with the parameter sets the routes check against (:mod:`.params`) is
shorter and cannot promise a route that does not answer. Every schema is in
``components``: no ``$ref`` leaves the document, which resolves with no network.

One path per collection (pygeoapi's convention, kept): each collection's ``/items`` takes
its own queryables as parameters and returns its own properties. Every path answers GET
and HEAD (Starlette adds HEAD to GET routes); items also answer OPTIONS, and editable
collections the Part 4 writes, history and revert (openapi_writes.py); tile matrix sets,
the dataset tileset and each collection's tiles are in openapi_tiles.py. The feature
schemas describe our SQL-built GeoJSON, the only GeoJSON the routes serve.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata as package_metadata
from typing import Any, Final

from services.ogcapi.crs import served, storage_crs
from services.ogcapi.openapi_processes import PROCESSES_TAG
from services.ogcapi.openapi_processes import SCHEMAS as PROCESS_SCHEMAS
from services.ogcapi.openapi_processes import paths as process_paths
from services.ogcapi.openapi_schemas import (
    Json,
    array,
    feature_collection_schema,
    feature_name,
    feature_schema,
    features_name,
    ref,
    schema_ref,
    static_schemas,
)
from services.ogcapi.openapi_styles import SCHEMAS as STYLE_SCHEMAS
from services.ogcapi.openapi_styles import STYLES_TAG
from services.ogcapi.openapi_styles import collection_paths as style_collection_paths
from services.ogcapi.openapi_styles import server_paths as style_server_paths
from services.ogcapi.openapi_tiles import EMPTY, TILES_TAG
from services.ogcapi.openapi_tiles import SCHEMAS as TILE_SCHEMAS
from services.ogcapi.openapi_tiles import collection_paths as tile_collection_paths
from services.ogcapi.openapi_tiles import server_paths as tile_server_paths
from services.ogcapi.openapi_writes import (
    EDIT_SCHEMAS,
    SECURITY_SCHEMES,
    write_paths,
    write_schemas,
)
from services.ogcapi.pages import MAX_CURSOR
from services.ogcapi.params import ITEMS_PARAMETERS, MAX_OFFSET
from services.ogcapi.sources import Registry
from services.ogcapi.specs import CollectionSpec
from services.settings import OgcSettings

OPENAPI_VERSION: Final = "3.0.3"
JSON: Final = "application/json"
GEOJSON: Final = "application/geo+json"
HTML: Final = "text/html"
JSONLD: Final = "application/ld+json"
SCHEMA_JSON: Final = "application/schema+json"
OPENAPI_JSON: Final = "application/vnd.oai.openapi+json;version=3.0"
METADATA_FORMATS: Final = ("json", "html", "jsonld")
FEATURE_FORMATS: Final = ("json", "geojson", "html", "jsonld")
SERVER_TAG: Final = "server"

# --- parameters -------------------------------------------------------------------------------


def _query(name: str, description: str, schema: Json) -> Json:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema, "style": "form", "explode": False}  # fmt: skip


def _format(formats: Iterable[str]) -> Json:
    return _query("f", "Output format (wins over the Accept header).",
                  {"type": "string", "enum": list(formats)})  # fmt: skip


_LANG: Final = _query("lang", "Language of HTML pages (JSON is not translated).",
                      {"type": "string"})  # fmt: skip


def _crs_enum() -> Json:
    return {"type": "string", "format": "uri", "enum": [c.uri for c in served()]}


def _output_parameters(spec: CollectionSpec) -> list[Json]:
    """``crs``, ``properties`` and ``skipGeometry``: how features are written."""
    return [
        _query("crs", "CRS of the response geometries (default CRS84).", _crs_enum()),
        _query("properties", "Comma-separated properties to return (empty: none).",
               array({"type": "string", "enum": [p.name for p in spec.properties]})),
        _query("skipGeometry", "Leave geometries out.", {"type": "boolean", "default": False}),
    ]  # fmt: skip


def items_parameters(spec: CollectionSpec, settings: OgcSettings) -> list[Json]:
    """The query parameters ``/items`` takes, exactly (others are answered with 400)."""
    crs_enum = _crs_enum()
    sortable = list(spec.queryables())
    found = [
        _format(FEATURE_FORMATS),
        _LANG,
        _query("bbox", "minx,miny,maxx,maxy (or 6 numbers) in bbox-crs and its axis order.",
               {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}),
        _query("bbox-crs", "CRS of bbox (default CRS84).", crs_enum),
        _query("limit", f"Page size; above {settings.max_limit} it is cut to {settings.max_limit}.",
               {"type": "integer", "minimum": 1, "maximum": settings.max_limit,
                "default": settings.default_limit}),
        _query("offset", "Rows to skip (next links use cursor instead; not with cursor).",
               {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}),
        _query("cursor", "Opaque keyset position taken from a next/prev link.",
               {"type": "string", "maxLength": MAX_CURSOR}),
    ]  # fmt: skip
    if spec.datetime_column is not None:
        found.append(
            _query("datetime", f"Instant or interval (RFC 3339, '..' open) on "
                   f"{spec.datetime_column}.", {"type": "string"})
        )  # fmt: skip
    found += [
        _query("filter", "CQL2 filter (see filter-lang) over the queryables.",
               {"type": "string", "maxLength": settings.max_filter_chars}),
        _query("filter-lang", "Language of filter.",
               {"type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text"}),
        _query("filter-crs", "CRS of geometry literals in filter (default CRS84).", crs_enum),
        _query("sortby", "Comma-separated [+|-]property; the key is always the last.",
               array({"type": "string", "enum": [f"{d}{n}" for n in sortable
                                                 for d in ("", "+", "-")]}, uniqueItems=True)),
        *_output_parameters(spec),
    ]  # fmt: skip
    for name, prop in spec.queryables().items():
        if name not in ITEMS_PARAMETERS:
            found.append(_query(name, f"Equality filter on {name}.", prop.type.json_schema()))
    return found


def item_parameters(spec: CollectionSpec) -> list[Json]:
    """The parameters of ``/items/{featureId}``: the path's id, format and output."""
    feature_id = {"name": "featureId", "in": "path", "required": True,
                  "description": f"The feature's {spec.id_column}.",
                  "schema": spec.key_prop().type.json_schema()}  # fmt: skip
    return [feature_id, _format(FEATURE_FORMATS), _LANG, *_output_parameters(spec)]


_METADATA_PARAMETERS: Final = [ref("parameters", "f"), ref("parameters", "lang")]
_OPENAPI_PARAMETERS: Final = [
    _query("f", "json: this document; html: an interactive page.",
           {"type": "string", "enum": ["json", "html"]}),
    _LANG,
    _query("ui", "The page of f=html: redoc for ReDoc, anything else Swagger UI.",
           {"type": "string"}),
]  # fmt: skip


# --- responses --------------------------------------------------------------------------------


def _content(types: Mapping[str, str]) -> Json:
    return {media: {"schema": schema_ref(name)} for media, name in types.items()}


_ERROR: Final = _content({JSON: "Exception"})
_ERROR_PAGES: Final = _content({JSON: "Exception", HTML: "Html", JSONLD: "Exception"})
"""An error as JSON; or, when pygeoapi renders the page (``f=html``, ``f=jsonld``), as HTML
or as the exception JSON under the JSON-LD media type."""

COMMON_RESPONSES: Final[dict[str, Json]] = {
    "InvalidParameter": {"description": "A parameter (or the Host) is invalid.",
                         "content": _ERROR_PAGES},
    "NotFound": {"description": "No such collection or feature.", "content": _ERROR_PAGES},
    "UriTooLong": {"description": "The URL is longer than the server takes.", "content": _ERROR},
    "HeadersTooLarge": {"description": "The request headers are too large.", "content": _ERROR},
    "Unavailable": {"description": "The database cannot answer now; try again later.",
                    "content": _ERROR},
}  # fmt: skip


@dataclass(frozen=True)
class Route:
    """One path: what GET takes and answers (HEAD answers the same without a body)."""

    path: str
    name: str
    summary: str
    tag: str
    parameters: list[Json]
    ok: Json
    errors: tuple[tuple[str, Json], ...]
    cached: bool = False
    """Answers carry an ETag (and for features Last-Modified); conditional GETs get 304."""


_BASE_ERRORS: Final = (
    ("400", ref("responses", "InvalidParameter")),
    ("414", ref("responses", "UriTooLong")),
    ("431", ref("responses", "HeadersTooLarge")),
    ("503", ref("responses", "Unavailable")),
)
_COLLECTION_ERRORS: Final = (*_BASE_ERRORS, ("404", ref("responses", "NotFound")))
_CONTENT_CRS: Final = {
    "Content-Crs": {
        "description": "The CRS of the geometries, as <URI>.",
        "schema": {"type": "string"},
    }
}


_VALIDATORS: Final = {
    "ETag": {"description": "A tag of this answer, for If-None-Match.",
             "schema": {"type": "string"}},
    "Last-Modified": {"description": "When the collection last changed (features only).",
                      "schema": {"type": "string"}},
    "Cache-Control": {"description": "How long a copy may be used before revalidating.",
                      "schema": {"type": "string"}},
}  # fmt: skip
_CONDITIONAL_PARAMETERS: Final = [
    {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"},
     "description": "ETags of copies the client holds: 304 when one is current."},
    {"name": "If-Modified-Since", "in": "header", "required": False,
     "schema": {"type": "string"},
     "description": "An HTTP date: 304 when the features have not changed since (ignored "
                    "when If-None-Match is sent or the date cannot be read)."},
]  # fmt: skip
_NOT_MODIFIED: Final = {
    "description": "Not modified: the client's copy is current (no body).",
    "headers": {k: _VALIDATORS[k] for k in ("ETag", "Cache-Control")},
}


def _ok(description: str, types: Mapping[str, str], headers: Json | None = None) -> Json:
    found: Json = {"description": description, "content": _content(types)}
    if headers:
        found["headers"] = headers
    return found


def _server_routes() -> list[Route]:
    def meta(name: str) -> dict[str, str]:
        return {JSON: name, HTML: "Html", JSONLD: "JsonLd"}

    openapi = Route("/openapi", "Openapi", "This OpenAPI document", SERVER_TAG,
                    _OPENAPI_PARAMETERS,
                    _ok("The OpenAPI document.", {OPENAPI_JSON: "OpenAPI", HTML: "Html"}),
                    _BASE_ERRORS)  # fmt: skip
    return [
        Route("/", "LandingPage", "Landing page", SERVER_TAG, _METADATA_PARAMETERS,
              _ok("Links to the API's parts.", meta("LandingPage")), _BASE_ERRORS),
        openapi,
        Route("/api", "Api", "This OpenAPI document (same as /openapi)", SERVER_TAG,
              openapi.parameters, openapi.ok, openapi.errors),
        Route("/conformance", "ConformanceDeclaration", "Conformance classes implemented",
              SERVER_TAG, _METADATA_PARAMETERS,
              _ok("The conformance classes.", meta("ConfClasses")), _BASE_ERRORS),
        Route("/collections", "Collections", "The feature collections", SERVER_TAG,
              _METADATA_PARAMETERS, _ok("The collections.", meta("Collections")),
              _BASE_ERRORS, cached=True),
    ]  # fmt: skip


_TILE_ERRORS: Final = (*_COLLECTION_ERRORS, ("204", EMPTY))


def _tile_routes(found: list[tuple[str, str, str, list[Json], Json]], tag: str) -> list[Route]:
    """Tile and style routes (openapi_tiles.py, openapi_styles.py): tiles answer 204 when
    empty."""
    return [
        Route(path, name, summary, tag, parameters, ok,
              _TILE_ERRORS if "{tileRow}" in path else _COLLECTION_ERRORS, cached=True)
        for path, name, summary, parameters, ok in found
    ]  # fmt: skip


def _collection_routes(spec: CollectionSpec, settings: OgcSettings) -> list[Route]:
    base = f"/collections/{spec.id}"
    features = {GEOJSON: features_name(spec), JSON: features_name(spec), HTML: "Html",
                JSONLD: "JsonLd"}  # fmt: skip
    feature = {GEOJSON: feature_name(spec), JSON: feature_name(spec), HTML: "Html",
               JSONLD: "JsonLd"}  # fmt: skip
    return [
        Route(base, f"Collection.{spec.id}", f"{spec.title}: description", spec.id,
              _METADATA_PARAMETERS,
              _ok("The collection.", {JSON: "Collection", HTML: "Html", JSONLD: "JsonLd"}),
              _COLLECTION_ERRORS, cached=True),
        Route(f"{base}/queryables", f"Queryables.{spec.id}", f"{spec.title}: queryables",
              spec.id, _METADATA_PARAMETERS,
              _ok("What filter, sortby and equality parameters may use.",
                  {SCHEMA_JSON: "Queryables", HTML: "Html"}),
              _COLLECTION_ERRORS, cached=True),
        Route(f"{base}/items", f"Features.{spec.id}", f"{spec.title}: features", spec.id,
              items_parameters(spec, settings),
              _ok("A page of features (next/prev links page on).", features, _CONTENT_CRS),
              _COLLECTION_ERRORS, cached=True),
        Route(f"{base}/items/{{featureId}}", f"Feature.{spec.id}", f"{spec.title}: one feature",
              spec.id, item_parameters(spec), _ok("The feature.", feature, _CONTENT_CRS),
              _COLLECTION_ERRORS, cached=True),
        *_tile_routes(tile_collection_paths(spec), spec.id),
        *_tile_routes(style_collection_paths(spec), spec.id),
    ]  # fmt: skip


def _operations(route: Route) -> Json:
    """GET as described, HEAD with the same statuses and headers and no body."""
    get_responses = {"200": route.ok, **dict(route.errors)}
    parameters = list(route.parameters)
    if route.cached:
        ok_headers = {**_VALIDATORS, **route.ok.get("headers", {})}
        get_responses = {"200": {**route.ok, "headers": ok_headers}, "304": _NOT_MODIFIED,
                         **dict(route.errors)}  # fmt: skip
        parameters += _CONDITIONAL_PARAMETERS
    head_responses: Json = {}
    for status, response in get_responses.items():
        if "$ref" in response:
            response = COMMON_RESPONSES[response["$ref"].rsplit("/", 1)[-1]]
        bare: Json = {"description": response["description"]}
        if "headers" in response:
            bare["headers"] = response["headers"]
        head_responses[status] = bare
    common = {"summary": route.summary, "tags": [route.tag], "parameters": parameters}
    return {
        "get": {**common, "operationId": f"get{route.name}", "responses": get_responses},
        "head": {**common, "operationId": f"head{route.name}", "responses": head_responses},
    }


# --- the document -----------------------------------------------------------------------------


def _version() -> str:
    try:
        return package_metadata.version("lianyungang-onemap")
    except package_metadata.PackageNotFoundError:
        return "0"


def _info(meta: Mapping[str, Any]) -> Json:
    """``info`` from the ``metadata`` section of pygeoapi's configuration."""
    about = meta.get("identification", {})
    info: Json = {
        "title": str(about.get("title", "OGC API")),
        "description": str(about.get("description", "")).strip(),
        "version": _version(),
        "x-storage-crs": storage_crs().uri,
    }
    if about.get("keywords"):
        info["x-keywords"] = [str(k) for k in about["keywords"]]
    if about.get("terms_of_service"):
        info["termsOfService"] = str(about["terms_of_service"])
    contact = meta.get("contact", {})
    provider = meta.get("provider", {})
    found = {
        "name": provider.get("name") or contact.get("name"),
        "url": provider.get("url") or contact.get("url"),
        "email": contact.get("email"),
    }
    if any(found.values()):
        info["contact"] = {k: str(v) for k, v in found.items() if v}
    license_ = meta.get("license", {})
    if license_.get("name"):
        info["license"] = {k: str(license_[k]) for k in ("name", "url") if license_.get(k)}
    return info


def build(config: Mapping[str, Any], registry: Registry, settings: OgcSettings) -> Json:
    """The document for clients at ``config["server"]["url"]`` (the service swaps the
    server URL per client: ``config.with_base_url``)."""
    routes = [
        *_server_routes(),
        *_tile_routes(tile_server_paths(), TILES_TAG),
        *_tile_routes(style_server_paths(registry), STYLES_TAG),
    ]
    schemas: dict[str, Json] = {
        **static_schemas(), **TILE_SCHEMAS, **STYLE_SCHEMAS, **PROCESS_SCHEMAS,
    }  # fmt: skip
    tags: list[Json] = [
        {"name": SERVER_TAG, "description": "The API and its collections."},
        {"name": TILES_TAG, "description": "Tile matrix sets and the dataset's vector tiles."},
        {"name": STYLES_TAG, "description": "MapLibre styles of the plan map and collections."},
        {"name": PROCESSES_TAG, "description": "Processes (the analyses) and their jobs."},
    ]
    writes: dict[str, Json] = {}
    for spec in registry.specs.values():
        routes += _collection_routes(spec, settings)
        schemas[feature_name(spec)] = feature_schema(spec)
        schemas[features_name(spec)] = feature_collection_schema(spec)
        schemas.update(write_schemas(spec))
        writes.update(write_paths(spec))
        tags.append({"name": spec.id, "description": spec.description or spec.title})
    info = _info(config.get("metadata", {}))
    paths = {route.path: _operations(route) for route in routes}
    for path, operations in writes.items():
        paths.setdefault(path, {}).update(operations)
    paths.update(process_paths())
    document = {
        "openapi": OPENAPI_VERSION,
        "info": info,
        "servers": [{"url": str(config["server"]["url"]), "description": info["title"]}],
        "tags": tags,
        "paths": paths,
        "components": {
            "schemas": {**schemas, **EDIT_SCHEMAS},
            "parameters": {"f": _format(METADATA_FORMATS), "lang": _LANG},
            "responses": COMMON_RESPONSES,
            "securitySchemes": SECURITY_SCHEMES,
        },
    }
    return copy.deepcopy(document)  # no part shared with the module's constants
