"""WGS84 ↔ GCJ-02 ↔ BD-09: the offsets Chinese phone and web maps apply to coordinates.

Amap/Tencent SDKs return GCJ-02 and Baidu returns BD-09; government data and Tianditu are
CGCS2000 and carry no offset. GCJ-02 is the published Krasovsky formula (a = 6378245, not
6378137) applied inside a China bounding box; BD-09 adds Baidu's rotation with
``x_pi = π·3000/180`` (not π). Both forward formulas are the published ones (the array version
of GCJ-02 takes its sines from multiple-angle identities, within 1e-16°), so the test vectors
of docs/domain.md hold to 1e-9°. The inverses are fixed-point iterations: the common one-step
inverse is up to 2.8 m off in Lianyungang.

The array functions take numpy arrays or scalars (scalars give 0-d arrays) and never loop in
Python over points: they work in blocks of 65 536 points (temporaries stay in cache) spread
over the cores (numpy releases the GIL; :func:`set_threads` caps it). NaN passes through as
NaN; :func:`gis.crs.transform_xy` rejects it first. The pure-Python per-point baseline the
benchmark times lives beside it (``bench/_gcj02_scalar.py``).
"""

import functools
import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "CHINA_BBOX",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china",
    "set_threads",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

Floats = NDArray[np.float64]

KRASOVSKY_A: Final = 6378245.0
"""Semi-major axis the GCJ-02 formula uses (Krasovsky 1940); 6378137 here is a known bug."""
KRASOVSKY_EE: Final = 0.00669342162296594323
"""First eccentricity squared of the GCJ-02 formula."""
X_PI: Final = math.pi * 3000.0 / 180.0
"""Baidu's angular constant; libraries that use π instead are up to 81 m off here."""
CHINA_BBOX: Final = (72.004, 0.8293, 137.8347, 55.8271)
"""(west, south, east, north) inside which the offsets apply; outside, coordinates pass."""
TOLERANCE_DEG: Final = 1e-10
"""Fixed-point iterations stop once the remaining error is below this (≈ 0.01 mm)."""
MAX_ITERATIONS: Final = 10
"""Upper bound on fixed-point steps; GCJ-02 needs 4 anywhere in China, BD-09 3."""

_TWO_THIRDS: Final = 2.0 / 3.0


