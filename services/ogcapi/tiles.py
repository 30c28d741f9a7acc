"""Vector tiles of the collections (OGC API – Tiles): the sets, the layers, one SQL per tile.

Three tile matrix sets (:mod:`gis.tms`): ``WebMercatorQuad``, ``WorldCRS84Quad`` and
``TiandituC`` (Tianditu 'c', CGCS2000). A tile is cut from the EPSG:4490 storage with an
envelope in EPSG:4490 (the tile's bounds in lon/lat, exact for all three sets because
each is separable in x and y), so the GiST index on the geometry answers the ``&&``; only
the features found are transformed, to EPSG:3857 for ``WebMercatorQuad``. The geographic
sets are cut and encoded in degrees, with no reprojection (WorldCRS84Quad's CRS84 and
CGCS2000 differ by well under a tile unit at every level served).

One statement answers a tile, whatever its layers: per layer, the features meeting the
tile, largest first, at most ``limit`` (the matched count comes along, so a truncated tile
says so), simplified by a quarter of a display pixel in storage units (``ST_Simplify``
keeping collapsed rings, so small polygons stay) and encoded by ``ST_AsMVTGeom`` (clipped
with a buffer, valid output) and ``ST_AsMVT``; layers are concatenated (an MVT tile is the
concatenation of its layers). The same statement reads the tables' change stamps for the
``ETag``.

Zoom limits are set per kind of collection in ``WebMercatorQuad`` levels
(:data:`MERCATOR_ZOOMS`) and carried to the other sets by scale: ``TiandituC`` level n is
Web Mercator level n, ``WorldCRS84Quad`` level n is Web Mercator level n + 1.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from morecantile import TileMatrixSet

from gis.sql_files import statement
from gis.tms import Tile, get_tms, tile_bounds, tile_for_point
from services.http.caching import Validators, digest, validators_for
from services.ogcapi.errors import BadRequestError, NotFoundError
from services.ogcapi.sources import Registry
from services.ogcapi.specs import Audience, CollectionSpec, Prop, PropType, quote
from services.ogcapi.validators import stamp_key

MVT: Final = "application/vnd.mapbox-vector-tile"
TILEJSON_VERSION: Final = "3.0.0"
TILE_SETS: Final = ("WebMercatorQuad", "WorldCRS84Quad", "TiandituC")
"""The sets tiles are served in, by their ids in URLs (exact spelling)."""
EXTENT: Final = 4096
"""Tile units across a tile (MVT's usual extent)."""
BUFFER: Final = 64
"""Tile units kept beyond each edge, so strokes and fills join across tiles."""
SIMPLIFY_PIXELS: Final = 0.25
"""Simplification tolerance, in 256-pixel display pixels of the tile."""

MERCATOR_ZOOMS: Final = {
    "grid.admin_areas": (4, 20),
    "grid.cells": (11, 20),
    "grid.buildings": (14, 20),
    "plans.features": (8, 20),
    "plans.conflict_patches": (8, 20),
}
"""Levels (WebMercatorQuad) each table is tiled at; keyed collections (houses, households,
persons, at their buildings) like buildings. Clients overzoom past the last level."""
KEYED_ZOOMS: Final = (14, 20)
DATASET_ID: Final = "onemap"
DATASET_TABLES: Final = ("plans.features", "grid.cells", "grid.buildings")
"""What the dataset tileset puts in one tile: every plan layer's latest version (control
lines are plan layers), the grid cells and the buildings."""

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


# --- the sets ----------------------------------------------------------------------------------


def tile_set(tms_id: str) -> TileMatrixSet:
    """A served set by its exact id; 404 otherwise."""
    if tms_id not in TILE_SETS:
        raise NotFoundError(f"no tile matrix set {tms_id[:100]!r}; served: {', '.join(TILE_SETS)}")
    return get_tms(tms_id)


def name_of(tms: TileMatrixSet) -> str:
    """The set's id (morecantile types it optional; ours all have one)."""
    return str(tms.id)


def is_mercator(tms: TileMatrixSet) -> bool:
    return name_of(tms) == "WebMercatorQuad"


@functools.cache
def _level_for(tms_id: str, mercator_level: int) -> int:
    """The set's level of the nearest scale to ``WebMercatorQuad`` level ``mercator_level``."""
    tms = get_tms(tms_id)
    wanted = get_tms("WebMercatorQuad").matrix(mercator_level).scaleDenominator
    return min(
        range(tms.minzoom, tms.maxzoom + 1),
        key=lambda z: abs(math.log(tms.matrix(z).scaleDenominator / wanted)),
    )


def zooms(spec: CollectionSpec, tms_id: str) -> tuple[int, int]:
    """The first and last level of ``tms_id`` a collection is tiled at."""
    key = stamp_key(spec)
    low, high = MERCATOR_ZOOMS.get(key, KEYED_ZOOMS)
    if spec.audience is Audience.KEYED:
        low, high = KEYED_ZOOMS
    return _level_for(tms_id, low), _level_for(tms_id, high)


def tile_properties(spec: CollectionSpec) -> tuple[Prop, ...]:
    """The feature properties a tile carries: the collection's own, but for nested objects
    (free attributes, address parts), which MVT cannot hold."""
    return tuple(p for p in spec.properties if p.type is not PropType.OBJECT)


def _feature_id(spec: CollectionSpec) -> bool:
    """Whether the key goes in as the MVT feature id (an integer key not also a property)."""
    return spec.id_type is PropType.INTEGER and all(p.name != "id" for p in tile_properties(spec))


_INDEX: Final = r"^[0-9]{1,10}$"


def parse_tile(tms: TileMatrixSet, z: str, row: str, col: str) -> Tile:
    """``{tileMatrix}/{tileRow}/{tileCol}``: junk is 400, a tile the set lacks 404."""
    parts = {"tileMatrix": z, "tileRow": row, "tileCol": col}
    for name, value in parts.items():
        if not re.match(_INDEX, value):
            raise BadRequestError(f"{name} {value[:30]!r} is not a non-negative integer")
    level, y, x = int(z), int(row), int(col)
    if not tms.minzoom <= level <= tms.maxzoom:
        raise NotFoundError(
            f"tileMatrix {level} is not in {name_of(tms)} ({tms.minzoom}-{tms.maxzoom})"
        )
    m = tms.matrix(level)
    if y >= m.matrixHeight or x >= m.matrixWidth:
        raise NotFoundError(
            f"tile row {y}, col {x} is outside {name_of(tms)} level {level} "
            f"({m.matrixHeight} rows, {m.matrixWidth} columns)"
        )
    return Tile(x, y, level)


# --- layers and the statement ------------------------------------------------------------------


@dataclass(frozen=True)
class TileStatement:
    sql: str
    values: dict[str, object]
    layers: tuple[str, ...]
    tables: tuple[str, ...]


def _layer_sql(
    i: int, spec: CollectionSpec, tms: TileMatrixSet, tile: Tile, limit: int
) -> tuple[str, tuple[str, str, str], dict[str, object]]:
    """The CTE of layer ``i`` and its expressions: the layer's MVT, the features matched
    and those sent; values named ``l{i}_*``."""
    p = f"l{i}_"
    values: dict[str, object] = {}

    def bind(name: str, value: object) -> str:
        values[p + name] = value
        return f"%({p}{name})s"

    lon = tile_bounds(name_of(tms), tile, geographic=True) if is_mercator(tms) else None
    own = tile_bounds(name_of(tms), tile)
    west, south, east, north = lon if lon is not None else own
    envelope = (
        f"ST_MakeEnvelope({bind('w', west)}, {bind('s', south)}, {bind('e', east)}, "
        f"{bind('n', north)}, 4490)"
    )
    geom = f"t.{quote(spec.geometry_column)}"
    tolerance = (east - west) / 256 * SIMPLIFY_PIXELS
    shape = f"ST_Simplify(s.geom, {bind('tol', tolerance)}, true)"
    if is_mercator(tms):
        shape = f"ST_Transform({shape}, 3857)"
    bounds = (
        f"ST_MakeBox2D(ST_Point({bind('x0', own.left)}, {bind('y0', own.bottom)}), "
        f"ST_Point({bind('x1', own.right)}, {bind('y1', own.top)}))"
    )
    props = tile_properties(spec)
    columns = [f"t.{quote(q.column)} AS {quote(q.name)}" for q in props]
    names = [quote(q.name) for q in props]
    if _feature_id(spec):
        columns.append(f"t.{quote(spec.id_column)} AS {quote('id')}")
        names.append(quote("id"))
    conditions = [f"t.{quote(c)} = {bind(f'f{j}', v)}" for j, (c, v) in enumerate(spec.fixed)]
    conditions.append(f"ST_Intersects({geom}, {envelope})")
    cte = statement(__name__, "layer").format(
        p=p,
        names="".join(f"s.{n}, " for n in names),
        shape=shape,
        bounds=bounds,
        extent=EXTENT,
        buffer=BUFFER,
        columns="".join(f"{c}, " for c in columns),
        geom=geom,
        table=spec.qualified_table,
        where=" AND ".join(conditions),
        key=f"t.{quote(spec.id_column)}",
        limit=bind("limit", limit),
    )
    mvt = statement(__name__, "mvt").format(
        name=bind("name", spec.id),
        extent=EXTENT,
        id_name="'id'" if _feature_id(spec) else "NULL",
        kept=", ".join([*names, "geom"]),
        p=p,
    )
    matched = statement(__name__, "matched").format(p=p)
    sent = statement(__name__, "sent").format(p=p)
    return cte, (mvt, matched, sent), values


def tile_statement(
    specs: Sequence[CollectionSpec], tms: TileMatrixSet, tile: Tile, limit: int
) -> TileStatement:
    """One statement: the tile (bytea, NULL when empty), per layer the features matched and
    sent, and the change stamps of the tables (serials in table order, latest time)."""
    ctes, tiles, matched, sent = [], [], [], []
    values: dict[str, object] = {}
    for i, spec in enumerate(specs):
        cte, (mvt, m, s), found = _layer_sql(i, spec, tms, tile, limit)
        ctes.append(cte)
        tiles.append(f"coalesce({mvt}, ''::bytea)")
        matched.append(m)
        sent.append(s)
        values.update(found)
    tables = tuple(sorted({stamp_key(s) for s in specs}))
    values["stamp_tables"] = list(tables)
    sql = statement(__name__, "tile").format(
        layers=", ".join(ctes),
        tiles=" || ".join(tiles),
        matched=", ".join(matched),
        sent=", ".join(sent),
        stamps=statement(__name__, "stamps"),
    )
    return TileStatement(sql, values, tuple(s.id for s in specs), tables)


def stamps_sql() -> str:
    """The change stamps of ``%(stamp_tables)s`` alone (a conditional request's first read)."""
    return "SELECT " + statement(__name__, "stamps")


def tile_validators(
    specs: Sequence[CollectionSpec],
    tables: Sequence[str],
    serials: Sequence[int] | None,
    changed_at: Any,
    *parts: object,
) -> Validators | None:
    """A strong ``ETag`` of a tile from its tables' change stamps (None when a table has
    none): the bytes depend on nothing else than the data, the layers' definitions, the
    tile and the parameters in ``parts``."""
    if serials is None or len(serials) != len(tables):
        return None
    definitions = [digest((s.model_dump_json(),)) for s in specs]
    return validators_for(("tile", *serials, *definitions, *parts), changed_at, weak=False)


# --- which collections ---------------------------------------------------------------------


def dataset_layers(registry: Registry) -> list[CollectionSpec]:
    """The dataset tileset's layers: the latest version of every plan layer, cells and
    buildings, public ones only."""
    found = []
    for spec in registry.specs.values():
        if spec.audience is not Audience.PUBLIC or stamp_key(spec) not in DATASET_TABLES:
            continue
        if spec.table == "features" and spec.id.count(".") != 1:
            continue  # plans.{layer}.v{n}: the latest, plans.{layer}, is already there
        found.append(spec)
    return found


def dataset_zooms(specs: Iterable[CollectionSpec], tms_id: str) -> tuple[int, int]:
    ranges = [zooms(s, tms_id) for s in specs]
    if not ranges:
        return _level_for(tms_id, 8), _level_for(tms_id, 20)
    return min(r[0] for r in ranges), max(r[1] for r in ranges)


# --- documents -----------------------------------------------------------------------------


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
    if _feature_id(spec):
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
    url: str, title: str, specs: Sequence[CollectionSpec], tms: TileMatrixSet, base_url: str
) -> dict[str, Any]:
    """``.../tiles/{tileMatrixSetId}``: the tileset at ``url`` of ``specs`` as layers."""
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
    url: str, title: str, specs: Sequence[CollectionSpec], tms: TileMatrixSet
) -> dict[str, Any]:
    """TileJSON 3.0.0 of the tileset at ``url`` (``{z}/{y}/{x}`` is OGC's
    ``{tileMatrix}/{tileRow}/{tileCol}``). Outside ``WebMercatorQuad`` the client must know
    the grid: ``crs`` and ``tileMatrixSet`` (not TileJSON keys) name it."""
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
    bbox = _bbox(specs)
    if bbox is not None:
        document["bounds"] = bbox
        document["center"] = [(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2, low]
    return document
