"""Geometry: CRS transforms of shapely arrays, repair, ellipsoidal and planar areas."""

import math

import numpy as np
import pyproj
import pytest
import shapely
from shapely import LineString, MultiPolygon, Point, Polygon, box

from gis import crs, geometry
from gis.errors import InvalidCoordinateError

A, RF = 6378137.0, 298.257222101
HAIZHOU = (119.1788, 34.6015)


def _zone_area(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Exact ellipsoidal area between two parallels and two meridians (analytic)."""
    f = 1.0 / RF
    e2 = f * (2.0 - f)
    e = math.sqrt(e2)
    b2 = (A * (1.0 - f)) ** 2

    def q(lat: float) -> float:
        s = math.sin(math.radians(lat))
        return s / (1.0 - e2 * s * s) + math.atanh(e * s) / e

    return b2 / 2.0 * math.radians(lon2 - lon1) * (q(lat2) - q(lat1))


def test_geodesic_area_of_a_cell_matches_the_analytic_formula() -> None:
    lon, lat = 119.17, 34.6
    cell = box(lon, lat, lon + 0.01, lat + 0.01)
    want = _zone_area(lon, lat, lon + 0.01, lat + 0.01)
    assert 1.0e6 < want < 1.1e6
    # Geodesic edges vs parallels differ by ~1e-8 relative on a 1 km cell.
    assert float(geometry.geodesic_area(cell)) == pytest.approx(want, rel=1e-7)
    big = box(118.5, 34.0, 119.5, 35.0)
    dense = shapely.segmentize(big, 0.001)  # follow the parallels closely
    assert float(geometry.geodesic_area(dense)) == pytest.approx(
        _zone_area(118.5, 34.0, 119.5, 35.0), rel=1e-6
    )


def test_geodesic_area_orientation_holes_and_arrays() -> None:
    outer = [(119.0, 34.5), (119.1, 34.5), (119.1, 34.6), (119.0, 34.6)]
    hole = [(119.02, 34.52), (119.05, 34.52), (119.05, 34.55), (119.02, 34.55)]
    ccw = Polygon(outer, [hole])
    cw = Polygon(outer[::-1], [hole[::-1]])
    geod = pyproj.Geod(a=A, rf=RF)
    want = abs(geod.geometry_area_perimeter(shapely.geometry.polygon.orient(ccw))[0])
    assert float(geometry.geodesic_area(ccw)) == pytest.approx(want, rel=1e-12)
    assert float(geometry.geodesic_area(cw)) == pytest.approx(want, rel=1e-12)
    multi = MultiPolygon([ccw, box(119.3, 34.7, 119.31, 34.71)])
    arr = np.array([ccw, multi, Point(119.0, 34.0), None, LineString(outer)], dtype=object)
    areas = geometry.geodesic_area(arr)
    assert areas.shape == (5,)
    assert areas[1] == pytest.approx(want + float(geometry.geodesic_area(multi.geoms[1])))
    assert areas[2] == areas[3] == areas[4] == 0.0
    grid = np.array([[ccw, cw], [multi, ccw]], dtype=object)
    assert geometry.geodesic_area(grid).shape == (2, 2)


def test_geodesic_length_matches_geod() -> None:
    geod = pyproj.Geod(a=A, rf=RF)
    line = LineString([(119.0, 34.0), (119.2, 34.3), (119.5, 34.4)])
    want = geod.line_length([119.0, 119.2, 119.5], [34.0, 34.3, 34.4])
    assert float(geometry.geodesic_length(line)) == pytest.approx(want, rel=1e-12)
    cell = box(119.0, 34.0, 119.01, 34.01)
    perimeter = geod.geometry_area_perimeter(cell)[1]
    lengths = geometry.geodesic_length(np.array([line, cell, Point(1, 1)], dtype=object))
    np.testing.assert_allclose(lengths, [want, perimeter, 0.0], rtol=1e-12)


def test_gauss_kruger_area_is_slightly_larger_near_haizhou() -> None:
    # docs/domain.md: GK planar area is 0.013–0.05 % larger than the ellipsoidal area here.
    lon, lat = HAIZHOU
    cell = box(lon - 0.005, lat - 0.005, lon + 0.005, lat + 0.005)
    true = float(geometry.geodesic_area(cell))
    for srid in (crs.GK_CM120_SRID, crs.GK_ZONE40_SRID):
        excess = float(geometry.planar_area(cell, srid)) / true - 1.0
        assert 0.00013 <= excess <= 0.0005
    west = box(118.4, 34.6, 118.41, 34.61)
    west_excess = float(geometry.planar_area(west)) / float(geometry.geodesic_area(west)) - 1
    assert 0.0004 < west_excess < 0.0006
    mercator = float(geometry.planar_area(cell, crs.WEB_MERCATOR_SRID)) / true - 1.0
    assert mercator == pytest.approx(0.48, abs=0.01)  # why areas never use EPSG:3857


def test_transform_geometry_scalars_arrays_and_z() -> None:
    poly = box(119.1, 34.5, 119.2, 34.6)
    out = geometry.transform_geometry(poly, crs.STORAGE_SRID, crs.GK_CM120_SRID)
    xy = shapely.get_coordinates(poly)
    want = np.column_stack(crs.transform_xy(xy[:, 0], xy[:, 1], 4490, crs.GK_CM120_SRID))
    np.testing.assert_allclose(shapely.get_coordinates(out), want, atol=1e-9)
    arr = np.array([poly, None, Point(119.2, 34.6, 12.5), Polygon()], dtype=object)
    res = geometry.transform_geometry(arr, "EPSG:4490", "urn:ogc:def:crs:EPSG::4528")
    assert res[1] is None and res[3].is_empty
    assert res[2].has_z and res[2].z == 12.5 and res[2].x > 40_000_000
    back = geometry.transform_geometry(res, crs.GK_ZONE40_SRID, crs.STORAGE_SRID)
    assert shapely.equals_exact(back[0], poly, tolerance=1e-9)
    gcj = geometry.transform_geometry(poly, crs.STORAGE_SRID, "GCJ02")
    assert not shapely.equals_exact(gcj, poly, tolerance=1e-5)
    with pytest.raises(InvalidCoordinateError):
        geometry.transform_geometry(Point(np.nan, 34.0), 4490, crs.GK_CM120_SRID)


def test_repair_keeps_polygons_polygonal() -> None:
    bowtie = Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    fixed, notes = geometry.repair(bowtie)
    assert fixed.geom_type == "MultiPolygon" and fixed.is_valid
    assert fixed.area == pytest.approx(2.0)
    assert notes[0].startswith("invalid (Self-intersection") and "split into 2" in notes[-1]
    spike = Polygon([(0, 0), (4, 0), (4, 4), (0, 4), (0, 2), (-2, 2), (0, 2), (0, 0)])
    assert shapely.make_valid(spike).geom_type == "GeometryCollection"
    fixed, notes = geometry.repair(spike)
    assert fixed.geom_type == "Polygon" and fixed.area == pytest.approx(16.0)
    assert any("dropped 1 line" in n for n in notes)
    flat = Polygon([(0, 0), (1, 1), (2, 2), (0, 0)])
    fixed, notes = geometry.repair(flat)
    assert fixed.is_empty and fixed.geom_type == "Polygon" and "collapsed" in notes[-1]
    good = box(0, 0, 1, 1)
    fixed, notes = geometry.repair(good)
    assert fixed.equals(good) and notes == []


def test_repair_array() -> None:
    bowtie = Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    line_loop = LineString([(0, 0), (1, 1), (1, 0), (0, 1)])  # valid: lines may cross
    arr = np.array([box(0, 0, 1, 1), None, bowtie, line_loop, bowtie], dtype=object)
    out, notes = geometry.repair_array(arr)
    assert sorted(notes) == [2, 4]
    assert out[1] is None and out[0].equals(arr[0]) and out[3].equals(line_loop)
    assert all(g.is_valid for g in out if g is not None)
    assert shapely.get_type_id(out[2]) == 6
    assert arr[2] is bowtie  # input untouched


def test_repair_array_regroups_nested_parts_in_order() -> None:
    # make_valid gives GEOMETRYCOLLECTION(MULTIPOLYGON, LINESTRING) for the spiked bowtie:
    # flattening the nested parts puts them after the next geometry's parts.
    spiked = Polygon([(0, 0), (2, 2), (2, 0), (0, 2), (0, 3), (0, 2), (0, 0)])
    bowtie = Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    out, notes = geometry.repair_array(np.array([spiked, bowtie, spiked], dtype=object))
    assert [shapely.get_num_geometries(g) for g in out] == [2, 2, 2]
    assert all(abs(g.area - 2.0) < 1e-12 for g in out)
    assert "dropped 1 line piece(s) of lower dimension" in notes[0]


def test_point_on_surface_vectorised() -> None:
    ell = Polygon([(0, 0), (3, 0), (3, 1), (1, 1), (1, 3), (0, 3)])
    pts = geometry.point_on_surface(np.array([ell, box(5, 5, 6, 6)], dtype=object))
    assert shapely.contains(np.array([ell, box(5, 5, 6, 6)], dtype=object), pts).all()
