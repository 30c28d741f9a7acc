"""What every HTTP answer obeys (services/http/): error bodies for the framework's own errors
and for what the server cannot parse, size limits, allowed hosts, languages, no version
headers, cache validators, compression and CORS. Real sockets against the real server."""

from __future__ import annotations

import gzip
import json
import re
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import Engine, text

from gis.settings import DatabaseSettings
from services.settings import HttpSettings, OgcSettings, Settings
from tests.services.conftest import serve


def _ogc_body(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "type", "description"}
    assert body["description"]
    return dict(body)


def _raw(base_url: str, request: bytes, *, chunk: int = 65536) -> bytes:
    """Send ``request`` on a fresh socket and read the whole answer (the test fails on a
    reset connection, which is what the server must avoid)."""
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        try:
            for start in range(0, len(request), chunk):
                sock.sendall(request[start : start + chunk])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early; its answer must still be readable
        received = b""
        while True:
            data = sock.recv(65536)
            if not data:
                return received
            received += data


def _status_and_body(raw: bytes) -> tuple[int, dict[str, str]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)


# --- errors of the framework itself ------------------------------------------------------


def test_unknown_path_is_an_ogc_404(client: httpx.Client) -> None:
    body = _ogc_body(client.get("/no/such/place"), 404)
    assert body["code"] == "NotFound"
    assert "/no/such/place" in body["description"]


