"""The JSON documents of the tile routes: tile matrix sets, tileset lists, tileset metadata
(OGC API – Tiles) and TileJSON 3.0.0, from the sets and layers of services/ogcapi/tiles.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from morecantile import TileMatrixSet

from gis.tms import get_tms, tile_for_point
from services.ogcapi.specs import CollectionSpec, PropType
from services.ogcapi.tiles import (
    MVT,
    TILE_SETS,
    dataset_zooms,
    feature_id,
    name_of,
    tile_properties,
    tile_set,
    zooms,
)

TILEJSON_VERSION: Final = "3.0.0"
REL: Final = "http://www.opengis.net/def/rel/ogc/1.0"
CONFORMANCE: Final = (
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/dataset-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
)


def _link(rel: str, href: str, kind: str, title: str, **extra: Any) -> dict[str, Any]:
    return {"rel": rel, "type": kind, "title": title, "href": href, **extra}


def tile_matrix_sets(base_url: str) -> dict[str, Any]:
    """``/tileMatrixSets``."""
    found = []
    for tms_id in TILE_SETS:
        tms = get_tms(tms_id)
        entry: dict[str, Any] = {"id": name_of(tms), "title": tms.title or name_of(tms)}
        if tms.uri:
            entry["uri"] = tms.uri
        entry["crs"] = _crs_uri(tms)
        entry["links"] = [
            _link("self", f"{base_url}/tileMatrixSets/{name_of(tms)}", "application/json",
                  f"{name_of(tms)} definition"),
        ]  # fmt: skip
        found.append(entry)
    return {
        "tileMatrixSets": found,
        "links": [_link("self", f"{base_url}/tileMatrixSets", "application/json", "this list")],
    }


def tile_matrix_set(tms_id: str) -> dict[str, Any]:
    """``/tileMatrixSets/{id}``: the set as OGC Two-Dimensional Tile Matrix Set 2.0 JSON."""
    document: dict[str, Any] = tile_set(tms_id).model_dump(mode="json", exclude_none=True)
    return document


def _crs_uri(tms: TileMatrixSet) -> str:
    return str(tms.crs.srs)


def _layer(spec: CollectionSpec, tms: TileMatrixSet) -> dict[str, Any]:
    low, high = zooms(spec, name_of(tms))
    properties: dict[str, Any] = {}
    if feature_id(spec):
        properties["id"] = {"type": "integer", "x-ogc-role": "id", "title": "feature id"}
    for prop in tile_properties(spec):
        properties[prop.name] = {**prop.type.json_schema(), "title": prop.title or prop.name}
    return {
        "id": spec.id,
        "title": spec.title,
        "description": spec.description,
        "dataType": "vector",
        "geometryDimension": 2,
        "featureType": spec.geometry_type,
        "minTileMatrix": str(low),
        "maxTileMatrix": str(high),
        "propertiesSchema": {"type": "object", "properties": properties},
        "links": [],
    }


def _limits(specs: Sequence[CollectionSpec], tms: TileMatrixSet, low: int, high: int) -> list[Any]:
    """Per level, the rows and columns that hold the layers' extent."""
    boxes = [s.extent.bbox for s in specs if s.extent.bbox is not None]
    if not boxes:
        return []
    west, south = min(b[0] for b in boxes), min(b[1] for b in boxes)
    east, north = max(b[2] for b in boxes), max(b[3] for b in boxes)
    found = []
    for level in range(low, high + 1):
        first = tile_for_point(name_of(tms), west, north, level, geographic=True)
        last = tile_for_point(name_of(tms), east, south, level, geographic=True)
        found.append({"tileMatrix": str(level), "minTileRow": first.y, "maxTileRow": last.y,
                      "minTileCol": first.x, "maxTileCol": last.x})  # fmt: skip
    return found


def _bbox(specs: Sequence[CollectionSpec]) -> list[float] | None:
    boxes = [s.extent.bbox for s in specs if s.extent.bbox is not None]
    if not boxes:
        return None
    return [min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes)]  # fmt: skip


