"""The vendored front-end files, and every template and static file the HTML pages use.

The manifest must match the files byte for byte and the pins of ``package.json`` and
``package-lock.json``; the files must be served at ``/ogc/static`` beside pygeoapi's own;
and no template or static file we serve may load anything from another host (only links
to documentation, or namespaces, may name one).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import httpx
import pygeoapi

from services.web.assets import manifest, problems, static_dir, templates_dir, vendor_dir
from services.web.vendor import ASSETS

ROOT: Final = Path(__file__).resolve().parents[2]
PYGEOAPI: Final = Path(pygeoapi.__file__).parent

RENDERED: Final = (
    "_base.html",
    "landing_page.html",
    "conformance.html",
    "exception.html",
    "collections/index.html",
    "collections/collection.html",
    "collections/queryables.html",
    "collections/items/index.html",
    "collections/items/item.html",
    "openapi/swagger.html",
    "openapi/redoc.html",
)
"""Every template the ``/ogc`` routes render (services/ogcapi/routes.py), ours or pygeoapi's."""

LINK_HOSTS: Final = frozenset(
    {"pygeoapi.io", "leafletjs.com", "schema.org", "www.opengis.net", "www.w3.org"}
)
"""Hosts a page may *link* to (documentation, namespaces); none may be requested."""


# --- the vendored files ---------------------------------------------------------------------


def test_every_vendored_file_is_in_the_manifest_and_matches_its_sha256() -> None:
    assert problems() == []
    entries = manifest()
    assert {entry.path for entry in entries} == {
        f"{asset.package}/{asset.target}" for asset in ASSETS
    }
    for entry in entries:
        data = (vendor_dir() / entry.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry.sha256, entry.path


def test_the_manifest_names_the_versions_package_json_and_the_lock_pin() -> None:
    pins = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["dependencies"]
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))["packages"]
    assert lock[""]["dependencies"] == pins
    for entry in manifest():
        assert pins[entry.package] == entry.version, entry.path
        assert lock[f"node_modules/{entry.package}"]["version"] == entry.version
        assert lock[f"node_modules/{entry.package}"]["integrity"].startswith("sha512-")


def test_a_changed_missing_or_stray_file_is_reported(tmp_path: Path) -> None:
    copy = tmp_path / "vendor"
    shutil.copytree(vendor_dir(), copy)
    (copy / "leaflet" / "leaflet.js").write_text("/* changed */", encoding="utf-8")
    (copy / "bootstrap" / "css" / "bootstrap.min.css").unlink()
    (copy / "leaflet" / "extra.js").write_text("", encoding="utf-8")
    assert problems(copy) == [
        "bootstrap/css/bootstrap.min.css: missing",
        "leaflet/leaflet.js: sha256 differs from leaflet@1.9.4",
        "leaflet/extra.js: not in the manifest",
    ]


