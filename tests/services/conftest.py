"""Fixtures for the outside: the real app under uvicorn on a free port, the real CLI."""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine
from sqlalchemy.engine import URL

from gis.settings import DatabaseSettings
from services.app import create_app
from services.http import uvicorn_options
from services.settings import Settings
from tests.conftest import SERVER_URLS

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(settings: Settings, apps: list[Any] | None = None) -> Iterator[str]:
    """Run ``create_app(settings)`` under uvicorn in a thread; yield its base URL (the app
    is appended to ``apps`` when given, for tests that look at its state).

    The app connects as the server's role: settings that name a session database by its
    owner URL alone get that database's server login (``server_url``), as a deployment sets
    ``ONEMAP_APP_DATABASE_URL`` beside ``ONEMAP_DATABASE_URL``.
    """
    cache = None
    if not settings.basemap_cache.dir.is_absolute():  # tiles of this server's database only
        cache = Path(tempfile.mkdtemp(prefix="onemap-tiles-"))
        settings = dataclasses.replace(
            settings, basemap_cache=settings.basemap_cache.model_copy(update={"dir": cache})
        )
    database = settings.database
    login = SERVER_URLS.get(database.database_url or "")
    if login and not database.app_database_url:
        database = database.model_copy(update={"app_database_url": login})
        settings = dataclasses.replace(settings, database=database)
    port = free_port()
    options = uvicorn_options(settings.http.max_url_bytes, settings.http.max_header_bytes)
    app = create_app(settings)
    if apps is not None:
        apps.append(app)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **options)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    if cache is not None:
        shutil.rmtree(cache, ignore_errors=True)


def ogc_client(url_env: str, home: Path, timeout: float = 60) -> Iterator[httpx.Client]:
    """The app on its own state directory ``home``, started now (so it publishes what the
    database holds now); a client whose relative URLs start below ``/ogc``."""
    settings = Settings(database=DatabaseSettings(database_url=url_env, home=home))
    for base in serve(settings):
        with httpx.Client(base_url=f"{base}/ogc/", timeout=timeout) as http:
            yield http


@pytest.fixture(scope="session")
def url_env(engine: Engine, server_url: URL) -> str:
    """The session database's owner URL (``ONEMAP_DATABASE_URL``); its server login is
    known to :func:`serve` from then on."""
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def base_url(url_env: str) -> Iterator[str]:
    yield from serve(Settings(database=DatabaseSettings(database_url=url_env)))


@pytest.fixture(scope="session")
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        yield http


@pytest.fixture
def onemap(url_env: str, tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the real ``onemap`` command against the session database."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        environment = {
            **os.environ,
            "ONEMAP_DATABASE_URL": url_env,
            "ONEMAP_APP_DATABASE_URL": SERVER_URLS[url_env],
            "ONEMAP_SECRET_KEY": "k" * 40,
            "COLUMNS": "200",
            **(env or {}),
        }
        return subprocess.run(
            [sys.executable, "-m", "services.cli", *args],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return run


# --- OGC API (tests/services/test_ogc_*.py) ---------------------------------------------------

OGC_LAYER = "ogc-test-landuse"
"""A plan layer with two versions, written for the OGC tests and removed after each module."""

_OGC_PLANS = """
INSERT INTO plans.layers (id, title, department, plan_type, scheme)
VALUES (:layer, 'OGC test land use', 'test bureau', 'landuse_plan', 'landuse_2023');
INSERT INTO plans.layer_versions (layer_id, version, snapshot_date, source_name, source_sha256,
    source_crs, feature_count, imported_by)
SELECT :layer, v, DATE '2024-01-01' + v, 'test-v' || v || '.shp', repeat('a', 64), 'EPSG:4490',
    2 + v, 'tests'
FROM generate_series(1, 2) AS v;
INSERT INTO plans.features (layer_version_id, source_fid, source_code, code_2023, category,
    properties, geom)
SELECT lv.id, i::text, '0101', '0101', '农用', jsonb_build_object('n', i, 'v', lv.version),
    ST_Multi(ST_MakeEnvelope(119.17 + i * 0.002, 34.59, 119.171 + i * 0.002, 34.591, 4490))
FROM plans.layer_versions AS lv, generate_series(1, 2 + lv.version) AS i
WHERE lv.layer_id = :layer;
"""


@pytest.fixture(scope="module")
def ogc_base(
    engine: Engine, url_env: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The app under uvicorn with a plan layer of two versions; yields ``http://.../ogc``."""
    from sqlalchemy import text

    with engine.begin() as conn:
        for statement in _OGC_PLANS.strip().split(";\n"):
            if statement.strip():
                conn.execute(text(statement), {"layer": OGC_LAYER})
    home = tmp_path_factory.mktemp("ogc-home")
    settings = Settings(database=DatabaseSettings(database_url=url_env, home=home))
    try:
        for base in serve(settings):
            yield f"{base}/ogc"
    finally:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "DELETE FROM plans.features WHERE layer_version_id IN"
                    " (SELECT id FROM plans.layer_versions WHERE layer_id = :layer)"
                ),
                {"layer": OGC_LAYER},
            )
            conn.execute(
                text("DELETE FROM plans.layer_versions WHERE layer_id = :layer"),
                {"layer": OGC_LAYER},
            )
            conn.execute(text("DELETE FROM plans.layers WHERE id = :layer"), {"layer": OGC_LAYER})


