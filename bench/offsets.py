"""GCJ-02 round trip (WGS84 → GCJ-02 → WGS84, iterative inverse): numpy vs pure Python.

Both paths run in the same process on the same random points in the Lianyungang box. The
pure-Python baseline (``bench/_gcj02_scalar.py``, the plain published formula, same stopping
rule) is timed on a subset of :data:`N_BASELINE` points and scaled per point, since the full
million would take minutes. The vectorised path is timed on all points with its default
threads and again on one thread. Every time is the median of several repeats. Fails (exit 1)
if the default vectorised path is less than :data:`MIN_RATIO` times faster per point.
"""

import os
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

from bench import _gcj02_scalar as scalar
from gis import offsets

N_POINTS = 1_000_000
N_BASELINE = 20_000
REPEATS = 5
MIN_RATIO = 20.0
BBOX = (118.4, 34.0, 119.8, 35.1)  # Lianyungang, lon/lat


def _median_seconds(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run() -> dict[str, object]:
    """Time both paths and check they agree; returns the figures."""
    rng = np.random.default_rng(2024)
    w, s, e, n = BBOX
    lon = rng.uniform(w, e, N_POINTS)
    lat = rng.uniform(s, n, N_POINTS)
    sub_lon, sub_lat = lon[:N_BASELINE].tolist(), lat[:N_BASELINE].tolist()

    def vectorised() -> tuple[np.ndarray, np.ndarray]:
        return offsets.gcj02_to_wgs84(*offsets.wgs84_to_gcj02(lon, lat))

    def pure_python() -> list[tuple[float, float]]:
        fwd, inv = scalar.wgs84_to_gcj02_scalar, scalar.gcj02_to_wgs84_scalar
        return [inv(*fwd(x, y)) for x, y in zip(sub_lon, sub_lat, strict=True)]

    vx, vy = vectorised()
    py = np.array(pure_python())
    agree = float(np.abs(np.column_stack([vx[:N_BASELINE], vy[:N_BASELINE]]) - py).max())
    closure = float(max(np.abs(vx - lon).max(), np.abs(vy - lat).max()))
    t_vec = _median_seconds(vectorised, REPEATS)
    try:
        offsets.set_threads(1)
        t_one = _median_seconds(vectorised, REPEATS)
    finally:
        offsets.set_threads(None)
    t_py = _median_seconds(pure_python, 3)
    vec_rate, one_rate, py_rate = N_POINTS / t_vec, N_POINTS / t_one, N_BASELINE / t_py
    return {
        "points: vectorised / pure Python (scaled per point)": f"{N_POINTS} / {N_BASELINE}",
        "cores seen": os.cpu_count() or 1,
        f"vectorised s, default threads (median of {REPEATS})": t_vec,
        f"vectorised s, 1 thread (median of {REPEATS})": t_one,
        "pure Python s (median of 3)": t_py,
        "vectorised points/s": vec_rate,
        "vectorised points/s, 1 thread": one_rate,
        "pure Python points/s": py_rate,
        "ratio": vec_rate / py_rate,
        "ratio, 1 thread": one_rate / py_rate,
        "max |vectorised − pure Python| (deg)": agree,
        "max round-trip closure (deg)": closure,
        "passed": vec_rate / py_rate >= MIN_RATIO and agree < 1e-9 and closure < 1e-8,
    }


if __name__ == "__main__":
    figures = run()
    for key, value in figures.items():
        print(f"{key}: {value}")
    sys.exit(0 if figures["passed"] else 1)
