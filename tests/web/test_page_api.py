"""The one-map page and its JSON routes over HTTP (no browser): the page names no other host,
the layer catalogue follows the registry, the colours data and gis.crs, coordinates are
converted by gis.crs with OGC errors for bad input, and a run's report is its summaries."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fiona
import httpx
import pyproj
import pytest
from sqlalchemy import Engine

from gis.crs import GK_ZONE40_SRID, STORAGE_SRID
from layers.colours import load_colours
from layers.conflict_summaries import summary_by_county, summary_by_type
from layers.reports import write_report
from layers.rules import load_rules
from layers.settings import PlanSettings
from services.ogcapi import tiles
from tests.conftest import SAMPLE
from tests.web.conftest import Keys

MANIFEST = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def http(page_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=page_server, timeout=60) as client:
        yield client


def _ogc_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "type", "description"}, body
    return str(body["description"])


# --- the page -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/map"])
def test_the_page_is_served_and_loads_only_from_this_host(http: httpx.Client, path: str) -> None:
    page = http.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<html lang="zh-CN">' in html and "连云港一张图" in html
    assert "default-src 'self'" in html and "connect-src 'self'" in html
    loaded = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert loaded and all(url.startswith(("/", "#")) for url in loaded), loaded
    for url in loaded:
        if url.startswith("/"):
            assert http.get(url).status_code == 200, url
    assert 'data-tab="sitecheck"' in html and 'id="panel-sitecheck"' in html  # the site check


# --- the layer catalogue ---------------------------------------------------------------------


def test_the_catalogue_lists_the_public_layers_with_their_tiles(
    http: httpx.Client, conflict_run: int
) -> None:
    document = http.get("/map/api/layers").json()
    assert document["tileMatrixSet"] == "TiandituC" and document["zoomOffset"] == 1
    layers = {entry["id"]: entry for entry in document["layers"]}
    plans = {"plans.landuse_plan", "plans.urban_plan", "plans.current_use"}
    controls = {"plans.eco_redline", "plans.basic_farmland", "plans.dev_boundary"}
    assert {k for k, v in layers.items() if v["kind"] == "plan"} == plans
    assert {k for k, v in layers.items() if v["kind"] == "control"} == controls
    assert layers[f"conflicts.run{conflict_run}"]["kind"] == "conflicts"
    assert [e["id"] for e in document["layers"] if e["kind"] == "conflicts"] == [
        f"conflicts.run{conflict_run}"
    ]  # the latest run only
    assert {"cells", "buildings", "admin_areas"} <= set(layers)
    assert not {"houses", "households", "persons"} & set(layers)
    kinds = [e["kind"] for e in document["layers"]]
    assert kinds == sorted(kinds, key=["plan", "conflicts", "grid", "control"].index)
    for entry in document["layers"]:
        assert entry["tiles"] == (
            f"/ogc/collections/{entry['id']}/tiles/TiandituC/{{z}}/{{y}}/{{x}}"
        )
    assert (layers["buildings"]["minzoom"], layers["cells"]["minzoom"]) == (14, 11)


def test_every_layer_answers_tiles_at_its_first_level(http: httpx.Client) -> None:
    """Row before column: the tile holding the layer's middle has features in it."""
    for entry in http.get("/map/api/layers").json()["layers"]:
        west, south, east, north = entry["bbox"]
        level = entry["minzoom"] + 3
        size = 360 / 2**level
        col, row = int(((west + east) / 2 + 180) / size), int((90 - (south + north) / 2) / size)
        url = entry["tiles"].format(z=level, y=row, x=col)
        answer = http.get(url)
        assert answer.status_code in (200, 204), (url, answer.status_code)
        swapped = http.get(entry["tiles"].format(z=level, y=col, x=row))
        assert swapped.status_code == 404, "a swapped row and column must fall outside the matrix"
        below = http.get(entry["tiles"].format(z=entry["minzoom"] - 1, y=0, x=0))
        assert below.status_code == 404


def test_the_legend_is_the_colour_data_and_the_rules(http: httpx.Client) -> None:
    legend = http.get("/map/api/layers").json()["legend"]
    colours = load_colours()
    assert legend["colours"] == {code: c.hex for code, c in colours.own.items()}
    assert [(c["code"], c["colour"]) for c in legend["landuse"]] == sorted(
        colours.first_level().items()
    )

    def fallback(code: str) -> str | None:  # symbols.js's landuseColour
        for length in (6, 4, 2):
            if len(code) >= length and code[:length] in legend["colours"]:
                return str(legend["colours"][code[:length]])
        return None

    assert all(fallback(code) == colours.colour_of(code) for code in colours.names)
    assert legend["conflictTypes"]["build_on_basic_farmland"]["label"] == "建设占用永久基本农田"
    assert set(legend["severity"]) == {"hard", "major", "minor"}


