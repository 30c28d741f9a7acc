"""GCJ-02 / BD-09 offsets: published vectors, iterative inverses, the China box."""

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gis import offsets

M_PER_DEG = 111_320.0
ROOT = Path(__file__).resolve().parents[2]

# docs/domain.md, published test vectors [checked].
WGS_TO_GCJ = [
    ((116.404, 39.915), (116.41024449916938, 39.91640428150164)),
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),
    ((128.543, 37.065), (128.54820547949757, 37.065651049489816)),
]
GCJ_TO_BD = [
    ((116.404, 39.915), (116.41036949371029, 39.92133699351021)),
    ((128.543, 37.065), (128.54944656269413, 37.07113427883019)),
]
BD_TO_GCJ = [((116.404, 39.915), (116.39762729119315, 39.90865673957631))]


def _metres(lon1: object, lat1: object, lon2: object, lat2: object) -> np.ndarray:
    """Approximate distance (m) between nearby points: enough for mm-level tolerances."""
    lat = np.radians(np.asarray(lat1, dtype=float))
    dx = (np.asarray(lon1, dtype=float) - np.asarray(lon2, dtype=float)) * np.cos(lat)
    dy = np.asarray(lat1, dtype=float) - np.asarray(lat2, dtype=float)
    return np.asarray(np.hypot(dx, dy) * M_PER_DEG)


@pytest.mark.parametrize(("src", "expected"), WGS_TO_GCJ)
def test_wgs84_to_gcj02_vectors(src: tuple[float, float], expected: tuple[float, float]) -> None:
    x, y = offsets.wgs84_to_gcj02(*src)
    assert float(x) == pytest.approx(expected[0], abs=1e-9)
    assert float(y) == pytest.approx(expected[1], abs=1e-9)


@pytest.mark.parametrize(("src", "expected"), GCJ_TO_BD)
def test_gcj02_to_bd09_vectors(src: tuple[float, float], expected: tuple[float, float]) -> None:
    x, y = offsets.gcj02_to_bd09(*src)
    assert (float(x), float(y)) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(("src", "expected"), BD_TO_GCJ)
def test_bd09_to_gcj02_published_one_step(
    src: tuple[float, float], expected: tuple[float, float]
) -> None:
    # The published vector is Baidu's one-step inverse, not the exact inverse.
    x, y = offsets.bd09_to_gcj02(*src, exact=False)
    assert (float(x), float(y)) == pytest.approx(expected, abs=1e-9)
    ex, ey = offsets.bd09_to_gcj02(*src)
    gap = _metres(ex, ey, *expected)
    assert 0.001 < gap < 0.1  # the one-step inverse is centimetres off


def test_vectors_as_one_array() -> None:
    src = np.array([s for s, _ in WGS_TO_GCJ])
    want = np.array([e for _, e in WGS_TO_GCJ])
    x, y = offsets.wgs84_to_gcj02(src[:, 0], src[:, 1])
    np.testing.assert_allclose(np.column_stack([x, y]), want, atol=1e-9, rtol=0)


def test_outside_china_passes_unchanged() -> None:
    lon = np.array([2.35, 139.69, -74.0, 151.2])  # Paris, Tokyo, New York, Sydney
    lat = np.array([48.86, 35.69, 40.7, -33.9])
    for fn in (offsets.wgs84_to_gcj02, offsets.gcj02_to_wgs84):
        x, y = fn(lon, lat)
        np.testing.assert_array_equal(x, lon)
        np.testing.assert_array_equal(y, lat)


def test_shapes_scalars_and_nan() -> None:
    lon = np.full((3, 4), 119.2)
    lat = np.full((3, 4), 34.6)
    x, y = offsets.gcj02_to_wgs84(lon, lat)
    assert x.shape == y.shape == (3, 4)
    x0, _ = offsets.wgs84_to_gcj02(119.2, 34.6)
    assert np.ndim(x0) == 0
    xn, _ = offsets.gcj02_to_wgs84([np.nan, 119.2], [34.6, 34.6])
    assert math.isnan(xn[0]) and np.isfinite(xn[1])


def test_one_step_inverse_is_metres_off_in_lianyungang() -> None:
    # docs/domain.md: the common one-step GCJ inverse is off by up to ~2.8 m here.
    lon, lat = np.meshgrid(np.linspace(118.4, 119.8, 60), np.linspace(34.0, 35.1, 60))
    gx, gy = offsets.wgs84_to_gcj02(lon, lat)
    fx, fy = offsets.wgs84_to_gcj02(gx, gy)
    one_x, one_y = 2 * gx - fx, 2 * gy - fy  # w = g - (f(g) - g)
    one_step = _metres(one_x, one_y, lon, lat).max()
    assert 1.0 < one_step < 3.5
    ix, iy = offsets.gcj02_to_wgs84(gx, gy)
    assert _metres(ix, iy, lon, lat).max() < 1e-6


china_lon = st.floats(73.5, 135.0, allow_nan=False)
china_lat = st.floats(18.0, 53.5, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_gcj_round_trip_below_1mm(lon: float, lat: float) -> None:
    gx, gy = offsets.wgs84_to_gcj02(lon, lat)
    wx, wy = offsets.gcj02_to_wgs84(gx, gy)
    assert _metres(wx, wy, lon, lat) < 0.001


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_bd_round_trip_below_1mm(lon: float, lat: float) -> None:
    bx, by = offsets.gcj02_to_bd09(lon, lat)
    gx, gy = offsets.bd09_to_gcj02(bx, by)
    assert _metres(gx, gy, lon, lat) < 0.001
    wx, wy = offsets.bd09_to_wgs84(*offsets.wgs84_to_bd09(lon, lat))
    assert _metres(wx, wy, lon, lat) < 0.001


def test_round_trip_whole_china_grid_vectorised() -> None:
    lon, lat = np.meshgrid(np.linspace(73.5, 135.0, 400), np.linspace(18.0, 53.5, 300))
    wx, wy = offsets.gcj02_to_wgs84(*offsets.wgs84_to_gcj02(lon, lat))
    assert _metres(wx, wy, lon, lat).max() < 0.001
    bx, by = offsets.bd09_to_wgs84(*offsets.wgs84_to_bd09(lon, lat))
    assert _metres(bx, by, lon, lat).max() < 0.001


def test_no_thread_pool_until_a_large_array() -> None:
    # Importing builds nothing; one block runs inline; only a larger array builds the pool.
    code = (
        "import threading, numpy as np\n"
        "from gis import offsets\n"
        "assert offsets._executor.cache_info().currsize == 0\n"
        "offsets.wgs84_to_gcj02(np.full(10, 119.2), np.full(10, 34.6))\n"
        "assert offsets._executor.cache_info().currsize == 0\n"
        "offsets.set_threads(2)\n"
        "offsets.wgs84_to_gcj02(np.full(200_000, 119.2), np.full(200_000, 34.6))\n"
        "assert offsets._executor.cache_info().currsize == 1\n"
        "print(sorted(t.name.split('_')[0] for t in threading.enumerate()))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert "offsets" in done.stdout
