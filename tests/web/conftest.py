"""Fixtures of the one-map page's tests: the sample city with its plan layers, one committed
conflict run and API keys of three roles, served by the real app; and, for the browser
tests, Debian's Chromium driven by Playwright with every request to another host aborted.

The data fixtures are session-scoped (the run and the keys are removed at the end); the
browser is module-scoped, one per module, and each test opens pages in a context of its own.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import numpy as np
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
from pydantic import SecretStr
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from gis.settings import DatabaseSettings
from grid.privacy import Keyring
from grid.settings import PrivacySettings
from services.auth.keys import create_key
from services.settings import BasemapSettings, Settings
from tests.conftest import SAMPLE, sample_conflict_run
from tests.services.conftest import serve

SECRET = "w" * 40
"""The platform secret of the app under test: keys are hashed with it."""
WIDTH, HEIGHT = 1280, 800
SHOTS = os.environ.get("ONEMAP_SCREENSHOTS")
"""A folder to keep the tests' screenshots in (to look at them)."""


class Keys(NamedTuple):
    """API keys made for the tests, and the grid worker's id."""

    worker: str
    worker_id: int
    admin: str
    planner: str


@pytest.fixture(scope="session")
def conflict_run(engine: Engine) -> Iterator[int]:
    """The sample's plan layers, and a committed run of the urban plan against the land-use
    plan (removed afterwards)."""
    with sample_conflict_run(engine, "tests/web") as run:
        yield run


@pytest.fixture(scope="session")
def keys(engine: Engine) -> Iterator[Keys]:
    """Keys of a grid worker (the one whose cells hold most households), an admin and a
    planner, hashed with :data:`SECRET`."""
    keyring = Keyring.from_settings(PrivacySettings(secret_key=SecretStr(SECRET)))
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    with engine.begin() as conn:
        worker_id = int(
            conn.execute(
                text(
                    "SELECT worker_id FROM grid.households_located WHERE worker_id IS NOT NULL "
                    "GROUP BY worker_id ORDER BY count(*) DESC, worker_id LIMIT 1"
                )
            ).scalar_one()
        )
        made = {
            role: create_key(
                conn,
                keyring,
                role=role,
                name=f"tests/web {role}",
                created_by="tests/web",
                expires_at=expires,
                worker_id=worker_id if role == "grid_worker" else None,
            )
            for role in ("grid_worker", "admin", "planner")
        }
    yield Keys(made["grid_worker"][0], worker_id, made["admin"][0], made["planner"][0])
    with engine.begin() as conn:
        ids = [info.id for _, info in made.values()]
        conn.execute(text("DELETE FROM auth.api_keys WHERE id = ANY(:ids)"), {"ids": ids})


