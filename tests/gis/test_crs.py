"""CRS resolution and transforms: spellings, GK zones vs pyproj, no ballpark, bad input."""

import numpy as np
import pyproj
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gis import crs, offsets
from gis.errors import (
    GisError,
    InvalidCoordinateError,
    NoTransformationError,
    OutOfAreaError,
    UnknownCrsError,
)

_GEOGCS_2000 = (
    'GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",'
    'SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],'
    'UNIT["Degree",0.0174532925199433]]'
)


def _esri_gk(name: str, geogcs: str, fe: float, cm: float) -> str:
    """A projected .prj as ArcGIS writes it."""
    return (
        f'PROJCS["{name}",{geogcs},PROJECTION["Gauss_Kruger"],'
        f'PARAMETER["False_Easting",{fe}],PARAMETER["False_Northing",0.0],'
        f'PARAMETER["Central_Meridian",{cm}],PARAMETER["Scale_Factor",1.0],'
        'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
    )


PRJ_ZONE40 = _esri_gk("CGCS2000_3_Degree_GK_Zone_40", _GEOGCS_2000, 40500000.0, 120.0)
PRJ_CM120 = _esri_gk("CGCS2000_3_Degree_GK_CM_120E", _GEOGCS_2000, 500000.0, 120.0)
_GEOGCS_54 = (
    'GEOGCS["GCS_Beijing_1954",DATUM["D_Beijing_1954",SPHEROID["Krasovsky_1940",6378245.0,'
    '298.3]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]'
)
_GEOGCS_80 = (
    'GEOGCS["GCS_Xian_1980",DATUM["D_Xian_1980",SPHEROID["Xian_1980",6378140.0,298.257]],'
    'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]'
)
PRJ_WEB_MERCATOR = (
    'PROJCS["WGS_1984_Web_Mercator_Auxiliary_Sphere",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",'
    'SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],'
    'UNIT["Degree",0.0174532925199433]],PROJECTION["Mercator_Auxiliary_Sphere"],'
    'PARAMETER["False_Easting",0.0],PARAMETER["False_Northing",0.0],'
    'PARAMETER["Central_Meridian",0.0],PARAMETER["Standard_Parallel_1",0.0],'
    'PARAMETER["Auxiliary_Sphere_Type",0.0],UNIT["Meter",1.0]]'
)

SPELLINGS = [
    (4490, "EPSG:4490"),
    ("4490", "EPSG:4490"),
    ("EPSG:4490", "EPSG:4490"),
    ("epsg:4528", "EPSG:4528"),
    ("urn:ogc:def:crs:EPSG::4490", "EPSG:4490"),
    ("urn:ogc:def:crs:EPSG:9.8.1:4549", "EPSG:4549"),
    ("http://www.opengis.net/def/crs/EPSG/0/4490", "EPSG:4490"),
    ("https://www.opengis.net/def/crs/EPSG/0/4528", "EPSG:4528"),
    ("OGC:CRS84", "OGC:CRS84"),
    ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", "OGC:CRS84"),
    ("https://www.opengis.net/def/crs/OGC/1.3/CRS84", "OGC:CRS84"),
    ("urn:ogc:def:crs:OGC:1.3:CRS84", "OGC:CRS84"),
    ("GCJ02", "GCJ02"),
    ("gcj-02", "GCJ02"),
    ("GCJ-02", "GCJ02"),
    ("BD09", "BD09"),
    ("bd-09", "BD09"),
    (PRJ_ZONE40, "EPSG:4528"),
    (PRJ_CM120, "EPSG:4549"),
    ("  " + PRJ_CM120 + "\n", "EPSG:4549"),
    (_GEOGCS_2000, "EPSG:4490"),
    (_esri_gk("Beijing_1954_3_Degree_GK_Zone_40", _GEOGCS_54, 40500000.0, 120.0), "EPSG:2416"),
    (_esri_gk("Beijing_1954_3_Degree_GK_CM_120E", _GEOGCS_54, 500000.0, 120.0), "EPSG:2437"),
    (_esri_gk("Xian_1980_3_Degree_GK_Zone_40", _GEOGCS_80, 40500000.0, 120.0), "EPSG:2364"),
    (_esri_gk("Xian_1980_3_Degree_GK_CM_120E", _GEOGCS_80, 500000.0, 120.0), "EPSG:2385"),
    (_esri_gk("CGCS2000_GK_Zone_20", _GEOGCS_2000, 20500000.0, 117.0), "EPSG:4498"),
    (_esri_gk("CGCS2000_GK_CM_117E", _GEOGCS_2000, 500000.0, 117.0), "EPSG:4509"),
    (_esri_gk("Beijing_1954_GK_Zone_20N", _GEOGCS_54, 500000.0, 117.0), "EPSG:21460"),
    (_GEOGCS_54, "EPSG:4214"),
    (_GEOGCS_80, "EPSG:4610"),
    (PRJ_WEB_MERCATOR, "EPSG:3857"),
    (pyproj.CRS(4528).to_wkt(), "EPSG:4528"),
]


