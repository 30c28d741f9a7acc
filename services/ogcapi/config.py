"""The pygeoapi configuration and OpenAPI document, generated from the collection registry.

Nothing is committed and nothing is read from environment variables: the fixed part is
``services/ogcapi/data/pygeoapi.yml`` (data), the rest comes from the registry; the results live in
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
from types import MappingProxyType
from typing import Any, Final

import yaml

from gis.package_data import data_dir
from services.ogcapi import openapi
from services.ogcapi.crs import served
from services.ogcapi.sources import Registry
from services.ogcapi.specs import Audience, CollectionSpec
from services.settings import OgcSettings
from services.web.assets import static_dir, templates_dir

TEMPLATE: Final = data_dir("services.ogcapi") / "pygeoapi.yml"
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
                "crs": [c.uri for c in served()],
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
    # Our templates first (vendored assets, no other host), then pygeoapi's; /ogc/static.
    config["server"]["templates"] = {"path": str(templates_dir()), "static": str(static_dir())}
    config["server"]["limits"] = {
        "default_items": settings.default_limit,
        "max_items": settings.max_html_limit,  # only HTML and JSON-LD reach pygeoapi
        "on_exceed": "throttle",
    }
    config["resources"] = {
        spec.id: _resource(spec, engine_key, settings)
        for spec in public_registry(registry).specs.values()
    }
    return config


def public_registry(registry: Registry) -> Registry:
    """The collections everybody sees: pygeoapi's configuration (its pages, JSON-LD) and the
    anonymous OpenAPI document hold these only (services/ogcapi/access.py)."""
    specs = {k: s for k, s in registry.specs.items() if s.audience is Audience.PUBLIC}
    return Registry(MappingProxyType(specs), registry.built_at)


def openapi_document(
    config: dict[str, Any], registry: Registry, settings: OgcSettings, *, keyed: bool = False
) -> dict[str, Any]:
    """The OpenAPI document of exactly our routes (services/ogcapi/openapi.py): of the
    public collections, or with ``keyed`` of every collection (for callers with a key)."""
    return openapi.build(config, registry if keyed else public_registry(registry), settings)


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