def test_unknown_path_as_html_when_html_is_asked(client: httpx.Client) -> None:
    response = client.get("/no/such/place", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "NotFound" in response.text


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_wrong_method_is_an_ogc_405_with_allow(client: httpx.Client, method: str) -> None:
    response = client.request(method, "/ogc/collections/buildings/queryables")
    body = _ogc_body(response, 405)
    assert body["code"] == "MethodNotAllowed"
    assert "GET" in response.headers["allow"]


def test_cors_preflight_without_cors_configured_is_an_ogc_405(client: httpx.Client) -> None:
    response = client.options(
        "/ogc/collections",
        headers={"Origin": "http://elsewhere.example", "Access-Control-Request-Method": "GET"},
    )
    _ogc_body(response, 405)
    assert "access-control-allow-origin" not in response.headers


def test_malformed_request_is_an_ogc_400(base_url: str) -> None:
    status, body = _status_and_body(_raw(base_url, b"GARBAGE\x01 / HTTP/9\r\n\r\n"))
    assert status == 400
    assert set(body) == {"code", "type", "description"}


# --- sizes -----------------------------------------------------------------------------------


def test_megabyte_url_is_a_414_not_a_reset(base_url: str) -> None:
    query = "filter=" + "floors%3D1%20OR%20" * 60_000 + "floors%3D2"
    request = f"GET /ogc/collections/buildings/items?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    assert len(request) > 1_000_000
    status, body = _status_and_body(_raw(base_url, request.encode()))
    assert status == 414
    assert body["code"] == "URITooLong"


def test_url_above_the_setting_is_a_414(client: httpx.Client) -> None:
    limit = HttpSettings().max_url_bytes
    response = client.get("/ogc/collections/buildings/items", params={"filter": "x" * limit})
    assert _ogc_body(response, 414)["code"] == "URITooLong"


def test_huge_header_is_a_431_not_a_reset(base_url: str) -> None:
    request = (
        "GET /ogc HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Junk: " + "j" * 200_000 + "\r\n\r\n"
    ).encode()
    status, body = _status_and_body(_raw(base_url, request))
    assert status == 431
    assert body["code"] == "RequestHeaderFieldsTooLarge"


def test_header_above_the_setting_is_a_431(client: httpx.Client) -> None:
    limit = HttpSettings().max_header_bytes
    response = client.get("/ogc", headers={"X-Junk": "j" * limit})
    assert _ogc_body(response, 431)["code"] == "RequestHeaderFieldsTooLarge"


def test_huge_polygon_filter_is_refused_with_an_answer(base_url: str) -> None:
    ring = ",".join(f"{119 + i * 1e-6:.6f} 34.6" for i in range(200_000))
    query = f"filter=S_INTERSECTS(geometry,POLYGON(({ring})))".replace(" ", "%20")
    request = f"GET /ogc/collections/buildings/items?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    status, body = _status_and_body(_raw(base_url, request.encode()))
    assert status == 414
    assert set(body) == {"code", "type", "description"}


def test_body_above_the_limit_is_a_413(client: httpx.Client) -> None:
    limit = HttpSettings().max_body_bytes
    response = client.post("/ogc/collections", content=b"x" * (limit + 1))
    assert _ogc_body(response, 413)["code"] == "RequestEntityTooLarge"


# --- hosts -----------------------------------------------------------------------------------


def test_foreign_host_is_refused_and_never_linked(client: httpx.Client) -> None:
    for path in ("/ogc", "/ogc/collections", "/ogc/", "/ogc/openapi"):
        response = client.get(path, headers={"Host": "evil.example"})
        _ogc_body(response, 400)
        assert "evil.example" not in response.headers.get("location", "")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST:8000"])
def test_configured_hosts_are_served_and_linked(client: httpx.Client, host: str) -> None:
    response = client.get("/ogc", headers={"Host": host})
    assert response.status_code == 200
    links = [link["href"] for link in response.json()["links"]]
    assert all(urlsplit(h).netloc.lower() == host.lower() for h in links)


@pytest.fixture(scope="module")
def public_base(url_env: str) -> Iterator[str]:
    settings = Settings(
        database=DatabaseSettings(database_url=url_env),
        ogc=OgcSettings(public_url="https://onemap.lyg.example/ogc"),
    )
    yield from serve(settings)


def test_public_url_is_the_only_link_base(public_base: str) -> None:
    with httpx.Client(base_url=public_base) as http:
        for host in ("127.0.0.1", "onemap.lyg.example"):
            response = http.get("/ogc/collections", headers={"Host": host})
            assert response.status_code == 200
            hrefs = [link["href"] for link in response.json()["links"]]
            assert all(h.startswith("https://onemap.lyg.example/ogc") for h in hrefs)
        _ogc_body(http.get("/ogc", headers={"Host": "evil.example"}), 400)
        servers = http.get("/ogc/openapi", params={"f": "json"}).json()["servers"]
        assert servers[0]["url"] == "https://onemap.lyg.example/ogc"


def test_styles_draw_tiles_at_the_public_url(public_base: str) -> None:
    with httpx.Client(base_url=public_base) as http:
        for style_id in ("plan-map", "buildings"):
            style = http.get(f"/ogc/styles/{style_id}").json()
            urls = [source["url"] for source in style["sources"].values()]
            assert urls and all(u.startswith("https://onemap.lyg.example/ogc/") for u in urls)


# --- languages and headers -----------------------------------------------------------------

FOREIGN = ["fr-FR", "ja", "de", "*", "xx", "zz-ZZ;q=0.5, *;q=0.1", "en-GB,en;q=0.9", "zh-CN"]


@pytest.mark.parametrize("language", FOREIGN)
@pytest.mark.parametrize(
    "path", ["/ogc", "/ogc/collections/buildings", "/ogc/collections/buildings/items?limit=2"]
)
def test_any_language_gets_a_page_never_a_500(
    client: httpx.Client, language: str, path: str
) -> None:
    response = client.get(path, headers={"Accept-Language": language, "Accept": "text/html"})
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-language"] in ("zh", "en-US")


@pytest.mark.parametrize("lang", ["xx", "fr", "ja-JP", "de", "zh-CN", "en"])
def test_lang_parameter_falls_back(client: httpx.Client, lang: str) -> None:
    response = client.get("/ogc/collections/buildings", params={"f": "html", "lang": lang})
    assert response.status_code == 200
    expected = "en-US" if lang.startswith("en") else "zh"
    assert response.headers["content-language"] == expected


def test_openapi_in_any_language(client: httpx.Client) -> None:
    for language in ("fr-FR", "ja", "*"):
        response = client.get("/ogc/openapi", headers={"Accept-Language": language})
        assert response.status_code == 200


@pytest.mark.parametrize(
    "path", ["/ogc", "/ogc/collections?f=html", "/ogc/collections/buildings/items?f=html"]
)
def test_no_software_version_headers(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert "x-powered-by" not in response.headers
    assert "server" not in response.headers


def test_html_pages_are_capped(client: httpx.Client) -> None:
    cap = OgcSettings().max_html_limit
    response = client.get("/ogc/collections/buildings/items", params={"f": "html", "limit": 10_000})
    assert response.status_code == 200
    embedded = re.search(r"var geojson_data = (\[.*?\]);\n", response.text, re.S)
    assert embedded is not None
    assert len(json.loads(embedded.group(1))) == cap
    json_page = client.get("/ogc/collections/buildings/items", params={"limit": 1000}).json()
    assert json_page["numberReturned"] == 1000  # JSON keeps its own, larger limit


# --- caching -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/ogc/collections",
        "/ogc/collections/buildings",
        "/ogc/collections/buildings/queryables",
        "/ogc/collections/buildings/items?limit=5",
    ],
)
def test_validators_and_304(client: httpx.Client, path: str) -> None:
    first = client.get(path)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert "max-age" in first.headers["cache-control"]
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    other = client.get(path, headers={"If-None-Match": 'W/"something-else"'})
    assert other.status_code == 200


