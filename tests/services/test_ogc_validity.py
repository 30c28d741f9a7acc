"""Every geometry the OGC API serves is valid (GEOS) in every CRS it offers.

Stored geometries are valid, but rounding the output to 1e-8 degrees or 1 mm can make two
nearly touching parts of a polygon cross; ``services.ogcapi.crs.geojson_sql`` keeps the
output valid on its grid. Checked through real HTTP on every collection (the sample's plan
layers imported and a conflict run made before the app starts), through pygeoapi's provider
(JSON-LD), on literal near-touching polygons built in each output CRS, and on the plan
layers drawn in a conflict run's HTML report.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import shapely
from sqlalchemy import Connection, Engine, text

from gis.crs import STORAGE_SRID, WEB_MERCATOR_SRID, WGS84_SRID
from gis.sql_files import sql as named_sql
from layers import reports
from services.ogcapi.crs import OgcCrs, geojson_sql, geometry_sql, served
from tests.conftest import sample_conflict_run
from tests.services.conftest import ogc_client

PAGE = 10_000
"""The largest page (``OgcSettings.max_limit``): few requests per collection and CRS."""


@pytest.fixture(scope="module")
def run_id(engine: Engine) -> Iterator[int]:
    """The sample's plans and a committed conflict run, so that ``conflicts.run{N}`` is
    walked too; the run is deleted afterwards."""
    with sample_conflict_run(engine, "tests") as run:
        yield run


@pytest.fixture(scope="module")
def api(
    run_id: int, url_env: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    """The app, started after the plans and the run exist; URLs relative to ``/ogc``."""
    yield from ogc_client(url_env, tmp_path_factory.mktemp("ogc-validity-home"), timeout=120)


def _get(api: httpx.Client, url: str, **params: str) -> dict[str, Any]:
    response = api.get(url, params=params)
    assert response.status_code == 200, f"{response.url}: {response.status_code} {response.text}"
    body: dict[str, Any] = response.json()
    return body


def _collections(api: httpx.Client) -> list[dict[str, Any]]:
    """Every collection ``/collections`` lists, following ``next`` links if it pages."""
    body = _get(api, "collections")
    found = list(body["collections"])
    while following := [lk["href"] for lk in body["links"] if lk["rel"] == "next"]:
        body = _get(api, following[0])
        found += body["collections"]
    return found


def _features(api: httpx.Client, collection: str, crs: str) -> Iterator[dict[str, Any]]:
    """Every feature of ``collection`` in ``crs``, page by page."""
    body = _get(api, f"collections/{collection}/items", limit=str(PAGE), crs=crs)
    yield from body["features"]
    while following := [lk["href"] for lk in body["links"] if lk["rel"] == "next"]:
        body = _get(api, following[0])
        yield from body["features"]


def _invalid(features: list[dict[str, Any]]) -> list[tuple[object, str]]:
    """(id, GEOS reason) of every feature whose geometry is not valid."""
    geometries = [f["geometry"] for f in features if f["geometry"] is not None]
    ids = [f["id"] for f in features if f["geometry"] is not None]
    parsed = [shapely.geometry.shape(g) for g in geometries]
    valid = shapely.is_valid(parsed)
    return [(i, shapely.is_valid_reason(g)) for i, g, ok in zip(ids, parsed, valid, strict=True)
            if not ok]  # fmt: skip


def test_every_collection_in_every_crs_is_valid(api: httpx.Client, run_id: int) -> None:
    collections = _collections(api)
    ids = {c["id"] for c in collections}
    assert {"plans.landuse_plan", "plans.urban_plan.v1", f"conflicts.run{run_id}"} <= ids
    failures: list[str] = []
    walked = 0
    for collection in collections:
        offered = collection["crs"]
        assert {c.uri for c in served()} <= set(offered), collection["id"]
        for crs in offered:
            features = list(_features(api, collection["id"], crs))
            walked += len(features)
            failures += [
                f"{collection['id']} in {crs}: feature {fid}: {reason}"
                for fid, reason in _invalid(features)
            ]
    assert walked > 10_000
    assert not failures, f"{len(failures)} invalid geometries:\n" + "\n".join(failures[:50])


def _broken_by_rounding(conn: Connection, crs: OgcCrs) -> list[tuple[str, int]]:
    """(layer, feature id) of the plan features that plain rounding to ``crs.digits``
    decimals makes invalid (what the API wrote before it snap-rounded)."""
    rounded = f"ST_AsGeoJSON({geometry_sql('f.geom', crs)}, {crs.digits}, 0)"
    found = conn.execute(
        text(
            "SELECT v.layer_id, f.id FROM plans.features AS f"
            " JOIN plans.layer_versions AS v ON v.id = f.layer_version_id"
            f" WHERE NOT ST_IsValid(ST_GeomFromGeoJSON({rounded}), 0) ORDER BY f.id"
        )
    )
    return [(layer, int(fid)) for layer, fid in found]


def test_features_that_rounding_breaks_are_valid_through_pygeoapi(
    api: httpx.Client, engine: Engine, run_id: int
) -> None:
    """The sample has features that plain rounding breaks (landuse_plan and urban_plan, in
    every CRS); each comes out valid from our routes and from pygeoapi's JSON-LD."""
    checked: set[str] = set()
    with engine.connect() as conn:
        broken = {crs.uri: _broken_by_rounding(conn, crs) for crs in served()}
    for crs in served():
        assert broken[crs.uri], f"no sample feature is broken by rounding in {crs.uri}"
        checked |= {layer for layer, _ in broken[crs.uri]}
        for layer, fid in broken[crs.uri]:
            for f in ("json", "jsonld"):
                body = _get(api, f"collections/plans.{layer}/items/{fid}", f=f, crs=crs.uri)
                geometry = shapely.geometry.shape(body["geometry"])
                assert shapely.is_valid(geometry), (
                    f"plans.{layer} in {crs.uri} (f={f}): feature {fid}: "
                    f"{shapely.is_valid_reason(geometry)}"
                )
                assert not geometry.is_empty
    assert {"landuse_plan", "urban_plan"} <= checked


