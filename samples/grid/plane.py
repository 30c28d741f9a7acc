"""The generator's metric plane: an affine map of CGCS2000 lon/lat around the city centre.

Partitions are drawn in metres, where Voronoi cells and footprints have true shapes, and
mapped back to degrees. The map is affine on purpose: it keeps straight edges straight and
a vertex on an edge on that edge, so pieces that share an edge in the plane still share it
exactly (to floating point) in degrees, which the exact tiling needs. A projection such as
Gauss-Krüger bends long edges by millimetres and leaves sliver gaps. The price is scale:
east–west lengths are off by up to ±0.8 % at the north and south ends of the city, which
is invisible in synthetic footprints.
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np
import shapely

LON0: Final = 119.2
LAT0: Final = 34.55
_A: Final = 6378137.0
_E2: Final = 0.00669438002290  # CGCS2000 first eccentricity squared
_SIN: Final = math.sin(math.radians(LAT0))
_W: Final = math.sqrt(1 - _E2 * _SIN**2)
M_PER_DEG_LAT: Final = _A * (1 - _E2) / _W**3 * math.pi / 180
"""Metres per degree of latitude at LAT0 (meridian radius of curvature)."""
M_PER_DEG_LON: Final = _A / _W * math.cos(math.radians(LAT0)) * math.pi / 180
"""Metres per degree of longitude at LAT0."""

_SCALE: Final = np.array([M_PER_DEG_LON, M_PER_DEG_LAT])
_ORIGIN: Final = np.array([LON0, LAT0])


def to_plane(geoms: Any) -> Any:
    """Lon/lat geometry (or array of them) → plane metres."""
    return shapely.transform(geoms, lambda xy: (xy - _ORIGIN) * _SCALE)


def to_degrees(geoms: Any) -> Any:
    """Plane metres → lon/lat geometry (or array of them)."""
    return shapely.transform(geoms, lambda xy: xy / _SCALE + _ORIGIN)


def point_to_plane(lon: float, lat: float) -> tuple[float, float]:
    """One lon/lat point in plane metres."""
    return (lon - LON0) * M_PER_DEG_LON, (lat - LAT0) * M_PER_DEG_LAT
