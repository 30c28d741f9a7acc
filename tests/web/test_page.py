"""The one-map page in headless Chromium, offline: every request not to the app is aborted
and fails the test, as does any console error or failed request.

- the page loads cleanly; base-map tiles come from our Tianditu-compatible WMTS on set ``c``
  at Tianditu's level (Leaflet's zoom + 1) and vector tiles from ``TiandituC`` with
  ``{z}/{row}/{col}`` meeting the view (checked against our tile matrix set);
- the base maps switch, and each layer draws (the map's pixels change when it is switched);
- clicking a building shows its code; searching a cell code centres the map on the cell; a
  GCJ-02 point lands at its true CGCS2000 place (the sample's truth);
- a grid worker sees their cells highlighted and their buildings' households; an admin sees
  a building's persons, masked; an anonymous page never receives person data;
- the conflict report, the mouse position in CGCS2000 and zone 40, and the permalink.

One browser for the module (conftest's fixtures); each test opens its own context.
"""

from __future__ import annotations

import csv
import json
import re
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pyproj
import pytest
from sqlalchemy import Engine, text

from gis.crs import GK_ZONE40_SRID, STORAGE_SRID
from gis.tms import Tile, tile_bounds
from layers.conflict_summaries import summary_by_type
from tests.conftest import SAMPLE
from tests.web.conftest import Keys, Opener, Visit, sign_in

TILE = re.compile(
    r"/ogc/collections/(?P<id>[^/]+)/tiles/TiandituC/(?P<z>\d+)/(?P<row>\d+)/(?P<col>\d+)$"
)
MANIFEST = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))
PERSON_FIELDS = ('"citizen_id"', '"household_id"', '"birth_year"', '"phone"')
MASKED_ID = re.compile(r"\d{6}\*{8}\d{3}[\dX]")


class Place(NamedTuple):
    lon: float
    lat: float
    code: str


def _place(engine: Engine, sql: str, **values: Any) -> Place:
    with engine.connect() as conn:
        lon, lat, code = conn.execute(text(sql), values).one()
    return Place(float(lon), float(lat), str(code))


def _edge_of_largest(engine: Engine, entry: dict[str, Any]) -> Place:
    """A vertex on the outline of the layer's largest feature: its outline and (for fills)
    part of its inside are in a view centred there."""
    ring = "ST_StartPoint(ST_ExteriorRing(ST_GeometryN(g, 1)))"
    if entry["kind"] in ("plan", "control"):
        source = (
            "SELECT f.geom AS g, f.id::text AS code FROM plans.features f "
            "JOIN plans.layer_versions v ON v.id = f.layer_version_id "
            "WHERE v.layer_id = :layer AND v.version = (SELECT max(version) FROM "
            "plans.layer_versions WHERE layer_id = :layer)"
        )
        values = {"layer": entry["id"].removeprefix("plans.")}
    elif entry["kind"] == "conflicts":
        source = "SELECT geom AS g, id::text AS code FROM plans.conflict_patches WHERE run_id = :r"
        values = {"r": entry["run"]}
    else:
        source, values = f"SELECT geom AS g, code FROM grid.{entry['table']}", {}
    return _place(
        engine,
        f"SELECT ST_X({ring}), ST_Y({ring}), code FROM ({source}) AS s "
        "ORDER BY ST_Area(g) DESC LIMIT 1",
        **values,
    )


def _go(
    seen: Visit, lon: float, lat: float, zoom: int, base: str = "vec", layers: str = ""
) -> None:
    """Move the page by its permalink (the hash), and wait for the tiles."""
    seen.js(f"location.hash = 'map={zoom}/{lat:.7f}/{lon:.7f}&base={base}&layers={layers}'")
    seen.wait(f"onemap.map.getZoom() === {zoom}")
    seen.idle()


def _changed(a: np.ndarray, b: np.ndarray) -> int:
    """Pixels whose colour differs by more than a little."""
    return int((np.abs(a.astype(int) - b.astype(int)).max(axis=0) > 12).sum())


