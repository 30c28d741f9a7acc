"""CRSs of the OGC API (Features Part 2): URIs, axis order, output SQL, bbox and geometry input.

Storage is EPSG:4490 with x = longitude. Requests name a CRS by its OGC URI; coordinates in
and out follow that CRS's authority axis order: (lat, lon) for EPSG:4490 and EPSG:4326,
(northing, easting) for the Gauss-Krüger EPSG:4549/4528, (x, y) for CRS84 and EPSG:3857.
Inputs are moved to storage in Python (pyproj, through :mod:`gis.crs`), so SQL compares the
stored column with a constant in its own SRID and the GiST index is used (the tipg way).
WGS84 and CGCS2000 are taken as one datum (docs/domain.md): CRS84/4326 ↔ 4490 is only an axis
question.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import shapely
from numpy.typing import NDArray

from gis.crs import (
    CRS84,
    OGC_SERVED_CRS,
    STORAGE_SRID,
    WEB_MERCATOR_SRID,
    WGS84_SRID,
    north_first,
    resolve,
    transform_xy,
)
from gis.errors import GisError
from services.ogcapi.errors import BadRequestError

CRS84_URI: Final = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
_EPSG_URI: Final = "http://www.opengis.net/def/crs/EPSG/0/{}"

GEOGRAPHIC_DIGITS: Final = 8
"""Decimals of degrees in GeoJSON output (1e-8° ≈ 1 mm)."""
PROJECTED_DIGITS: Final = 3
"""Decimals of metres in GeoJSON output (1 mm)."""


@dataclass(frozen=True)
class OgcCrs:
    """A CRS the API serves: its URI, PostGIS SRID (None for CRS84) and axis order."""

    uri: str
    name: str
    srid: int | None
    north_first: bool
    geographic: bool

    @property
    def same_datum_geographic(self) -> bool:
        """CRS84, 4326 or 4490: coordinates equal storage's up to axis order."""
        return self.geographic

    @property
    def digits(self) -> int:
        return GEOGRAPHIC_DIGITS if self.geographic else PROJECTED_DIGITS

    @property
    def grid(self) -> str:
        """The output grid as an SQL literal (``1e-8`` degrees, ``1e-3`` metres)."""
        return f"1e-{self.digits}"


def _make(name: str) -> OgcCrs:
    ref = resolve(name)
    uri = CRS84_URI if ref.name == CRS84 else _EPSG_URI.format(ref.epsg)
    geographic = ref.crs is not None and ref.crs.is_geographic
    return OgcCrs(uri, ref.name, ref.epsg, north_first(ref), geographic)


@functools.cache
def served() -> tuple[OgcCrs, ...]:
    """Every CRS offered per collection, CRS84 (the default) first; built on first use
    (pyproj reads its database), not when the module is imported."""
    return tuple(_make(name) for name in OGC_SERVED_CRS)


def default_crs() -> OgcCrs:
    """CRS84: what a request gets when it names no CRS."""
    return served()[0]


def storage_crs() -> OgcCrs:
    """EPSG:4490, the CRS the database stores (``storageCrs``)."""
    return next(c for c in served() if c.srid == STORAGE_SRID)


@functools.cache
def _by_name() -> dict[str, OgcCrs]:
    return {c.name: c for c in served()}


@functools.lru_cache(maxsize=256)
def parse_crs(value: str, parameter: str = "crs") -> OgcCrs:
    """The served CRS a parameter names (URI, URN, ``EPSG:n``, ``[EPSG:n]``); 400 otherwise."""
    spelled = value.strip()
    if spelled.startswith("[") and spelled.endswith("]"):  # safe CURIE form
        spelled = spelled[1:-1]
    try:
        ref = resolve(spelled)
    except GisError:
        ref = None
    found = _by_name().get(ref.name) if ref is not None else None
    if found is None:
        offered = ", ".join(c.uri for c in served())
        raise BadRequestError(
            f"{parameter}={value[:200]!r} is not a CRS served here; use one of {offered}"
        )
    return found


def geometry_sql(column: str, crs: OgcCrs) -> str:
    """SQL of the stored geometry ``column`` (x = lon, SRID 4490) as ``crs`` wants it."""
    if crs.geographic:
        expr = column
    elif crs.srid == WEB_MERCATOR_SRID:  # rebase on WGS84 first: PROJ has no 4490 → 3857 datum step
        expr = f"ST_Transform(ST_SetSRID({column}, {WGS84_SRID}), {crs.srid})"
    else:
        expr = f"ST_Transform({column}, {crs.srid})"
    return f"ST_FlipCoordinates({expr})" if crs.north_first else expr


_UNBREAKABLE: Final = frozenset({"Point", "MultiPoint", "LineString", "MultiLineString"})
"""Geometry types served rounded, unrepaired: lines that cross are still valid (only a
line shorter than the grid would collapse; no collection serves lines today)."""


