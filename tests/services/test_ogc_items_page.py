"""The items page as HTML shows exactly what the GeoJSON route answers for the same request:
the same filter grammar, the same checks and messages, the same features and paging."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

ITEMS = "collections/buildings/items"
VALID_BUT_REFUSED_BY_PYGEOFILTER = "floors > 2 AND NOT (floors = 3 OR floors = 4)"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


def embedded(page: str) -> list[dict[str, Any]]:
    """The features the page's map draws."""
    found = re.search(r"var geojson_data = (\[.*?\]);\n", page, re.S)
    assert found is not None, "the page embeds no features"
    features: list[dict[str, Any]] = json.loads(found.group(1))
    return features


class Links(HTMLParser):
    """Every ``href`` of ``<a>`` elements on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs += [value for name, value in attrs if name == "href" and value]


def anchors(page: str) -> list[str]:
    parser = Links()
    parser.feed(page)
    return parser.hrefs


@pytest.mark.parametrize(
    "query",
    [
        {"filter": VALID_BUT_REFUSED_BY_PYGEOFILTER, "limit": "7"},
        {"filter": "use IN ('public', 'commercial') AND floors BETWEEN 3 AND 6", "limit": "5"},
        {"bbox-crs": f"{EPSG}4490", "limit": "4"},  # bbox-crs alone: ignored by both
        {"sortby": "-floors", "limit": "6"},
    ],
)
def test_the_page_shows_what_geojson_answers(ogc: httpx.Client, query: dict[str, str]) -> None:
    as_json = ogc.get(ITEMS, params=query)
    as_html = ogc.get(ITEMS, params={**query, "f": "html"})
    assert as_json.status_code == 200, as_json.text
    assert as_html.status_code == 200, as_html.text
    assert as_html.headers["content-type"].startswith("text/html")
    expected = [feature["id"] for feature in as_json.json()["features"]]
    assert expected, "the query should select features"
    assert [feature["id"] for feature in embedded(as_html.text)] == expected


@pytest.mark.parametrize(
    "query",
    [
        {"filter": "floors >"},
        {"filter": "height > 3"},
        {"bbox": "1,2,3"},
        {"limit": "0"},
        {"filter-lang": "cql-json", "filter": "{}"},
    ],
)
def test_the_page_refuses_what_geojson_refuses(ogc: httpx.Client, query: dict[str, str]) -> None:
    as_json = ogc.get(ITEMS, params=query)
    as_html = ogc.get(ITEMS, params={**query, "f": "html"})
    assert as_json.status_code == as_html.status_code == 400
    assert as_html.headers["content-type"].startswith("text/html")
    description = as_json.json()["description"]
    assert description.replace("'", "&#x27;").replace('"', "&quot;") in as_html.text


def test_the_map_gets_longitude_latitude_whatever_crs_asks(ogc: httpx.Client) -> None:
    page = ogc.get(ITEMS, params={"f": "html", "limit": "3", "crs": f"{EPSG}4549"})
    assert page.status_code == 200
    ring = embedded(page.text)[0]["geometry"]["coordinates"][0]
    assert all(119 < x < 120 and 34 < y < 35.5 for x, y in ring)


def test_next_pages_stay_html_and_match_geojson_paging(ogc: httpx.Client) -> None:
    query = {"filter": VALID_BUT_REFUSED_BY_PYGEOFILTER, "limit": "5"}
    first = ogc.get(ITEMS, params={**query, "f": "html"})
    following = [h for h in anchors(first.text) if "cursor=" in h]
    assert following, "the first page links to the next"
    assert parse_qs(urlsplit(following[0]).query)["f"] == ["html"]
    second = ogc.get(following[0])
    assert second.status_code == 200

    json_first = ogc.get(ITEMS, params=query).json()
    json_next = next(link["href"] for link in json_first["links"] if link["rel"] == "next")
    expected = [feature["id"] for feature in ogc.get(json_next).json()["features"]]
    assert [feature["id"] for feature in embedded(second.text)] == expected


def test_an_empty_page_says_so(ogc: httpx.Client) -> None:
    page = ogc.get(ITEMS, params={"f": "html", "filter": "code = 'none'"})
    assert page.status_code == 200
    assert "No items" in page.text
    assert "geojson_data" not in page.text


def test_object_properties_read_as_key_value_pairs(ogc: httpx.Client) -> None:
    """A JSON object property shows as ``key: value; ...``, not as a Python dict."""
    items = "collections/plans.ogc-test-landuse/items"
    features = ogc.get(items).json()["features"]
    objects = [v for f in features for v in f["properties"].values() if isinstance(v, dict)]
    assert objects, "the test layer has no object property"
    page = ogc.get(items, params={"f": "html"}).text
    for value in objects:
        assert "; ".join(f"{k}: {v}" for k, v in value.items()) in page
    assert "{&#39;" not in page and "{'" not in page


def test_no_page_names_the_software_version(ogc: httpx.Client) -> None:
    from importlib.metadata import version

    for path in ("", "collections", "collections/buildings", ITEMS):
        page = ogc.get(path, params={"f": "html"}, follow_redirects=True)
        assert page.status_code == 200, path
        assert version("pygeoapi") not in page.text, path


def test_unknown_languages_fall_back_to_the_default(ogc: httpx.Client) -> None:
    page = ogc.get(ITEMS, params={"f": "html", "lang": "fr"}, headers={"Accept-Language": "de"})
    assert page.status_code == 200
    assert page.headers["content-language"] == "zh"
    english = ogc.get(ITEMS, params={"f": "html", "lang": "en"})
    assert english.headers["content-language"].startswith("en")


def test_the_page_is_revalidated_by_etag(ogc: httpx.Client) -> None:
    page = ogc.get(ITEMS, params={"f": "html", "limit": "3"})
    again = ogc.get(
        ITEMS, params={"f": "html", "limit": "3"}, headers={"If-None-Match": page.headers["etag"]}
    )
    assert again.status_code == 304


@pytest.mark.parametrize("path", ["collections/buildings", ITEMS, "collections"])
def test_every_link_on_a_page_leads_somewhere(ogc: httpx.Client, path: str) -> None:
    """The collection page once linked to /schema, which the API does not serve."""
    page = ogc.get(path, params={"f": "html"})
    assert page.status_code == 200
    base = str(ogc.base_url).rstrip("/")
    host = urlsplit(base).netloc
    own = sorted({h for h in anchors(page.text) if urlsplit(h).netloc in ("", host)})
    assert own
    for href in own:
        if href.startswith(("#", "mailto:")) or "/openapi" in href:
            continue
        response = ogc.get(page.url.join(href))
        assert response.status_code < 400, f"{href} on {path}: {response.status_code}"
