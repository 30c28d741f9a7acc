"""Leaflet, set up as a Tianditu (天地图) user sets it up with only the host changed, draws our
tiles in headless Chromium: set ``c`` with ``L.CRS.EPSG4326`` and ``zoomOffset: 1``, set ``w``
with Leaflet's default Web Mercator, on Tianditu's KVP and ``/DataServer`` URLs.

The page is a file the test writes (a user's own page on disk); Leaflet's JS and CSS come from
this app (``/ogc/static/vendor/leaflet``), the tiles from its WMTS routes. Each of the five
layers gets a map of its own, so each can be looked at alone. A page passes when:

- every request went to the app (anything else is aborted and reported), every tile answered
  200 with an ``image/*`` type, Leaflet fired ``tileload`` for exactly the tiles our tile
  matrix sets say cover the view (at Tianditu's level, not Leaflet's zoom) and no
  ``tileerror``, and nothing was logged as a console error or thrown;
- over Haizhou the ``ter`` hill-shade is drawn (opaque, shaded), and the pixels under the map
  centre are the ones of the tile that holds that point, at the offset the tile matrix set
  gives (±1 pixel); far from the city ``ter``, ``vec``, ``cva`` and ``cia`` are transparent and
  ``img`` is one plain colour.

The other layers are only required to load cleanly: what they draw over the city is tested
with their renderers (tests/basemaps/test_vector.py, test_imagery.py).

Without ``/usr/bin/chromium`` the tests are skipped with the reason (failed when ``CI`` is set).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import numpy as np
import pyproj
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    Response,
    Route,
)
from playwright.sync_api import Error as PlaywrightError
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile
from sqlalchemy import Engine
from sqlalchemy.engine import URL

from gis.settings import DatabaseSettings
from gis.tms import tile_bounds, tile_for_point
from layers.loader import load_plans
from layers.settings import PlanSettings
from services.basemaps.jobs import LAYERS
from services.settings import BasemapSettings, Settings
from tests.conftest import SAMPLE
from tests.services.conftest import serve

DEM = SAMPLE / "rasters" / "dem.tif"
HAIZHOU = (119.1788, 34.6015)
"""(lon, lat) of Haizhou, the sample city's centre."""
FAR = (112.0, 31.0)
"""(lon, lat) in Hubei, far outside the sample city's data: every layer is blank there."""
LEVEL = 12
"""The Tianditu level the maps show: Leaflet zoom 11 on ``c`` (zoomOffset 1), 12 on ``w``."""
WIDTH, HEIGHT = 700, 500
"""Each map's size in CSS pixels (the screenshots' too: device scale factor 1)."""
SHOTS = os.environ.get("ONEMAP_SCREENSHOTS")
"""A folder to write each map's screenshot to (to look at them)."""

PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>天地图 layers from our host</title>
<link rel="stylesheet" href="http://@HOST@/ogc/static/vendor/leaflet/leaflet.css">
<script src="http://@HOST@/ogc/static/vendor/leaflet/leaflet.js"></script>
<style>
  html, body { margin: 0; background: transparent; }
  .map { width: @WIDTH@px; height: @HEIGHT@px; background: transparent; }
</style>
</head>
<body>
<script>
const SETUP = @CONFIG@;
const HOST = "@HOST@";
// The URL templates a Tianditu user writes, with t0.tianditu.gov.cn replaced by our host.
const kvp = (layer, set) =>
  `http://${HOST}/${layer}_${set}/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0` +
  `&LAYER=${layer}&STYLE=default&TILEMATRIXSET=${set}&FORMAT=tiles` +
  "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=";
const dataserver = (layer, set) => `http://${HOST}/DataServer?T=${layer}_${set}&x={x}&y={y}&l={z}&tk=`;

