"""The shape of the synthetic city: an approximate outline with the coast on the east, and a
partition of it into the six county-level areas around their real seats.

Coordinates are lon/lat on CGCS2000 (EPSG:4490). The outline is hand-drawn from the city's
extent (≈118.4–119.8°E, 34.0–35.1°N, docs/domain.md): plausible, not surveyed.
"""

from __future__ import annotations

from functools import cache
from typing import Final

import shapely
from shapely.geometry import MultiPoint, Point, Polygon

OUTLINE_LONLAT: Final = (
    (118.40, 34.45), (118.52, 34.78), (118.72, 35.00), (119.02, 35.10), (119.21, 35.08),
    (119.26, 34.93), (119.33, 34.79), (119.50, 34.77), (119.62, 34.63), (119.79, 34.48),
    (119.72, 34.30), (119.56, 34.15), (119.45, 34.02), (119.25, 34.00), (119.03, 34.10),
    (118.80, 34.24), (118.55, 34.30), (118.40, 34.45),
)  # fmt: skip
"""Clockwise from the south-west; the edge from (119.21, 35.08) to (119.79, 34.48) is coast."""

COUNTY_SEATS: Final = {
    "320706": (119.18, 34.60),  # 海州区 (docs/domain.md: ≈119.18°E 34.60°N)
    "320703": (119.40, 34.72),  # 连云区, on the coast north-east of Haizhou
    "320707": (119.05, 34.88),  # 赣榆区, north
    "320722": (118.75, 34.55),  # 东海县, west
    "320723": (119.30, 34.32),  # 灌云县, south-east
    "320724": (119.33, 34.09),  # 灌南县, south
}
"""Approximate seats, used as Voronoi generators for the county partition."""


@cache
def city_outline() -> Polygon:
    """The city's land outline."""
    return Polygon(OUTLINE_LONLAT)


@cache
def county_polygons() -> dict[str, Polygon]:
    """The six counties: Voronoi cells of their seats clipped to the outline.

    They tile the outline without gap or overlap (up to floating point; callers that need
    exact shared edges should snap, e.g. with ``shapely.set_precision``).
    """
    outline = city_outline()
    seats = {code: Point(xy) for code, xy in COUNTY_SEATS.items()}
    cells = shapely.voronoi_polygons(MultiPoint(list(seats.values())), extend_to=outline)
    result: dict[str, Polygon] = {}
    for cell in shapely.get_parts(cells):
        code = next(c for c, p in seats.items() if cell.contains(p))
        piece = shapely.intersection(cell, outline)
        if not isinstance(piece, Polygon):  # keep the part holding the seat
            piece = next(g for g in shapely.get_parts(piece) if g.contains(seats[code]))
        result[code] = piece
    return dict(sorted(result.items()))