def test_templates_and_static_files_are_package_data() -> None:
    """A non-editable install carries every file of services/web/{templates,static}."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["services.web"]
    package = templates_dir().parent
    covered = {path for pattern in patterns for path in package.glob(pattern) if path.is_file()}
    for folder in (templates_dir(), static_dir()):
        files = {path for path in folder.rglob("*") if path.is_file()}
        assert files and files <= covered, sorted(map(str, files - covered))


def test_vendored_and_pygeoapi_static_files_are_served(ogc: httpx.Client) -> None:
    for entry in manifest():
        response = ogc.get(f"static/vendor/{entry.path}")
        assert response.status_code == 200, entry.path
        assert hashlib.sha256(response.content).hexdigest() == entry.sha256, entry.path
    for own in ("css/default.css", "js/default.js", "img/logo.png", "img/favicon.ico"):
        response = ogc.get(f"static/{own}")
        assert response.status_code == 200, own
        assert response.content == (PYGEOAPI / "static" / own).read_bytes()
    assert ogc.get("static/vendor/../../../pyproject.toml").status_code == 404


# --- no other host --------------------------------------------------------------------------

_TAG: Final = re.compile(
    r"<(?P<tag>[a-z]+)\b[^<>]*?\b(?:src|href|srcset)\s*=\s*[\"']?(?P<url>https?://[^\"'\s>]+)",
    re.IGNORECASE,
)
_PROPERTY: Final = re.compile(
    r"\b(?:src|href|srcset)\s*[:=]\s*[\"'`](?P<url>https?://[^\"'`\s]+)", re.IGNORECASE
)
_CSS: Final = re.compile(
    r"(?:url\(\s*[\"']?|@import\s+[\"'])(?P<url>(?:https?:)?//[^\"')\s]+)", re.IGNORECASE
)


@dataclass(frozen=True)
class Remote:
    """A URL of another host in a file: requested (src, url(), @import) or only linked."""

    file: str
    url: str
    requested: bool

    def allowed(self) -> bool:
        return not self.requested and urlsplit(self.url).hostname in LINK_HOSTS


def remote_urls(path: Path) -> list[Remote]:
    """Every http(s) URL ``path`` puts in a src, href or url(): an ``<a href>`` is a link,
    anything else (script, stylesheet, image, CSS url(), a JS ``.src =``) a request."""
    text = path.read_text(encoding="utf-8", errors="replace")
    found: list[Remote] = []
    tagged: set[int] = set()
    for match in _TAG.finditer(text):
        tagged.add(match.start("url"))
        found.append(Remote(str(path), match["url"], requested=match["tag"].lower() != "a"))
    for match in _PROPERTY.finditer(text):
        if match.start("url") not in tagged:
            found.append(Remote(str(path), match["url"], requested=True))
    found.extend(Remote(str(path), m["url"], requested=True) for m in _CSS.finditer(text))
    return found


def served_files() -> list[Path]:
    """The templates our routes render (ours first, as pygeoapi searches), every template of
    ours, and every HTML, JS and CSS file served at ``/ogc/static``."""
    searched = (templates_dir(), PYGEOAPI / "templates")
    rendered = {next(d / name for d in searched if (d / name).is_file()) for name in RENDERED}
    ours = set(templates_dir().rglob("*.html"))
    static = {
        path
        for folder in (static_dir(), PYGEOAPI / "static")
        for path in folder.rglob("*")
        if path.suffix in {".html", ".js", ".css"}
    }
    return sorted(rendered | ours | static)


def test_no_template_or_static_file_we_serve_requests_another_host() -> None:
    files = served_files()
    assert any(path.name == "swagger-ui-bundle.js" for path in files)
    assert any(path.is_relative_to(PYGEOAPI) for path in files)  # its landing page, css, js
    found = [remote for path in files for remote in remote_urls(path)]
    assert [remote for remote in found if not remote.allowed()] == []
    assert any(remote.url == "https://pygeoapi.io" for remote in found)  # a link: allowed


def test_the_scan_finds_what_pygeoapis_own_templates_load(tmp_path: Path) -> None:
    """The check above can fail: pygeoapi's own templates load from CDNs and tile servers."""
    base = remote_urls(PYGEOAPI / "templates" / "_base.html")
    items = remote_urls(PYGEOAPI / "templates" / "collections" / "items" / "index.html")
    swagger = remote_urls(PYGEOAPI / "templates" / "openapi" / "swagger.html")
    requested = {r.url for r in base + items + swagger if r.requested}
    assert "https://unpkg.com/bootstrap@5.1.3/dist/css/bootstrap.min.css" in requested
    assert "https://unpkg.com/leaflet@1.3.1/dist/leaflet.js" in requested
    assert "https://unpkg.com/swagger-ui-dist/swagger-ui-bundle.js" in requested
    sample = tmp_path / "sample.js"
    sample.write_text(
        'img.src = "http://tiles.example/1/2/3.png";\n'
        "css = \".x { background: url('https://tiles.example/a.png') }\";\n"
        "html = '<a href=\"https://docs.example/\">docs</a>';\n",
        encoding="utf-8",
    )
    assert [(r.url, r.requested, r.allowed()) for r in remote_urls(sample)] == [
        ("https://docs.example/", False, False),
        ("http://tiles.example/1/2/3.png", True, False),
        ("https://tiles.example/a.png", True, False),
    ]
