"""OGC API – Features Part 3 over real HTTP: CQL2 text and JSON against the same SQL,
queryables, spatial predicates on the GiST index, property comparisons."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import Engine, text

from services.ogcapi.feature_sql import items_statement
from services.ogcapi.params import items_request
from services.ogcapi.sources import GRID_SPECS


def _ids(ogc: httpx.Client, collection: str = "buildings", **params: str) -> list[int]:
    response = ogc.get(f"collections/{collection}/items", params={"limit": "10000", **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["numberMatched"] == len(body["features"])
    return [f["id"] for f in body["features"]]


def _sql_ids(engine: Engine, where: str, **values: object) -> list[int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(f"SELECT id FROM grid.buildings WHERE {where} ORDER BY id"), values
        )
        return list(rows.scalars())


@pytest.mark.parametrize(
    ("cql", "where"),
    [
        ("floors > 5 AND use = 'residential'", "floors > 5 AND use = 'residential'"),
        ("floors BETWEEN 2 AND 6", "floors BETWEEN 2 AND 6"),
        ("use IN ('commercial', 'mixed')", "use IN ('commercial', 'mixed')"),
        ("NOT (floors < 3) OR straddles = true", "NOT (floors < 3) OR straddles"),
        ("name LIKE '%1%'", "name LIKE '%1%'"),
        ("name IS NULL", "name IS NULL"),
        ("cell_id IS NOT NULL AND floors <> 1", "cell_id IS NOT NULL AND floors <> 1"),
        ("floors = version", "floors = version"),
        ("updated_at > TIMESTAMP('2000-01-01T00:00:00Z')", "updated_at > '2000-01-01'"),
    ],
)
def test_cql2_text_matches_sql(ogc: httpx.Client, engine: Engine, cql: str, where: str) -> None:
    assert _ids(ogc, filter=cql) == _sql_ids(engine, where)


def test_cql2_json_equals_cql2_text(ogc: httpx.Client) -> None:
    document = {
        "op": "and",
        "args": [
            {"op": ">", "args": [{"property": "floors"}, 2]},
            {"op": "in", "args": [{"property": "use"}, ["residential", "mixed"]]},
        ],
    }
    as_json = _ids(ogc, filter=json.dumps(document), **{"filter-lang": "cql2-json"})
    as_text = _ids(ogc, filter="floors > 2 AND use IN ('residential', 'mixed')")
    assert as_json == as_text


def test_spatial_predicates_match_postgis(ogc: httpx.Client, engine: Engine) -> None:
    with engine.connect() as conn:
        x0, y0, x1, y1 = conn.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT"
                " ST_Extent(geom) e FROM (SELECT geom FROM grid.buildings ORDER BY id LIMIT 5) s) s"
            )
        ).one()
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    polygon = f"POLYGON(({x0} {y0}, {xm} {y0}, {xm} {ym}, {x0} {ym}, {x0} {y0}))"
    box = {"a": x0, "b": y0, "c": xm, "d": ym}
    envelope = "ST_MakeEnvelope(:a, :b, :c, :d, 4490)"
    intersecting = _sql_ids(engine, f"ST_Intersects(geom, {envelope})", **box)
    assert _ids(ogc, filter=f"S_INTERSECTS(geometry, {polygon})") == intersecting
    assert _ids(ogc, filter=f"S_INTERSECTS(geometry, BBOX({x0},{y0},{xm},{ym}))") == intersecting
    within = _sql_ids(engine, f"ST_Within(geom, {envelope})", **box)
    assert _ids(ogc, filter=f"S_WITHIN(geometry, {polygon})") == within
    disjoint = _sql_ids(engine, f"NOT ST_Intersects(geom, {envelope})", **box)
    assert _ids(ogc, filter=f"S_DISJOINT(geometry, {polygon})") == disjoint
    as_json = {
        "op": "s_intersects",
        "args": [
            {"property": "geometry"},
            {
                "type": "Polygon",
                "coordinates": [[[x0, y0], [xm, y0], [xm, ym], [x0, ym], [x0, y0]]],
            },
        ],
    }
    assert _ids(ogc, filter=json.dumps(as_json), **{"filter-lang": "cql2-json"}) == intersecting


def test_spatial_filter_and_bbox_use_the_gist_index(engine: Engine) -> None:
    spec = GRID_SPECS[2]
    request = items_request(
        [
            ("filter", "S_INTERSECTS(geometry, POLYGON((119 34, 119.1 34, 119.1 34.1, 119 34)))"),
            ("bbox", "119,34,119.2,34.2"),
        ],
        spec,
        10,
        1000,
    )
    statement = items_statement(spec, request, 1000)
    with engine.connect() as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cursor:
            cursor.execute("EXPLAIN " + statement.sql, statement.values)
            plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "idx_buildings_geom" in plan


def test_queryables_per_collection(ogc: httpx.Client) -> None:
    body = ogc.get("collections/buildings/queryables").json()
    assert body["type"] == "object"
    assert body["properties"]["geometry"]["format"] == "geometry-polygon"
    assert body["properties"]["floors"]["type"] == "integer"
    assert body["properties"]["updated_at"]["format"] == "date-time"
    assert "address_parts" not in body["properties"]  # objects are not comparable
    areas = ogc.get("collections/admin_areas/queryables").json()["properties"]
    assert {"code", "level", "parent_code", "geometry"} <= set(areas)
    assert ogc.get("collections/nothing/queryables").status_code == 404


def test_filtered_counts_are_exact(ogc: httpx.Client, engine: Engine) -> None:
    body = ogc.get(
        "collections/buildings/items", params={"filter": "floors >= 1", "limit": 2}
    ).json()
    assert body["numberMatched"] == len(_sql_ids(engine, "floors >= 1"))
    assert body["numberReturned"] == 2
