"""A picture of the one-map page for the README, taken by headless Chromium from a running
server with every request to another host refused (the page needs none).

    .venv/bin/python -m tools.page_picture http://127.0.0.1:8000

opens the page at a view of the sample city (``--hash``, a permalink's part after ``#``;
by default Haizhou with the page's default layers and the urban plan), waits until every
tile is drawn, clicks a point (``--click LON,LAT``, by default a parcel in Haizhou: the
attributes panel shows what is there), and writes ``docs/images/onemap-page.png`` as an
8-bit palette PNG (Mapnik's quantiser, as tools/basemap_pictures.py does). Chromium is
Debian's ``/usr/bin/chromium`` (``make install`` puts it there), driven by Playwright.
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


def picture(server: str, view: str, size: tuple[int, int], click: str | None) -> bytes:
    """The page's screenshot (PNG) at ``view``."""
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
        if click:
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
    parser.add_argument("--out", type=Path, default=Path("docs/images/onemap-page.png"))
    args = parser.parse_args(argv)
    view = args.hash or default_view(args.server)
    png = picture(args.server, view, (args.width, args.height), args.click)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile(png) as memory, memory.open() as dataset:
            rgb = np.moveaxis(dataset.read()[:3], 0, -1).astype(np.float64) / 255
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_png8(rgb, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e3:.0f} kB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
