"""MapLibre styles (services/ogcapi/styles.py) over real HTTP against the real app and
PostGIS, on the sample city with its plans imported and a conflict run: every style is a
well-formed style spec v8 document whose layers draw sources and source layers that our
TileJSON declares, every ``match`` has a fallback, plan features get the colours of
config/styles/landuse-2023-colours.csv (a code without its own colour its parent's; every
2023 code of the sample plans one), control lines their conventional lines, no URL leads to
another host, and unknown styles are 404 OGC bodies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from layers.colours import load_colours
from layers.conflicts import run_conflicts
from layers.loader import load_plans
from layers.rules import load_rules
from layers.settings import PlanSettings
from services.ogcapi import styles
from services.ogcapi.tile_documents import REL
from tests.conftest import SAMPLE

MAPBOX = "application/vnd.mapbox.style+json"
LAYER_TYPES = {"fill", "line", "circle", "symbol", "background", "fill-extrusion", "raster"}


@pytest.fixture(scope="module")
def conflict_run(city: Engine) -> int:
    """The sample's plans imported and a conflict run (城规 × 土规), before the app starts."""
    settings = PlanSettings()
    load_plans(city, SAMPLE, settings=settings)
    with city.begin() as conn:
        rules = load_rules(settings.rules_file)
        run = run_conflicts(conn, "urban_plan", ["landuse_plan"], rules=rules, settings=settings,
                            created_by="tests")  # fmt: skip
    return run.run_id


@pytest.fixture(scope="module")
def base(conflict_run: int, city_base: str) -> str:
    return f"{city_base}/ogc"