def geojson_sql(column: str, crs: OgcCrs, geometry_type: str) -> str:
    """SQL of the GeoJSON text of ``column`` in ``crs``, on its output grid and valid.

    Rounding to ``crs.digits`` decimals moves every vertex by up to half a grid cell, which
    can make nearly touching parts or rings of a valid polygon cross (GDAL and QGIS then
    call the feature self-intersecting). So each geometry is snapped to the grid
    (``ST_SnapToGrid``, as cheap as the rounding itself) and checked (``ST_IsValid``); only
    one that the snap broke is snap-rounded by GEOS (``ST_ReducePrecision``: valid by
    construction, parts closer than the grid merge, a polygon smaller than the grid comes
    out empty) and made multi again when the collection is. ``ST_ReducePrecision`` on every
    row made a 1000-feature page 3-4 times slower; snap and check cost about 1.2 times the
    plain rounding. The text has the same digits, so clients read exactly the checked
    coordinates. NULL for a NULL geometry. Points and lines are only rounded.
    """
    expr = geometry_sql(column, crs)
    digits = crs.digits
    if geometry_type in _UNBREAKABLE:
        return f"ST_AsGeoJSON({expr}, {digits}, 0)"
    repaired = f"ST_ReducePrecision(q.g, {crs.grid})"
    if geometry_type.startswith("Multi"):
        repaired = f"ST_Multi({repaired})"
    # OFFSET 0 keeps each subquery whole, so the transform and the snap run once per row.
    # Only the (quoted) column and our own numbers are in this text.
    return (
        f"(SELECT ST_AsGeoJSON(CASE WHEN ST_IsValid(q.s) THEN q.s ELSE {repaired} END,"  # noqa: S608
        f" {digits}, 0) FROM (SELECT p.g, ST_SnapToGrid(p.g, {crs.grid}) AS s"
        f" FROM (SELECT {expr} AS g OFFSET 0) AS p OFFSET 0) AS q)"
    )


def _to_storage(
    x: NDArray[np.float64], y: NDArray[np.float64], crs: OgcCrs, what: str
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Coordinates given in ``crs``'s axis order → storage (lon, lat); 400 when impossible."""
    if crs.north_first:
        x, y = y, x
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise BadRequestError(f"{what}: coordinates must be finite numbers")
    if crs.geographic:
        if (np.abs(x) > 180).any() or (np.abs(y) > 90).any():
            raise BadRequestError(
                f"{what}: longitude must lie within ±180 and latitude within ±90 in {crs.uri}"
                + (" (axis order latitude, longitude)" if crs.north_first else "")
            )
        return x, y
    try:
        return transform_xy(x, y, crs.name, storage_crs().name)
    except GisError as exc:
        raise BadRequestError(f"{what}: outside the area of {crs.uri}: {exc}") from None


def bbox_to_storage(values: tuple[float, ...], crs: OgcCrs) -> tuple[float, float, float, float]:
    """A ``bbox`` (4 or 6 numbers, in ``crs`` and its axis order) as a storage envelope.

    Projected boxes are densified (21 points a side) before transforming, so the envelope
    covers the curved image of the box.
    """
    if len(values) == 6:  # minx, miny, minz, maxx, maxy, maxz: heights are not filtered
        values = (values[0], values[1], values[3], values[4])
    a0, b0, a1, b1 = values
    if a0 > a1 or b0 > b1:
        raise BadRequestError(
            "bbox: the lower corner must come first and not exceed the upper corner"
            " (boxes across the antimeridian are not supported)"
        )
    if crs.geographic:
        x, y = _to_storage(np.array([a0, a1]), np.array([b0, b1]), crs, "bbox")
        return float(x.min()), float(y.min()), float(x.max()), float(y.max())
    steps = np.linspace(0.0, 1.0, 21)
    ea = np.concatenate([a0 + (a1 - a0) * steps, np.full(21, a1), a1 - (a1 - a0) * steps,
                         np.full(21, a0)])  # fmt: skip
    eb = np.concatenate([np.full(21, b0), b0 + (b1 - b0) * steps, np.full(21, b1),
                         b1 - (b1 - b0) * steps])  # fmt: skip
    x, y = _to_storage(ea, eb, crs, "bbox")
    return float(x.min()), float(y.min()), float(x.max()), float(y.max())


def geometry_to_storage(
    geom: shapely.Geometry, crs: OgcCrs, what: str, *, densify: bool = True
) -> shapely.Geometry:
    """A geometry in ``crs`` (its axis order) as a valid storage geometry; 400 if not.

    A filter literal is densified first (its straight edges are lines in ``crs``); a feature
    sent for storage (``densify=False``) keeps its vertices."""
    if geom.is_empty:
        raise BadRequestError(f"{what}: the geometry is empty")

    def move(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = _to_storage(xy[:, 0].copy(), xy[:, 1].copy(), crs, what)
        return np.column_stack([x, y])

    if densify and not crs.geographic:  # long edges bend when projected: densify ~1/50 of size
        x0, y0, x1, y1 = shapely.bounds(geom)
        size = max(x1 - x0, y1 - y0)
        if size > 0:
            geom = shapely.segmentize(geom, size / 50)
    moved = shapely.transform(geom, move)
    if not shapely.is_valid(moved):
        reason = shapely.is_valid_reason(moved)
        raise BadRequestError(f"{what}: invalid geometry ({reason})")
    return moved


def check_finite(values: tuple[float, ...], what: str) -> None:
    if not all(math.isfinite(v) for v in values):
        raise BadRequestError(f"{what}: coordinates must be finite numbers")
