"""Two apps in one process render their own pages: pygeoapi 0.24 cached its translated
configuration by language alone, so the first app's URLs and collections served the second.

Each app runs under uvicorn on its own port; both render the same collection page in the
same language, and each page must link only its own host's assets."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from gis.settings import DatabaseSettings
from services.settings import Settings
from tests.services.conftest import serve

PAGE = "/ogc/collections/buildings"


def asset_hosts(page: str) -> set[str]:
    """The ``scheme://host:port`` of every stylesheet and script the page loads."""
    return set(re.findall(r'(?:href|src)="(https?://[^/"]+)/ogc/static/', page))


def test_each_app_links_its_own_host(url_env: str, tmp_path: Path) -> None:
    bases: list[str] = []
    pages: list[str] = []
    servers = [
        serve(Settings(database=DatabaseSettings(database_url=url_env, home=tmp_path / name)))
        for name in ("first", "second")
    ]
    try:
        for server in servers:
            base = next(server)
            bases.append(base)
            for lang in ("zh", "en"):
                answer = httpx.get(f"{base}{PAGE}", params={"f": "html", "lang": lang}, timeout=60)
                assert answer.status_code == 200, answer.text
                pages.append(answer.text)
    finally:
        for server in servers:
            next(server, None)
    assert bases[0] != bases[1]
    for index, page in enumerate(pages):
        own = bases[index // 2]
        assert asset_hosts(page) == {own}, f"page {index} of {own} links {asset_hosts(page)}"