window.report = { loads: [], errors: [], done: [], points: {} };
window.maps = {};
for (const layer of SETUP.layers) {
  const div = document.createElement("div");
  div.id = layer;
  div.className = "map";
  document.body.appendChild(div);
  const center = [SETUP.lat, SETUP.lon];
  const common = { center, fadeAnimation: false, zoomControl: false, attributionControl: false };
  const url = (SETUP.form === "kvp" ? kvp : dataserver)(layer, SETUP.set);
  let map, tiles;
  if (SETUP.set === "c") {
    // Leaflet's EPSG:4326 zoom 0 is Tianditu's level 1.
    map = L.map(div, { ...common, crs: L.CRS.EPSG4326, zoom: SETUP.level - 1 });
    tiles = L.tileLayer(url, { zoomOffset: 1, tileSize: 256, maxZoom: 17 });
  } else {
    map = L.map(div, { ...common, zoom: SETUP.level, minZoom: 1, maxZoom: 18 });
    tiles = L.tileLayer(url, { maxZoom: 18 });
  }
  tiles.on("tileload", (e) =>
    report.loads.push({ layer, x: e.coords.x, y: e.coords.y, z: e.coords.z, src: e.tile.src }));
  tiles.on("tileerror", (e) =>
    report.errors.push({ layer, x: e.coords.x, y: e.coords.y, z: e.coords.z, src: e.tile.src }));
  tiles.on("load", () => report.done.push(layer));
  tiles.addTo(map);
  const point = map.latLngToContainerPoint(center);
  report.points[layer] = [point.x, point.y];
  maps[layer] = map;
}
</script>
</body>
</html>
"""


@pytest.fixture(scope="module")
def tile_server(
    engine: Engine, server_url: URL, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The app over the sample city with its plan layers (what ``make demo`` loads), the
    sample DEM for ``ter``, its tile cache in a state directory of its own."""
    load_plans(engine, SAMPLE, settings=PlanSettings())
    owner = engine.url.render_as_string(hide_password=False)
    settings = Settings(
        database=DatabaseSettings(database_url=owner, home=tmp_path_factory.mktemp("leaflet-home")),
        basemap=BasemapSettings(dem=DEM),
    )
    yield from serve(settings)


@dataclass
class Visit:
    """What one page did: its requests, their answers, Leaflet's report, what went wrong."""

    page: Page
    requests: list[str] = field(default_factory=list)
    answers: dict[str, tuple[int, str]] = field(default_factory=dict)
    foreign: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)

    def problems(self) -> list[str]:
        return (
            [f"other host: {url}" for url in self.foreign]
            + [f"failed: {failure}" for failure in self.failed]
            + [f"error: {error}" for error in self.errors]
            + [f"tileerror: {tile}" for tile in self.report.get("errors", [])]
        )

    def shot(self, layer: str) -> np.ndarray:
        """The layer's map as drawn: (4, HEIGHT, WIDTH) RGBA, transparent where nothing is."""
        png = self.page.locator(f"#{layer}").screenshot(omit_background=True)
        pixels = decode(png)
        if len(pixels) == 3:  # Chromium leaves the alpha out of a screenshot with no hole
            pixels = np.concatenate([pixels, np.full((1, HEIGHT, WIDTH), 255, np.uint8)])
        assert pixels.shape == (4, HEIGHT, WIDTH), pixels.shape
        if SHOTS:
            name = f"leaflet-{layer}-{self.report['set']}-{self.report['form']}.png"
            (Path(SHOTS) / name).write_bytes(png)
        return pixels


def decode(body: bytes) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile(body) as memory, memory.open() as dataset:
            return dataset.read()


Visitor = Callable[[str, str, float, float], Visit]


@pytest.fixture
def visit(browser: Browser, tile_server: str, tmp_path: Path) -> Iterator[Visitor]:
    """``visit(tileset, form, lon, lat)``: the page, opened offline; see :func:`open_page`."""
    contexts: list[BrowserContext] = []
    yield lambda *args: open_page(browser, contexts, tile_server, tmp_path, *args)
    for context in contexts:
        context.close()


