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
Web Mercator level n, ``WorldCRS84Quad`` level n is Web Mercator level n + 1. The JSON
documents about the sets and tilesets are written by tile_documents.py.
"""

from __future__ import annotations

import functools
import math
import re
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from morecantile import TileMatrixSet

from gis.sql_files import statement
from gis.tms import Tile, get_tms, tile_bounds
from services.http.caching import Validators, digest, validators_for
from services.ogcapi.errors import BadRequestError, NotFoundError
from services.ogcapi.sources import Registry
from services.ogcapi.specs import Audience, CollectionSpec, Prop, PropType, quote
from services.ogcapi.validators import stamp_key

MVT: Final = "application/vnd.mapbox-vector-tile"
TILE_SETS: Final = ("WebMercatorQuad", "WorldCRS84Quad", "TiandituC")
"""The sets tiles are served in, by their ids in URLs (exact spelling)."""
EXTENT: Final = 4096
"""Tile units across a tile (MVT's usual extent)."""
BUFFER: Final = 64
"""Tile units kept beyond each edge, so strokes and fills join across tiles."""
SIMPLIFY_PIXELS: Final = 0.25
"""Simplification tolerance, in 256-pixel display pixels of the tile."""

MERCATOR_ZOOMS: Final = {
    "grid.admin_areas": (8, 20),
    "grid.cells": (11, 20),
    "grid.buildings": (14, 20),
    "plans.features": (8, 20),
    "plans.conflict_patches": (8, 20),
}
"""Levels (WebMercatorQuad) each table is tiled at; keyed collections (houses, households,
persons, at their buildings) like buildings. Clients overzoom past the last level."""
KEYED_ZOOMS: Final = (14, 20)
DATASET_TABLES: Final = ("plans.features", "grid.cells", "grid.buildings")
"""What the dataset tileset puts in one tile: every plan layer's latest version (control
lines are plan layers), the grid cells and the buildings."""

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


def feature_id(spec: CollectionSpec) -> bool:
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


def _layer_values(
    i: int, spec: CollectionSpec, tms: TileMatrixSet, tile: Tile, limit: int
) -> dict[str, object]:
    """The values of layer ``i``'s placeholders (``l{i}_*``) for one tile."""
    p = f"l{i}_"
    lon = tile_bounds(name_of(tms), tile, geographic=True) if is_mercator(tms) else None
    own = tile_bounds(name_of(tms), tile)
    west, south, east, north = lon if lon is not None else own
    values: dict[str, object] = {
        f"{p}w": west,
        f"{p}s": south,
        f"{p}e": east,
        f"{p}n": north,
        f"{p}tol": (east - west) / 256 * SIMPLIFY_PIXELS,
        f"{p}x0": own.left,
        f"{p}y0": own.bottom,
        f"{p}x1": own.right,
        f"{p}y1": own.top,
        f"{p}limit": limit,
        f"{p}name": spec.id,
    }
    values.update({f"{p}f{j}": v for j, (_, v) in enumerate(spec.fixed)})
    return values


def _layer_text(i: int, spec: CollectionSpec, mercator: bool) -> tuple[str, str, str, str]:
    """The CTE of layer ``i`` and its expressions (the layer's MVT, the features matched and
    those sent), with ``%(l{i}_*)s`` placeholders for :func:`_layer_values`."""
    p = f"l{i}_"
    geom = f"t.{quote(spec.geometry_column)}"
    shape = f"ST_Simplify(s.geom, %({p}tol)s, true)"
    if mercator:
        shape = f"ST_Transform({shape}, 3857)"
    envelope = f"ST_MakeEnvelope(%({p}w)s, %({p}s)s, %({p}e)s, %({p}n)s, 4490)"
    bounds = f"ST_MakeBox2D(ST_Point(%({p}x0)s, %({p}y0)s), ST_Point(%({p}x1)s, %({p}y1)s))"
    props = tile_properties(spec)
    columns = [f"t.{quote(q.column)} AS {quote(q.name)}" for q in props]
    names = [quote(q.name) for q in props]
    if feature_id(spec):
        columns.append(f"t.{quote(spec.id_column)} AS {quote('id')}")
        names.append(quote("id"))
    conditions = [f"t.{quote(c)} = %({p}f{j})s" for j, (c, _) in enumerate(spec.fixed)]
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
        limit=f"%({p}limit)s",
    )
    mvt = statement(__name__, "mvt").format(
        name=f"%({p}name)s",
        extent=EXTENT,
        id_name="'id'" if feature_id(spec) else "NULL",
        kept=", ".join([*names, "geom"]),
        p=p,
    )
    matched = statement(__name__, "matched").format(p=p)
    return cte, mvt, matched, statement(__name__, "sent").format(p=p)