def test_the_coordinate_systems_are_gis_crs(http: httpx.Client) -> None:
    crs = http.get("/map/api/layers").json()["crs"]
    projected = crs["display"]["projected"]
    assert projected["id"] == f"EPSG:{GK_ZONE40_SRID}"
    ours = pyproj.CRS.from_proj4(projected["proj4"])
    x, y = pyproj.Transformer.from_crs(STORAGE_SRID, ours, always_xy=True).transform(119.2, 34.6)
    ex, ey = pyproj.Transformer.from_crs(STORAGE_SRID, GK_ZONE40_SRID, always_xy=True).transform(
        119.2, 34.6
    )
    assert abs(x - ex) < 1e-6 and abs(y - ey) < 1e-6
    assert {"GCJ02", "BD09", f"EPSG:{STORAGE_SRID}"} <= {c["id"] for c in crs["search"]}
    for system in crs["search"]:  # the site check draws red lines given in the EPSG ones
        if not system["id"].startswith("EPSG:"):
            assert system["proj4"] is None
            continue
        given = pyproj.CRS.from_proj4(system["proj4"])
        moved = pyproj.Transformer.from_crs(STORAGE_SRID, given, always_xy=True)
        truth = pyproj.Transformer.from_crs(STORAGE_SRID, system["id"], always_xy=True)
        for a, b in zip(moved.transform(119.2, 34.6), truth.transform(119.2, 34.6), strict=True):
            assert abs(a - b) < 1e-4, system


def test_the_site_checks_are_the_rule_files(http: httpx.Client, keys: Keys) -> None:
    rules = load_rules(PlanSettings().rules_file).site_checks
    for key in (None, keys.planner):
        document = http.get("/map/api/layers", headers={"X-API-Key": key} if key else {}).json()
        assert document["siteCheck"]["public"] is False  # ONEMAP_PROCESSES_PUBLIC_SITE_CHECK
        checks = document["siteCheck"]["checks"]
        assert list(checks) == list(rules)
        for name, rule in rules.items():
            shown = {"label": rule.label, "check": rule.check, "verdict": rule.verdict}
            assert checks[name] == shown
    assert checks["dev_boundary"]["check"] == "outside"


def test_a_key_sees_the_same_layers(http: httpx.Client, keys: Keys) -> None:
    anonymous = http.get("/map/api/layers").json()["layers"]
    keyed = http.get("/map/api/layers", headers={"X-API-Key": keys.worker}).json()["layers"]
    assert keyed == anonymous  # the keyed collections are read as features, not drawn
    assert http.get("/map/api/layers", headers={"X-API-Key": "lyg_" + "x" * 43}).status_code == 401


# --- coordinates -----------------------------------------------------------------------------


def test_a_phone_map_point_converts_to_its_true_place(http: httpx.Client) -> None:
    truth = {t["event_id"]: (t["lon"], t["lat"]) for t in MANIFEST["events"]["truth"]}
    with (SAMPLE / "inputs" / "events_gcj02.csv").open(encoding="utf-8") as handle:
        events = [row for row in csv.DictReader(handle) if row["event_id"] in truth]
    assert len(events) == len(truth) == 20
    for event in events:
        answer = http.get(
            "/map/api/coordinates", params={"crs": "GCJ02", "x": event["lon"], "y": event["lat"]}
        )
        assert answer.status_code == 200, answer.text
        point = answer.json()
        assert (point["from"], point["to"]) == ("GCJ02", f"EPSG:{STORAGE_SRID}")
        lon, lat = truth[event["event_id"]]
        assert abs(point["x"] - lon) < 1e-7 and abs(point["y"] - lat) < 1e-7, event


def test_gauss_kruger_in_and_out(http: httpx.Client) -> None:
    there = http.get(
        "/map/api/coordinates",
        params={"crs": "EPSG:4490", "x": "119.2", "y": "34.6", "to": "EPSG:4528"},
    )
    point = there.json()
    assert point["to"] == f"EPSG:{GK_ZONE40_SRID}" and 40_000_000 < point["x"] < 41_000_000
    back = http.get(
        "/map/api/coordinates",
        params={
            "crs": "http://www.opengis.net/def/crs/EPSG/0/4528",
            "x": point["x"],
            "y": point["y"],
        },
    ).json()
    assert abs(back["x"] - 119.2) < 1e-9 and abs(back["y"] - 34.6) < 1e-9


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"x": "1", "y": "2"}, "crs is missing"),
        ({"crs": "GCJ02", "y": "2"}, "x is missing"),
        ({"crs": "GCJ02", "x": "abc", "y": "2"}, "not a number"),
        ({"crs": "GCJ02", "x": "inf", "y": "2"}, "not a finite number"),
        ({"crs": "EPSG:999999", "x": "1", "y": "2"}, "EPSG:999999"),
        ({"crs": "no-such-crs", "x": "1", "y": "2"}, "unknown CRS"),
        ({"crs": "GCJ02", "x": "1", "y": "2", "to": "nowhere"}, "unknown CRS"),
        ({"crs": "EPSG:4528", "x": "1", "y": "2"}, "outside"),
        ({"crs": "GCJ02", "x": "1", "y": "2", "zoom": "3"}, "unknown parameter"),
    ],
)
def test_bad_coordinates_are_ogc_400s(
    http: httpx.Client, params: dict[str, str], says: str
) -> None:
    description = _ogc_error(http.get("/map/api/coordinates", params=params), 400)
    assert says in description
    assert "/work" not in description and ".yaml" not in description  # no server path


