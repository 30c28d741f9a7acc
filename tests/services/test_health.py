"""``/health`` over real HTTP: status for anyone, details only when the operator enables them,
and a 503 that names nothing about the database when it cannot be used."""

from __future__ import annotations

import json
import time

import httpx
from sqlalchemy import Engine, text

from gis.settings import DatabaseSettings
from services.settings import ServerSettings, Settings
from tests.conftest import SAMPLE
from tests.services.conftest import free_port, serve


def _details_settings(url_env: str) -> Settings:
    return Settings(
        database=DatabaseSettings(database_url=url_env),
        server=ServerSettings(health_details=True),
    )


def test_anonymous_health_is_status_only(client: httpx.Client) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_details_appear_with_the_setting(url_env: str) -> None:
    for base in serve(_details_settings(url_env)):
        response = httpx.get(f"{base}/health", timeout=30)
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ok"
        assert body["database"]["postgresql"].startswith("15")
        assert body["database"]["postgis"].startswith("3.")
        assert body["schema"]["up_to_date"] is True
        assert body["schema"]["revision"]
        tables = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))["tables"]
        assert body["grid"]["persons"] == tables["persons"]
        assert body["grid"]["cells"] == tables["cells"]


def test_unreachable_database_is_a_503_that_names_nothing() -> None:
    port = free_port()
    url = f"postgresql://healthuser:healthpw@127.0.0.1:{port}/healthdb"
    for details in (False, True):
        settings = Settings(
            database=DatabaseSettings(database_url=url, app_database_url=url),
            server=ServerSettings(health_details=details),
        )
        for base in serve(settings):
            response = httpx.get(f"{base}/health", timeout=30)
            assert response.status_code == 503
            body = response.json()
            assert set(body) == {"code", "type", "description"}
            assert body["code"] == body["type"] == "ServiceUnavailable"
            assert "unreachable" in body["description"]
            for secret in ("healthuser", "healthpw", "127.0.0.1", str(port), "healthdb"):
                assert secret not in body["description"]


def test_health_does_not_wait_behind_a_locked_table(engine: Engine, url_env: str) -> None:
    """A lock held elsewhere makes health answer 503 within its short timeout, not hang."""
    for base in serve(_details_settings(url_env)):
        with engine.connect() as blocker, blocker.begin():
            blocker.execute(text("LOCK TABLE grid.persons IN ACCESS EXCLUSIVE MODE"))
            started = time.monotonic()
            response = httpx.get(f"{base}/health", timeout=30)
            elapsed = time.monotonic() - started
        assert response.status_code == 503
        assert response.json()["description"] == "the database did not answer in time"
        assert elapsed < 5
        assert httpx.get(f"{base}/health", timeout=30).status_code == 200
