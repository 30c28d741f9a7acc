"""Local coordinate systems: config, PROJ helmert conventions, 4- and 7-parameter fits."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import numpy as np
import pyproj
import pytest

from gis import crs, local
from gis.errors import FitError, GisError, UnknownCrsError
from gis.local import BursaWolfSystem, Helmert2DSystem, TmercSystem

# Made-up parameter sets, for synthetic data only (SEVEN is spelled out in the pipelines).
FOUR = {"dE": -123.456, "dN": 78.9, "scale": 1.0000456, "rotation_arcsec": 12.5}
SEVEN = {"tx": 15.8, "ty": -154.4, "tz": -82.3, "rx": 0.8, "ry": -2.1, "rz": 1.7, "s": 3.2}
KRASS = (6378245.0, 298.3)
GRS80 = (6378137.0, 298.257222101)


@pytest.fixture
def registered() -> Iterator[local.LocalRegistry]:
    """The current registry for one test: what the test registers is gone after it."""
    with local.registered() as registry:
        yield registry


def _add(registry: local.LocalRegistry, system: local.LocalSystem) -> None:
    registry.register(system, replace=True)


def _grid(n: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """GK CM 120E (E, N) points over Lianyungang."""
    lon, lat = np.meshgrid(np.linspace(118.5, 119.8, n), np.linspace(34.0, 35.1, n))
    e, nn = crs.transform_xy(lon.ravel(), lat.ravel(), crs.STORAGE_SRID, crs.GK_CM120_SRID)
    return e, nn


def test_config_example_resolves_by_name() -> None:
    local.configure(None)
    system = local.get("lyg-example")
    assert isinstance(system, Helmert2DSystem)
    assert "EXAMPLE" in system.description
    assert "lyg-example" in local.names()
    ref = crs.resolve("LYG-Example")
    assert ref.kind == "local" and ref.name == "lyg-example"
    x, y = crs.transform_xy([119.2], [34.6], crs.STORAGE_SRID, "lyg-example")
    bx, by = crs.transform_xy(x, y, "lyg-example", crs.STORAGE_SRID)
    assert abs(bx[0] - 119.2) < 1e-10 and abs(by[0] - 34.6) < 1e-10


def test_helmert2d_follows_the_documented_formula(registered: local.LocalRegistry) -> None:
    _add(registered, Helmert2DSystem(name="t-h2d", parent="EPSG:4549", **FOUR))
    e, n = _grid()
    x, y = crs.transform_xy(e, n, crs.GK_CM120_SRID, "t-h2d")
    t = np.radians(FOUR["rotation_arcsec"] / 3600.0)
    s = FOUR["scale"]
    np.testing.assert_allclose(x, FOUR["dE"] + s * (e * np.cos(t) + n * np.sin(t)), atol=1e-6)
    np.testing.assert_allclose(y, FOUR["dN"] + s * (-e * np.sin(t) + n * np.cos(t)), atol=1e-6)


def test_fit_4param_recovers_known_parameters(registered: local.LocalRegistry) -> None:
    e, n = _grid()
    helmert = pyproj.Transformer.from_pipeline(
        f"+proj=helmert +x={FOUR['dE']} +y={FOUR['dN']} +s={FOUR['scale']} "
        f"+theta={FOUR['rotation_arcsec']}"
    )
    x, y = helmert.transform(e, n)
    fit = local.fit_4param(np.column_stack([e, n]), np.column_stack([x, y]), max_rms=0.001)
    assert fit.de == pytest.approx(FOUR["dE"], abs=1e-4)
    assert fit.dn == pytest.approx(FOUR["dN"], abs=1e-4)
    assert fit.scale == pytest.approx(FOUR["scale"], abs=1e-11)
    assert fit.rotation_arcsec == pytest.approx(FOUR["rotation_arcsec"], abs=1e-6)
    assert fit.rms < 1e-6 and fit.residuals.shape == (e.size,)
    _add(registered, fit.to_system("t-fit4", "EPSG:4549"))
    gx, gy = crs.transform_xy([119.2], [34.6], crs.STORAGE_SRID, "t-fit4")
    hx, hy = helmert.transform(*crs.transform_xy([119.2], [34.6], 4490, crs.GK_CM120_SRID))
    assert np.hypot(gx - hx, gy - hy)[0] < 0.001


def test_fit_4param_with_two_points_and_noise() -> None:
    src = np.array([[426_000.0, 3_830_000.0], [436_000.0, 3_835_000.0]])
    dst = src + np.array([10.0, -5.0])
    fit = local.fit_4param(src, dst)
    assert (fit.de, fit.dn, fit.scale) == pytest.approx((10.0, -5.0, 1.0), abs=1e-6)
    e, n = _grid(8)
    rng = np.random.default_rng(1)
    noisy = np.column_stack([e + 3.0, n - 2.0]) + rng.normal(0.0, 0.01, (e.size, 2))
    fit = local.fit_4param(np.column_stack([e, n]), noisy)
    assert 0.005 < fit.rms < 0.03
    assert fit.rms == pytest.approx(float(np.sqrt(np.mean(fit.residuals**2))))


def test_fit_4param_refusals() -> None:
    with pytest.raises(FitError, match="at least 2"):
        local.fit_4param([[0.0, 0.0]], [[1.0, 1.0]])
    with pytest.raises(FitError, match="degenerate"):
        local.fit_4param([[5.0, 5.0], [5.0, 5.0]], [[1.0, 1.0], [1.0, 1.0]])
    with pytest.raises(FitError, match="shape"):
        local.fit_4param([[0.0, 0.0], [1.0, 1.0]], [[0.0, 0.0]])
    e, n = _grid()
    src = np.column_stack([e, n])
    blunder = src.copy()
    blunder[3] += [0.5, -0.4]
    with pytest.raises(FitError, match="RMS"):
        local.fit_4param(src, blunder, max_rms=0.05)
    # X = northing written by survey software: swapped pairs give an absurd RMS.
    with pytest.raises(FitError, match="RMS"):
        local.fit_4param(src, src[:, ::-1], max_rms=0.05)


def _seven_param_points() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    lon = rng.uniform(116.0, 122.0, 40)
    lat = rng.uniform(31.0, 35.5, 40)
    h = rng.uniform(0.0, 800.0, 40)
    src = local.geocentric(lon, lat, h, a=KRASS[0], rf=KRASS[1])
    helmert = pyproj.Transformer.from_pipeline(
        "+proj=helmert +x=15.8 +y=-154.4 +z=-82.3 +rx=0.8 +ry=-2.1 +rz=1.7 +s=3.2 "
        "+convention=position_vector"
    )
    dst = np.column_stack(helmert.transform(src[:, 0], src[:, 1], src[:, 2]))
    return src, dst, lon, lat


def test_geocentric_matches_proj() -> None:
    cart = pyproj.Transformer.from_pipeline(
        "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad +step +proj=cart "
        "+ellps=krass"
    )
    got = local.geocentric([119.2], [34.6], [50.0], a=KRASS[0], rf=KRASS[1])
    want = cart.transform(119.2, 34.6, 50.0)
    np.testing.assert_allclose(got[0], want, atol=1e-6)


def test_fit_7param_recovers_proj_parameters() -> None:
    src, dst, _, _ = _seven_param_points()
    fit = local.fit_7param(src, dst, max_rms=0.001)
    got = (fit.tx, fit.ty, fit.tz, fit.rx, fit.ry, fit.rz, fit.s)
    np.testing.assert_allclose(got[:3], [SEVEN["tx"], SEVEN["ty"], SEVEN["tz"]], atol=1e-3)
    np.testing.assert_allclose(got[3:6], [SEVEN["rx"], SEVEN["ry"], SEVEN["rz"]], atol=1e-5)
    assert fit.s == pytest.approx(SEVEN["s"], abs=1e-5)
    assert fit.rms < 1e-4 and fit.convention == "position_vector"
    frame = local.fit_7param(src, dst, convention="coordinate_frame")
    assert (frame.rx, frame.ry, frame.rz) == pytest.approx((-fit.rx, -fit.ry, -fit.rz))
    assert frame.tx == pytest.approx(fit.tx)


@pytest.mark.parametrize("convention", ["position_vector", "coordinate_frame"])
def test_bursa_wolf_system_reproduces_the_link(
    registered: local.LocalRegistry, convention: Literal["position_vector", "coordinate_frame"]
) -> None:
    src, dst, lon, lat = _seven_param_points()
    fit = local.fit_7param(src, dst, convention=convention)
    _add(registered, fit.to_system("t-bj54", source="EPSG:4214", parent="EPSG:4490"))
    # Expected: old-datum lon/lat → cart (Krasovsky) → known helmert → lon/lat on CGCS2000.
    truth = pyproj.Transformer.from_pipeline(
        "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
        "+step +proj=cart +ellps=krass +step +proj=helmert +x=15.8 +y=-154.4 +z=-82.3 "
        "+rx=0.8 +ry=-2.1 +rz=1.7 +s=3.2 +convention=position_vector "
        "+step +inv +proj=cart +ellps=GRS80 +step +proj=unitconvert +xy_in=rad +xy_out=deg"
    )
    want = truth.transform(lon, lat)
    got = crs.transform_xy(lon, lat, "t-bj54", crs.STORAGE_SRID, check_area=False)
    np.testing.assert_allclose(got, want, atol=1e-8)  # ≈ 1 mm
    back = crs.transform_xy(*got, crs.STORAGE_SRID, "t-bj54", check_area=False)
    np.testing.assert_allclose(back, (lon, lat), atol=1e-9)


def test_bursa_wolf_on_a_projected_old_crs(registered: local.LocalRegistry) -> None:
    src, dst, _, _ = _seven_param_points()
    fit = local.fit_7param(src, dst)
    _add(registered, fit.to_system("t-bj54-geo", source="EPSG:4214", parent="EPSG:4490"))
    _add(registered, fit.to_system("t-bj54-gk", source="EPSG:2437", parent="EPSG:4490"))
    e, n = pyproj.Transformer.from_crs(4214, 2437, always_xy=True).transform(119.2, 34.6)
    a = crs.transform_xy([e], [n], "t-bj54-gk", crs.GK_CM120_SRID)
    b = crs.transform_xy([119.2], [34.6], "t-bj54-geo", crs.GK_CM120_SRID)
    assert np.hypot(a[0] - b[0], a[1] - b[1])[0] < 0.001
    back = crs.transform_xy(*a, crs.GK_CM120_SRID, "t-bj54-gk")
    assert np.hypot(back[0] - e, back[1] - n)[0] < 0.001
    # a datum shift of this size moves points by tens to hundreds of metres
    plain = crs.transform_xy([119.2], [34.6], crs.STORAGE_SRID, crs.GK_CM120_SRID)
    assert 10.0 < np.hypot(a[0] - plain[0], a[1] - plain[1])[0] < 500.0


def test_fit_7param_refusals() -> None:
    src, dst, _, _ = _seven_param_points()
    with pytest.raises(FitError, match="at least 3"):
        local.fit_7param(src[:2], dst[:2])
    bad = dst.copy()
    bad[5] += [0.3, 0.0, -0.3]
    with pytest.raises(FitError, match="RMS"):
        local.fit_7param(src, bad, max_rms=0.02)
    with pytest.raises(FitError, match="NaN"):
        local.fit_7param(np.full((3, 3), np.nan), dst[:3])


def test_tmerc_system_equals_epsg_4549(registered: local.LocalRegistry) -> None:
    _add(
        registered,
        TmercSystem(name="t-tm", parent="EPSG:4490", lon_0=120.0, x_0=500000.0, ellps="GRS80"),
    )
    e, n = _grid()
    lon, lat = crs.transform_xy(e, n, crs.GK_CM120_SRID, crs.STORAGE_SRID)
    x, y = crs.transform_xy(lon, lat, crs.STORAGE_SRID, "t-tm")
    assert np.hypot(x - e, y - n).max() < 0.001
    x2, y2 = crs.transform_xy(e, n, crs.GK_CM120_SRID, "t-tm")  # both sides of 4490
    assert np.hypot(x2 - e, y2 - n).max() < 0.001
    with pytest.raises(ValueError, match="ellps"):
        TmercSystem(name="t-bad", parent="EPSG:4490", lon_0=120.0)


def test_local_chains_and_cycles(registered: local.LocalRegistry) -> None:
    _add(registered, Helmert2DSystem(name="t-a", parent="EPSG:4549", **FOUR))
    _add(registered, Helmert2DSystem(name="t-b", parent="t-a", **FOUR))
    e, n = _grid(3)
    x, y = crs.transform_xy(e, n, "t-b", "t-a")
    x2, y2 = crs.transform_xy(*crs.transform_xy(e, n, "t-b", 4490), 4490, "t-a")
    np.testing.assert_allclose((x, y), (x2, y2), atol=1e-6)
    _add(registered, Helmert2DSystem(name="t-c", parent="t-d", **FOUR))
    _add(registered, Helmert2DSystem(name="t-d", parent="t-c", **FOUR))
    with pytest.raises(GisError, match="cyclic"):
        crs.transform_xy(e, n, "t-c", 4490)
    with pytest.raises(GisError, match="already exists"):
        local.register(Helmert2DSystem(name="T-A", parent="EPSG:4549", **FOUR))


def test_load_and_configure(tmp_path: Path) -> None:
    path = tmp_path / "systems.yaml"
    path.write_text(
        "systems:\n"
        "  - {name: t-file, kind: helmert2d, parent: 'EPSG:4549', dE: 1.0, dN: 2.0,"
        " scale: 1.0, rotation_arcsec: 0.0}\n",
        encoding="utf-8",
    )
    assert list(local.load_systems(path)) == ["t-file"]
    try:
        local.configure(path)
        assert local.config_path() == path
        assert crs.resolve("t-file").kind == "local"
        assert local.get("lyg-example") is None
        x, y = crs.transform_xy([426_000.0], [3_830_000.0], crs.GK_CM120_SRID, "t-file")
        assert (x[0], y[0]) == pytest.approx((426_001.0, 3_830_002.0))
    finally:
        local.configure(None)
    assert local.get("lyg-example") is not None
    path.write_text("systems:\n  - {name: t-x, kind: nope, parent: 'EPSG:4549'}\n")
    with pytest.raises(GisError, match="cannot load"):
        local.load_systems(path)
    path.write_text(
        "systems:\n"
        "  - {name: t-x, kind: helmert2d, parent: 'EPSG:4549', dE: 0, dN: 0, scale: 1,"
        " rotation_arcsec: 0}\n"
        "  - {name: T-X, kind: helmert2d, parent: 'EPSG:4549', dE: 0, dN: 0, scale: 1,"
        " rotation_arcsec: 0}\n"
    )
    with pytest.raises(GisError, match="twice"):
        local.load_systems(path)
    with pytest.raises(GisError, match="cannot load"):
        local.load_systems(tmp_path / "missing.yaml")


def test_bursa_wolf_requires_a_convention() -> None:
    with pytest.raises(ValueError, match="convention"):
        BursaWolfSystem(name="t-x", parent="EPSG:4490", source="EPSG:4214", **SEVEN)


def test_scoped_registration_does_not_leak() -> None:
    system = TmercSystem(name="t-scoped", parent="EPSG:4490", lon_0=119.3, ellps="GRS80")
    with local.registered(system) as registry:
        assert crs.resolve("t-scoped").kind == "local"
        assert registry.get("T-Scoped") == system and "t-scoped" in local.names()
        local.register(TmercSystem(name="t-inner", parent="t-scoped", lon_0=119.0, ellps="GRS80"))
        assert local.get("t-inner") is not None
    for name in ("t-scoped", "t-inner"):
        assert local.get(name) is None
        with pytest.raises(UnknownCrsError, match="local system"):
            crs.resolve(name)


def test_an_explicit_registry_is_used_instead_of_the_current_one(tmp_path: Path) -> None:
    path = tmp_path / "systems.yaml"
    path.write_text(
        "systems:\n"
        "  - {name: t-own, kind: helmert2d, parent: 'EPSG:4549', dE: 1.0, dN: 2.0,"
        " scale: 1.0, rotation_arcsec: 0.0}\n",
        encoding="utf-8",
    )
    registry = local.LocalRegistry(path)
    assert crs.resolve("t-own", registry).kind == "local"
    x, y = crs.transform_xy(
        [426_000.0], [3_830_000.0], crs.GK_CM120_SRID, "t-own", systems=registry
    )
    assert (x[0], y[0]) == pytest.approx((426_001.0, 3_830_002.0))
    with pytest.raises(UnknownCrsError, match=re.escape(str(path))):
        crs.resolve("lyg-example", registry)
    with pytest.raises(UnknownCrsError):
        crs.resolve("t-own")
    assert crs.resolve("lyg-example").kind == "local"