def test_a_repeated_parameter_is_a_400(http: httpx.Client) -> None:
    answer = http.get("/map/api/coordinates?crs=GCJ02&x=1&x=2&y=3")
    assert "give x once" in _ogc_error(answer, 400)


# --- conflict reports ------------------------------------------------------------------------


def test_a_runs_report_is_its_stored_summaries(
    http: httpx.Client, engine: Engine, conflict_run: int
) -> None:
    document: dict[str, Any] = http.get(f"/map/api/conflicts/{conflict_run}").json()
    with engine.connect() as conn:
        by_type = summary_by_type(conn, conflict_run)
        by_county = summary_by_county(conn, conflict_run)
    assert document["run"]["id"] == conflict_run
    assert [(t["type"], t["patches"], round(t["area_mu"], 6)) for t in document["types"]] == [
        (t.type, t.patches, round(t.area_mu, 6)) for t in by_type
    ]
    assert sum(c["patches"] for c in document["counties"]) == sum(t.patches for t in by_type)
    assert len(document["counties"]) == len(by_county) > 0
    assert [layer["layer"] for layer in document["run"]["layers"]] == ["urban_plan", "landuse_plan"]
    hrefs = {link["type"]: link["href"] for link in document["links"]}
    geojson = http.get(hrefs["application/geo+json"])
    assert geojson.status_code == 200
    assert geojson.json()["numberMatched"] == sum(t.patches for t in by_type)
    assert http.get(hrefs["text/html"]).status_code == 200


def test_a_runs_report_files_are_the_clis(
    http: httpx.Client, engine: Engine, conflict_run: int, tmp_path: Path
) -> None:
    """The GeoPackage, the CSV summaries and the offline map, as `onemap plans report`
    writes them (the same function, run here into a directory of the test's)."""
    document: dict[str, Any] = http.get(f"/map/api/conflicts/{conflict_run}").json()
    files = {
        link["title"]: link["href"] for link in document["links"] if link["rel"] == "enclosure"
    }
    assert len(files) == 4
    with engine.connect() as conn:
        written = write_report(conn, conflict_run, tmp_path / "cli")
        by_type = summary_by_type(conn, conflict_run)
    answers = {href.rsplit("/", 1)[1]: http.get(href) for href in files.values()}
    assert {n: a.status_code for n, a in answers.items()} == dict.fromkeys(answers, 200)
    assert answers["summary.csv"].content == written.summary_csv.read_bytes()
    assert answers["counties.csv"].content == written.county_csv.read_bytes()
    assert answers["summary.csv"].headers["content-type"].startswith("text/csv")
    disposition = answers["gpkg"].headers["content-disposition"]
    assert disposition == f'attachment; filename="run-{conflict_run}.gpkg"'
    served = tmp_path / "served.gpkg"
    served.write_bytes(answers["gpkg"].content)
    with fiona.open(served, layer="patches") as patches:
        assert len(patches) == sum(t.patches for t in by_type)
    assert "<html" in answers["html"].text.lower()


def test_report_files_refuse_unknown_names_and_runs(http: httpx.Client, conflict_run: int) -> None:
    missing = http.get(f"/map/api/conflicts/{conflict_run}/files/run.shp")
    assert "no report file 'run.shp'" in _ogc_error(missing, 404)
    assert "no conflict run 987654" in _ogc_error(
        http.get("/map/api/conflicts/987654/files/gpkg"), 404
    )
    assert "not a run number" in _ogc_error(http.get("/map/api/conflicts/x/files/gpkg"), 400)


def test_unknown_and_malformed_runs(http: httpx.Client) -> None:
    assert "no conflict run 987654" in _ogc_error(http.get("/map/api/conflicts/987654"), 404)
    assert "not a run number" in _ogc_error(http.get("/map/api/conflicts/run1"), 400)


def test_the_zoom_limits_are_the_tile_routes(http: httpx.Client) -> None:
    """The catalogue's levels are the tile routes' own (services/ogcapi/tiles.py)."""
    document = http.get("/map/api/layers").json()
    levels = {e["id"]: (e["minzoom"], e["maxzoom"]) for e in document["layers"]}
    tileset = http.get("/ogc/collections/buildings/tiles/TiandituC").json()
    assert levels["buildings"] == (int(tileset["minTileMatrix"]), int(tileset["maxTileMatrix"]))
    assert tiles.TILE_SETS[-1] == document["tileMatrixSet"]
