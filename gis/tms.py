"""Tile matrix sets the platform serves and reads: Tianditu 'c' and 'w', and the two OGC quads.

Tianditu 'c' is EPSG:4490 whose axis order is (lat, lon); morecantile reads that from the set's
``orderedAxes``. Every public function here is x-first: (lon, lat) degrees for the geographic
sets, metres for the Web Mercator ones, so callers never meet the EPSG axis order.
``geographic=True`` means (lon, lat) degrees on CGCS2000 (the storage CRS) whatever the set.
Tiles are half-open: a point on a shared edge belongs to the tile east of / below it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from functools import cache
from typing import Final, Literal, NamedTuple, TypedDict

import morecantile
import pyproj
from morecantile import BoundingBox, Tile, TileMatrixSet
from morecantile.models import TileMatrix

from gis.crs import STORAGE_SRID
from gis.errors import TileRangeError, UnknownTileMatrixSetError
from gis.package_data import data_dir

__all__ = [
    "DEFAULT_MAX_TILES",
    "TMS_DIR",
    "BoundingBox",
    "MatrixSize",
    "Tile",
    "TileMatrixEntry",
    "capabilities_matrices",
    "check_tile",
    "get_tms",
    "is_valid_tile",
    "levels",
    "matrix_size",
    "tile_bounds",
    "tile_for_point",
    "tiles_for_bbox",
    "tms_names",
]

TMS_DIR: Final = data_dir("gis") / "tms"
DEFAULT_MAX_TILES: Final = 1_000_000
"""Refuse to enumerate more tiles than this unless the caller asks for more."""

_NAMES: Final = ("TiandituC", "TiandituW", "WebMercatorQuad", "WorldCRS84Quad")
_ALIASES: Final = {"c": "TiandituC", "w": "TiandituW"} | {n.lower(): n for n in _NAMES}
_TIANDITU_LEVELS: Final = range(1, 19)
# OGC WMTS "standardized rendering pixel" (0.28 mm) versus the 96-dpi pixel Tianditu publishes.
_OGC_PIXEL_M: Final = 0.00028
_96DPI_PIXEL_M: Final = 0.0254 / 96


class MatrixSize(NamedTuple):
    """Tiles across (columns) and down (rows) at one level."""

    width: int
    height: int


class TileMatrixEntry(TypedDict):
    """One WMTS ``TileMatrix`` element; ``topLeftCorner`` is in the CRS's own axis order."""

    # Keys are spelled as the WMTS elements, so the capabilities writer can copy them across.
    identifier: str
    scaleDenominator: float
    topLeftCorner: tuple[float, float]
    tileWidth: int
    tileHeight: int
    matrixWidth: int
    matrixHeight: int


def tms_names() -> tuple[str, ...]:
    """Return the canonical set names, so services can list what they may serve."""
    return _NAMES


def _canonical(name: str) -> str:
    try:
        return _ALIASES[name.strip().lower()]
    except KeyError:
        known = "TiandituC ('c'), TiandituW ('w'), WebMercatorQuad, WorldCRS84Quad"
        raise UnknownTileMatrixSetError(
            f"unknown tile matrix set {name!r}; known: {known}"
        ) from None


@cache
def _load(canonical: str) -> TileMatrixSet:
    if canonical == "TiandituC":
        return TileMatrixSet.model_validate_json((TMS_DIR / "TiandituC.json").read_text("utf-8"))
    if canonical == "TiandituW":
        # Tianditu 'w' is WebMercatorQuad levels 1-18 with the same identifiers and indices;
        # the OGC uri is dropped because a subset is not that set.
        data = morecantile.tms.get("WebMercatorQuad").model_dump(mode="json", exclude_none=True)
        data.pop("uri", None)
        data["id"], data["title"] = "TiandituW", "Tianditu 'w' (Web Mercator, levels 1-18)"
        data["tileMatrices"] = [m for m in data["tileMatrices"] if int(m["id"]) in _TIANDITU_LEVELS]
        return TileMatrixSet.model_validate(data)
    return morecantile.tms.get(canonical)


def get_tms(name: str) -> TileMatrixSet:
    """Return a set by name ('c' and 'w' accepted, any case); shared and cached, do not mutate.

    >>> get_tms("c").id, get_tms("W").id, get_tms("webmercatorquad").id
    ('TiandituC', 'TiandituW', 'WebMercatorQuad')
    """
    return _load(_canonical(name))


@cache
def _to_tms_crs(canonical: str) -> pyproj.Transformer:
    crs = pyproj.CRS.from_user_input(_load(canonical).crs.srs)
    return pyproj.Transformer.from_crs(STORAGE_SRID, crs, always_xy=True)


def levels(name: str) -> range:
    """Return the levels a set has: 1-18 for Tianditu, from 0 for the OGC quads.

    >>> levels("c")
    range(1, 19)
    """
    tms = get_tms(name)
    return range(tms.minzoom, tms.maxzoom + 1)