@pytest.fixture(scope="module")
def ogc(ogc_base: str) -> Iterator[httpx.Client]:
    """An HTTP client for the OGC API (relative URLs start below ``/ogc``)."""
    with httpx.Client(base_url=ogc_base + "/", timeout=60) as http:
        yield http


CITY_SECRET = "c" * 40
"""The platform secret of the ``city`` database and its app (keys, personal fields)."""


@pytest.fixture(scope="module")
def city(database_url: Any, db_settings: DatabaseSettings, server_url: Any) -> Iterator[Engine]:
    """A database of the module's own: the small sample city, migrated and loaded with
    :data:`CITY_SECRET`, for tests that write (other modules' counts stay as they were).
    The server's login (``server_url``) is the cluster's: apps reach this database as it."""
    from pydantic import SecretStr

    from grid.loader import load_sample
    from grid.privacy import Keyring
    from grid.settings import PrivacySettings
    from services.migrate import upgrade
    from tests.conftest import SAMPLE, scratch_database

    with scratch_database(database_url, db_settings, "onemap_city") as made:
        upgrade(made)
        keyring = Keyring.from_settings(PrivacySettings(secret_key=SecretStr(CITY_SECRET)))
        with made.begin() as conn:
            load_sample(conn, SAMPLE, keyring, replace=False)
        owner = made.url.render_as_string(hide_password=False)
        login = server_url.set(database=made.url.database)
        SERVER_URLS[owner] = login.render_as_string(hide_password=False)
        try:
            yield made
        finally:
            SERVER_URLS.pop(owner, None)


def city_settings(city: Engine, home: Path, **auth: Any) -> Settings:
    """Settings of an app on the ``city`` database (its secret; keys trusted for 0.5 s)."""
    from pydantic import SecretStr

    from grid.settings import PrivacySettings
    from services.settings import AuthSettings

    return Settings(
        database=DatabaseSettings(
            database_url=city.url.render_as_string(hide_password=False), home=home
        ),
        privacy=PrivacySettings(secret_key=SecretStr(CITY_SECRET)),
        auth=AuthSettings(**{"cache_seconds": 0.5, **auth}),
    )


@pytest.fixture(scope="module")
def city_base(city: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on the ``city`` database; yields ``http://host:port`` (no ``/ogc``)."""
    yield from serve(city_settings(city, tmp_path_factory.mktemp("city-home")))


@pytest.fixture(scope="module")
def city_key(city: Engine) -> Callable[..., str]:
    """``city_key(role, worker_id=None)``: a new API key of that role, in the clear."""
    from pydantic import SecretStr

    from grid.privacy import Keyring
    from grid.settings import PrivacySettings
    from services.auth.keys import create_key

    keyring = Keyring.from_settings(PrivacySettings(secret_key=SecretStr(CITY_SECRET)))

    def make(role: str, worker_id: int | None = None, name: str | None = None) -> str:
        with city.begin() as conn:
            key, _ = create_key(conn, keyring, role=role, name=name or f"test {role}",
                                created_by="tests", worker_id=worker_id)  # fmt: skip
        return key

    return make
