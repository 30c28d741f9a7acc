"""The designed conflicts, measured from the geometries exactly as they were written (see
:data:`METHOD`).

An independent re-implementation of the conflict analysis, in shapely rather than PostGIS.
It stays with the generator, not under tests/, because the generator needs it: the measured
patches, slivers and areas are written into the sample's manifest.json as the expected
answer that the tests then hold :mod:`layers.conflicts` to. The sliver thresholds and 亩 are
the domain's own (:mod:`layers.settings`, :mod:`layers.conflicts`), not restated here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, NamedTuple

import numpy as np
import shapely
from numpy.typing import NDArray

from gis.crs import GK_CM120_SRID, STORAGE_SRID
from gis.geometry import geodesic_area, repair_array, transform_geometry
from layers.errors import LayerError
from layers.settings import MIN_AREA_M2, MIN_WIDTH_M, NOISE_M2

Geoms = NDArray[np.object_]
Ints = NDArray[np.intp]
Mask = NDArray[np.bool_]

DESIGN_MIN_AREA_M2: Final = 900.0
DESIGN_MIN_WIDTH_M: Final = 10.0

METHOD: Final = (
    "Every layer's written coordinates are transformed from the file's CRS to EPSG:4549; "
    "invalid geometries are repaired as an importer would (ST_MakeValid linework method, "
    "gis.geometry.repair_array) and features with unknown codes are left out. Pieces are the "
    "polygonal parts of A ∩ B for every pair of features whose classes make the conflict type "
    "(for the development boundary: A − ∪B), found with an STRtree and cut with shapely "
    "(GEOS OverlayNG) in EPSG:4549 metres. A piece is a sliver when under the minimum area or "
    "nowhere wider than the minimum width, numerical noise when under 1 m² (CRS round trips "
    "leave ~1e-6 m² crumbs along shared edges). A patch is one (A feature, B feature) pair "
    "with its non-sliver pieces. Areas are ellipsoidal: each piece transformed to EPSG:4490 "
    "and measured with pyproj.Geod(a=6378137, rf=298.257222101), as "
    "ST_Area(geom::geography) does. 1 亩 = 10000/15 m² exactly (≈ 666.67 m²)."
)
"""How the expected figures are computed (copied into the manifest)."""


class LayerInput(NamedTuple):
    """One written layer back in EPSG:4549: repaired geometries, codes, ids, usable rows."""

    geoms: Geoms
    codes: NDArray[np.str_] | None
    ids: list[str]
    usable: Mask


class Rule(NamedTuple):
    """One (A, B) layer pair of a conflict type: which rows of each take part."""

    a: str
    b: str
    a_rows: Callable[[LayerInput], Mask]
    b_rows: Callable[[LayerInput], Mask]
    pair_ok: Callable[[LayerInput, LayerInput, Ints, Ints], Mask] | None = None


class ConflictType(NamedTuple):
    """A conflict type of docs/plans.md with its rules and a definition in words."""

    key: str
    label: str
    severity: str
    operation: str
    rules: tuple[Rule, ...]
    definition: str


class Pieces(NamedTuple):
    """Polygon pieces of one rule with the rows of A and B (-1: none) they come from."""

    geoms: Geoms
    a: Ints
    b: Ints


def polygons(geoms: Geoms) -> tuple[Geoms, Ints]:
    """The polygon parts of each geometry (collections flattened) and their owners."""
    parts, owner = shapely.get_parts(geoms, return_index=True)
    while True:
        nested = np.isin(shapely.get_type_id(parts), (4, 5, 6, 7))
        if not nested.any():
            break
        sub, sub_owner = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], sub])
        owner = np.concatenate([owner[~nested], owner[nested][sub_owner]])
    keep = shapely.get_type_id(parts) == 3
    return parts[keep], owner[keep]


def load(
    geoms: Geoms,
    epsg: int,
    codes: NDArray[np.str_] | None,
    ids: list[str],
    usable: Mask | None = None,
) -> LayerInput:
    """A written layer as the analysis sees it: in EPSG:4549, repaired."""
    metric = transform_geometry(np.asarray(geoms, dtype=object), epsg, GK_CM120_SRID)
    repaired, _ = repair_array(metric)
    ok = np.ones(len(repaired), dtype=bool) if usable is None else usable
    return LayerInput(repaired, codes, ids, ok)


def intersect(a: LayerInput, b: LayerInput, rule: Rule) -> Pieces:
    """Polygon parts of ``A ∩ B`` over the candidate pairs of ``rule``."""
    ai = np.flatnonzero(rule.a_rows(a) & a.usable)
    bi = np.flatnonzero(rule.b_rows(b) & b.usable)
    qa, qb = shapely.STRtree(b.geoms[bi]).query(a.geoms[ai], predicate="intersects")
    pa, pb = ai[qa], bi[qb]
    if rule.pair_ok is not None:
        ok = rule.pair_ok(a, b, pa, pb)
        pa, pb = pa[ok], pb[ok]
    parts, k = polygons(shapely.intersection(a.geoms[pa], b.geoms[pb]))
    return Pieces(parts, pa[k], pb[k])


def outside(a: LayerInput, b: LayerInput, rule: Rule, tile: float = 2000.0) -> Pieces:
    """Polygon parts of ``A − ∪B``: B is cut into ``tile``-metre squares first so each
    feature of A meets only small pieces of B (what ``ST_Subdivide`` does in PostGIS)."""
    ai = np.flatnonzero(rule.a_rows(a) & a.usable)
    cover = _tiles(b.geoms[np.flatnonzero(rule.b_rows(b) & b.usable)], tile)
    qa, qc = shapely.STRtree(cover).query(a.geoms[ai], predicate="intersects")
    inside = np.bincount(
        qa,
        weights=shapely.area(shapely.intersection(a.geoms[ai][qa], cover[qc])),
        minlength=ai.size,
    )
    left = shapely.area(a.geoms[ai]) - inside
    out_geoms, owners = [], []
    for j in np.flatnonzero(left > NOISE_M2 / 2).tolist():
        rest = shapely.difference(a.geoms[ai[j]], shapely.union_all(cover[qc[qa == j]]))
        out_geoms.append(rest)
        owners.append(ai[j])
    parts, k = polygons(np.asarray(out_geoms, dtype=object))
    return Pieces(parts, np.asarray(owners, dtype=np.intp)[k], np.full(k.size, -1, np.intp))


def _tiles(geoms: Geoms, size: float) -> Geoms:
    if geoms.size == 0:
        return geoms
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    xs, ys = np.arange(minx, maxx + size, size), np.arange(miny, maxy + size, size)
    gx, gy = np.meshgrid(xs[:-1], ys[:-1])
    boxes = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + size, gy.ravel() + size)
    qb, qg = shapely.STRtree(geoms).query(boxes, predicate="intersects")
    parts, _ = polygons(shapely.intersection(geoms[qg], boxes[qb]))
    return parts


def measure(pieces: Pieces, min_area: float = MIN_AREA_M2["construction"]) -> dict[str, Any]:
    """Split pieces into designed patches, slivers and noise and measure them."""
    area = shapely.area(pieces.geoms)
    noise = area < NOISE_M2
    thin = np.zeros(area.size, dtype=bool)
    thin[~noise] = shapely.is_empty(shapely.buffer(pieces.geoms[~noise], -MIN_WIDTH_M / 2))
    sliver = ~noise & (thin | (area < min_area))
    kept = ~noise & ~sliver
    _check(pieces.geoms[kept], pieces.geoms[sliver])
    true_area = np.zeros(area.size)
    real = kept | sliver
    if real.any():
        true_area[real] = geodesic_area(
            transform_geometry(pieces.geoms[real], GK_CM120_SRID, STORAGE_SRID)
        )
    return {
        "kept": kept,
        "sliver": sliver,
        "noise": noise,
        "area": true_area,
        "thin": thin,
        "planar": area,
    }


def _check(kept: Geoms, slivers: Geoms) -> None:
    """Designed patches must be far from any threshold, slivers well under them."""
    if kept.size:
        small = shapely.area(kept) < DESIGN_MIN_AREA_M2
        narrow = shapely.is_empty(shapely.buffer(kept, -DESIGN_MIN_WIDTH_M / 2))
        if small.any() or narrow.any():
            raise LayerError(
                f"{int(small.sum())} designed patch(es) under {DESIGN_MIN_AREA_M2} m² and "
                f"{int(narrow.sum())} under {DESIGN_MIN_WIDTH_M} m wide: the expected totals "
                "would depend on the sliver thresholds"
            )
    if slivers.size and not shapely.is_empty(shapely.buffer(slivers, -0.55)).all():
        raise LayerError("a sliver is more than 1.1 m wide: it could pass a 2 m width filter")


def inscribed_width(geoms: Geoms) -> NDArray[np.float64]:
    """Diameter of the largest inscribed circle (what a negative buffer tests)."""
    if geoms.size == 0:
        return np.zeros(0)
    return np.asarray(2 * shapely.length(shapely.maximum_inscribed_circle(geoms, 0.01)))
