"""Hand-drawn physical and urban geography of the synthetic city, in lon/lat (EPSG:4490).

Approximations of the real features (towns around the county seats of
``samples.grid.outline``, the 云台山 range between 海州 and 连云, the main rivers and
reservoirs, two expressways, the coast with its salt pans): plausible, not surveyed. The
plan and raster generators project them to Gauss-Krüger metres with :func:`to_metres`.
"""

from __future__ import annotations

from functools import cache
from typing import Final, NamedTuple

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import LineString, Polygon

from gis.crs import GK_CM120_SRID, STORAGE_SRID, transform_xy
from gis.geometry import transform_geometry
from samples.grid.outline import COUNTY_SEATS, OUTLINE_LONLAT, city_outline

Floats = NDArray[np.float64]


class Ellipse(NamedTuple):
    """An ellipse: centre (lon, lat), semi-axes in metres, major axis angle (° from east)."""

    lon: float
    lat: float
    a: float
    b: float
    angle: float


class Town(NamedTuple):
    """A planned urban area: its ellipse, county, and the share of it already built."""

    name: str
    county: str
    shape: Ellipse
    built: float
    industrial: bool = False


class Hill(NamedTuple):
    """A hill range: footprint ellipse and peak height (m) for the DEM."""

    name: str
    shape: Ellipse
    peak: float
    redline: str


class River(NamedTuple):
    """A river or canal as a centre line (lon, lat) and a width in metres."""

    name: str
    line: tuple[tuple[float, float], ...]
    width: float
    redline: bool


class Reservoir(NamedTuple):
    """A reservoir or lake."""

    name: str
    shape: Ellipse
    redline: bool


class Road(NamedTuple):
    """An expressway as a centre line (lon, lat) and a corridor width in metres."""

    name: str
    line: tuple[tuple[float, float], ...]
    width: float


TOWNS: Final = (
    Town("连云港市中心城区", "320706", Ellipse(*COUNTY_SEATS["320706"], 9000, 6500, 20), 0.72),
    Town("连云新城", "320703", Ellipse(*COUNTY_SEATS["320703"], 6500, 3500, 12), 0.65),
    Town("赣榆城区", "320707", Ellipse(*COUNTY_SEATS["320707"], 5000, 4000, 60), 0.7),
    Town("东海县城", "320722", Ellipse(*COUNTY_SEATS["320722"], 5000, 4000, 0), 0.7),
    Town("灌云县城", "320723", Ellipse(*COUNTY_SEATS["320723"], 4500, 3500, 80), 0.7),
    Town("灌南县城", "320724", Ellipse(*COUNTY_SEATS["320724"], 4000, 3000, 10), 0.7),
    Town("徐圩新区", "320703", Ellipse(119.60, 34.58, 7000, 3500, -40), 0.45, True),
)
"""Planned urban areas (城镇开发边界 is drawn around them); ``built`` scales the ellipse to
the part already built (现状)."""

COVERAGE_FACTOR: Final = 1.7
"""The urban master plan (城规) covers each town's ellipse scaled by this factor."""

HILLS: Final = (
    Hill("云台山", Ellipse(119.31, 34.69, 10000, 4500, 35), 700.0, "水源涵养与生物多样性维护"),
    Hill("锦屏山", Ellipse(119.15, 34.545, 4000, 2500, 15), 360.0, "水土保持"),
    Hill("夹谷山", Ellipse(118.98, 34.98, 4000, 3000, 30), 300.0, "水土保持"),
    Hill("马陵山", Ellipse(118.47, 34.58, 9000, 2500, 80), 190.0, "水土保持"),
    Hill("大伊山", Ellipse(119.22, 34.30, 2200, 1500, 0), 230.0, "生物多样性维护"),
)
"""Hill ranges: 云台山 (≈ 600 m in the DEM, near 119.3°E 34.7°N) and smaller ones; ``peak`` is
the height of the noise-free shape, which the ridges only partly reach."""