@pytest.mark.parametrize(("spec", "name"), SPELLINGS)
def test_resolve_spellings(spec: str | int, name: str) -> None:
    ref = crs.resolve(spec)
    assert ref.name == name
    assert crs.resolve(ref) is ref


def test_resolve_kinds_and_epsg() -> None:
    ref = crs.resolve("urn:ogc:def:crs:EPSG::4528")
    assert ref.kind == "pyproj" and ref.epsg == 4528 and ref.crs is not None
    assert ref.crs.to_epsg() == 4528
    assert crs.resolve("OGC:CRS84").epsg is None
    assert crs.resolve("gcj02").kind == "gcj02" and crs.resolve("GCJ02").crs is None
    assert crs.resolve("BD-09").kind == "bd09"
    assert crs.resolve(4490) == crs.resolve("EPSG:4490")
    assert hash(crs.resolve(4490)) == hash(crs.resolve("4490"))


def test_esri_nonprefixed_geogcs_name_cross_check() -> None:
    # Name says zone 40, parameters say CM 120 without prefix: a mislabelled .prj.
    wrong = _esri_gk("CGCS2000_3_Degree_GK_Zone_40", _GEOGCS_2000, 500000.0, 120.0)
    with pytest.raises(UnknownCrsError, match=r"fix the \.prj"):
        crs.resolve(wrong)


@pytest.mark.parametrize(
    "spec",
    ["EPSG:99999", "WGS84-ish", "GCJ03", "urn:ogc:def:crs:EPSG::", "", 'PROJCS["x"', True, 4.5],
)
def test_unknown_specs_raise(spec: object) -> None:
    with pytest.raises(UnknownCrsError) as info:
        crs.resolve(spec)  # type: ignore[arg-type]
    if isinstance(spec, str) and spec:
        assert spec[:20] in str(info.value)


def test_families_match_the_epsg_database() -> None:
    for family, label, geographic in (
        (crs.CGCS2000, "CGCS2000", "China Geodetic Coordinate System 2000"),
        (crs.BEIJING1954, "Beijing 1954", "Beijing 1954"),
        (crs.XIAN1980, "Xian 1980", "Xian 1980"),
    ):
        assert pyproj.CRS(family.geographic).name == geographic
        for zone in range(25, 46):
            want = f"{label} / 3-degree Gauss-Kruger zone {zone}"
            assert pyproj.CRS(family.gk3_zone(zone)).name == want
            cm = zone * 3
            if 75 <= cm <= 135:
                want = f"{label} / 3-degree Gauss-Kruger CM {cm}E"
                assert pyproj.CRS(family.gk3_cm(cm)).name == want
        for zone in range(13, 24):
            assert pyproj.CRS(family.gk6_zone(zone)).name == f"{label} / Gauss-Kruger zone {zone}"
            cm = zone * 6 - 3
            assert pyproj.CRS(family.gk6_cm(cm)).name == f"{label} / Gauss-Kruger CM {cm}E"
    assert crs.CGCS2000.gk3_zone(40) == crs.GK_ZONE40_SRID == 4528
    assert crs.CGCS2000.gk3_cm(120) == crs.GK_CM120_SRID == 4549
    assert (crs.BEIJING1954.geographic, crs.BEIJING1954.gk3_cm(120)) == (4214, 2437)
    assert crs.BEIJING1954.gk3_zone(40) == 2416
    assert (crs.XIAN1980.geographic, crs.XIAN1980.gk3_cm(120)) == (4610, 2385)
    assert crs.XIAN1980.gk3_zone(40) == 2364
    with pytest.raises(UnknownCrsError):
        crs.CGCS2000.gk3_cm(121)


