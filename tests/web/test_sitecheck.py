"""The site check in the one-map page (选址审查), in headless Chromium against the real app and
the real ``onemap`` CLI on the same database:

- the site-check process's example polygon pasted as GeoJSON gets, check by check, the
  verdicts ``onemap plans sitecheck --geojson ... --json`` prints, with the same overlaps in
  m², 亩, ha and share (to the digits shown); the checks that did not pass are drawn on the
  map; the printable summary holds the table, the red line's area and points, the date;
- a polygon drawn by clicks is sent as exactly the clicked polygon and gets the CLI's answer
  for it; the clicks do not open the inspect panel;
- a 界址点 CSV (GBK, X = northing, as survey tables are) gets the CLI's verdicts on the file;
- anonymous users and grid workers are told why, and no execution is asked for.

Every page also passes conftest's checks: no request to another host, no console error, no
failed request. The site checks stored (by the page and the CLI) are removed afterwards.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import shapely
from playwright.sync_api import Request
from pyproj import Geod
from shapely.geometry import shape
from sqlalchemy import Engine, text

from gis.geometry import transform_geometry
from services.processes.definitions import site_check
from tests.processes.plan_files import onemap
from tests.web.conftest import SHOTS, Keys, Opener, Visit, sign_in

EXAMPLE = site_check.PROCESS.example["inputs"]
EXECUTION = "/ogc/processes/site-check/execution"
LABELS = {"pass": "通过", "warn": "警示", "fail": "不通过"}


@pytest.fixture(scope="module", autouse=True)
def _forget_site_checks(engine: Engine) -> Iterator[None]:
    """The checks the page and the CLI store here are removed afterwards."""
    with engine.connect() as conn:
        last = conn.execute(text("SELECT coalesce(max(id), 0) FROM plans.site_checks")).scalar()
    yield
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM plans.site_checks WHERE id > :s"), {"s": last})


def _cli(engine: Engine, *args: str) -> dict[str, Any]:
    url = engine.url.render_as_string(hide_password=False)
    done = onemap(url, "plans", "sitecheck", *args, "--json")
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def _open_site_check(seen: Visit) -> None:
    seen.page.click("button[data-tab=sitecheck]")


def _number(shown: str) -> float:
    return float(shown.replace(",", "").replace("%", "").strip())


def _run(seen: Visit) -> dict[str, Any]:
    """Press 审查 and wait for the answer to be shown and drawn: the request's body."""
    with seen.page.expect_request(lambda r: r.url.endswith(EXECUTION)) as asked:
        seen.page.click("#sitecheck-run")
    request: Request = asked.value
    assert request.method == "POST"
    assert request.headers.get("x-api-key"), "the signed-in key is sent"
    seen.wait("document.getElementById('sitecheck-result').dataset.highlighted", timeout=120)
    body: dict[str, Any] = request.post_data_json
    return body


def _keep(seen: Visit, name: str) -> None:
    """The whole page as a picture, when the screenshots are kept (ONEMAP_SCREENSHOTS)."""
    if SHOTS:
        seen.page.screenshot(path=str(Path(SHOTS) / f"web-{name}.png"))


def _geodesic_m2(collection: dict[str, Any]) -> float:
    """The area of a GeoJSON FeatureCollection's polygons on the CGCS2000 ellipsoid."""
    union = shapely.union_all([shape(f["geometry"]) for f in collection["features"]])
    area, _ = Geod(ellps="GRS80").geometry_area_perimeter(union)
    return abs(float(area))


