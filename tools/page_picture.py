"""A picture of the one-map page for the README, taken by headless Chromium from a running
server with every request to another host refused (the page needs none).

    .venv/bin/python -m tools.page_picture http://127.0.0.1:8000

opens the page at a view of the sample city (``--hash``, a permalink's part after ``#``;
by default Haizhou with the page's default layers and the urban plan), waits until every
tile is drawn, clicks a point (``--click LON,LAT``, by default a parcel in Haizhou: the
attributes panel shows what is there), and writes ``docs/images/onemap-page.png`` as an
8-bit palette PNG (Mapnik's quantiser, as tools/basemap_pictures.py does). Chromium is
Debian's ``/usr/bin/chromium`` (``make install`` puts it there), driven by Playwright.

With ``--key`` (a planner's API key) and ``--site`` (a GeoJSON red line, ``@file``, or
``sample`` for :data:`SAMPLE_SITE`) it signs in, runs the site check (选址审查) on that red
line instead of the click, and writes ``docs/images/onemap-sitecheck.png``: the verdicts
next to the map fitted to the red line. The README's picture:

    .venv/bin/python -m tools.page_picture http://127.0.0.1:8000 --key "$KEY" --site sample \
        --use 0701 --name 示例安置房项目
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.request
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
from playwright.sync_api import Page, Route, sync_playwright
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile

from tools.basemap_pictures import save_png8

CHROMIUM = "/usr/bin/chromium"
VIEW = "map=11/34.6300/119.2300&base=vec"
"""Haizhou at Tianditu level 12."""
CLICK = "119.2000,34.6000"
"""Where the picture clicks by default: a plan parcel in Haizhou inside the town boundary."""
SHOWN = ("plans.urban_plan",)
"""Layers switched on besides those the page shows by default (the control lines, the latest
conflict run, cells and buildings): the urban plan, coloured by 2023 class."""
SAMPLE_SITE = {
    "type": "Polygon",
    "coordinates": [
        [
            [119.1945, 34.66464],
            [119.20495, 34.6638],
            [119.2055, 34.67094],
            [119.19835, 34.6722],
            [119.19395, 34.66968],
            [119.1945, 34.66464],
        ]
    ],
}
"""The README's red line (``--site sample``): north of Haizhou across the development boundary,
its north-west corner on 永久基本农田 (a 城镇住宅用地 project: it fails, with warnings)."""


def wait(page: Page, expression: str, timeout: float = 120) -> None:
    """Poll an expression (the page's policy forbids eval, which wait_for_function needs)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise SystemExit(f"the page never got to: {expression}")
        page.wait_for_timeout(200)


def default_view(server: str) -> str:
    """:data:`VIEW` with the page's default layers and :data:`SHOWN`."""
    with urllib.request.urlopen(f"{server.rstrip('/')}/map/api/layers", timeout=60) as answer:
        layers = json.load(answer)["layers"]
    shown = [e["id"] for e in layers if e["visible"] or e["id"] in SHOWN]
    return f"{VIEW}&layers={','.join(shown)}"


def site_check(page: Page, key: str, site: str, use: str | None, name: str | None) -> None:
    """Sign in with ``key`` and run the site check on the GeoJSON ``site``."""
    page.click("button[data-tab=account]")
    page.fill("#auth-key", key)
    page.click("#auth-form button[type=submit]")
    wait(page, "document.body.dataset.signedIn")
    page.click("button[data-tab=sitecheck]")
    page.check("input[name=sitecheck-mode][value=geojson]")
    page.fill("#sitecheck-geojson", site)
    page.fill("#sitecheck-use", use or "")
    page.keyboard.press("Escape")  # the datalist's suggestions, which headless draws top left
    page.fill("#sitecheck-name", name or "")
    page.click("#sitecheck-run")
    wait(page, "document.getElementById('sitecheck-result').dataset.highlighted")
    message = page.inner_text("#sitecheck-message")
    if message:
        raise SystemExit(f"the site check did not run: {message}")


def picture(
    server: str,
    view: str,
    size: tuple[int, int],
    click: str | None,
    check: tuple[str, str, str | None, str | None] | None = None,
) -> bytes:
    """The page's screenshot (PNG) at ``view``; ``check``: (key, GeoJSON, use, name) of a
    site check to run instead of the click."""
    host = urlsplit(server).netloc
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": size[0], "height": size[1]})

        def gate(route: Route) -> None:
            if urlsplit(route.request.url).netloc == host:
                route.continue_()
            else:
                route.abort("blockedbyclient")

        page.route("**/*", gate)
        page.goto(f"{server.rstrip('/')}/#{view}")
        wait(page, "document.body.dataset.ready === 'true'")
        if check:
            site_check(page, *check)
            page.mouse.move(size[0] - 1, size[1] - 1)  # no row of the table under the mouse
        elif click:
            lon, lat = (float(v) for v in click.split(","))
            point = page.evaluate(f"onemap.map.latLngToContainerPoint([{lat}, {lon}])")
            box = page.locator("#map").bounding_box()
            assert box is not None
            page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
            wait(page, "document.getElementById('inspect').dataset.done")
        for _ in range(3):  # settled, twice in a row: tiles loaded and the old level pruned
            page.wait_for_load_state("networkidle")
            wait(page, "onemap.loading() === 0")
            page.wait_for_timeout(400)
        shot = page.screenshot()
        browser.close()
    return shot


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("server", help="the server's root URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--hash", default=None, help="the view: a permalink's part after #")
    parser.add_argument("--click", default=CLICK, help="LON,LAT to click ('' for none)")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    parser.add_argument("--key", default=None, help="an API key to sign in with (--site)")
    parser.add_argument(
        "--site", default=None, help="a red line to check: GeoJSON, @file or 'sample'"
    )
    parser.add_argument("--use", default=None, help="the site's planned use (2023 code)")
    parser.add_argument("--name", default=None, help="the project's name")
    parser.add_argument("--out", type=Path, default=None, help="default: docs/images/…")
    args = parser.parse_args(argv)
    view = args.hash or default_view(args.server)
    check = None
    if args.site:
        if not args.key:
            parser.error("--site needs --key (a planner's or an admin's)")
        site = (
            json.dumps(SAMPLE_SITE)
            if args.site == "sample"
            else Path(args.site[1:]).read_text("utf-8")
            if args.site.startswith("@")
            else args.site
        )
        check = (args.key, site, args.use, args.name)
    out: Path = args.out or Path(f"docs/images/onemap-{'sitecheck' if check else 'page'}.png")
    png = picture(args.server, view, (args.width, args.height), args.click, check)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile(png) as memory, memory.open() as dataset:
            rgb = np.moveaxis(dataset.read()[:3], 0, -1).astype(np.float64) / 255
    out.parent.mkdir(parents=True, exist_ok=True)
    save_png8(rgb, out)
    print(f"wrote {out} ({out.stat().st_size / 1e3:.0f} kB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