@pytest.fixture(scope="session")
def page_server(
    engine: Engine,
    server_url: URL,
    conflict_run: int,
    keys: Keys,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The app over the sample city, started after the run and the keys exist."""
    owner = engine.url.render_as_string(hide_password=False)
    settings = Settings(
        database=DatabaseSettings(database_url=owner, home=tmp_path_factory.mktemp("web-home")),
        privacy=PrivacySettings(secret_key=SecretStr(SECRET)),
        basemap=BasemapSettings(dem=SAMPLE / "rasters" / "dem.tif"),
    )
    yield from serve(settings)


# --- the browser ----------------------------------------------------------------------------


@dataclass
class Visit:
    """One page in its own browser context, and everything it did: requests, answers (the
    bodies of JSON answers kept), console errors, requests to other hosts."""

    page: Page
    host: str
    requests: list[str] = field(default_factory=list)
    answers: list[tuple[str, int, str]] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return (
            [f"other host: {url}" for url in self.foreign]
            + [f"failed: {failure}" for failure in self.failed]
            + [f"error: {error}" for error in self.errors]
        )

    def bodies(self) -> dict[str, str]:
        """The text of every answer that is not an image, a tile or a script, by URL."""
        found = {}
        for response in self.responses:
            kind = response.headers.get("content-type", "")
            if response.status in (200, 201) and ("json" in kind or "html" in kind):
                try:
                    found[response.url] = response.text()
                except PlaywrightError:  # no body kept (a redirect, a page gone)
                    continue
        return found

    def js(self, expression: str) -> Any:
        """The value of an expression in the page (Runtime.evaluate: the page's policy
        forbids eval, which Playwright's wait_for_function uses)."""
        return self.page.evaluate(expression)

    def wait(self, expression: str, timeout: float = 60) -> Any:
        """Poll ``expression`` until it is truthy; its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.js(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                problems = "\n".join(self.problems())
                raise AssertionError(f"never true: {expression}\n{problems}")
            self.page.wait_for_timeout(100)

    def idle(self) -> None:
        """No animation running, every tile layer loaded (and the tiles of the level left
        pruned: Leaflet does it a frame after ``load``) and the network quiet, twice in a
        row a quarter of a second apart."""
        settled = (
            "window.onemap && onemap.loading() === 0 && !onemap.map._animatingZoom"
            " && !(onemap.map._panAnim && onemap.map._panAnim._inProgress)"
        )
        calm = 0
        deadline = time.monotonic() + 90
        while calm < 2:
            self.page.wait_for_load_state("networkidle")
            calm = calm + 1 if self.js(settled) else 0
            if time.monotonic() > deadline:
                raise AssertionError("the map never settled\n" + "\n".join(self.problems()))
            self.page.wait_for_timeout(250)

    def map_shot(self, name: str = "") -> np.ndarray:
        """The map as drawn, (3, height, width) RGB."""
        png = self.page.locator("#map").screenshot()
        if SHOTS and name:
            (Path(SHOTS) / f"web-{name}.png").write_bytes(png)
        return decode(png)[:3]

    def point_of(self, lon: float, lat: float) -> tuple[float, float]:
        """The page coordinates (CSS pixels) of a point on the map."""
        x, y = self.js(
            f"(() => {{ const p = onemap.map.latLngToContainerPoint([{lat}, {lon}]);"
            " const r = document.getElementById('map').getBoundingClientRect();"
            " return [r.left + p.x, r.top + p.y]; })()"
        )
        return float(x), float(y)


def decode(body: bytes) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile(body) as memory, memory.open() as dataset:
            return dataset.read()


Opener = Callable[..., Visit]


@pytest.fixture
def open_page(browser: Browser, page_server: str) -> Iterator[Opener]:
    """``open_page(path="/", hash="", key=None)``: the page in a new context, every request
    not to the app aborted and recorded; ``key`` is typed in and signed in with. Returns
    once the page is ready and its tiles are loaded."""
    contexts: list[BrowserContext] = []

    def opener(path: str = "/", hash: str = "", key: str | None = None) -> Visit:
        host = urlsplit(page_server).netloc
        context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
        contexts.append(context)
        page = context.new_page()
        seen = Visit(page, host)

        def own(url: str) -> bool:
            return urlsplit(url).netloc == host

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
            seen.answers.append((response.url, response.status, kind))
            if response.status >= 400:
                seen.failed.append(f"{response.url} -> {response.status}")
            seen.responses.append(response)

        def on_failed(request: Request) -> None:
            # Leaflet cancels the image tiles of a level it leaves (a zoom, a flight): that
            # is the page's own doing, not a failure
            if request.failure == "net::ERR_ABORTED" and "/wmts?" in request.url:
                seen.cancelled.append(request.url)
            else:
                seen.failed.append(f"{request.url} ({request.failure})")

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                seen.errors.append(f"console: {message.text} at {message.location}")

        context.route("**/*", gate)
        page.on("request", on_request)
        page.on("response", on_response)
        page.on("console", on_console)
        page.on("pageerror", lambda exc: seen.errors.append(f"thrown: {exc}"))
        page.on("requestfailed", on_failed)
        page.goto(f"{page_server}{path}{hash}", wait_until="load")
        assert seen.wait("document.body.dataset.ready") == "true", seen.problems()
        seen.idle()
        if key is not None:
            sign_in(seen, key)
        return seen

    yield opener
    for context in contexts:
        context.close()


def sign_in(seen: Visit, key: str) -> None:
    page = seen.page
    page.click("button[data-tab=account]")
    page.fill("#auth-key", key)
    page.click("#auth-form button[type=submit]")
    seen.wait("document.body.dataset.signedIn")
    seen.idle()