def _assert_shows(seen: Visit, expected: dict[str, Any]) -> None:
    """The page shows the CLI's verdicts, overall and per check and layer, and its areas to
    the digits shown (m² and 亩 to 0.01, ha to 0.0001, share to 0.1 %)."""
    result = seen.page.locator("#sitecheck-result")
    assert result.get_attribute("data-verdict") == expected["verdict"]
    assert result.locator("h2 .verdict").inner_text() == LABELS[expected["verdict"]]
    area = result.locator(".site-area")
    for unit in ("m2", "mu"):
        shown = _number(area.locator(f".{unit}").inner_text())
        assert shown == pytest.approx(expected[f"area_{unit}"], abs=0.006)
    rows = seen.js(
        "[...document.querySelectorAll('#sitecheck-result tr.item')].map((r) => ({"
        " check: r.dataset.check, layer: r.dataset.layer, verdict: r.dataset.verdict,"
        " badge: r.querySelector('.verdict').textContent, m2: r.querySelector('.m2').textContent,"
        " mu: r.querySelector('.mu').textContent, ha: r.querySelector('.ha').textContent,"
        " share: r.querySelector('.share').textContent }))"
    )
    items = expected["items"]
    assert [(r["check"], r["layer"], r["verdict"]) for r in rows] == [
        (i["check"], i["layer_id"], i["verdict"]) for i in items
    ]
    for row, item in zip(rows, items, strict=True):
        assert row["badge"] == LABELS[item["verdict"]]
        assert _number(row["m2"]) == pytest.approx(item["overlap_m2"], abs=0.006), row
        assert _number(row["mu"]) == pytest.approx(item["overlap_mu"], abs=0.006), row
        assert _number(row["ha"]) == pytest.approx(item["overlap_ha"], abs=0.00006), row
        assert _number(row["share"]) / 100 == pytest.approx(item["share"], abs=0.0006), row
    hit = [i for i in items if i["verdict"] != "pass"]
    assert result.get_attribute("data-highlighted") == str(len(hit))
    drawn = seen.js("document.querySelectorAll('.leaflet-sitecheck-pane path').length")
    assert drawn >= 1 + len(hit), "the red line and an area per check not passed"
    shapes = seen.js("onemap.siteCheck.results.shapes()")
    for item in hit:  # each area drawn is the overlap the server measured
        drawn_area = _geodesic_m2(shapes[f"{item['check']}:{item['layer_id']}"])
        assert drawn_area == pytest.approx(item["overlap_m2"], rel=2e-3, abs=1.0), item["check"]


def test_the_example_pasted_gets_the_clis_verdicts(
    open_page: Opener, keys: Keys, engine: Engine
) -> None:
    seen = open_page(key=keys.planner)
    _open_site_check(seen)
    assert seen.page.inner_text("#sitecheck-access") == ""
    seen.page.check("input[name=sitecheck-mode][value=geojson]")
    seen.page.fill("#sitecheck-geojson", json.dumps(EXAMPLE["site"]))
    seen.page.fill("#sitecheck-use", EXAMPLE["use"])
    seen.page.fill("#sitecheck-name", EXAMPLE["name"])
    body = _run(seen)
    assert body == {"inputs": {"site": EXAMPLE["site"], "use": "0901", "name": "示例项目"}}
    expected = _cli(engine, "--geojson", json.dumps(EXAMPLE["site"]), "--use", EXAMPLE["use"],
                    "--name", EXAMPLE["name"])  # fmt: skip
    assert expected["verdict"] == "fail"
    _assert_shows(seen, expected)
    _keep(seen, "sitecheck-example")

    seen.page.emulate_media(media="print")
    _keep(seen, "sitecheck-print")
    assert not seen.page.locator("#map").is_visible()
    summary = seen.page.locator("#sitecheck-print")
    assert summary.is_visible()
    printed = summary.inner_text()
    assert "项目选址合规性审查摘要" in printed and EXAMPLE["name"] in printed
    assert f"{expected['area_m2']:,.2f} m²" in printed
    assert all(item["label"] in printed for item in expected["items"])
    assert all(f"{i['layer_id']} 第 {i['layer_version']} 版" in printed for i in expected["items"])
    points = summary.locator("table.vertices tr").count() - 1
    assert points == len(EXAMPLE["site"]["coordinates"][0]) - 1
    first = EXAMPLE["site"]["coordinates"][0][0]
    assert f"{first[0]:.7f}" in printed and f"{first[1]:.7f}" in printed
    assert f"{seen.js('new Date().getFullYear()')}/" in printed  # the date it was checked
    seen.page.emulate_media(media="screen")
    assert not seen.problems(), "\n".join(seen.problems())


