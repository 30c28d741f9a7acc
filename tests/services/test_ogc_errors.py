"""Bad input to the OGC API: always OGC exception JSON with 400 or 404, never a 500, and
nothing reaches SQL unparameterised (the tables are intact after injection attempts)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import Engine, text


def _error(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "type", "description"}
    assert body["description"]
    return dict(body)


def test_unknown_collection_and_item_are_404(ogc: httpx.Client) -> None:
    assert _error(ogc.get("collections/nope"), 404)["code"] == "NotFound"
    _error(ogc.get("collections/nope/items"), 404)
    _error(ogc.get("collections/buildings/items/999999999"), 404)
    _error(ogc.get("collections/buildings/items/not-a-number"), 404)
    _error(ogc.get("collections/buildings/items/99999999999999999999999"), 404)
    _error(ogc.get("collections/admin_areas/items/000000000000"), 404)
    page = ogc.get("collections/buildings/items", params={"f": "html", "x": "1"})
    assert page.status_code == 400, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>400 InvalidParameterValue</h1>" in page.text


@pytest.mark.parametrize(
    "params",
    [
        {"bbox": "119,34,120"},
        {"bbox": "119,34,120,35,1"},
        {"bbox": "120,34,119,35"},
        {"bbox": "119,35,120,34"},
        {"bbox": "a,b,c,d"},
        {"bbox": "nan,34,120,35"},
        {"bbox": "200,34,210,35"},
        {"bbox": "119,34,120,95"},
        {"bbox": "-1e7,-1e7,1e7,1e7", "bbox-crs": "EPSG:4549"},
        {"bbox-crs": "EPSG:2385", "bbox": "1,2,3,4"},
        {"crs": "http://www.opengis.net/def/crs/EPSG/0/999999"},
        {"limit": "0"},
        {"limit": "-1"},
        {"limit": "ten"},
        {"limit": "1.5"},
        {"offset": "-3"},
        {"offset": "1e3"},
        {"offset": "99999999999999999999999"},
        {"datetime": "yesterday"},
        {"datetime": "2024-02-01/2024-01-01"},
        {"datetime": "../.."},
        {"sortby": "nope"},
        {"sortby": "geometry"},
        {"properties": "code,nope"},
        {"skipGeometry": "maybe"},
        {"f": "xml"},
        {"floors": "many"},
        {"straddles": "perhaps"},
        {"unknown": "1"},
        {"filter": "floors >"},
        {"filter": "floors > 'x'"},
        {"filter": "nope = 1"},
        {"filter": "S_INTERSECTS(geometry, POLYGON((0 0, 1 1, 0 1, 1 0, 0 0)))"},
        {"filter": "S_INTERSECTS(floors, POINT(119 34))"},
        {"filter": "upper(name) = 'X'"},
        {"filter": "floors + 1 > 2"},
        {"filter": "name LIKE 'abc\\'"},
        {"filter": "T_AFTER(updated_at, TIMESTAMP('2020-01-01T00:00:00Z'))"},
        {"filter": '{"op": "="', "filter-lang": "cql2-json"},
        {"filter": "[1, 2]", "filter-lang": "cql2-json"},
        {"filter": "floors > 1", "filter-lang": "sql"},
        {"filter": "floors > 1", "filter-crs": "EPSG:2000"},
        {"filter": "NOT (" * 600 + "floors > 1" + ")" * 600},
        {"filter": "name = 'a\x00b'"},
        {"cursor": "garbage"},
        {"cursor": "bjEzOGQ3YWM4WzE4NDBd", "sortby": "-floors"},
        {"cursor": "bjEzOGQ3YWM4WzE4NDBd", "offset": "5"},
        {"limit": "1", "limit2": "2"},
    ],
)
def test_bad_parameters_are_400(ogc: httpx.Client, params: dict[str, str]) -> None:
    body = _error(ogc.get("collections/buildings/items", params=params), 400)
    assert body["code"] == "InvalidParameterValue"


def test_repeated_parameter_is_400(ogc: httpx.Client) -> None:
    _error(ogc.get("collections/buildings/items?limit=1&limit=2"), 400)


def test_item_takes_only_its_parameters(ogc: httpx.Client) -> None:
    _error(ogc.get("collections/buildings/items/1", params={"limit": "3"}), 400)
    _error(ogc.get("collections/buildings/items/1", params={"crs": "EPSG:1"}), 400)


def test_limit_above_maximum_is_cut_not_refused(ogc: httpx.Client) -> None:
    body = ogc.get("collections/cells/items", params={"limit": str(10**9)}).json()
    assert body["numberReturned"] == body["numberMatched"]
    next_links = [lk for lk in body["links"] if lk["rel"] == "next"]
    assert not next_links


INJECTIONS = [
    "1; DROP TABLE grid.buildings; --",
    "' OR '1'='1",
    "1) OR (1=1",
    '"; DELETE FROM grid.cells; --',
    "$$; TRUNCATE grid.buildings; $$",
    "%(p0)s",
    "{where}",
]


@pytest.mark.parametrize("attack", INJECTIONS)
def test_injection_attempts_change_nothing(ogc: httpx.Client, engine: Engine, attack: str) -> None:
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM grid.buildings")).scalar_one()
    values = [{"use": attack}, {"address": attack}, {"code": attack}]
    for params in values:  # equality parameters: bound values, they match nothing
        response = ogc.get("collections/buildings/items", params=params)
        assert response.status_code == 200 and response.json()["numberReturned"] == 0
    attempts = [
        {"floors": attack},
        {"sortby": attack},
        {"properties": attack},
        {"crs": attack},
        {"bbox": attack},
        {"datetime": attack},
        {"filter": f"use = '{attack}'"},  # may close the CQL2 string: still bound values
        {"filter": attack},
        {"filter": f"{{\"op\": \"=\", \"args\": [{{\"property\": \"use\"}}, \"{attack}\"]}}",
         "filter-lang": "cql2-json"},
        {"cursor": attack},
        {attack: "1"},
    ]  # fmt: skip
    for params in attempts:
        response = ogc.get("collections/buildings/items", params=params)
        assert response.status_code in (200, 400), (params, response.text)
    assert ogc.get(f"collections/buildings/items/{attack}").status_code == 404
    assert ogc.get(f"collections/{attack}/items").status_code == 404
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM grid.buildings")).scalar_one() == before
        assert conn.execute(text("SELECT count(*) FROM grid.cells")).scalar_one() > 0
