"""The benchmark's pure-Python GCJ-02 / BD-09 baseline: the published vectors, round trips,
and agreement with the array functions it is compared against."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench import _gcj02_scalar as scalar
from gis import offsets
from tests.gis.test_offsets import BD_TO_GCJ, GCJ_TO_BD, WGS_TO_GCJ, _metres


@pytest.mark.parametrize(("src", "expected"), WGS_TO_GCJ)
def test_wgs84_to_gcj02_vectors(src: tuple[float, float], expected: tuple[float, float]) -> None:
    assert scalar.wgs84_to_gcj02_scalar(*src) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(("src", "expected"), GCJ_TO_BD)
def test_gcj02_to_bd09_vectors(src: tuple[float, float], expected: tuple[float, float]) -> None:
    assert scalar.gcj02_to_bd09_scalar(*src) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(("src", "expected"), BD_TO_GCJ)
def test_bd09_to_gcj02_published_one_step(
    src: tuple[float, float], expected: tuple[float, float]
) -> None:
    assert scalar.bd09_to_gcj02_scalar(*src, exact=False) == pytest.approx(expected, abs=1e-9)


def test_outside_china_passes_unchanged() -> None:
    assert scalar.wgs84_to_gcj02_scalar(2.35, 48.86) == (2.35, 48.86)
    assert scalar.gcj02_to_wgs84_scalar(2.35, 48.86) == (2.35, 48.86)


china_lon = st.floats(73.5, 135.0, allow_nan=False)
china_lat = st.floats(18.0, 53.5, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(china_lon, china_lat)
def test_round_trips_below_1mm(lon: float, lat: float) -> None:
    wx, wy = scalar.gcj02_to_wgs84_scalar(*scalar.wgs84_to_gcj02_scalar(lon, lat))
    assert _metres(wx, wy, lon, lat) < 0.001
    gx, gy = scalar.bd09_to_gcj02_scalar(*scalar.gcj02_to_bd09_scalar(lon, lat))
    assert _metres(gx, gy, lon, lat) < 0.001


def test_agrees_with_the_array_functions() -> None:
    rng = np.random.default_rng(7)
    lon = rng.uniform(73.5, 135.0, 200)
    lat = rng.uniform(18.0, 53.5, 200)
    ax, ay = offsets.wgs84_to_gcj02(lon, lat)
    bx, by = offsets.gcj02_to_bd09(ax, ay)
    wx, wy = offsets.gcj02_to_wgs84(ax, ay)
    for i in range(lon.size):
        assert scalar.wgs84_to_gcj02_scalar(lon[i], lat[i]) == pytest.approx(
            (ax[i], ay[i]), abs=1e-12
        )
        assert scalar.gcj02_to_bd09_scalar(ax[i], ay[i]) == pytest.approx((bx[i], by[i]), abs=1e-12)
        assert scalar.gcj02_to_wgs84_scalar(ax[i], ay[i]) == pytest.approx(
            (wx[i], wy[i]),
            abs=offsets.TOLERANCE_DEG,  # both stop within the tolerance
        )