def open_page(
    browser: Browser,
    contexts: list[BrowserContext],
    base: str,
    folder: Path,
    tileset: str,
    form: str,
    lon: float,
    lat: float,
) -> Visit:
    """Open the page (one map per layer, centred on lon/lat; URLs of ``form``, ``kvp`` or
    ``dataserver``) in a new browser context; wait for every layer's ``load``. Requests to
    any host but the app's are aborted and recorded."""
    host = urlsplit(base).netloc
    config = {"set": tileset, "form": form, "lon": lon, "lat": lat, "level": LEVEL,
              "layers": list(LAYERS)}  # fmt: skip
    html = (
        PAGE.replace("@CONFIG@", json.dumps(config))
        .replace("@HOST@", host)
        .replace("@WIDTH@", str(WIDTH))
        .replace("@HEIGHT@", str(HEIGHT))
    )
    page_file = folder / f"leaflet-{tileset}-{form}-{lon}-{lat}.html"
    page_file.write_text(html, encoding="utf-8")
    context = browser.new_context(viewport={"width": WIDTH + 40, "height": 5 * HEIGHT + 40})
    contexts.append(context)
    page = context.new_page()
    seen = Visit(page)

    def own(url: str) -> bool:
        return url == page_file.as_uri() or urlsplit(url).netloc == host

    def gate(route: Route, request: Request) -> None:
        if own(request.url):
            route.continue_()
        else:
            route.abort("blockedbyclient")

    def on_request(request: Request) -> None:
        seen.requests.append(request.url)
        if not own(request.url):
            seen.foreign.append(request.url)

    def on_response(response: Response) -> None:
        kind = response.headers.get("content-type", "")
        seen.answers[response.url] = (response.status, kind)
        if response.status >= 400:
            seen.failed.append(f"{response.url} -> {response.status}")

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            seen.errors.append(f"console: {message.text} at {message.location}")

    context.route("**/*", gate)
    page.on("request", on_request)
    page.on("response", on_response)
    page.on("console", on_console)
    page.on("pageerror", lambda exc: seen.errors.append(f"thrown: {exc}"))
    page.on("requestfailed", lambda r: seen.failed.append(f"{r.url} ({r.failure})"))
    page.goto(page_file.as_uri(), wait_until="load")
    try:
        page.wait_for_function(f"window.report?.done.length === {len(LAYERS)}", timeout=30_000)
    except PlaywrightError as error:
        report = page.evaluate("window.report || null")
        problems = "\n".join(seen.problems())
        raise AssertionError(f"the layers never finished loading: {report}\n{problems}") from error
    page.wait_for_load_state("networkidle")
    seen.report = {**page.evaluate("report"), "set": tileset, "form": form}
    return seen


def global_pixel(tileset: str, lon: float, lat: float) -> tuple[float, float]:
    """The point's pixel position in the whole level-:data:`LEVEL` matrix (tiles of 256 px),
    from our tile matrix set, independently of Leaflet."""
    tile = tile_for_point(tileset, lon, lat, LEVEL, geographic=True)
    left, bottom, right, top = tile_bounds(tileset, tile)
    x, y = lon, lat
    if tileset == "w":
        x, y = pyproj.Transformer.from_crs(4490, 3857, always_xy=True).transform(lon, lat)
    return (
        256 * (tile.x + (x - left) / (right - left)),
        256 * (tile.y + (top - y) / (top - bottom)),
    )