def _drawn_in_place(seen: Visit) -> None:
    """The red line is drawn where the example's square is (to a decimetre or so)."""
    drawn = seen.js(
        "(() => { const b = onemap.siteCheck.results.redLine().getBounds();"
        " return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; })()"
    )
    truth = shapely.Polygon(EXAMPLE["site"]["coordinates"][0]).bounds
    assert drawn == pytest.approx(list(truth), abs=2e-6), "the red line is not drawn in place"


@pytest.mark.parametrize("crs", ["EPSG:4528", "GCJ02"])
def test_geojson_in_another_crs_gets_the_clis_verdicts(
    open_page: Opener, keys: Keys, engine: Engine, crs: str
) -> None:
    """Zone 40 Gauss-Krüger is drawn by proj4 in the page, GCJ-02 by the server's
    conversion (/map/api/coordinates); the process reads either as the CLI does."""
    square = shapely.Polygon(EXAMPLE["site"]["coordinates"][0])
    moved = shapely.geometry.mapping(transform_geometry(square, "EPSG:4490", crs))
    site = json.loads(json.dumps(moved))  # tuples as lists, as the page sends them
    seen = open_page(key=keys.planner)
    _open_site_check(seen)
    seen.page.check("input[name=sitecheck-mode][value=geojson]")
    seen.page.fill("#sitecheck-geojson", json.dumps(site))
    seen.page.select_option("#sitecheck-geojson-crs", crs)
    body = _run(seen)
    assert body == {"inputs": {"site": site, "crs": crs}}
    _assert_shows(seen, _cli(engine, "--geojson", json.dumps(site), "--crs", crs))
    _drawn_in_place(seen)
    converted = [u for u in seen.requests if "/map/api/coordinates" in u]
    assert len(converted) == (len(site["coordinates"][0]) if crs == "GCJ02" else 0)
    assert not seen.problems(), "\n".join(seen.problems())


def test_a_polygon_drawn_by_clicks_is_the_red_line_sent(
    open_page: Opener, keys: Keys, engine: Engine
) -> None:
    lon, lat = 119.357, 34.61668  # the example's square, on 永久基本农田
    seen = open_page(hash=f"#map=16/{lat}/{lon}&base=vec&layers=", key=keys.planner)
    _open_site_check(seen)
    box = seen.page.locator("#map").bounding_box()
    assert box
    cx, cy = round(box["x"] + box["width"] / 2), round(box["y"] + box["height"] / 2)  # whole pixels
    offsets = [(-60, -50), (70, -40), (60, 55), (-50, 45)]
    expected_ring = [  # where Leaflet puts a click there (its mouseEventToLatLng)
        seen.js(
            f"(() => {{ const p = onemap.map.mouseEventToLatLng({{clientX: {cx + dx},"
            f" clientY: {cy + dy}}}); return [p.lng, p.lat]; }})()"
        )
        for dx, dy in offsets
    ]
    before = len(seen.requests)
    seen.page.click("#sitecheck-draw")
    for dx, dy in offsets:
        seen.page.mouse.click(cx + dx, cy + dy)
        seen.page.wait_for_timeout(150)
    assert seen.js("onemap.siteCheck.drawing.count()") == len(offsets)
    seen.page.mouse.click(cx + offsets[0][0] + 2, cy + offsets[0][1] - 1)  # on the first vertex
    assert seen.js("onemap.state.drawing") is False
    assert "4 个拐点" in seen.page.inner_text("#sitecheck-drawn")
    assert not any("S_INTERSECTS" in u for u in seen.requests[before:]), "clicks inspected"
    assert seen.js("document.querySelector('.tabs .active').dataset.tab") == "sitecheck"
    body = _run(seen)
    inputs = body["inputs"]
    assert inputs["crs"] == "EPSG:4490" and set(inputs) == {"site", "crs"}
    ring = inputs["site"]["coordinates"][0]
    assert inputs["site"]["type"] == "Polygon" and len(ring) == len(offsets) + 1
    assert ring[0] == ring[-1]
    for sent, clicked in zip(ring, expected_ring, strict=False):
        assert sent == pytest.approx(clicked, abs=1e-7)
    expected = _cli(engine, "--geojson", json.dumps(inputs["site"]))
    _assert_shows(seen, expected)
    _keep(seen, "sitecheck-drawn")
    assert not seen.problems(), "\n".join(seen.problems())