def _matrix(tms: TileMatrixSet, level: int) -> TileMatrix:
    # morecantile.matrix() invents levels outside the set (and overflows below it): refuse.
    if not tms.minzoom <= level <= tms.maxzoom:
        raise TileRangeError(
            f"level {level} is outside {tms.id} levels {tms.minzoom}-{tms.maxzoom}"
        )
    return tms.matrix(level)


def matrix_size(name: str, level: int) -> MatrixSize:
    """Return the number of columns and rows at a level ('c' level n: 2ⁿ × 2ⁿ⁻¹).

    >>> matrix_size("c", 10)
    MatrixSize(width=1024, height=512)
    """
    m = _matrix(get_tms(name), level)
    return MatrixSize(m.matrixWidth, m.matrixHeight)


def check_tile(name: str, tile: Tile) -> Tile:
    """Return the tile if the set has it, else raise `TileRangeError` saying which index is off.

    >>> check_tile("c", Tile(850, 157, 10))
    Tile(x=850, y=157, z=10)
    >>> check_tile("c", Tile(1024, 0, 10))
    Traceback (most recent call last):
    gis.errors.TileRangeError: column 1024 is outside 0-1023 at level 10 of TiandituC
    """
    tms = get_tms(name)
    t = Tile(*tile)
    m = _matrix(tms, t.z)
    if not 0 <= t.x < m.matrixWidth:
        raise TileRangeError(
            f"column {t.x} is outside 0-{m.matrixWidth - 1} at level {t.z} of {tms.id}"
        )
    if not 0 <= t.y < m.matrixHeight:
        raise TileRangeError(
            f"row {t.y} is outside 0-{m.matrixHeight - 1} at level {t.z} of {tms.id}"
        )
    return t


def is_valid_tile(name: str, tile: Tile) -> bool:
    """Tell whether the set has the tile, for callers that answer 404 rather than raise."""
    try:
        check_tile(name, tile)
    except TileRangeError:
        return False
    return True


def tile_bounds(name: str, tile: Tile, *, geographic: bool = False) -> BoundingBox:
    """Return a tile's (left, bottom, right, top), x-first, in the set's CRS or in lon/lat.

    >>> tile_bounds("c", Tile(850, 157, 10))
    BoundingBox(left=118.828125, bottom=34.453125, right=119.1796875, top=34.8046875)
    """
    t = check_tile(name, tile)
    tms = get_tms(name)
    box = tms.xy_bounds(t)
    if not geographic:
        return box
    # Both CRS kinds here are separable (x from lon, y from lat), so corners are exact.
    transformer = _to_tms_crs(tms.id)
    left, bottom = transformer.transform(box.left, box.bottom, direction="INVERSE")
    right, top = transformer.transform(box.right, box.top, direction="INVERSE")
    return BoundingBox(left, bottom, right, top)


def _xy(tms: TileMatrixSet, x: float, y: float, geographic: bool) -> tuple[float, float]:
    if geographic:
        x, y = _to_tms_crs(tms.id).transform(x, y)
    if not (math.isfinite(x) and math.isfinite(y)):
        raise TileRangeError(f"point ({x}, {y}) is not finite in {tms.id}")
    return x, y


def _extent(tms: TileMatrixSet, m: TileMatrix, level: int) -> BoundingBox:
    first = tms.xy_bounds(Tile(0, 0, level))
    last = tms.xy_bounds(Tile(m.matrixWidth - 1, m.matrixHeight - 1, level))
    return BoundingBox(first.left, last.bottom, last.right, first.top)


def _tile_xy(tms: TileMatrixSet, x: float, y: float, level: int) -> Tile:
    """Locate an x-first TMS point, agreeing exactly with ``xy_bounds`` on edges."""
    m = _matrix(tms, level)
    ext = _extent(tms, m, level)
    # morecantile rounds deep cell sizes to 15 digits (WorldCRS84Quad's east edge is
    # 179.99999999999756 at level 20): slack of 1e-12 of the extent keeps the set's own edges in.
    eps = 1e-12 * max(ext.right - ext.left, ext.top - ext.bottom)
    inside_x = ext.left - eps <= x <= ext.right + eps
    if not (inside_x and ext.bottom - eps <= y <= ext.top + eps):
        raise TileRangeError(f"point ({x}, {y}) is outside {tms.id} {tuple(ext)}")
    col = min(max(math.floor((x - ext.left) / (m.cellSize * m.tileWidth)), 0), m.matrixWidth - 1)
    row = min(max(math.floor((ext.top - y) / (m.cellSize * m.tileHeight)), 0), m.matrixHeight - 1)
    # Floating division can land one tile off right at an edge: settle it on the bounds.
    box = tms.xy_bounds(Tile(col, row, level))
    if x < box.left:
        col -= 1
    elif x >= box.right and col < m.matrixWidth - 1:
        col += 1
    if y > box.top:
        row -= 1
    elif y <= box.bottom and row < m.matrixHeight - 1:
        row += 1
    return Tile(col, row, level)