def _view(seen: Visit) -> tuple[int, tuple[float, float, float, float]]:
    zoom, bounds = seen.js("[onemap.map.getZoom(), onemap.map.getBounds().toBBoxString()]")
    west, south, east, north = (float(v) for v in bounds.split(","))
    return int(zoom), (west, south, east, north)


def _meets(box: tuple[float, float, float, float], other: tuple[float, ...]) -> bool:
    return box[0] < other[2] and other[0] < box[2] and box[1] < other[3] and other[1] < box[3]


# --- loading ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/map"])
def test_the_page_loads_offline_with_no_error(open_page: Opener, path: str) -> None:
    seen = open_page(path)
    assert not seen.problems(), "\n".join(seen.problems())
    assert seen.js("document.title") == "连云港一张图"
    zoom, view = _view(seen)
    base = [u for u in seen.requests if "/wmts?" in u]
    assert {urlsplit(u).path for u in base} == {"/vec_c/wmts", "/cva_c/wmts"}
    for url in base:
        query = {k.upper(): v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        assert (query["TILEMATRIXSET"], query["FORMAT"]) == ("c", "tiles")
        level, row, col = (int(query[k]) for k in ("TILEMATRIX", "TILEROW", "TILECOL"))
        assert level == zoom + 1, "Tianditu's level is Leaflet's zoom + 1 on set c"
        assert _meets(view, tile_bounds("c", Tile(col, row, level))), url
    vector = [m for u in seen.requests if (m := TILE.search(urlsplit(u).path))]
    assert vector, "no vector tile was asked for"
    for match in vector:
        level, row, col = int(match["z"]), int(match["row"]), int(match["col"])
        assert level == zoom + 1
        assert _meets(view, tile_bounds("TiandituC", Tile(col, row, level))), match.string
    answers = {url: (status, kind) for url, status, kind in seen.answers}
    assert all(answers[u][0] in (200, 204) for u in seen.requests if TILE.search(urlsplit(u).path))


def test_the_base_maps_switch(open_page: Opener) -> None:
    seen = open_page(hash="#map=11/34.62/119.25&base=vec&layers=")
    shots = {"vec": seen.map_shot("base-vec")}
    assert shots["vec"].std() > 5, "the vector base map draws nothing"
    for group, layers in (("img", {"img", "cia"}), ("ter", {"ter"})):
        before = len(seen.requests)
        seen.page.check(f"input[name=basemap][value={group}]")
        seen.idle()
        asked = {
            urlsplit(u).path.split("_")[0].strip("/")
            for u in seen.requests[before:]
            if "/wmts?" in u
        }
        assert asked == layers, asked
        shots[group] = seen.map_shot(f"base-{group}")
        assert _changed(shots["vec"], shots[group]) > 0.5 * shots["vec"][0].size
        assert f"base={group}" in seen.js("location.hash")
    assert not seen.problems(), "\n".join(seen.problems())


def test_each_layer_draws(open_page: Opener, engine: Engine) -> None:
    seen = open_page(hash="#layers=")
    catalogue = seen.js("onemap.config.layers")
    assert len(catalogue) >= 10
    for entry in catalogue:
        place = _edge_of_largest(engine, entry)
        zoom = max(entry["minzoom"] - 1, 11)
        _go(seen, place.lon, place.lat, zoom)
        without = seen.map_shot(f"layer-{entry['id']}-off")
        seen.page.check(f'input[data-layer="{entry["id"]}"]')
        seen.idle()
        with_it = seen.map_shot(f"layer-{entry['id']}")
        assert _changed(without, with_it) > 40, f"{entry['id']} draws nothing at {place}"
        seen.page.uncheck(f'input[data-layer="{entry["id"]}"]')
        seen.idle()
        again = seen.map_shot(f"layer-{entry['id']}-off-again")
        assert _changed(without, again) < 40, f"{entry['id']} stays drawn"
    assert not seen.problems(), "\n".join(seen.problems())


# --- inspect and find -------------------------------------------------------------------------


def test_clicking_a_building_shows_its_code(open_page: Opener, engine: Engine) -> None:
    building = _place(
        engine,
        "SELECT ST_X(p), ST_Y(p), code FROM (SELECT ST_PointOnSurface(geom) "
        "AS p, code FROM grid.buildings WHERE cell_id IS NOT NULL ORDER BY code LIMIT 1) AS b",
    )
    seen = open_page(hash=f"#map=16/{building.lat}/{building.lon}&base=vec&layers=cells,buildings")
    seen.page.mouse.click(*seen.point_of(building.lon, building.lat))
    seen.wait("document.getElementById('inspect').dataset.done")
    shown = seen.page.inner_text("#inspect")
    assert f"建筑编码\t{building.code}" in shown
    assert "网格编码" in shown  # the cell under it too
    assert seen.js("document.querySelector('.tabs .active').dataset.tab") == "inspect"
    assert not seen.problems(), "\n".join(seen.problems())


def test_searching_a_cell_code_centres_the_map_on_it(open_page: Opener, engine: Engine) -> None:
    cell = _place(
        engine,
        "SELECT (ST_XMin(geom) + ST_XMax(geom)) / 2, (ST_YMin(geom) + "
        "ST_YMax(geom)) / 2, code FROM grid.cells ORDER BY code DESC LIMIT 1",
    )
    seen = open_page()
    seen.page.fill("#search-text", cell.code)
    seen.page.press("#search-text", "Enter")
    assert seen.wait("document.getElementById('search-results').dataset.found") == cell.code
    seen.idle()
    zoom, _ = _view(seen)
    lat, lon = seen.js("[onemap.map.getCenter().lat, onemap.map.getCenter().lng]")
    pixel = 360 / 2 ** (zoom + 1) / 256
    assert abs(lon - cell.lon) < 2 * pixel and abs(lat - cell.lat) < 2 * pixel
    assert zoom >= 14, "the cell fills the view"
    assert not seen.problems(), "\n".join(seen.problems())


def test_a_gcj02_point_lands_at_its_cgcs2000_place(open_page: Opener) -> None:
    truth = {t["event_id"]: (t["lon"], t["lat"]) for t in MANIFEST["events"]["truth"]}
    with (SAMPLE / "inputs" / "events_gcj02.csv").open(encoding="utf-8") as handle:
        event = next(row for row in csv.DictReader(handle) if row["event_id"] in truth)
    lon, lat = truth[event["event_id"]]
    seen = open_page()
    seen.page.select_option("#search-crs", "GCJ02")
    seen.page.fill("#search-text", f"{event['lon']},{event['lat']}")
    seen.page.press("#search-text", "Enter")
    found = seen.wait("document.getElementById('search-results').dataset.found")
    x, y = (float(v) for v in found.split(","))
    assert abs(x - lon) < 1e-7 and abs(y - lat) < 1e-7, "the server's conversion is not the truth"
    seen.idle()
    zoom, _ = _view(seen)
    centre = seen.js("[onemap.map.getCenter().lng, onemap.map.getCenter().lat]")
    pixel = 360 / 2 ** (zoom + 1) / 256
    assert abs(centre[0] - lon) < pixel and abs(centre[1] - lat) < pixel
    off = abs(float(event["lon"]) - lon) + abs(float(event["lat"]) - lat)
    assert off > 10 * pixel, "the GCJ-02 offset is visible at this zoom"
    assert "/map/api/coordinates?crs=GCJ02" in " ".join(seen.requests)
    assert not seen.problems(), "\n".join(seen.problems())


# --- signed in --------------------------------------------------------------------------------

ORANGE = np.array([255, 109, 0])


def _orange(shot: np.ndarray) -> int:
    return int((np.abs(shot.astype(int) - ORANGE[:, None, None]).max(axis=0) < 40).sum())


def test_a_grid_worker_sees_their_cells_highlighted(
    open_page: Opener, engine: Engine, keys: Keys
) -> None:
    with engine.connect() as conn:
        codes = set(
            conn.execute(
                text("SELECT code FROM grid.cells WHERE worker_id = :w"), {"w": keys.worker_id}
            ).scalars()
        )
        busiest = conn.execute(
            text(
                "SELECT b.code, ST_X(ST_PointOnSurface(b.geom)), ST_Y(ST_PointOnSurface(b.geom)),"
                " count(*) FROM grid.households_located h"
                " JOIN grid.buildings b ON b.id = h.building_id WHERE h.worker_id = :w"
                " GROUP BY b.id ORDER BY count(*) DESC, b.code LIMIT 1"
            ),
            {"w": keys.worker_id},
        ).one()
    code, lon, lat, households = busiest
    seen = open_page(hash=f"#map=14/{lat}/{lon}&base=vec&layers=cells")
    before = seen.map_shot("worker-before")
    sign_in(seen, keys.worker)
    after = seen.map_shot("worker-after")
    assert _orange(before) < 50 and _orange(after) > 300, (_orange(before), _orange(after))
    listed = seen.page.inner_text("#auth-view")
    assert codes and all(c in listed for c in codes)
    assert seen.page.inner_text("#auth-open").startswith("网格员")
    _go(seen, float(lon), float(lat), 16, layers="cells,buildings")
    seen.page.mouse.click(*seen.point_of(float(lon), float(lat)))
    seen.wait("document.getElementById('inspect').dataset.done")
    shown = seen.page.inner_text("#inspect")
    assert code in shown and f"住户数（本人网格内）\t{households}" in shown
    assert "人员" not in shown  # person lists are the admin's
    assert not any("/collections/persons/" in u for u in seen.requests)
    assert not seen.problems(), "\n".join(seen.problems())


def _most_persons(engine: Engine) -> tuple[str, float, float, list[str]]:
    with engine.connect() as conn:
        code, lon, lat = conn.execute(
            text(
                "SELECT b.code, ST_X(ST_PointOnSurface(b.geom)), ST_Y(ST_PointOnSurface(b.geom)) "
                "FROM grid.persons_located p JOIN grid.buildings b ON b.id = p.building_id "
                "GROUP BY b.id ORDER BY count(*) DESC, b.code LIMIT 1"
            )
        ).one()
    with (SAMPLE / "persons.csv").open(encoding="utf-8") as handle:
        plain = [row["citizen_id"] for row in csv.DictReader(handle)]
    return str(code), float(lon), float(lat), plain


def test_an_admin_sees_the_persons_of_a_building_masked(
    open_page: Opener, engine: Engine, keys: Keys
) -> None:
    _, lon, lat, plain = _most_persons(engine)
    seen = open_page(hash=f"#map=16/{lat}/{lon}&base=vec&layers=buildings", key=keys.admin)
    seen.page.mouse.click(*seen.point_of(lon, lat))
    seen.wait("document.getElementById('inspect').dataset.done")
    rows = seen.page.locator("#inspect table.persons tr").count()
    assert rows > 1, "no person listed"
    names = seen.page.locator("#inspect table.persons td:first-child").all_inner_texts()
    assert names and all("*" in name for name in names), names
    bodies = "\n".join(seen.bodies().values())
    assert MASKED_ID.search(bodies), "the persons' answer should carry masked citizen IDs"
    assert not any(identifier in bodies for identifier in plain), (
        "a plain citizen ID reached the page"
    )
    assert not seen.problems(), "\n".join(seen.problems())


def test_anonymous_pages_never_receive_person_data(open_page: Opener, engine: Engine) -> None:
    code, lon, lat, plain = _most_persons(engine)
    seen = open_page(hash=f"#map=16/{lat}/{lon}&base=vec&layers=cells,buildings")
    seen.page.mouse.click(*seen.point_of(lon, lat))
    seen.wait("document.getElementById('inspect').dataset.done")
    assert code in seen.page.inner_text("#inspect")
    seen.page.fill("#search-text", code)
    seen.page.press("#search-text", "Enter")
    seen.wait("document.getElementById('search-results').dataset.found")
    seen.idle()
    keyed = ("/collections/persons", "/collections/households", "/collections/houses", "/auth/")
    assert not [u for u in seen.requests if any(k in u for k in keyed)]
    bodies = seen.bodies()
    assert bodies, "no answer body was read"
    for url, body in bodies.items():
        assert not any(f in body for f in PERSON_FIELDS), url
        assert not MASKED_ID.search(body) and not any(i in body for i in plain[:2000]), url
    assert not seen.problems(), "\n".join(seen.problems())


# --- report, coordinates, permalink -----------------------------------------------------------


def test_the_conflict_report_is_next_to_the_map(
    open_page: Opener, engine: Engine, conflict_run: int
) -> None:
    seen = open_page()
    seen.page.click("button[data-tab=report]")
    assert seen.wait("document.getElementById('report').dataset.run") == str(conflict_run)
    with engine.connect() as conn:
        types = summary_by_type(conn, conflict_run)
    rows = seen.page.locator("#report table.by-type tr").all_inner_texts()
    assert len(rows) == len(types) + 2  # a header and the total
    for summary, row in zip(types, rows[1:], strict=False):
        assert summary.label in row and f"\t{summary.patches}\t" in row
    assert seen.page.locator("#report table.by-county tr").count() > 1
    links = [a.get_attribute("href") or "" for a in seen.page.locator("#report .links a").all()]
    assert f"/map/api/conflicts/{conflict_run}/files/gpkg" in links
    assert any(f"conflicts.run{conflict_run}/items" in link for link in links)
    assert not seen.problems(), "\n".join(seen.problems())


def test_the_mouse_position_in_cgcs2000_and_zone_40(open_page: Opener) -> None:
    seen = open_page(hash="#map=13/34.6/119.2&base=vec&layers=")
    box = seen.page.locator("#map").bounding_box()
    assert box
    x, y = box["x"] + 123, box["y"] + 77
    seen.page.mouse.move(x, y)
    lon, lat = seen.js(
        "onemap.map.containerPointToLatLng([123, 77]).lng + ',' + "
        "onemap.map.containerPointToLatLng([123, 77]).lat"
    ).split(",")
    lon, lat = float(lon), float(lat)
    geo = seen.page.inner_text("#coords-geo")
    gk = seen.page.inner_text("#coords-gk")
    match = re.search(r"经度 (\d+\.\d{6})° 纬度 (\d+\.\d{6})°", geo)
    assert match, geo
    shown_lon, shown_lat = float(match[1]), float(match[2])
    pixel = 360 / 2**14 / 256  # Leaflet zoom 13
    assert abs(shown_lon - lon) < pixel and abs(shown_lat - lat) < pixel, (geo, lon, lat)
    east, north = pyproj.Transformer.from_crs(
        STORAGE_SRID, GK_ZONE40_SRID, always_xy=True
    ).transform(shown_lon, shown_lat)
    shown = [float(v) for v in re.findall(r"\d{7,8}\.\d{2}", gk)]
    # the degrees shown are rounded to 1e-6 (< 0.12 m here): the metres must agree to that
    assert len(shown) == 2 and abs(shown[0] - north) < 0.12 and abs(shown[1] - east) < 0.12, gk
    assert gk.index("X(北)") < gk.index("Y(东)") and 40_000_000 < shown[1] < 41_000_000
    assert seen.page.locator(".leaflet-control-scale-line").count() == 1
    assert not seen.problems(), "\n".join(seen.problems())


def test_the_permalink_restores_the_view(open_page: Opener) -> None:
    seen = open_page(hash="#map=14/34.7300/119.3800&base=ter&layers=cells,plans.eco_redline")
    assert seen.js("onemap.map.getZoom()") == 14
    assert seen.js("onemap.basemaps.current()") == "ter"
    assert sorted(seen.js("onemap.layers.visibleIds()")) == ["cells", "plans.eco_redline"]
    seen.js("onemap.map.panBy([200, -100], {animate: false})")
    seen.wait("!location.hash.includes('34.7300000/119.3800000')")
    seen.idle()
    link = seen.page.get_attribute("#permalink", "href")
    assert link and link.endswith(seen.js("location.hash"))
    centre = seen.js("[onemap.map.getCenter().lat, onemap.map.getCenter().lng]")
    again = open_page(hash=urlsplit(link).fragment and f"#{urlsplit(link).fragment}")
    assert again.js("onemap.map.getZoom()") == 14 and again.js("onemap.basemaps.current()") == "ter"
    moved = again.js("[onemap.map.getCenter().lat, onemap.map.getCenter().lng]")
    assert abs(moved[0] - centre[0]) < 1e-5 and abs(moved[1] - centre[1]) < 1e-5
    assert not seen.problems() and not again.problems()
