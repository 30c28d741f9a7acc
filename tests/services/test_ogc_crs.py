"""OGC API – Features Part 2 over real HTTP: every served CRS against pyproj, with the
authority's axis order; Content-Crs; bbox-crs and filter-crs in lat/lon and projected CRSs."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from sqlalchemy import Engine, text

from gis.crs import transform_xy

URI = "http://www.opengis.net/def/crs/EPSG/0/{}"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


@pytest.fixture(scope="module")
def building(engine: Engine) -> tuple[int, np.ndarray]:
    """A building's id and its stored ring (x = lon, y = lat, EPSG:4490)."""
    with engine.connect() as conn:
        key, ring = conn.execute(
            text(
                "SELECT id, ST_AsGeoJSON(ST_ExteriorRing(geom), 15)::json -> 'coordinates'"
                " FROM grid.buildings ORDER BY id LIMIT 1"
            )
        ).one()
    return int(key), np.array(ring, dtype=float)


def _ring(ogc: httpx.Client, key: int, crs: str) -> tuple[np.ndarray, httpx.Response]:
    response = ogc.get(f"collections/buildings/items/{key}", params={"crs": crs})
    assert response.status_code == 200, response.text
    coordinates = response.json()["geometry"]["coordinates"][0]
    return np.array(coordinates, dtype=float), response


@pytest.mark.parametrize("code", [4490, 4326])
def test_geographic_epsg_output_is_lat_lon(
    ogc: httpx.Client, building: tuple[int, np.ndarray], code: int
) -> None:
    key, stored = building
    ring, response = _ring(ogc, key, URI.format(code))
    assert response.headers["content-crs"] == f"<{URI.format(code)}>"
    np.testing.assert_allclose(ring[:, 0], stored[:, 1], atol=1e-8)  # latitude first
    np.testing.assert_allclose(ring[:, 1], stored[:, 0], atol=1e-8)


def test_crs84_output_is_lon_lat(ogc: httpx.Client, building: tuple[int, np.ndarray]) -> None:
    key, stored = building
    ring, response = _ring(ogc, key, CRS84)
    assert response.headers["content-crs"] == f"<{CRS84}>"
    np.testing.assert_allclose(ring, stored, atol=1e-8)


@pytest.mark.parametrize("code", [4549, 4528])
def test_gauss_kruger_output_is_northing_easting_as_pyproj(
    ogc: httpx.Client, building: tuple[int, np.ndarray], code: int
) -> None:
    key, stored = building
    ring, _ = _ring(ogc, key, URI.format(code))
    easting, northing = transform_xy(stored[:, 0], stored[:, 1], "EPSG:4490", f"EPSG:{code}")
    np.testing.assert_allclose(ring[:, 0], northing, atol=0.002)
    np.testing.assert_allclose(ring[:, 1], easting, atol=0.002)


def test_web_mercator_output_as_pyproj(ogc: httpx.Client, building: tuple[int, np.ndarray]) -> None:
    key, stored = building
    ring, _ = _ring(ogc, key, "EPSG:3857")
    x, y = transform_xy(stored[:, 0], stored[:, 1], "EPSG:4326", "EPSG:3857")
    np.testing.assert_allclose(ring[:, 0], x, atol=0.002)
    np.testing.assert_allclose(ring[:, 1], y, atol=0.002)


def test_crs_spellings_and_unserved_crs(
    ogc: httpx.Client, building: tuple[int, np.ndarray]
) -> None:
    key, _ = building
    for spelled in ("EPSG:4490", "urn:ogc:def:crs:EPSG::4490", "[EPSG:4490]"):
        response = ogc.get(f"collections/buildings/items/{key}", params={"crs": spelled})
        assert response.headers["content-crs"] == f"<{URI.format(4490)}>"
    for bad in ("EPSG:2385", "EPSG:99999999", "nonsense", ""):
        response = ogc.get("collections/buildings/items", params={"crs": bad})
        assert response.status_code == 400, bad
        assert response.json()["code"] == "InvalidParameterValue"


def _ids(ogc: httpx.Client, **params: str) -> list[int]:
    response = ogc.get("collections/buildings/items", params={"limit": "10000", **params})
    assert response.status_code == 200, response.text
    return [f["id"] for f in response.json()["features"]]


def test_bbox_crs_in_lat_lon_and_projected_order(ogc: httpx.Client, engine: Engine) -> None:
    with engine.connect() as conn:
        x0, y0, x1, y1 = conn.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom)"
                " e FROM (SELECT geom FROM grid.buildings ORDER BY id LIMIT 4) s) s"
            )
        ).one()
    lon_lat = _ids(ogc, bbox=f"{x0},{y0},{x1},{y1}")
    assert lon_lat
    assert _ids(ogc, bbox=f"{y0},{x0},{y1},{x1}", **{"bbox-crs": URI.format(4490)}) == lon_lat
    assert _ids(ogc, bbox=f"{y0},{x0},{y1},{x1}", **{"bbox-crs": "EPSG:4326"}) == lon_lat
    east, north = transform_xy([x0, x1, x0, x1], [y0, y0, y1, y1], "EPSG:4490", "EPSG:4549")
    n0, e0, n1, e1 = north.min() - 1, east.min() - 1, north.max() + 1, east.max() + 1
    projected = _ids(ogc, bbox=f"{n0},{e0},{n1},{e1}", **{"bbox-crs": URI.format(4549)})
    assert set(lon_lat) <= set(projected)
    wrong_order = ogc.get(
        "collections/buildings/items",
        params={"bbox": f"{x0},{y0},{x1},{y1}", "bbox-crs": URI.format(4490)},
    )
    assert wrong_order.status_code == 400  # latitude 119 does not exist
    assert "latitude" in wrong_order.json()["description"]


def test_filter_crs_reads_literals_in_their_axis_order(
    ogc: httpx.Client, building: tuple[int, np.ndarray]
) -> None:
    key, stored = building
    lon, lat = stored[:-1].mean(axis=0)
    in_crs84 = _ids(ogc, filter=f"S_INTERSECTS(geometry, POINT({lon} {lat}))")
    assert key in in_crs84
    in_4490 = _ids(
        ogc,
        filter=f"S_INTERSECTS(geometry, POINT({lat} {lon}))",
        **{"filter-crs": URI.format(4490)},
    )
    assert in_4490 == in_crs84
    easting, northing = transform_xy([lon], [lat], "EPSG:4490", "EPSG:4549")
    in_4549 = _ids(
        ogc,
        filter=f"S_INTERSECTS(geometry, POINT({northing[0]} {easting[0]}))",
        **{"filter-crs": "EPSG:4549"},
    )
    assert in_4549 == in_crs84