@pytest.fixture(scope="module")
def http(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{base}/", timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def listed(http: httpx.Client) -> dict[str, Any]:
    response = http.get("styles")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    found: dict[str, Any] = response.json()
    return found


@pytest.fixture(scope="module")
def all_styles(http: httpx.Client, listed: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every listed style, fetched by its stylesheet link."""
    found = {}
    for entry in listed["styles"]:
        link = next(x for x in entry["links"] if x["rel"] == "stylesheet")
        assert link["type"] == MAPBOX
        response = http.get(link["href"])
        assert response.status_code == 200, (entry["id"], response.text)
        assert response.headers["content-type"].startswith(MAPBOX)
        found[entry["id"]] = response.json()
    return found


@pytest.fixture(scope="module")
def plan_map(all_styles: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return all_styles[styles.PLAN_MAP]


def _expressions(value: Any) -> Iterator[list[Any]]:
    """Every expression (a list starting with an operator name) inside ``value``."""
    if isinstance(value, list):
        if value and isinstance(value[0], str):
            yield value
        for item in value:
            yield from _expressions(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _expressions(item)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)


def evaluate(expression: Any, properties: dict[str, Any]) -> Any:
    """The few expression operators our styles use, evaluated as MapLibre does."""
    if not isinstance(expression, list):
        return expression
    op, *args = expression
    if op == "get":
        return properties.get(args[0])
    if op == "to-string":
        value = evaluate(args[0], properties)
        return "" if value is None else str(value)
    if op == "match":
        value = evaluate(args[0], properties)
        cases, fallback = args[1:-1], args[-1]
        for label, output in zip(cases[::2], cases[1::2], strict=True):
            if value == label or (isinstance(label, list) and value in label):
                return evaluate(output, properties)
        return evaluate(fallback, properties)
    raise AssertionError(f"operator {op!r} not understood by the test")


def _plan_fill(style: dict[str, Any], layer: str) -> Any:
    return next(
        x["paint"]["fill-color"]
        for x in style["layers"]
        if x.get("source-layer") == layer and x["type"] == "fill"
    )


# --- the list and the links ------------------------------------------------------------------


def test_the_list_has_the_plan_map_and_every_collection(
    http: httpx.Client, listed: dict[str, Any]
) -> None:
    ids = [s["id"] for s in listed["styles"]]
    collections = [c["id"] for c in http.get("collections").json()["collections"]]
    assert ids == [styles.PLAN_MAP, *collections]
    assert "houses" not in ids  # keyed collections: not for anonymous callers
    assert http.get("styles/houses").status_code == 404


def test_links_lead_to_the_styles(http: httpx.Client, base: str) -> None:
    landing = {x["rel"]: x for x in http.get(base).json()["links"]}
    assert http.get(landing[f"{REL}/styles"]["href"]).status_code == 200
    assert landing["stylesheet"]["href"] == f"{base}/styles/plan-map?f=mapbox"
    collection = http.get("collections/plans.urban_plan").json()
    links = {x["rel"]: x for x in collection["links"]}
    assert links["stylesheet"]["type"] == MAPBOX
    assert links["stylesheet"]["href"] == f"{base}/styles/plans.urban_plan?f=mapbox"
    listed = http.get(links[f"{REL}/styles"]["href"]).json()
    assert [s["id"] for s in listed["styles"]] == ["plans.urban_plan"]
    assert listed["default"] == "plans.urban_plan"
    same = http.get("collections/plans.urban_plan/styles/plans.urban_plan")
    assert same.status_code == 200
    assert same.json() == http.get("styles/plans.urban_plan").json()
    tileset = http.get("collections/plans.urban_plan/tiles/WebMercatorQuad").json()
    sheet = next(x for x in tileset["links"] if x["rel"] == "stylesheet")
    assert sheet["href"] == links["stylesheet"]["href"]
    tilejson = http.get("collections/plans.urban_plan/tiles/WebMercatorQuad?f=tilejson").json()
    assert tilejson["style"] == sheet["href"]
    dataset = http.get("tiles/WebMercatorQuad?f=tilejson").json()
    assert dataset["style"] == f"{base}/styles/plan-map?f=mapbox"
    other = http.get("collections/plans.urban_plan/tiles/TiandituC").json()
    assert not [x for x in other["links"] if x["rel"] == "stylesheet"]  # styles draw WebMercator


# --- every style ---------------------------------------------------------------------------------


def test_every_style_is_well_formed(
    http: httpx.Client, all_styles: dict[str, dict[str, Any]]
) -> None:
    """Version 8; vector sources from our TileJSON; every layer's source and source layer
    exist (the source layer in the TileJSON's ``vector_layers``); ids unique; every
    ``match`` has labels, outputs and a fallback."""
    tilejsons: dict[str, dict[str, Any]] = {}
    for style_id, style in all_styles.items():
        assert style["version"] == 8, style_id
        assert "glyphs" not in style and "sprite" not in style  # no labels, no icons
        assert style["layers"], style_id
        layers = {}
        for name, source in style["sources"].items():
            assert source["type"] == "vector"
            if source["url"] not in tilejsons:
                response = http.get(source["url"])
                assert response.status_code == 200, source["url"]
                tilejsons[source["url"]] = response.json()
            layers[name] = {x["id"] for x in tilejsons[source["url"]]["vector_layers"]}
        ids = [x["id"] for x in style["layers"]]
        assert len(ids) == len(set(ids)), style_id
        for layer in style["layers"]:
            assert layer["type"] in LAYER_TYPES
            assert layer["source"] in layers, (style_id, layer["id"])
            assert layer["source-layer"] in layers[layer["source"]], (style_id, layer["id"])
            assert 0 <= layer.get("minzoom", 0) <= 24
            for key in layer.get("paint", {}):
                assert key.startswith(f"{layer['type']}-"), (layer["id"], key)
        for expression in _expressions(style["layers"]):
            if expression[0] == "match":
                assert len(expression) >= 5 and len(expression) % 2 == 1, expression[:4]
                for label in expression[2:-1:2]:
                    assert isinstance(label, str) or (
                        isinstance(label, list) and label and all(isinstance(v, str) for v in label)
                    )


def test_no_url_leads_elsewhere(base: str, all_styles: dict[str, dict[str, Any]]) -> None:
    for style_id, style in all_styles.items():
        urls = [s for s in _strings(style) if "://" in s or s.startswith("//")]
        assert urls, style_id
        assert all(u.startswith(f"{base}/") for u in urls), (style_id, urls)


def test_the_plan_map_draws_every_layer_at_its_zoom(plan_map: dict[str, Any]) -> None:
    layers = {x["source-layer"]: x for x in plan_map["layers"]}
    for wanted in ("plans.urban_plan", "plans.landuse_plan", "plans.eco_redline",
                   "plans.basic_farmland", "plans.dev_boundary", "cells", "buildings"):  # fmt: skip
        assert wanted in layers, wanted
    assert layers["buildings"]["minzoom"] == 14 and layers["cells"]["minzoom"] == 11
    assert [k for k in layers if k.startswith("conflicts.run")]  # the latest run's patches
    order = [x["source-layer"] for x in plan_map["layers"]]
    assert order.index("plans.urban_plan") < order.index("buildings")
    assert max(order.index(c) for c in ("cells", "buildings")) < min(
        order.index(c) for c in ("plans.eco_redline", "plans.dev_boundary")
    )  # control lines on top


def test_control_lines_have_their_conventional_lines(plan_map: dict[str, Any]) -> None:
    lines = {x["source-layer"]: x["paint"] for x in plan_map["layers"] if x["type"] == "line"}
    assert lines["plans.eco_redline"]["line-color"] == "#e60000"
    assert "line-dasharray" not in lines["plans.eco_redline"]
    assert lines["plans.dev_boundary"]["line-dasharray"]
    assert lines["plans.dev_boundary"]["line-color"] == "#8e24aa"
    fills = {x["source-layer"]: x["paint"] for x in plan_map["layers"] if x["type"] == "fill"}
    assert fills["plans.basic_farmland"]["fill-color"] == "#ffeb3b"
    assert isinstance(fills["plans.eco_redline"]["fill-color"], str)  # not by class


def test_conflict_patches_are_coloured_by_severity(plan_map: dict[str, Any]) -> None:
    fill = next(
        x["paint"]["fill-color"]
        for x in plan_map["layers"]
        if x["source-layer"].startswith("conflicts.") and x["type"] == "fill"
    )
    assert evaluate(fill, {"severity": "hard"}) == "#d7191c"
    assert evaluate(fill, {"severity": "minor"}) == "#ffffbf"
    assert evaluate(fill, {}) == "#bdbdbd"


# --- colours -------------------------------------------------------------------------------------


def test_a_code_has_the_colour_of_the_table(plan_map: dict[str, Any]) -> None:
    fill = _plan_fill(plan_map, "plans.urban_plan")
    assert evaluate(fill, {"code_2023": "0804"}) == "#ff85c9"  # 教育用地 255,133,201 in the CSV
    assert evaluate(fill, {"code_2023": "07"}) == "#ffff2d"  # 居住用地 255,255,45
    assert load_colours().own["0804"].hex == "#ff85c9"


def test_a_code_without_its_own_colour_takes_its_parents(plan_map: dict[str, Any]) -> None:
    colours = load_colours()
    assert "0302" not in colours.own  # 竹林地: no row of its own
    fill = _plan_fill(plan_map, "plans.urban_plan")
    assert evaluate(fill, {"code_2023": "0302"}) == colours.own["03"].hex
    assert evaluate(fill, {"code_2023": "070102"}) == colours.own["0701"].hex  # 3rd level
    assert evaluate(fill, {"code_2023": None}) == "#d9d9d9"  # no class: the unknown colour
    assert evaluate(fill, {"code_2023": "99"}) == "#d9d9d9"


def test_every_code_of_the_sample_plans_has_a_colour(
    city: Engine, all_styles: dict[str, dict[str, Any]]
) -> None:
    colours = load_colours()
    with city.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT DISTINCT l.id, f.code_2023 FROM plans.features AS f"
                " JOIN plans.layer_versions AS v ON v.id = f.layer_version_id"
                " JOIN plans.layers AS l ON l.id = v.layer_id WHERE f.code_2023 IS NOT NULL"
            )
        ).all()
    assert len({code for _, code in rows}) > 20
    for layer, code in rows:
        style = all_styles[f"plans.{layer}"]
        fill = _plan_fill(style, f"plans.{layer}")
        if isinstance(fill, str):  # a control line: one colour
            continue
        assert evaluate(fill, {"code_2023": code}) == colours.colour_of(code), (layer, code)
        assert colours.colour_of(code) is not None


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("styles/nope", 404),
        ("styles/plans.nope", 404),
        ("collections/cells/styles/buildings", 404),
        ("collections/nope/styles", 404),
        ("collections/nope/styles/nope", 404),
        ("styles/cells?f=sld", 400),
        ("styles?f=xml", 400),
    ],
)
def test_bad_requests_are_ogc_errors(http: httpx.Client, path: str, status: int) -> None:
    response = http.get(path)
    assert response.status_code == status, response.text
    body = response.json()
    assert {"code", "description"} <= set(body)
