"""``/health`` over real HTTP: versions of PostgreSQL and PostGIS, the schema, the sample."""

from __future__ import annotations

import httpx

from gis.settings import DatabaseSettings
from services.settings import Settings
from tests.services.conftest import free_port, serve


def test_health_reports_versions_schema_and_sample(client: httpx.Client) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["postgresql"].startswith("15")
    assert body["database"]["postgis"].startswith("3.")
    assert body["schema"]["up_to_date"] is True
    assert body["grid"]["persons"] > 100 and body["grid"]["cells"] == 12


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