def tile_for_point(name: str, x: float, y: float, level: int, *, geographic: bool = False) -> Tile:
    """Return the tile holding a point; outside the set's extent raises `TileRangeError`.

    Same result as Tianditu's ``col = floor((lon+180)/(256·cell))``,
    ``row = floor((90−lat)/(256·cell))``, e.g. Haizhou at level 10 of 'c':

    >>> tile_for_point("c", 119.1788, 34.6015, 10)
    Tile(x=850, y=157, z=10)
    >>> tile_for_point("w", 119.1788, 34.6015, 10, geographic=True)
    Tile(x=850, y=406, z=10)
    """
    tms = get_tms(name)
    return _tile_xy(tms, *_xy(tms, x, y, geographic), level)


def tiles_for_bbox(
    name: str,
    bbox: tuple[float, float, float, float],
    level: int,
    *,
    geographic: bool = False,
    max_tiles: int = DEFAULT_MAX_TILES,
) -> Iterator[Tile]:
    """Return tiles meeting (left, bottom, right, top), rows north to south, clipped to the set.

    Edges on a tile boundary do not pull in the neighbour. Raises `TileRangeError` up front,
    not while iterating, when more than ``max_tiles`` would come out.

    >>> len(list(tiles_for_bbox("c", (118.4, 34.0, 119.8, 35.1), 12)))
    238
    """
    tms = get_tms(name)
    m = _matrix(tms, level)
    left, bottom, right, top = bbox
    if math.isnan(left + bottom + right + top) or left > right or bottom > top:
        raise TileRangeError(f"bbox {tuple(bbox)} is not (left, bottom, right, top)")
    if geographic:
        transformer = _to_tms_crs(tms.id)
        left, bottom = transformer.transform(left, bottom)
        right, top = transformer.transform(right, top)
    ext = _extent(tms, m, level)
    left, bottom = max(left, ext.left), max(bottom, ext.bottom)
    right, top = min(right, ext.right), min(top, ext.top)
    if left > right or bottom > top:
        return iter(())
    first = _tile_xy(tms, left, top, level)
    last = _tile_xy(tms, right, bottom, level)
    last_box = tms.xy_bounds(last)
    cols = range(first.x, last.x + (0 if right == last_box.left and last.x > first.x else 1))
    rows = range(first.y, last.y + (0 if bottom == last_box.top and last.y > first.y else 1))
    if len(cols) * len(rows) > max_tiles:
        raise TileRangeError(
            f"bbox covers {len(cols) * len(rows)} tiles at level {level} of {tms.id}, "
            f"more than the limit of {max_tiles}"
        )
    return (Tile(col, row, level) for row in rows for col in cols)


@cache
def _tianditu_c_96dpi() -> dict[str, float]:
    text = (TMS_DIR / "TiandituC-96dpi.json").read_text("utf-8")
    return {m.id: m.scaleDenominator for m in TileMatrixSet.model_validate_json(text).tileMatrices}


def capabilities_matrices(
    name: str, *, scales: Literal["ogc", "tianditu-96dpi"] = "ogc"
) -> list[TileMatrixEntry]:
    """Describe each level as a WMTS ``TileMatrix``; OGC scales unless Tianditu's are asked for.

    Tianditu publishes 96-dpi scale denominators (5.83 % off for OGC-strict clients); the
    96-dpi variant exists only for the Tianditu sets, to mirror its capabilities exactly.

    >>> [e["scaleDenominator"] for e in capabilities_matrices("c")][0]
    279541132.0143589
    >>> capabilities_matrices("c", scales="tianditu-96dpi")[0]["scaleDenominator"]
    295829355.45456564
    """
    tms = get_tms(name)
    published: dict[str, float] = {}
    if scales == "tianditu-96dpi":
        if tms.id == "TiandituC":
            published = _tianditu_c_96dpi()
        elif tms.id == "TiandituW":
            ratio = _OGC_PIXEL_M / _96DPI_PIXEL_M
            published = {m.id: m.scaleDenominator * ratio for m in tms.tileMatrices}
        else:
            raise UnknownTileMatrixSetError(f"{tms.id} has no Tianditu 96-dpi variant")
    return [
        TileMatrixEntry(
            identifier=m.id,
            scaleDenominator=published[m.id] if published else m.scaleDenominator,
            topLeftCorner=(float(m.pointOfOrigin[0]), float(m.pointOfOrigin[1])),
            tileWidth=m.tileWidth,
            tileHeight=m.tileHeight,
            matrixWidth=m.matrixWidth,
            matrixHeight=m.matrixHeight,
        )
        for m in tms.tileMatrices
    ]
