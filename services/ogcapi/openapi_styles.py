"""The style routes in the OpenAPI document (services/ogcapi/style_routes.py): the list,
each style (the plan map and one per collection) and each collection's styles."""

from __future__ import annotations

from typing import Final

from services.ogcapi.openapi_schemas import Json, array, schema_ref
from services.ogcapi.sources import Registry
from services.ogcapi.specs import CollectionSpec
from services.ogcapi.styles import MAPBOX_STYLE, style_ids

JSON: Final = "application/json"
STYLES_TAG: Final = "styles"

_LINKS: Final = array({"type": "object", "required": ["href", "rel"]})
_LIST_F: Final = {"name": "f", "in": "query", "required": False, "description": "Format.",
                  "schema": {"type": "string", "enum": ["json"]}, "style": "form",
                  "explode": False}  # fmt: skip
_STYLE_F: Final = {**_LIST_F, "description": "Encoding: a MapLibre (Mapbox GL) style.",
                   "schema": {"type": "string", "enum": ["mapbox"]}}  # fmt: skip

SCHEMAS: Final[dict[str, Json]] = {
    "Styles": {
        "type": "object",
        "required": ["styles", "links"],
        "properties": {
            "styles": array({"type": "object", "required": ["id", "links"],
                             "properties": {"id": {"type": "string"},
                                            "title": {"type": "string"},
                                            "links": _LINKS}}),
            "default": {"type": "string"},
            "links": _LINKS,
        },
    },
    "MapLibreStyle": {
        "type": "object",
        "description": "A MapLibre GL style (style specification version 8).",
        "required": ["version", "sources", "layers"],
        "properties": {"version": {"type": "integer", "enum": [8]},
                       "name": {"type": "string"},
                       "sources": {"type": "object"},
                       "layers": array({"type": "object", "required": ["id", "type"]})},
    },
}  # fmt: skip


def _list_ok(description: str) -> Json:
    return {"description": description, "content": {JSON: {"schema": schema_ref("Styles")}}}


def _style_ok() -> Json:
    return {"description": "The style.",
            "content": {MAPBOX_STYLE: {"schema": schema_ref("MapLibreStyle")}}}  # fmt: skip


def server_paths(registry: Registry) -> list[tuple[str, str, str, list[Json], Json]]:
    """``/styles`` and ``/styles/{styleId}`` (the ids of the registry's styles)."""
    ids = [i for i, _ in style_ids(registry)]
    style_id = {"name": "styleId", "in": "path", "required": True,
                "description": "plan-map, or a collection id.",
                "schema": {"type": "string", "enum": ids}}  # fmt: skip
    return [
        ("/styles", "Styles", "MapLibre styles of the plan map and the collections", [_LIST_F],
         _list_ok("The styles.")),
        ("/styles/{styleId}", "Style", "A MapLibre style", [style_id, _STYLE_F], _style_ok()),
    ]  # fmt: skip


def collection_paths(spec: CollectionSpec) -> list[tuple[str, str, str, list[Json], Json]]:
    """A collection's styles: its one style, whose id is the collection's."""
    base = f"/collections/{spec.id}/styles"
    return [
        (base, f"Styles.{spec.id}", f"{spec.title}: styles", [_LIST_F],
         _list_ok("The collection's style.")),
        (f"{base}/{spec.id}", f"Style.{spec.id}", f"{spec.title}: MapLibre style", [_STYLE_F],
         _style_ok()),
    ]  # fmt: skip
