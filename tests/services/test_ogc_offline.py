"""The OGC API's HTML pages in a real browser with every other host cut off.

Debian's Chromium, driven by Playwright, loads each page while ``context.route`` aborts any
request not to the app's own ``127.0.0.1:port``. A page passes when it asked no other host,
no request failed or answered an error status, nothing was logged as a console error or
thrown, and it rendered: a Leaflet map with the features drawn, Swagger UI's operations.

In CI (``CI`` set) a missing Chromium fails the test; by hand it is skipped with a reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Route

COLLECTION = "buildings"
SHOTS = os.environ.get("ONEMAP_SCREENSHOTS")
"""A folder to write the items and Swagger UI pages' screenshots to (to look at them)."""


@dataclass
class Visit:
    """What one page did: every request it made, and everything that went wrong."""

    page: Page
    requests: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return (
            [f"other host: {url}" for url in self.foreign]
            + [f"failed: {failure}" for failure in self.failed]
            + [f"error: {error}" for error in self.errors]
        )


@pytest.fixture
def visit(browser: Browser, ogc_base: str) -> Iterator[Callable[[str], Visit]]:
    """Open a page below ``/ogc`` offline; returns the :class:`Visit` once it is idle."""
    own = urlsplit(ogc_base).netloc
    contexts = []

    def open_page(path: str) -> Visit:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        seen = Visit(page)

        def gate(route: Route, request: Request) -> None:
            seen.requests.append(request.url)
            if urlsplit(request.url).netloc == own:
                route.continue_()
            else:
                seen.foreign.append(request.url)
                route.abort("blockedbyclient")

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                seen.errors.append(f"console: {message.text} at {message.location}")

        context.route("**/*", gate)
        page.on("console", on_console)
        page.on("pageerror", lambda exc: seen.errors.append(f"thrown: {exc}"))
        page.on(
            "requestfailed",
            lambda request: seen.failed.append(f"{request.url} ({request.failure})"),
        )
        page.on(
            "response",
            lambda response: (
                seen.failed.append(f"{response.url} -> {response.status}")
                if response.status >= 400
                else None
            ),
        )
        response = page.goto(f"{ogc_base}{path}", wait_until="networkidle")
        assert response is not None and response.status == 200, path
        return seen

    yield open_page
    for context in contexts:
        context.close()


def _check(seen: Visit) -> None:
    assert seen.requests, "the page made no request at all"
    assert not seen.problems(), "\n".join(seen.problems())


def _first_feature_id(ogc: httpx.Client) -> str:
    body = ogc.get(f"collections/{COLLECTION}/items", params={"limit": 1}).json()
    return str(body["features"][0]["id"])


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("?f=html", "Collections"),
        ("/collections?f=html", COLLECTION),
        (f"/collections/{COLLECTION}?f=html", COLLECTION),
        (f"/collections/{COLLECTION}/queryables?f=html", "Queryables"),
        ("/conformance?f=html", "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"),
    ],
)
def test_page_renders_offline_from_this_server_only(
    visit: Callable[[str], Visit], path: str, text: str
) -> None:
    seen = visit(path)
    _check(seen)
    assert seen.page.locator("link[href*='/static/vendor/bootstrap/']").count() == 1
    styled = seen.page.evaluate("getComputedStyle(document.querySelector('.container')).display")
    assert styled == "block"  # bootstrap's stylesheet applied
    assert text in seen.page.content()


def test_collection_page_draws_its_extent(visit: Callable[[str], Visit]) -> None:
    seen = visit(f"/collections/{COLLECTION}?f=html")
    _check(seen)
    assert seen.page.locator("#collection-map.leaflet-container path.leaflet-interactive").count()
    assert seen.page.locator(".leaflet-tile").count() == 0


def test_items_page_draws_the_features_without_a_base_map(visit: Callable[[str], Visit]) -> None:
    seen = visit(f"/collections/{COLLECTION}/items?f=html&limit=20")
    _check(seen)
    page = seen.page
    assert page.locator("#items-map.leaflet-container").count() == 1
    drawn = page.locator("#items-map path.leaflet-interactive").count()
    markers = page.locator("#items-map .leaflet-marker-icon").count()
    assert drawn + markers > 0, "no feature drawn"
    assert page.locator(".leaflet-tile, .leaflet-tile-pane img").count() == 0
    assert page.locator("table tbody tr").count() == 20
    assert page.locator("#limits").input_value() == "20"  # the limit asked, though not listed
    assert page.evaluate("map.getZoom()") > 5, "the map was not fit to the features"
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "items.png"), full_page=True)


def test_item_page_draws_its_feature(visit: Callable[[str], Visit], ogc: httpx.Client) -> None:
    seen = visit(f"/collections/{COLLECTION}/items/{_first_feature_id(ogc)}?f=html")
    _check(seen)
    drawn = seen.page.locator("#items-map path.leaflet-interactive").count()
    markers = seen.page.locator("#items-map .leaflet-marker-icon").count()
    assert drawn + markers == 1


def _scroll_to(page: Page, selector: str) -> list[str]:
    """Scroll down until ``selector`` is rendered; every operation path seen on the way.

    Swagger UI 5 renders its operation list virtually (only what is near the viewport is in
    the DOM), so a long document is read as a user reads it: by scrolling.
    """
    seen: list[str] = []
    page.evaluate("window.scrollTo(0, 0)")
    for _ in range(200):
        paths = page.locator(".opblock .opblock-summary-path").all_inner_texts()
        seen += [p.strip().replace("\u200b", "") for p in paths if p not in seen]
        if page.locator(selector).count():
            return seen
        if page.evaluate("window.innerHeight + window.scrollY >= document.body.scrollHeight"):
            break
        page.mouse.wheel(0, 600)
        page.wait_for_timeout(50)
    raise AssertionError(f"{selector} never rendered; paths seen: {sorted(set(seen))}")


@pytest.mark.parametrize("query", ["?f=html", "?f=html&ui=redoc"])
def test_swagger_ui_lists_the_operations(visit: Callable[[str], Visit], query: str) -> None:
    seen = visit(f"/openapi{query}")
    page = seen.page
    page.wait_for_selector(".opblock", timeout=30_000)
    page.wait_for_load_state("networkidle")
    _check(seen)
    assert page.locator(".opblock-get").count() >= 5
    # Opening an operation resolves its $refs: none may be fetched from another host. The
    # landing page's is opened by scrolling to it and clicking; the collection's, further
    # down a long virtual list, by their deep links (tag/operationId), as a shared link does.
    page_url = page.url.split("#")[0]
    for path, link in (
        ("/", None),
        (f"/collections/{COLLECTION}", f"{COLLECTION}/getCollection.{COLLECTION}"),
        (f"/collections/{COLLECTION}/items", f"{COLLECTION}/getFeatures.{COLLECTION}"),
    ):
        summary = f".opblock-get .opblock-summary-path[data-path='{path}']"
        if link is None:
            _scroll_to(page, summary)
            page.locator(summary).first.click()
        else:  # a new hash alone is no navigation: load the page again at the link
            page.wait_for_load_state("networkidle")  # nothing of the last load cut short
            page.goto("about:blank")
            page.goto(f"{page_url}#/{link}")
        opened = f".opblock-get.is-open:has(.opblock-summary-path[data-path='{path}'])"
        page.wait_for_selector(f"{opened} .parameters-container", timeout=30_000)
    page.wait_for_load_state("networkidle")
    _check(seen)
    if SHOTS and query == "?f=html":
        page.screenshot(path=str(Path(SHOTS) / "swagger.png"), full_page=False)