def _near_touching(conn: Connection, crs: OgcCrs) -> tuple[str, str]:
    """A multipolygon built in ``crs``: a square, and a rectangle 0.4 grid cells to its
    right, all other vertices on the grid; WKT and the SQL that moves it to storage."""
    if crs.geographic:
        x0, y0, size, gap = 119.2, 34.6, 1e-3, 0.4e-8
        to_storage = f"ST_GeomFromText(:wkt, {STORAGE_SRID})"
    else:
        base = WGS84_SRID if crs.srid == WEB_MERCATOR_SRID else STORAGE_SRID
        x0, y0 = conn.execute(
            text(
                "SELECT round(ST_X(p)), round(ST_Y(p)) FROM"
                f" ST_Transform(ST_SetSRID(ST_MakePoint(119.2, 34.6), {base}), {crs.srid}) AS p"
            )
        ).one()
        size, gap = 100.0, 0.4e-3
        to_storage = (
            f"ST_SetSRID(ST_Transform(ST_GeomFromText(:wkt, {crs.srid}), {base}), {STORAGE_SRID})"
        )
    x0, y0 = float(x0), float(y0)
    square = shapely.box(x0, y0, x0 + size, y0 + size)
    beside = shapely.box(x0 + size + gap, y0 + size / 10, x0 + 2 * size, y0 + size * 0.9)
    return shapely.MultiPolygon([square, beside]).wkt, to_storage


@pytest.mark.parametrize("crs", served(), ids=lambda c: c.name)
def test_near_touching_multipolygon_is_valid_in_each_crs(conn: Connection, crs: OgcCrs) -> None:
    """Rounding alone makes the two parts share an edge (invalid); the served geometry is
    one valid multipolygon of the same area."""
    wkt, to_storage = _near_touching(conn, crs)
    plain = f"ST_AsGeoJSON({geometry_sql('t.geom', crs)}, {crs.digits}, 0)"
    served = geojson_sql("t.geom", crs, "MultiPolygon")
    before, after = conn.execute(
        text(f"SELECT {plain}, {served} FROM (SELECT {to_storage} AS geom) AS t"), {"wkt": wkt}
    ).one()
    rounded, reduced = shapely.from_geojson(before), shapely.from_geojson(after)
    assert not shapely.is_valid(rounded)
    assert shapely.is_valid(reduced), shapely.is_valid_reason(reduced)
    assert reduced.geom_type == "MultiPolygon"
    assert reduced.area == pytest.approx(rounded.area, rel=1e-9)


@pytest.mark.parametrize("crs", served(), ids=lambda c: c.name)
def test_polygon_smaller_than_the_grid_comes_out_empty(conn: Connection, crs: OgcCrs) -> None:
    tiny = "MULTIPOLYGON(((119.2 34.6, 119.2000000001 34.6, 119.2 34.6000000001, 119.2 34.6)))"
    served = geojson_sql("t.geom", crs, "MultiPolygon")
    text_out = conn.execute(
        text(f"SELECT {served} FROM (SELECT ST_GeomFromText(:wkt, 4490) AS geom) AS t"),
        {"wkt": tiny},
    ).scalar_one()
    geometry = shapely.from_geojson(text_out)
    assert geometry.is_empty and shapely.is_valid(geometry)


def test_report_background_layers_are_valid(engine: Engine, run_id: int) -> None:
    """The plan layers drawn under a run's HTML report (6 decimals) are valid."""
    failures = []
    with engine.connect() as conn:
        versions = conn.execute(text("SELECT id FROM plans.layer_versions")).scalars().all()
        for lv in versions:
            rows = conn.execute(
                named_sql(reports.__name__, "background"), {"lv": lv, "limit": 100_000}
            ).all()
            for row in rows:
                geometry = shapely.from_geojson(row.geojson)
                if not shapely.is_valid(geometry):
                    failures.append(f"{lv}/{row.source_fid}: {shapely.is_valid_reason(geometry)}")
    assert not failures, "\n".join(failures)
