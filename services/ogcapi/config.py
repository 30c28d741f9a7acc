"""The pygeoapi configuration and OpenAPI document, generated from the collection registry.

Nothing is committed and nothing is read from environment variables: the fixed part is
``config/ogc/pygeoapi.yml`` (data), the rest comes from the registry; the results live in
memory and are written to the state directory (``.onemap/ogc/``) for inspection.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Any, Final

import yaml

from services.ogcapi.crs import SERVED, STORAGE
from services.ogcapi.params import ITEMS_PARAMETERS
from services.ogcapi.sources import Registry
from services.ogcapi.specs import CollectionSpec
from services.settings import OgcSettings

TEMPLATE: Final = Path(__file__).resolve().parents[2] / "config" / "ogc" / "pygeoapi.yml"
FORMATS: Final = ("json", "geojson", "html", "jsonld")
PROVIDER: Final = "services.ogcapi.provider.OneMapProvider"
CRS84_STORAGE: Final = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
"""Storage CRS as told to pygeoapi's own handlers: see services/ogcapi/provider.py."""


@cache
def _template() -> dict[str, Any]:
    with TEMPLATE.open(encoding="utf-8") as fh:
        loaded = yaml.safe_load(fh)
    assert isinstance(loaded, dict)
    return loaded


def identification() -> dict[str, str]:
    """Title and description of the API (from the template)."""
    found = _template()["metadata"]["identification"]
    return {"title": str(found["title"]), "description": str(found["description"]).strip()}


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def _resource(spec: CollectionSpec, engine_key: str, settings: OgcSettings) -> dict[str, Any]:
    bbox = list(spec.extent.bbox) if spec.extent.bbox else [-180.0, -90.0, 180.0, 90.0]
    extents: dict[str, Any] = {"spatial": {"bbox": bbox, "crs": CRS84_STORAGE}}
    if spec.extent.interval:
        begin, end = spec.extent.interval
        extents["temporal"] = {"begin": _iso(begin), "end": _iso(end)}
    return {
        "type": "collection",
        "title": spec.title,
        "description": spec.description or spec.title,
        "keywords": list(spec.keywords) or [spec.id],
        "links": [],
        "extents": extents,
        "providers": [
            {
                "type": "feature",
                "name": PROVIDER,
                "data": engine_key,
                "id_field": "id",
                "crs": [c.uri for c in SERVED],
                "storage_crs": CRS84_STORAGE,
                "count_limit": settings.count_limit,
                "spec": spec.model_dump(mode="json"),
            }
        ],
    }


def pygeoapi_config(
    registry: Registry, settings: OgcSettings, base_url: str, engine_key: str
) -> dict[str, Any]:
    """The full pygeoapi configuration for clients reaching the API at ``base_url``."""
    config = copy.deepcopy(_template())
    config["server"]["url"] = base_url
    config["server"]["limits"] = {
        "default_items": settings.default_limit,
        "max_items": settings.max_limit,
        "on_exceed": "throttle",
    }
    config["resources"] = {
        spec.id: _resource(spec, engine_key, settings) for spec in registry.specs.values()
    }
    return config


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema, "style": "form", "explode": False}  # fmt: skip


def items_parameters(spec: CollectionSpec, settings: OgcSettings) -> list[dict[str, Any]]:
    """The query parameters ``/items`` takes, exactly (others are answered with 400)."""
    crs_enum = {"type": "string", "format": "uri", "enum": [c.uri for c in SERVED]}
    names = [p.name for p in spec.properties]
    sortable = list(spec.queryables())
    found = [
        _query("f", "Output format.", {"type": "string", "enum": list(FORMATS)}),
        _query("lang", "Language (metadata only).", {"type": "string"}),
        _query("bbox", "minx,miny,maxx,maxy (or 6 numbers) in bbox-crs and its axis order.",
               {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}),
        _query("bbox-crs", "CRS of bbox (default CRS84).", crs_enum),
        _query("limit", f"Page size; above {settings.max_limit} it is cut to {settings.max_limit}.",
               {"type": "integer", "minimum": 1, "maximum": settings.max_limit,
                "default": settings.default_limit}),
        _query("offset", "Rows to skip (next links use cursor instead).",
               {"type": "integer", "minimum": 0, "default": 0}),
        _query("cursor", "Opaque keyset position taken from a next/prev link.", {"type": "string"}),
        _query("datetime", "Instant or interval (RFC 3339, '..' open) on updated_at.",
               {"type": "string"}),
        _query("crs", "CRS of the response geometries (default CRS84).", crs_enum),
        _query("filter", "CQL2 filter (see filter-lang) over the queryables.", {"type": "string"}),
        _query("filter-lang", "Language of filter.",
               {"type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text"}),
        _query("filter-crs", "CRS of geometry literals in filter (default CRS84).", crs_enum),
        _query("sortby", "Comma-separated [+|-]property.",
               {"type": "array", "items": {"type": "string",
                "enum": [f"{d}{n}" for n in sortable for d in ("", "+", "-")]}}),
        _query("properties", "Comma-separated properties to return.",
               {"type": "array", "items": {"type": "string", "enum": names}}),
        _query("skipGeometry", "Leave geometries out.", {"type": "boolean", "default": False}),
    ]  # fmt: skip
    for name, prop in spec.queryables().items():
        if name in ITEMS_PARAMETERS:
            continue
        found.append(_query(name, f"Equality filter on {name}.", prop.type.json_schema()))
    return found


def openapi_document(
    config: dict[str, Any], registry: Registry, settings: OgcSettings
) -> dict[str, Any]:
    """pygeoapi's OpenAPI document, with the item routes' parameters as we take them."""
    from pygeoapi.openapi import get_oas

    document: dict[str, Any] = get_oas(config, fail_on_invalid_collection=False)
    for spec in registry.specs.values():
        operation = document.get("paths", {}).get(f"/collections/{spec.id}/items", {}).get("get")
        if operation is not None:
            operation["parameters"] = items_parameters(spec, settings)
    document.setdefault("info", {})["x-storage-crs"] = STORAGE.uri
    return document


def _parameter_name(parameter: dict[str, Any]) -> str:
    if "name" in parameter:
        return str(parameter["name"])
    ref = str(parameter.get("$ref", ""))
    return ref.rsplit("/", 1)[-1]


def with_base_url(document: dict[str, Any], base_url: str) -> dict[str, Any]:
    """The OpenAPI document with its server URL replaced (shallow: servers only)."""
    patched = dict(document)
    servers = [dict(s) for s in document.get("servers", [])] or [{}]
    servers[0]["url"] = base_url
    patched["servers"] = servers
    return patched


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def write_state(
    directory: Path, registry: Registry, config: dict[str, Any], document: dict[str, Any]
) -> list[Path]:
    """Write the generated files (atomically); returns their paths."""
    files = {
        directory / "collections.json": json.dumps(
            registry.to_json(), ensure_ascii=False, indent=1
        ),
        directory / "pygeoapi-config.yml": yaml.safe_dump(
            config, allow_unicode=True, sort_keys=False
        ),
        directory / "openapi.json": json.dumps(document, ensure_ascii=False, indent=1, default=str),
    }
    for path, text in files.items():
        _write(path, text)
    return list(files)


STAMP: Final = "refreshed"
"""Touched by ``onemap ogc refresh``: running servers rebuild their registry when it changes."""


def touch_stamp(directory: Path) -> Path:
    path = directory / STAMP
    _write(path, dt.datetime.now(dt.UTC).isoformat())
    return path


def stamp_time(directory: Path) -> float | None:
    try:
        return (directory / STAMP).stat().st_mtime
    except OSError:
        return None
