"""``/health`` over real HTTP: versions of PostgreSQL and PostGIS, the schema, the sample."""

from __future__ import annotations

import json

import httpx

from gis.settings import DatabaseSettings
from services.settings import Settings
from tests.conftest import SAMPLE
from tests.services.conftest import free_port, serve


def test_health_reports_versions_schema_and_sample(client: httpx.Client) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["postgresql"].startswith("15")
    assert body["database"]["postgis"].startswith("3.")
    assert body["schema"]["up_to_date"] is True
    tables = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))["tables"]
    assert body["grid"]["persons"] == tables["persons"]
    assert body["grid"]["cells"] == tables["cells"]


def test_health_without_a_database_is_an_ogc_503() -> None:
    settings = Settings(
        database=DatabaseSettings(database_url=f"postgresql://u:p@127.0.0.1:{free_port()}/x")
    )
    for base in serve(settings):
        response = httpx.get(f"{base}/health", timeout=30)
        assert response.status_code == 503
        body = response.json()
        assert body["code"] == "ServiceUnavailable"
        assert "cannot connect" in body["description"]
        assert "p@" not in body["description"]  # the password is never shown


def test_domain_errors_map_to_their_http_status() -> None:
    import asyncio

    from starlette.requests import Request

    from grid.errors import ConflictError, GridError, NotAuthorisedError, NotFoundError
    from services.errors import domain_error

    request = Request({"type": "http", "method": "GET", "path": "/", "headers": []})
    expected = {NotFoundError: 404, NotAuthorisedError: 403, ConflictError: 409, GridError: 400}
    for kind, status in expected.items():
        response = asyncio.run(domain_error(request, kind("what went wrong")))
        assert response.status_code == status
        assert b'"description":"what went wrong"' in response.body
