"""Pure-Python, per-point GCJ-02 / BD-09: the baseline ``bench offsets`` times.

The plain published formulas, one point at a time with :mod:`math`, and the same
fixed-point inverses and stopping rule as :mod:`gis.offsets` (whose array functions are
what the platform uses). They live here, beside the benchmark, because nothing else needs
them; ``tests/bench/test_gcj02_scalar.py`` holds them to the published vectors and to the
array functions.
"""

import math

from gis.offsets import (
    CHINA_BBOX,
    KRASOVSKY_A,
    KRASOVSKY_EE,
    MAX_ITERATIONS,
    TOLERANCE_DEG,
    X_PI,
)

__all__ = [
    "bd09_to_gcj02_scalar",
    "gcj02_to_bd09_scalar",
    "gcj02_to_wgs84_scalar",
    "wgs84_to_gcj02_scalar",
]

_TWO_THIRDS = 2.0 / 3.0


def _converged(step: float, previous: float) -> bool:
    """The stopping rule of :mod:`gis.offsets`: the remaining error of a contraction with
    ratio r (estimated from the last two corrections) is about r/(1−r)·step."""
    if not step > TOLERANCE_DEG:
        return True
    if not math.isfinite(previous):
        return False
    ratio = step / previous
    return ratio < 0.5 and step * ratio / (1.0 - ratio) <= TOLERANCE_DEG / 10.0


def _gcj_delta_scalar(lon: float, lat: float) -> tuple[float, float]:
    x = lon - 105.0
    y = lat - 35.0
    xpi = x * math.pi
    ypi = y * math.pi
    common = (20.0 * math.sin(6.0 * xpi) + 20.0 * math.sin(2.0 * xpi)) * _TWO_THIRDS
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    dlat += common
    dlat += (20.0 * math.sin(ypi) + 40.0 * math.sin(ypi / 3.0)) * _TWO_THIRDS
    dlat += (160.0 * math.sin(ypi / 12.0) + 320.0 * math.sin(ypi / 30.0)) * _TWO_THIRDS
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    dlon += common
    dlon += (20.0 * math.sin(xpi) + 40.0 * math.sin(xpi / 3.0)) * _TWO_THIRDS
    dlon += (150.0 * math.sin(xpi / 12.0) + 300.0 * math.sin(xpi / 30.0)) * _TWO_THIRDS
    radlat = lat * (math.pi / 180.0)
    sin_lat = math.sin(radlat)
    magic = 1.0 - KRASOVSKY_EE * sin_lat * sin_lat
    sqrt_magic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * math.pi)
    dlon = (dlon * 180.0) / (KRASOVSKY_A / sqrt_magic * math.cos(radlat) * math.pi)
    return dlon, dlat


def _in_china_scalar(lon: float, lat: float) -> bool:
    w, s, e, n = CHINA_BBOX
    return w <= lon <= e and s <= lat <= n


def wgs84_to_gcj02_scalar(lon: float, lat: float) -> tuple[float, float]:
    """Per-point :func:`gis.offsets.wgs84_to_gcj02`.

    >>> wgs84_to_gcj02_scalar(121.5272106, 31.1774276)
    (121.531541859215, 31.17530398364597)
    """
    if not _in_china_scalar(lon, lat):
        return lon, lat
    dlon, dlat = _gcj_delta_scalar(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84_scalar(lon: float, lat: float) -> tuple[float, float]:
    """Per-point :func:`gis.offsets.gcj02_to_wgs84` (same fixed-point iteration).

    >>> x, y = gcj02_to_wgs84_scalar(*wgs84_to_gcj02_scalar(119.2, 34.6))
    >>> abs(x - 119.2) < 1e-10 and abs(y - 34.6) < 1e-10
    True
    """
    if not _in_china_scalar(lon, lat):
        return lon, lat
    wx, wy = lon, lat
    previous = math.inf
    for k in range(MAX_ITERATIONS):
        dlon, dlat = _gcj_delta_scalar(wx, wy)
        ex = wx + dlon - lon
        ey = wy + dlat - lat
        wx -= ex
        wy -= ey
        step = max(abs(ex), abs(ey))
        if _converged(step, previous):
            break
        if k > 0:
            previous = step
    return wx, wy


def gcj02_to_bd09_scalar(lon: float, lat: float) -> tuple[float, float]:
    """Per-point :func:`gis.offsets.gcj02_to_bd09`.

    >>> gcj02_to_bd09_scalar(128.543, 37.065)
    (128.54944656269413, 37.07113427883019)
    """
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * X_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def bd09_to_gcj02_scalar(lon: float, lat: float, *, exact: bool = True) -> tuple[float, float]:
    """Per-point :func:`gis.offsets.bd09_to_gcj02`.

    >>> bd09_to_gcj02_scalar(116.404, 39.915, exact=False)
    (116.39762729119315, 39.90865673957631)
    """
    x = lon - 0.0065
    y = lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * X_PI)
    gx, gy = z * math.cos(theta), z * math.sin(theta)
    if not exact:
        return gx, gy
    previous = math.inf
    for _ in range(MAX_ITERATIONS):
        fx, fy = gcj02_to_bd09_scalar(gx, gy)
        gx -= fx - lon
        gy -= fy - lat
        step = max(abs(fx - lon), abs(fy - lat))
        if _converged(step, previous):
            break
        previous = step
    return gx, gy