RIVERS: Final = (
    River(
        "新沭河", ((118.86, 34.76), (119.00, 34.745), (119.15, 34.76), (119.35, 34.80)), 400, False
    ),
    River(
        "蔷薇河",
        ((118.60, 34.44), (118.85, 34.55), (119.05, 34.62), (119.17, 34.70), (119.20, 34.755)),
        180,
        True,
    ),
    River(
        "新沂河", ((118.78, 34.24), (119.10, 34.30), (119.45, 34.37), (119.82, 34.46)), 600, False
    ),
    River(
        "善后河", ((119.00, 34.41), (119.30, 34.46), (119.52, 34.50), (119.72, 34.56)), 150, False
    ),
    River("盐河", ((119.36, 34.03), (119.31, 34.20), (119.25, 34.42), (119.19, 34.57)), 90, False),
    River("青口河", ((118.88, 34.93), (119.05, 34.895), (119.32, 34.86)), 140, False),
)
"""Main rivers and canals; ``redline`` marks drinking-water sources in the ecological red line."""

RESERVOIRS: Final = (
    Reservoir("石梁河水库", Ellipse(118.84, 34.79, 5500, 2600, 50), True),
    Reservoir("安峰山水库", Ellipse(118.76, 34.45, 2200, 1400, 20), True),
    Reservoir("西双湖", Ellipse(118.79, 34.53, 900, 600, 0), False),
)

ROADS: Final = (
    Road("连霍高速", ((119.44, 34.71), (119.20, 34.625), (118.90, 34.585), (118.30, 34.52)), 70),
    Road(
        "沈海高速",
        ((119.06, 35.15), (119.10, 34.85), (119.13, 34.64), (119.21, 34.35), (119.30, 33.95)),
        70,
    ),
    Road("长深高速", ((118.66, 35.05), (118.78, 34.62), (118.86, 34.15)), 60),
)

SALT_PANS: Final = Ellipse(119.50, 34.62, 13000, 5000, -40)
"""台北/徐圩 salt works on the coast between 连云 and 徐圩 (盐田)."""

PORT: Final = Ellipse(119.45, 34.745, 5000, 1500, 10)
"""连云港港 (港口码头用地) on the coast east of 墟沟."""

COAST_VERTICES: Final = OUTLINE_LONLAT[4:10]
"""The outline's coastal edge, north to south-east (see samples.grid.outline)."""


def to_metres(lon: Floats, lat: Floats) -> tuple[Floats, Floats]:
    """Lon/lat (EPSG:4490) to Gauss-Krüger CM 120°E metres (EPSG:4549)."""
    return transform_xy(lon, lat, STORAGE_SRID, GK_CM120_SRID)


def ellipse_distance(shape: Ellipse, x: Floats, y: Floats, scale: float = 1.0) -> Floats:
    """Normalised distance of metric points from an ellipse's centre (1 on its rim)."""
    cx, cy = to_metres(np.array([shape.lon]), np.array([shape.lat]))
    t = np.radians(shape.angle)
    dx, dy = x - cx[0], y - cy[0]
    u = dx * np.cos(t) + dy * np.sin(t)
    v = -dx * np.sin(t) + dy * np.cos(t)
    return np.asarray(np.hypot(u / (shape.a * scale), v / (shape.b * scale)), dtype=np.float64)


def ellipse_polygon(shape: Ellipse, scale: float = 1.0, points: int = 96) -> Polygon:
    """The ellipse as a metric polygon (EPSG:4549)."""
    cx, cy = to_metres(np.array([shape.lon]), np.array([shape.lat]))
    s = np.linspace(0.0, 2 * np.pi, points, endpoint=False)
    t = np.radians(shape.angle)
    u, v = shape.a * scale * np.cos(s), shape.b * scale * np.sin(s)
    x = cx[0] + u * np.cos(t) - v * np.sin(t)
    y = cy[0] + u * np.sin(t) + v * np.cos(t)
    return Polygon(np.column_stack([x, y]))


def line_metres(line: tuple[tuple[float, float], ...]) -> LineString:
    """A lon/lat polyline, densified to 500 m steps and projected to EPSG:4549."""
    xy = np.asarray(line, dtype=np.float64)
    x, y = to_metres(xy[:, 0], xy[:, 1])
    return shapely.segmentize(LineString(np.column_stack([x, y])), 500.0)


@cache
def outline_metres() -> Polygon:
    """The city outline in EPSG:4549 (edges densified to 1 km before projecting)."""
    dense = shapely.segmentize(city_outline(), 0.01)
    result: Polygon = transform_geometry(dense, STORAGE_SRID, GK_CM120_SRID)
    return result


@cache
def coast_metres() -> LineString:
    """The coastal edge of the outline in EPSG:4549."""
    dense = shapely.segmentize(LineString(COAST_VERTICES), 0.01)
    result: LineString = transform_geometry(dense, STORAGE_SRID, GK_CM120_SRID)
    return result