def tileset(
    url: str,
    title: str,
    specs: Sequence[CollectionSpec],
    tms: TileMatrixSet,
    base_url: str,
    style: str | None = None,
) -> dict[str, Any]:
    """``.../tiles/{tileMatrixSetId}``: the tileset at ``url`` of ``specs`` as layers;
    ``style``: the URL of a MapLibre style drawing it (linked as ``stylesheet``)."""
    low, high = dataset_zooms(specs, name_of(tms))
    document: dict[str, Any] = {
        "title": f"{title} ({name_of(tms)})",
        "dataType": "vector",
        "crs": _crs_uri(tms),
        "tileMatrixSetId": name_of(tms),
        "links": [
            _link("self", url, "application/json", "this tileset"),
            _link("alternate", f"{url}?f=tilejson", "application/json", "as TileJSON 3.0"),
            _link(
                f"{REL}/tiling-scheme",
                f"{base_url}/tileMatrixSets/{name_of(tms)}",
                "application/json",
                f"the {name_of(tms)} tile matrix set",
            ),
            _link(
                "item",
                f"{url}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}",
                MVT,
                "tiles as Mapbox vector tiles",
                templated=True,
            ),
        ],
        "minTileMatrix": str(low),
        "maxTileMatrix": str(high),
        "layers": [_layer(s, tms) for s in specs],
    }
    if style is not None:
        document["links"].append(
            _link("stylesheet", style, "application/vnd.mapbox.style+json", "MapLibre style")
        )
    if tms.uri:
        document["tileMatrixSetURI"] = tms.uri
    bbox = _bbox(specs)
    if bbox is not None:
        document["boundingBox"] = {
            "lowerLeft": bbox[:2],
            "upperRight": bbox[2:],
            "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        }
    document["tileMatrixSetLimits"] = _limits(specs, tms, low, high)
    return document


def tilesets(url: str, title: str, base_url: str) -> dict[str, Any]:
    """``.../tiles``: the tilesets of a collection (or of the dataset) at ``url``."""
    found = []
    for tms_id in TILE_SETS:
        tms = get_tms(tms_id)
        entry: dict[str, Any] = {
            "title": f"{title} ({name_of(tms)})",
            "dataType": "vector",
            "crs": _crs_uri(tms),
            "tileMatrixSetId": name_of(tms),
            "links": [
                _link(
                    "self",
                    f"{url}/{name_of(tms)}",
                    "application/json",
                    f"the {name_of(tms)} tileset",
                ),
                _link(
                    f"{REL}/tiling-scheme",
                    f"{base_url}/tileMatrixSets/{name_of(tms)}",
                    "application/json",
                    f"the {name_of(tms)} tile matrix set",
                ),
                _link(
                    "item",
                    f"{url}/{name_of(tms)}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}",
                    MVT,
                    "tiles as Mapbox vector tiles",
                    templated=True,
                ),
            ],
        }
        if tms.uri:
            entry["tileMatrixSetURI"] = tms.uri
        found.append(entry)
    return {"tilesets": found, "links": [_link("self", url, "application/json", "this list")]}


_TILEJSON_TYPES: Final = {
    PropType.STRING: "String",
    PropType.INTEGER: "Number",
    PropType.NUMBER: "Number",
    PropType.BOOLEAN: "Boolean",
    PropType.DATETIME: "String",
}


def tilejson(
    url: str,
    title: str,
    specs: Sequence[CollectionSpec],
    tms: TileMatrixSet,
    style: str | None = None,
) -> dict[str, Any]:
    """TileJSON 3.0.0 of the tileset at ``url`` (``{z}/{y}/{x}`` is OGC's
    ``{tileMatrix}/{tileRow}/{tileCol}``). Outside ``WebMercatorQuad`` the client must know
    the grid: ``crs`` and ``tileMatrixSet`` (not TileJSON keys) name it; ``style`` (not a
    TileJSON key either) is the URL of a MapLibre style drawing the tileset."""
    low, high = dataset_zooms(specs, name_of(tms))
    layers = []
    for spec in specs:
        first, last = zooms(spec, name_of(tms))
        fields = {p.name: _TILEJSON_TYPES[p.type] for p in tile_properties(spec)}
        layers.append({"id": spec.id, "description": spec.title, "minzoom": first,
                       "maxzoom": last, "fields": fields})  # fmt: skip
    document: dict[str, Any] = {
        "tilejson": TILEJSON_VERSION,
        "name": title,
        "scheme": "xyz",
        "tiles": [f"{url}/{{z}}/{{y}}/{{x}}"],
        "minzoom": low,
        "maxzoom": high,
        "vector_layers": layers,
        "crs": _crs_uri(tms),
        "tileMatrixSet": name_of(tms),
    }
    if style is not None:
        document["style"] = style
    bbox = _bbox(specs)
    if bbox is not None:
        document["bounds"] = bbox
        document["center"] = [(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2, low]
    return document