def test_item_etag_follows_the_data(client: httpx.Client, engine: Engine) -> None:
    with engine.connect() as conn:
        building = conn.execute(text("SELECT id, floors FROM grid.buildings LIMIT 1")).one()
    path = f"/ogc/collections/buildings/items/{building.id}"
    first = client.get(path)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(path, headers={"If-Modified-Since": modified}).status_code == 304
    page_etag = client.get("/ogc/collections/buildings/items").headers["etag"]
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE grid.buildings SET floors = :f WHERE id = :id"),
            {"f": (building.floors or 1) + 1, "id": building.id},
        )
    try:
        changed = client.get(path, headers={"If-None-Match": etag})
        assert changed.status_code == 200
        assert changed.headers["etag"] != etag
        assert changed.json()["properties"]["floors"] == (building.floors or 1) + 1
        page = client.get("/ogc/collections/buildings/items", headers={"If-None-Match": page_etag})
        assert page.status_code == 200
    finally:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE grid.buildings SET floors = :f WHERE id = :id"),
                {"f": building.floors, "id": building.id},
            )


@pytest.mark.parametrize(
    "since",
    ["garbage", "Mon, 99 Jan 2020 00:00:00 GMT", "Fri, 01 Jan 9999 00:00:00 GMT", "2020-01-01"],
)
def test_unreadable_or_future_if_modified_since_is_ignored(
    client: httpx.Client, since: str
) -> None:
    response = client.get(
        "/ogc/collections/buildings/items/1", headers={"If-Modified-Since": since}
    )
    assert response.status_code == 200


def test_etag_differs_by_query_and_media_type(client: httpx.Client) -> None:
    path = "/ogc/collections/buildings/items"
    tags = {
        client.get(path, params={"limit": 2}).headers["etag"],
        client.get(path, params={"limit": 3}).headers["etag"],
        client.get(path, params={"limit": 2}, headers={"Accept": "application/json"}).headers[
            "etag"
        ],
    }
    assert len(tags) == 3


# --- compression -----------------------------------------------------------------------------


def test_large_answers_are_gzipped_when_accepted(base_url: str) -> None:
    path = "/ogc/collections/buildings/items?limit=500"
    with httpx.Client(base_url=base_url, headers={"Accept-Encoding": "gzip"}) as http:
        zipped = http.get(path)
    assert zipped.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in zipped.headers["vary"].lower()
    raw = _raw(base_url, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n"
               "Connection: close\r\n\r\n".encode())  # fmt: skip
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"content-encoding: gzip" in head.lower()
    plain = gzip.decompress(body)
    assert json.loads(plain)["numberReturned"] == 500
    assert len(body) < len(plain) / 3
    with httpx.Client(base_url=base_url, headers={"Accept-Encoding": "identity"}) as http:
        assert "content-encoding" not in http.get(path).headers


# --- CORS --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cors_base(url_env: str) -> Iterator[str]:
    settings = Settings(
        database=DatabaseSettings(database_url=url_env),
        http=HttpSettings(cors_origins=["https://portal.lyg.example"]),
    )
    yield from serve(settings)


def test_cors_for_configured_origins_only(cors_base: str) -> None:
    allowed = "https://portal.lyg.example"
    with httpx.Client(base_url=cors_base) as http:
        response = http.get("/ogc/collections", headers={"Origin": allowed})
        assert response.headers["access-control-allow-origin"] == allowed
        assert "etag" in response.headers["access-control-expose-headers"].lower()
        preflight = http.options(
            "/ogc/collections/buildings/items",
            headers={"Origin": allowed, "Access-Control-Request-Method": "GET"},
        )
        assert preflight.status_code == 200
        assert "GET" in preflight.headers["access-control-allow-methods"]
        foreign = http.get("/ogc/collections", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in foreign.headers
        refused = http.options(
            "/ogc/collections",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert _ogc_body(refused, 403)["code"] == "Forbidden"


# --- cheap answers do not queue behind heavy ones -------------------------------------------


def test_health_answers_while_heavy_pages_run(base_url: str) -> None:
    """Sixteen large HTML pages at once, and /health still answers quickly."""
    import concurrent.futures

    heavy = "/ogc/collections/buildings/items?f=html&limit=10000"
    with (
        httpx.Client(base_url=base_url, timeout=120) as http,
        concurrent.futures.ThreadPoolExecutor(16) as pool,
    ):
        futures = [pool.submit(http.get, heavy) for _ in range(16)]
        time.sleep(0.3)
        health = http.get("/health", timeout=10)
        statuses = [f.result().status_code for f in futures]
    assert health.status_code == 200
    assert statuses == [200] * 16
