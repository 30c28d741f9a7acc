"""The tile routes in the OpenAPI document (services/ogcapi/tile_routes.py): tile matrix
sets, the dataset tileset and each collection's tilesets, their schemas and parameters."""

from __future__ import annotations

from typing import Final

from services.ogcapi.openapi_schemas import Json, array, schema_ref
from services.ogcapi.specs import CollectionSpec
from services.ogcapi.tiles import MVT, TILE_SETS

JSON: Final = "application/json"
TILES_TAG: Final = "tiles"

_LINKS: Final = array({"type": "object", "required": ["href", "rel"]})


def _query(name: str, description: str, schema: Json) -> Json:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema, "style": "form", "explode": False}  # fmt: skip


def _path(name: str, description: str, schema: Json) -> Json:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": schema}  # fmt: skip


SET_ID: Final = _path("tileMatrixSetId", "A tile matrix set served here.",
                      {"type": "string", "enum": list(TILE_SETS)})  # fmt: skip
TILE_PARAMETERS: Final = [
    SET_ID,
    _path("tileMatrix", "The level (the matrix id) of the set.",
          {"type": "string", "pattern": "^[0-9]{1,10}$"}),
    _path("tileRow", "The row, from the top (OGC {tileRow}; TileJSON's {y}).",
          {"type": "integer", "minimum": 0}),
    _path("tileCol", "The column, from the left (OGC {tileCol}; TileJSON's {x}).",
          {"type": "integer", "minimum": 0}),
    _query("f", "Format: Mapbox vector tiles only.", {"type": "string", "enum": ["mvt"]}),
]  # fmt: skip
METADATA_F: Final = _query("f", "Format.", {"type": "string", "enum": ["json"]})
TILESET_F: Final = _query("f", "json: OGC tileset metadata; tilejson: TileJSON 3.0.0.",
                          {"type": "string", "enum": ["json", "tilejson"]})  # fmt: skip

SCHEMAS: Final[dict[str, Json]] = {
    "TileMatrixSets": {
        "type": "object",
        "required": ["tileMatrixSets"],
        "properties": {
            "tileMatrixSets": array({"type": "object", "required": ["id", "links"],
                                     "properties": {"id": {"type": "string"},
                                                    "links": _LINKS}}),
            "links": _LINKS,
        },
    },
    "TileMatrixSet": {
        "type": "object",
        "description": "OGC Two-Dimensional Tile Matrix Set 2.0 (JSON).",
        "required": ["id", "crs", "tileMatrices"],
        "properties": {"id": {"type": "string"}, "crs": {"type": "string"},
                       "tileMatrices": array({"type": "object"}, minItems=1)},
    },
    "TileSets": {
        "type": "object",
        "required": ["tilesets"],
        "properties": {
            "tilesets": array({"type": "object", "required": ["dataType", "crs", "links"]}),
            "links": _LINKS,
        },
    },
    "TileSet": {
        "type": "object",
        "description": "OGC tileset metadata, or TileJSON 3.0.0 with f=tilejson.",
        "anyOf": [
            {"required": ["dataType", "crs", "links", "layers"]},
            {"required": ["tilejson", "tiles", "vector_layers"]},
        ],
    },
    "MapboxVectorTile": {"type": "string", "format": "binary"},
}  # fmt: skip

_TILE_HEADERS: Final = {
    "OGC-Tile-Truncated": {"description": "true when a layer had more features than the "
                           "per-tile limit (the largest by area were kept).",
                           "schema": {"type": "string", "enum": ["true", "false"]}},
    "OGC-Tile-Features": {"description": "Per layer, {layer}={sent}/{matched}.",
                          "schema": {"type": "string"}},
    "X-Cache": {"description": "hit: from the server's tile cache, at the data's current "
                "change stamps; miss: made now and kept; bypass: not cached (keyed "
                "collections, or the cache is off).",
                "schema": {"type": "string", "enum": ["hit", "miss", "bypass"]}},
}  # fmt: skip
EMPTY: Final = {"description": "An empty tile: no feature meets it (no body).",
                "headers": _TILE_HEADERS}  # fmt: skip


def tile_ok() -> Json:
    return {"description": "The tile.", "headers": dict(_TILE_HEADERS),
            "content": {MVT: {"schema": schema_ref("MapboxVectorTile")}}}  # fmt: skip


def json_ok(description: str, schema: str) -> Json:
    return {"description": description, "content": {JSON: {"schema": schema_ref(schema)}}}


def collection_paths(spec: CollectionSpec) -> list[tuple[str, str, str, list[Json], Json]]:
    """(path, operation name, summary, parameters, 200 response) of a collection's tiles."""
    base = f"/collections/{spec.id}/tiles"
    return [
        (base, f"Tilesets.{spec.id}", f"{spec.title}: tilesets", [METADATA_F],
         json_ok("The collection's vector tilesets.", "TileSets")),
        (f"{base}/{{tileMatrixSetId}}", f"Tileset.{spec.id}", f"{spec.title}: a tileset",
         [SET_ID, TILESET_F], json_ok("The tileset (or its TileJSON).", "TileSet")),
        (f"{base}/{{tileMatrixSetId}}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}",
         f"Tile.{spec.id}", f"{spec.title}: a vector tile", TILE_PARAMETERS, tile_ok()),
    ]  # fmt: skip


def server_paths() -> list[tuple[str, str, str, list[Json], Json]]:
    """The tile matrix sets and the dataset tileset."""
    return [
        ("/tileMatrixSets", "TileMatrixSets", "Tile matrix sets served", [METADATA_F],
         json_ok("The tile matrix sets.", "TileMatrixSets")),
        ("/tileMatrixSets/{tileMatrixSetId}", "TileMatrixSet", "A tile matrix set",
         [SET_ID, METADATA_F], json_ok("The set (TMS 2.0 JSON).", "TileMatrixSet")),
        ("/tiles", "DatasetTilesets", "Vector tilesets of the plans, cells and buildings",
         [METADATA_F], json_ok("The dataset's tilesets.", "TileSets")),
        ("/tiles/{tileMatrixSetId}", "DatasetTileset", "A dataset tileset",
         [SET_ID, TILESET_F], json_ok("The tileset (or its TileJSON).", "TileSet")),
        ("/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}", "DatasetTile",
         "A vector tile of the plans, cells and buildings", TILE_PARAMETERS, tile_ok()),
    ]  # fmt: skip