lyg_lon = st.floats(118.4, 119.8, allow_nan=False)
lyg_lat = st.floats(34.0, 35.1, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(lyg_lon, lyg_lat)
def test_gk_conversions_agree_with_pyproj(lon: float, lat: float) -> None:
    for code in (crs.GK_ZONE40_SRID, crs.GK_CM120_SRID):
        ref = pyproj.Transformer.from_crs(4490, code, always_xy=True)
        want = ref.transform(lon, lat)
        got = crs.transform_xy(lon, lat, crs.STORAGE_SRID, code)
        assert np.hypot(got[0] - want[0], got[1] - want[1]) < 0.001
        back = crs.transform_xy(*got, code, crs.STORAGE_SRID)
        assert abs(back[0] - lon) < 1e-9 and abs(back[1] - lat) < 1e-9
    e40, n40 = crs.transform_xy(lon, lat, 4490, crs.GK_ZONE40_SRID)
    e, n = crs.transform_xy(lon, lat, 4490, crs.GK_CM120_SRID)
    assert abs(e40 - e - 40_000_000.0) < 0.001 and abs(n40 - n) < 0.001
    x, y = crs.transform_xy(e40, n40, crs.GK_ZONE40_SRID, crs.GK_CM120_SRID)
    assert abs(x - e) < 0.001 and abs(y - n) < 0.001


def test_gk_axis_order_is_easting_first_and_central_meridian() -> None:
    x, y = crs.transform_xy([120.0, 119.1788], [30.0, 34.6015], 4490, crs.GK_ZONE40_SRID)
    assert x[0] == pytest.approx(40_500_000.0, abs=1e-6)
    assert y[0] == pytest.approx(3_320_113.398, abs=0.01)  # meridian arc to 30°N, GRS80
    assert 40_400_000 < x[1] < 40_500_000 and 3_800_000 < y[1] < 3_900_000


def test_wgs84_and_cgcs2000_are_one_datum() -> None:
    lon, lat = np.array([119.2, 118.5]), np.array([34.6, 35.0])
    for other in (crs.WGS84_SRID, crs.CRS84):
        x, y = crs.transform_xy(lon, lat, crs.STORAGE_SRID, other)
        np.testing.assert_allclose(x, lon, atol=1e-12)
        np.testing.assert_allclose(y, lat, atol=1e-12)
    a = crs.transform_xy(lon, lat, crs.STORAGE_SRID, crs.WEB_MERCATOR_SRID)
    b = crs.transform_xy(lon, lat, crs.WGS84_SRID, crs.WEB_MERCATOR_SRID)
    np.testing.assert_allclose(a, b, atol=1e-6)
    gk = crs.transform_xy(lon, lat, crs.WGS84_SRID, crs.GK_ZONE40_SRID)
    gk2 = crs.transform_xy(lon, lat, crs.STORAGE_SRID, crs.GK_ZONE40_SRID)
    np.testing.assert_allclose(gk, gk2, atol=0.001)


def test_transformer_is_cached_across_spellings() -> None:
    t1 = crs.transformer(4490, "urn:ogc:def:crs:EPSG::4528")
    t2 = crs.transformer("EPSG:4490", "http://www.opengis.net/def/crs/EPSG/0/4528")
    assert t1 is t2
    with pytest.raises(GisError):
        crs.transformer("GCJ02", 4490)


@pytest.mark.parametrize(
    ("src", "dst", "xy"),
    [
        (4214, 4490, (119.2, 34.6)),
        (4610, 4490, (119.2, 34.6)),
        (4214, 4326, (119.2, 34.6)),
        (2437, crs.GK_CM120_SRID, (426_600.0, 3_830_500.0)),
        (2385, crs.GK_ZONE40_SRID, (426_600.0, 3_830_500.0)),
        (2416, 4490, (40_426_600.0, 3_830_500.0)),
        (4490, 2364, (119.2, 34.6)),
        ("GCJ02", 2437, (119.2, 34.6)),
    ],
)
def test_old_datums_refuse_ballpark(src: int | str, dst: int, xy: tuple[float, float]) -> None:
    with pytest.raises(NoTransformationError) as info:
        crs.transform_xy([xy[0]], [xy[1]], src, dst)
    message = str(info.value)
    assert "ballpark" in message and "7-parameter" in message and "4-parameter" in message


def test_same_old_datum_conversions_work() -> None:
    x, y = crs.transform_xy(119.2, 34.6, 4214, 2437)
    want = pyproj.Transformer.from_crs(4214, 2437, always_xy=True).transform(119.2, 34.6)
    assert abs(x - want[0]) < 0.001 and abs(y - want[1]) < 0.001


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_raises(bad: float) -> None:
    with pytest.raises(InvalidCoordinateError, match="#1"):
        crs.transform_xy([119.2, bad], [34.6, 34.6], 4490, crs.GK_CM120_SRID)
    with pytest.raises(InvalidCoordinateError):
        crs.transform_xy([119.2], [bad], "GCJ02", 4490)


def test_out_of_area_raises_with_the_coordinate() -> None:
    with pytest.raises(OutOfAreaError, match=r"100\.0, 30\.0") as info:
        crs.transform_xy([119.2, 100.0], [34.6, 30.0], 4490, crs.GK_ZONE40_SRID)
    assert "EPSG:4528" in str(info.value)
    with pytest.raises(OutOfAreaError, match=r"2\.35"):
        crs.transform_xy([2.35], [48.86], crs.WGS84_SRID, crs.STORAGE_SRID)
    with pytest.raises(OutOfAreaError):
        crs.transform_xy([0.0], [0.0], crs.GK_ZONE40_SRID, crs.STORAGE_SRID)
    with pytest.raises(OutOfAreaError):  # far east of zone 40, projected → projected
        crs.transform_xy([41_500_000.0], [3_830_000.0], crs.GK_ZONE40_SRID, crs.GK_CM120_SRID)
    # opt out, e.g. for world-wide display data
    x, _ = crs.transform_xy([2.35], [48.86], crs.WGS84_SRID, crs.STORAGE_SRID, check_area=False)
    assert x[0] == 2.35


def test_city_west_strip_is_within_the_margin() -> None:
    # Zone 40's area of use starts at 118.5°E; the city reaches 118.4°E (docs/domain.md).
    x, _ = crs.transform_xy([118.4], [34.6], 4490, crs.GK_ZONE40_SRID)
    assert 40_300_000 < x[0] < 40_400_000


def test_offset_chains() -> None:
    lon, lat = np.array([119.2, 119.18]), np.array([34.6, 34.59])
    gx, gy = offsets.wgs84_to_gcj02(lon, lat)
    x, y = crs.transform_xy(lon, lat, crs.STORAGE_SRID, "GCJ02")
    np.testing.assert_allclose((x, y), (gx, gy), atol=1e-12)
    bx, by = crs.transform_xy(gx, gy, "GCJ02", "BD09")
    np.testing.assert_allclose((bx, by), offsets.gcj02_to_bd09(gx, gy), atol=1e-12)
    wx, wy = crs.transform_xy(bx, by, "BD09", crs.CRS84)
    np.testing.assert_allclose((wx, wy), (lon, lat), atol=1e-9)
    e, n = crs.transform_xy(gx, gy, "GCJ02", crs.GK_ZONE40_SRID)
    e2, n2 = crs.transform_xy(lon, lat, crs.STORAGE_SRID, crs.GK_ZONE40_SRID)
    np.testing.assert_allclose((e, n), (e2, n2), atol=0.001)
    back = crs.transform_xy(e, n, crs.GK_ZONE40_SRID, "BD09")
    np.testing.assert_allclose(back, (bx, by), atol=1e-9)


def test_shapes_and_identity() -> None:
    lon = np.full((2, 3), 119.2)
    lat = np.full((2, 3), 34.6)
    x, y = crs.transform_xy(lon, lat, 4490, crs.GK_CM120_SRID)
    assert x.shape == y.shape == (2, 3)
    x0, _ = crs.transform_xy(119.2, 34.6, 4490, 4490)
    assert x0.shape == () and float(x0) == 119.2
    ex, ey = crs.transform_xy([], [], 4490, crs.GK_CM120_SRID)
    assert ex.size == ey.size == 0