def in_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Whether GCJ-02 offsets apply: the bounding-box rule shared by the common libraries.

    >>> in_china([119.2, 2.35], [34.6, 48.86]).tolist()
    [True, False]
    """
    x, y = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    w, s, e, n = CHINA_BBOX
    return np.asarray((x >= w) & (x <= e) & (y >= s) & (y <= n))


# The vectorised GCJ-02 offset takes its ten sines of x·π/k and y·π/k from one sin/cos pair
# each (multiple-angle identities, ≈ 1e-13 absolute error, 1e-18° after scaling): trigonometry
# is most of the cost. The plain published formula is in ``bench/_gcj02_scalar.py``.
_PI60: Final = math.pi / 60.0
_K_LAT: Final = 180.0 / (KRASOVSKY_A * (1.0 - KRASOVSKY_EE) * math.pi)
_K_LON: Final = 180.0 / (KRASOVSKY_A * math.pi)


def _double(s: Floats, c: Floats) -> tuple[Floats, Floats]:
    return 2.0 * s * c, 1.0 - 2.0 * s * s


def _sines(d: Floats) -> tuple[Floats, Floats, Floats, Floats, Floats]:
    """sin 2d, sin 5d, sin 20d, sin 60d and cos 60d from one sin/cos pair (d = v·π/60)."""
    s1, c1 = np.sin(d), np.cos(d)
    s2, c2 = _double(s1, c1)
    s4, c4 = _double(s2, c2)
    s5, c5 = s4 * c1 + c4 * s1, c4 * c1 - s4 * s1
    s10, c10 = _double(s5, c5)
    s20, c20 = _double(s10, c10)
    s20sq = s20 * s20
    return s2, s5, s20, s20 * (3.0 - 4.0 * s20sq), c20 * (1.0 - 4.0 * s20sq)


def _gcj_delta(lon: Floats, lat: Floats) -> tuple[Floats, Floats]:
    """The GCJ-02 offset (degrees) at WGS84 ``lon``, ``lat``, ignoring the China box."""
    x = lon - 105.0
    y = lat - 35.0
    xs2, xs5, xs20, xs60, xc60 = _sines(x * _PI60)  # sin xπ/30, xπ/12, xπ/3, xπ
    ys2, ys5, ys20, ys60, _ = _sines(y * _PI60)
    s120 = 2.0 * xs60 * xc60  # sin 2xπ
    common = (s120 * (3.0 - 4.0 * s120 * s120) + s120) * (20.0 * _TWO_THIRDS)  # + sin 6xπ
    sq = np.sqrt(np.abs(x))
    xy = 0.1 * x * y
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + xy + 0.2 * sq + common
    dlat += ys60 * (20.0 * _TWO_THIRDS) + ys20 * (40.0 * _TWO_THIRDS)
    dlat += ys5 * (160.0 * _TWO_THIRDS) + ys2 * (320.0 * _TWO_THIRDS)
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + xy + 0.1 * sq + common
    dlon += xs60 * (20.0 * _TWO_THIRDS) + xs20 * (40.0 * _TWO_THIRDS)
    dlon += xs5 * (150.0 * _TWO_THIRDS) + xs2 * (300.0 * _TWO_THIRDS)
    sin2 = np.sin(lat * (math.pi / 180.0)) ** 2
    magic = 1.0 - KRASOVSKY_EE * sin2
    sqrt_magic = np.sqrt(magic)
    return dlon * (_K_LON * sqrt_magic / np.sqrt(1.0 - sin2)), dlat * (_K_LAT * magic * sqrt_magic)


def _converged(step: float, previous: float) -> bool:
    """Whether a fixed-point iteration may stop after a correction of ``step`` degrees.

    The remaining error of a contraction with ratio r is about r/(1−r)·step; r is estimated
    from the last two corrections (≈ 0.004 for GCJ-02) and the estimate must be ten times
    below the tolerance. This saves the final evaluation a plain ``step < tolerance`` test
    needs. Callers pass ``previous = inf`` until a ratio means something. NaN converges.
    """
    if not step > TOLERANCE_DEG:
        return True
    if not math.isfinite(previous):
        return False
    ratio = step / previous
    return ratio < 0.5 and step * ratio / (1.0 - ratio) <= TOLERANCE_DEG / 10.0


def _max_step(ex: Floats, ey: Floats) -> float:
    return float(max(np.nanmax(np.abs(ex), initial=0.0), np.nanmax(np.abs(ey), initial=0.0)))


_BLOCK: Final = 65_536
"""Points per block: temporaries stay in cache, and blocks run on several cores."""


_threads: int | None = None


def set_threads(count: int | None) -> None:
    """Cap the worker threads of the array functions (None: up to 8, one per core).

    Web workers that already use every core may want 1.
    """
    global _threads
    if count is not None and count < 1:
        raise ValueError("thread count must be at least 1")
    _threads = count


@functools.cache
def _executor(workers: int) -> ThreadPoolExecutor:
    """The pool of ``workers`` threads, built on first use (importing builds nothing; an
    array of at most one block never builds one) and kept for the process."""
    return ThreadPoolExecutor(workers, thread_name_prefix="offsets")


def _pool() -> ThreadPoolExecutor | None:
    """The pool for the current cap (:func:`set_threads`); None when one thread is all."""
    workers = _threads if _threads is not None else min(os.cpu_count() or 1, 8)
    return _executor(workers) if workers > 1 else None


_Kernel = Callable[[Floats, Floats], tuple[Floats, Floats]]


def _blockwise(kernel: _Kernel, lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    """Run ``kernel`` over blocks of the flattened inputs; numpy releases the GIL, so the
    blocks share the cores. Scalars come back as 0-d arrays."""
    bx, by = np.broadcast_arrays(
        np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    )
    x, y = bx.ravel(), by.ravel()
    if x.size <= _BLOCK:
        ox, oy = kernel(x, y)
        return ox.reshape(bx.shape), oy.reshape(bx.shape)
    ox, oy = np.empty_like(x), np.empty_like(y)

    def work(start: int) -> None:
        block = slice(start, start + _BLOCK)
        ox[block], oy[block] = kernel(x[block], y[block])

    pool = _pool()
    starts = range(0, x.size, _BLOCK)
    if pool is None:
        for start in starts:
            work(start)
    else:
        list(pool.map(work, starts))
    return ox.reshape(bx.shape), oy.reshape(bx.shape)


def _wgs_to_gcj(x: Floats, y: Floats) -> tuple[Floats, Floats]:
    dlon, dlat = _gcj_delta(x, y)
    inside = in_china(x, y)
    return np.where(inside, x + dlon, x), np.where(inside, y + dlat, y)


def _gcj_to_wgs(gx: Floats, gy: Floats) -> tuple[Floats, Floats]:
    inside = in_china(gx, gy)
    wx, wy = gx, gy
    previous = math.inf
    for k in range(MAX_ITERATIONS):
        dlon, dlat = _gcj_delta(wx, wy)
        ex = wx + dlon - gx
        ey = wy + dlat - gy
        wx, wy = wx - ex, wy - ey
        step = _max_step(ex, ey)
        if _converged(step, previous):
            break
        if k > 0:  # the first correction is the whole offset: no contraction ratio yet
            previous = step
    return np.where(inside, wx, gx), np.where(inside, wy, gy)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    """WGS84 (≈ CGCS2000) to GCJ-02, the published forward formula.

    >>> x, y = wgs84_to_gcj02(116.404, 39.915)
    >>> round(float(x), 9), round(float(y), 9)
    (116.410244499, 39.916404282)
    """
    return _blockwise(_wgs_to_gcj, lon, lat)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    """GCJ-02 to WGS84 by fixed-point iteration, so a round trip closes below 1 mm.

    w ← w − (gcj(w) − g) from w = g, until the estimated remaining error is below
    :data:`TOLERANCE_DEG` (4 evaluations in China) or :data:`MAX_ITERATIONS`. The China
    box is applied to the GCJ-02 input: points within ~1 km of the box edge are inherently
    ambiguous; none of them is on Chinese land.

    >>> x, y = gcj02_to_wgs84(*wgs84_to_gcj02(119.2, 34.6))
    >>> abs(float(x) - 119.2) < 1e-10, abs(float(y) - 34.6) < 1e-10
    (True, True)
    """
    return _blockwise(_gcj_to_wgs, lon, lat)


def _bd_forward(x: Floats, y: Floats) -> tuple[Floats, Floats]:
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd_one_step(bx: Floats, by: Floats) -> tuple[Floats, Floats]:
    x = bx - 0.0065
    y = by - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _bd_exact(bx: Floats, by: Floats) -> tuple[Floats, Floats]:
    gx, gy = _bd_one_step(bx, by)
    previous = math.inf
    for _ in range(MAX_ITERATIONS):
        fx, fy = _bd_forward(gx, gy)
        ex, ey = fx - bx, fy - by
        gx, gy = gx - ex, gy - ey
        step = _max_step(ex, ey)
        if _converged(step, previous):
            break
        previous = step
    return gx, gy


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    """GCJ-02 to BD-09 (Baidu), the published forward formula; applied without a box.

    >>> x, y = gcj02_to_bd09(116.404, 39.915)
    >>> round(float(x), 9), round(float(y), 9)
    (116.410369494, 39.921336994)
    """
    return _blockwise(_bd_forward, lon, lat)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike, *, exact: bool = True) -> tuple[Floats, Floats]:
    """BD-09 to GCJ-02.

    ``exact=False`` is Baidu's published one-step inverse (it reproduces the published vector
    but is up to 15 cm off here); the default iterates it to a true inverse of
    :func:`gcj02_to_bd09`.

    >>> x, y = bd09_to_gcj02(116.404, 39.915, exact=False)
    >>> round(float(x), 9), round(float(y), 9)
    (116.397627291, 39.90865674)
    """
    return _blockwise(_bd_exact if exact else _bd_one_step, lon, lat)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    """WGS84 to BD-09 through GCJ-02, as Baidu defines it."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    """BD-09 to WGS84 through GCJ-02, both inverses iterative."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))
