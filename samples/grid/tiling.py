"""Exact tiling: every level of the city built from one set of faces with shared edges.

The raw pieces (blocks of detailed communities, whole other communities) come from separate
clip operations and tile only up to floating point. Here their boundaries are mapped
to CGCS2000 degrees (an affine map, so collinear stays collinear), noded together *in one
operation* with snap rounding on a ``GRID_DEG`` grid, and polygonised into faces. Each
face belongs to the raw piece holding its interior point; a cell, community, street or
county is the union of its faces. Shared edges are therefore the same vertex sequence on
both sides, so the levels tile each other exactly in PostGIS too (``ST_IsValid``,
``ST_Union``, ``ST_SymDifference``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

GRID_DEG: Final = 1e-7
"""Snap grid of stored admin and cell geometry: 1e-7° ≈ 1 cm."""

Objects = NDArray[np.object_]
Ints = NDArray[np.int64]


def faces_of(pieces_deg: Objects) -> tuple[Objects, Ints]:
    """Faces of the noded boundaries of ``pieces_deg`` and the piece each face belongs to."""
    lines = shapely.boundary(pieces_deg)
    noded = shapely.union_all(lines, grid_size=GRID_DEG)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    faces = faces[shapely.area(faces) > 0]
    probe = shapely.point_on_surface(faces)
    tree = shapely.STRtree(pieces_deg)
    face_i, piece_i = tree.query(probe, predicate="intersects")
    owner = np.full(len(faces), -1, dtype=np.int64)
    # A probe on a piece's edge (possible after snapping) takes the first piece found.
    first = np.unique(face_i, return_index=True)[1]
    owner[face_i[first]] = piece_i[first]
    lost = np.flatnonzero(owner < 0)
    if len(lost):
        owner[lost] = tree.query_nearest(probe[lost], all_matches=False)[1]
    return faces, owner


def unions(parts: Objects, group: Ints, groups: int) -> list[BaseGeometry]:
    """Union of ``parts`` per group index (0..groups-1), snapped to the same grid."""
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(groups + 1))
    result: list[BaseGeometry] = []
    for g in range(groups):
        members = parts[order[bounds[g] : bounds[g + 1]]]
        if len(members) == 1:
            result.append(members[0])
        elif len(members) == 0:
            result.append(Polygon())
        else:
            result.append(shapely.union_all(members, grid_size=GRID_DEG))
    return result


def single(geom: BaseGeometry) -> Polygon:
    """The polygon of a union that must be one polygon (a cell)."""
    if isinstance(geom, Polygon):
        return geom
    parts = [g for g in shapely.get_parts(geom) if isinstance(g, Polygon)]
    if len(parts) != 1:
        raise ValueError(f"expected one polygon, got {geom.geom_type} of {len(parts)}")
    return parts[0]


def multi(geom: BaseGeometry) -> MultiPolygon:
    """Admin areas are stored as MultiPolygon."""
    if isinstance(geom, MultiPolygon):
        return geom
    return MultiPolygon([single(geom)])


def union_children(children: Sequence[BaseGeometry]) -> BaseGeometry:
    """A parent as the union of its children (which share exact edges)."""
    return shapely.union_all(np.array(children, dtype=object), grid_size=GRID_DEG)