def _boundary_points_csv(folder: Path) -> tuple[Path, list[list[float]]]:
    """The example's square as 界址点 in CGCS2000 zone 40 (EPSG:4528), X = northing first as
    survey tables write it, encoded in GBK as a spreadsheet saves it on a Chinese desktop."""
    square = shapely.Polygon(EXAMPLE["site"]["coordinates"][0])
    projected = transform_geometry(square, "EPSG:4490", "EPSG:4528")
    corners = [(round(e, 3), round(n, 3)) for e, n in list(projected.exterior.coords)[:-1]]
    path = folder / "界址点.csv"
    with path.open("w", newline="", encoding="gbk") as handle:
        writer = csv.writer(handle)
        writer.writerow(["点号", "X", "Y", "备注"])
        for number, (east, north) in enumerate(corners, start=1):
            writer.writerow([f"J{number}", f"{north:.3f}", f"{east:.3f}", "界址桩"])
    return path, [[north, east] for east, north in corners]


def test_a_boundary_point_csv_gets_the_clis_verdicts(
    open_page: Opener, keys: Keys, engine: Engine, tmp_path: Path
) -> None:
    path, points = _boundary_points_csv(tmp_path)
    seen = open_page(key=keys.admin)
    _open_site_check(seen)
    seen.page.check("input[name=sitecheck-mode][value=points]")
    assert seen.page.input_value("#sitecheck-points-crs") == "EPSG:4528"
    seen.page.set_input_files("#sitecheck-csv", str(path))
    info = seen.wait("document.getElementById('sitecheck-csv-info').textContent")
    assert "4 个界址点" in info and "X、Y" in info
    body = _run(seen)
    assert body["inputs"] == {
        "points": points, "crs": "EPSG:4528", "axes": "auto", "name": "界址点"
    }  # fmt: skip
    expected = _cli(engine, str(path), "--crs", "EPSG:4528")
    assert any("X = northing" in note for note in expected["notes"])
    _assert_shows(seen, expected)
    _keep(seen, "sitecheck-points")
    _drawn_in_place(seen)
    assert not seen.problems(), "\n".join(seen.problems())


def test_without_rights_no_check_is_asked_for(open_page: Opener, keys: Keys) -> None:
    seen = open_page()
    _open_site_check(seen)
    assert "需要登录" in seen.page.inner_text("#sitecheck-access")
    seen.page.check("input[name=sitecheck-mode][value=geojson]")
    seen.page.fill("#sitecheck-geojson", json.dumps(EXAMPLE["site"]))
    seen.page.click("#sitecheck-run")
    assert "请先登录" in seen.wait("document.getElementById('sitecheck-message').textContent")
    assert "需要登录" in seen.page.inner_text("#sitecheck-access")
    _keep(seen, "sitecheck-anonymous")
    sign_in(seen, keys.worker)
    _open_site_check(seen)
    assert "网格员" in seen.page.inner_text("#sitecheck-access")
    seen.page.click("#sitecheck-run")
    seen.page.wait_for_timeout(500)
    assert not [u for u in seen.requests if "/processes" in u], "a check was asked for"
    assert seen.page.inner_text("#sitecheck-result") == ""
    assert not seen.problems(), "\n".join(seen.problems())