def tile_statement(
    specs: Sequence[CollectionSpec], tms: TileMatrixSet, tile: Tile, limit: int
) -> TileStatement:
    """One statement: the tile (bytea, NULL when empty), per layer the features matched and
    sent, and the change stamps of the tables (serials in table order, latest time)."""
    tables = stamp_tables(specs)
    values: dict[str, object] = {"stamp_tables": list(tables)}
    for i, spec in enumerate(specs):
        values.update(_layer_values(i, spec, tms, tile, limit))
    sql = _statement_text(tuple(specs), is_mercator(tms))
    return TileStatement(sql, values, tuple(s.id for s in specs), tables)


_TEXTS: Final[OrderedDict[tuple[tuple[str, ...], bool], str]] = OrderedDict()
_TEXTS_KEPT: Final = 256


def _statement_text(specs: tuple[CollectionSpec, ...], mercator: bool) -> str:
    """The statement's text, with placeholders for :func:`_layer_values`. It depends only
    on the layers' definitions and whether the set is Web Mercator, so it is built once and
    kept (building it per tile cost about a third of a millisecond). Event loop only."""
    key = (definitions(specs), mercator)
    found = _TEXTS.get(key)
    if found is not None:
        _TEXTS.move_to_end(key)
        return found
    ctes, tiles, matched, sent = [], [], [], []
    for i, spec in enumerate(specs):
        cte, mvt, m, s = _layer_text(i, spec, mercator)
        ctes.append(cte)
        tiles.append(f"coalesce({mvt}, ''::bytea)")
        matched.append(m)
        sent.append(s)
    made = statement(__name__, "tile").format(
        layers=", ".join(ctes),
        tiles=" || ".join(tiles),
        matched=", ".join(matched),
        sent=", ".join(sent),
        stamps=statement(__name__, "stamps"),
    )
    _TEXTS[key] = made
    while len(_TEXTS) > _TEXTS_KEPT:
        _TEXTS.popitem(last=False)
    return made


def stamp_tables(specs: Iterable[CollectionSpec]) -> tuple[str, ...]:
    """The tables whose change stamps a tile of ``specs`` depends on, sorted."""
    return tuple(sorted({stamp_key(s) for s in specs}))


_DIGESTS: Final[OrderedDict[int, tuple[CollectionSpec, str]]] = OrderedDict()
_DIGESTS_KEPT: Final = 1024


def definitions(specs: Iterable[CollectionSpec]) -> tuple[str, ...]:
    """Digests of the layers' definitions as the caller sees them (a grid worker's scoped
    view differs from the whole collection): part of a tile's tag and cache key."""
    return tuple(_definition(s) for s in specs)


def _definition(spec: CollectionSpec) -> str:
    """A spec's digest, remembered for the spec objects last seen (specs are frozen; the
    registry's live as long as it does, so a tile request rarely serialises one: about
    30 µs each, a dozen in a dataset tile). Used from the event loop only."""
    found = _DIGESTS.get(id(spec))
    if found is not None and found[0] is spec:
        _DIGESTS.move_to_end(id(spec))
        return found[1]
    made = digest((spec.model_dump_json(),))
    _DIGESTS[id(spec)] = (spec, made)  # the spec is held, so its id is not reused meanwhile
    _DIGESTS.move_to_end(id(spec))
    while len(_DIGESTS) > _DIGESTS_KEPT:
        _DIGESTS.popitem(last=False)
    return made


def stamps_sql() -> str:
    """The change stamps of ``%(stamp_tables)s`` alone (a conditional request's first read)."""
    return "SELECT " + statement(__name__, "stamps")


def tile_validators(
    specs: Sequence[CollectionSpec],
    tables: Sequence[str],
    serials: Sequence[int] | None,
    changed_at: Any,
    *parts: object,
    defined: tuple[str, ...] | None = None,
) -> Validators | None:
    """A strong ``ETag`` of a tile from its tables' change stamps (None when a table has
    none): the bytes depend on nothing else than the data, the layers' definitions, the
    tile and the parameters in ``parts`` (``defined``: :func:`definitions` of ``specs``,
    when already known)."""
    if serials is None or len(serials) != len(tables):
        return None
    found = definitions(specs) if defined is None else defined
    return validators_for(("tile", *serials, *found, *parts), changed_at, weak=False)


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