def expected_tiles(tileset: str, lon: float, lat: float) -> set[tuple[int, int, int]]:
    """(col, row, level) of the tiles covering a WIDTH × HEIGHT view centred on the point:
    Leaflet's rule (the centre's pixel floored, ± half the size) on our matrix."""
    gx, gy = (float(int(v)) for v in global_pixel(tileset, lon, lat))
    cols = range(int((gx - WIDTH / 2) // 256), int(-(-(gx + WIDTH / 2) // 256)))
    rows = range(int((gy - HEIGHT / 2) // 256), int(-(-(gy + HEIGHT / 2) // 256)))
    return {(col, row, LEVEL) for col in cols for row in rows}


def requested_tile(src: str, form: str) -> tuple[int, int, int]:
    """(col, row, level) a tile URL asks for, read from its query as the server reads it."""
    query = {key.lower(): values[0] for key, values in parse_qs(urlsplit(src).query).items()}
    if form == "kvp":
        return int(query["tilecol"]), int(query["tilerow"]), int(query["tilematrix"])
    return int(query["x"]), int(query["y"]), int(query["l"])


def check_clean(seen: Visit, tileset: str, form: str, lon: float, lat: float) -> None:
    """Nothing left the machine, nothing failed, every tile of every layer loaded."""
    assert not seen.problems(), "\n".join(seen.problems())
    assert seen.requests, "the page made no request at all"
    tile_urls = [url for url in seen.requests if "/wmts?" in url or "/DataServer?" in url]
    assert tile_urls, "Leaflet asked for no tile"
    for url in tile_urls:
        status, kind = seen.answers.get(url, (0, ""))
        assert status == 200 and kind.startswith("image/"), (url, status, kind)
    expected = expected_tiles(tileset, lon, lat)
    loads: list[dict[str, Any]] = seen.report["loads"]
    for layer in LAYERS:
        srcs = [str(load["src"]) for load in loads if load["layer"] == layer]
        assert len(srcs) == len(set(srcs)), f"{layer}: a tile loaded twice"
        got = {requested_tile(src, form) for src in srcs}
        assert got == expected, (
            f"{layer} on {tileset}: loaded {sorted(got)}, expected {sorted(expected)}"
        )
        assert all(f"{layer}_{tileset}" in src for src in srcs), srcs
    assert len(tile_urls) == len(LAYERS) * len(expected), "tiles were asked for more than once"


@pytest.mark.parametrize(
    ("tileset", "form"), [("c", "kvp"), ("c", "dataserver"), ("w", "kvp"), ("w", "dataserver")]
)
def test_leaflet_draws_the_tianditu_layers_over_the_city(
    visit: Visitor, tile_server: str, tileset: str, form: str
) -> None:
    lon, lat = HAIZHOU
    seen = visit(tileset, form, lon, lat)
    check_clean(seen, tileset, form, lon, lat)

    shot = seen.shot("ter")
    rgb, alpha = shot[:3].astype(int), shot[3]
    assert (alpha == 255).mean() > 0.99, "the hill-shade does not cover the city"
    assert rgb[0].std() > 2, "the hill-shade is flat: nothing shaded"

    # The pixels under Haizhou are those of the tile that holds it, at the tile matrix set's
    # offset: Leaflet asked for the right indices and put the tile in the right place.
    gx, gy = global_pixel(tileset, lon, lat)
    col, row = int(gx // 256), int(gy // 256)
    with httpx.Client(base_url=tile_server, timeout=30) as http:
        answer = http.get(f"/wmts/1.0.0/ter/default/{tileset}/{LEVEL}/{row}/{col}.png")
    assert answer.status_code == 200
    grey, tile_alpha = decode(answer.content)
    assert (tile_alpha == 255).all()
    px, py = seen.report["points"]["ter"]
    left, top = round(px - (gx - col * 256)), round(py - (gy - row * 256))  # tile's corner
    errors = {}
    for dx in range(-3, 4):
        for dy in range(-3, 4):
            x0, y0 = left + dx, top + dy
            xs, ys = (
                slice(max(x0, 0), min(x0 + 256, WIDTH)),
                slice(max(y0, 0), min(y0 + 256, HEIGHT)),
            )
            drawn = rgb[0, ys, xs]
            source = grey[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0]
            errors[dx, dy] = float(np.abs(drawn - source.astype(int)).mean())
    best = min(errors, key=errors.__getitem__)
    assert errors[best] < 0.5, f"the tile is not drawn where it belongs: {errors}"
    assert max(abs(best[0]), abs(best[1])) <= 1, f"the tile is drawn {best} pixels off"
    runner_up = sorted(errors.values())[1]
    assert runner_up > errors[best] + 0.1, "the hill-shade has too little detail to place it by"


@pytest.mark.parametrize(("tileset", "form"), [("c", "kvp"), ("w", "dataserver")])
def test_far_from_the_city_the_layers_are_blank(visit: Visitor, tileset: str, form: str) -> None:
    lon, lat = FAR
    seen = visit(tileset, form, lon, lat)
    check_clean(seen, tileset, form, lon, lat)
    for layer in ("ter", "vec", "cva", "cia"):
        assert (seen.shot(layer)[3] == 0).all(), f"{layer} draws something far from the city"
    img = seen.shot("img")
    assert (img[3] == 255).all() and all((band == band[0, 0]).all() for band in img[:3]), (
        "img is not one plain colour far from the city"
    )
