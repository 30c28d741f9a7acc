"""The servers bench/ogc.py compares, each installed and started by the bench itself.

- ``onemap``: this platform (``services.asgi:app``); ``onemap-baseline``: the platform from
  another source tree (``ONEMAP_BENCH_BASELINE``), for before/after figures in one run;
- ``pygeoapi``: stock pygeoapi 0.24 with its PostgreSQL provider on ``grid.buildings``,
  storage CRS left at its default (CRS84), and ``pygeoapi-4490``: the same with the
  storage CRS declared EPSG:4490 (see :func:`_pygeoapi_provider` for why both);
- ``tipg``: tipg 1.6 on ``grid.buildings``.

Peers live in their own virtualenvs under ``.onemap/bench-venv/`` (never in ``.venv``). All
run under uvicorn (through ``bench/_uvicorn.py``: TCP_NODELAY, one accept per wake-up) with
the same number of workers, the same HTTP implementation (h11), no access log, one at a time.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy.engine import URL, make_url

ROOT = Path(__file__).resolve().parents[1]
VENVS = ROOT / ".onemap" / "bench-venv"
WORK = ROOT / ".onemap" / "bench"
PEERS = {
    "pygeoapi": ["pygeoapi==0.24.0", "psycopg2-binary", "geoalchemy2", "uvicorn", "starlette"],
    "tipg": ["tipg==1.6.1", "uvicorn"],
}


@dataclass(frozen=True)
class System:
    """How to reach one server's buildings collection."""

    name: str
    items: str  # URL of the items of the buildings collection, without query
    extra: str  # query parameters every request needs (format)
    geometry: str  # the geometry's name in CQL2


def ensure_peer(name: str) -> Path:
    """The peer's virtualenv python, created and installed on first use."""
    venv = VENVS / name
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if marker.exists() and marker.read_text() == json.dumps(PEERS[name]):
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *PEERS[name]], check=True)
    marker.write_text(json.dumps(PEERS[name]))
    return python


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


LAUNCHER = Path(__file__).with_name("_uvicorn.py")


def _uvicorn(python: Path, app: str, port: int, workers: int) -> list[str]:
    return [str(python), str(LAUNCHER), app, "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--http", "h11", "--loop", "asyncio",
            "--log-level", "warning", "--no-access-log"]  # fmt: skip


@contextmanager
def _running(command: list[str], env: dict[str, str], probe: str, log: Path) -> Iterator[None]:
    with log.open("w") as out:
        process = subprocess.Popen(command, env={**os.environ, **env}, stdout=out, stderr=out)
        try:
            deadline = time.monotonic() + 180
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"{command[2]} exited: see {log}")
                try:
                    if httpx.get(probe, timeout=30).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{command[2]} did not start: see {log}")
                time.sleep(0.5)
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


POOL_SIZE = 2
"""Async connections per worker for this platform: with two workers, four statements at
once on two cores shared with PostgreSQL; more only queue inside the database (and the OS
scheduler), where nothing keeps them in order, and p99 grows."""


@contextmanager
def onemap(
    dsn: str,
    workers: int,
    baseline: Path | None = None,
    server_dsn: str | None = None,
    pool_size: int | None = None,
) -> Iterator[System]:
    """This platform; ``baseline``: the same from another source tree (a checkout of an
    earlier version), with the settings that version was measured with. ``server_dsn``: the
    database as the server logs in (``ONEMAP_APP_DATABASE_URL``), which this version needs.
    ``pool_size``: connections per worker (default :data:`POOL_SIZE`)."""
    port = _free_port()
    home = WORK / "home"
    env = {
        "ONEMAP_DATABASE_URL": dsn,
        "ONEMAP_APP_DATABASE_URL": server_dsn or "",
        "ONEMAP_HOME": str(home),
        "ONEMAP_OGC_POOL_SIZE": str(pool_size or (16 if baseline else POOL_SIZE)),
        "ONEMAP_OGC_PUBLIC_URL": f"http://127.0.0.1:{port}/ogc",
        "PYTHONPATH": str(baseline or ROOT),
    }
    base = f"http://127.0.0.1:{port}/ogc"
    name = "onemap-baseline" if baseline else "onemap"
    command = _uvicorn(Path(sys.executable), "services.asgi:app", port, workers)
    command += ["--app-dir", str(baseline or ROOT)]  # uvicorn puts it first on sys.path
    with _running(command, env, f"{base}/collections/buildings", WORK / f"{name}.log"):
        yield System(name, f"{base}/collections/buildings/items", "", "geometry")


CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"


def _pygeoapi_provider(url: URL, storage_4490: bool) -> dict[str, Any]:
    """The PostgreSQL provider as pygeoapi documents it; which storage CRS to declare is
    the one choice that matters.

    Our columns hold CGCS2000 lon/lat numbers. Declared as ``storage_crs`` EPSG:4490
    (with ``always_xy`` so output axes are right), every request whose output CRS is the
    default CRS84 builds a new pyproj ``Transformer`` 4490 -> CRS84 (pygeoapi does not
    cache it), and PROJ needs ~0.4 s of CPU to find that operation (no registered
    transformation: it searches, then falls back to a ballpark one): ~2 requests/s per
    core. Left at the default storage CRS (CRS84), the numbers are served as they are
    (right to < 1 m, as in this platform), with no transformation; its bbox and spatial
    CQL2 then compare SRID 4326 envelopes with SRID 4490 columns, which PostGIS refuses.
    """
    provider: dict[str, Any] = {
        "type": "feature",
        "name": "PostgreSQL",
        "data": {"host": url.host, "port": url.port, "dbname": url.database,
                 "user": url.username, "password": url.password,
                 "search_path": ["grid", "public"]},
        "id_field": "id",
        "table": "buildings",
        "geom_field": "geom",
    }  # fmt: skip
    if storage_4490:
        provider |= {"storage_crs": EPSG4490, "always_xy": True, "crs": [CRS84, EPSG4490]}
    return provider


@contextmanager
def pygeoapi(dsn: str, workers: int, storage_4490: bool = False) -> Iterator[System]:
    python = ensure_peer("pygeoapi")
    port = _free_port()
    url = make_url(dsn)
    config = {
        "server": {
            "bind": {"host": "127.0.0.1", "port": port},
            "url": f"http://127.0.0.1:{port}",
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "languages": ["en-US"],
            "limits": {"default_items": 10, "max_items": 10000},  # default max is 10
            "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "attribution": "OSM"},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {"title": "bench", "description": "bench", "keywords": ["bench"],
                               "keywords_type": "theme", "terms_of_service": "none",
                               "url": "http://localhost"},
            "license": {"name": "none", "url": "http://localhost"},
            "provider": {"name": "bench", "url": "http://localhost"},
            "contact": {"name": "bench", "position": "bench", "address": "x", "city": "x",
                        "stateorprovince": "x", "postalcode": "x", "country": "x",
                        "phone": "x", "fax": "x", "email": "x@example.org",
                        "url": "http://localhost", "hours": "x", "instructions": "x",
                        "role": "pointOfContact"},
        },
        "resources": {
            "buildings": {
                "type": "collection",
                "title": "buildings",
                "description": "grid.buildings",
                "keywords": ["buildings"],
                "extents": {"spatial": {"bbox": [118.4, 34.0, 119.8, 35.1],
                                        "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
                "providers": [_pygeoapi_provider(url, storage_4490)],
            }
        },
    }  # fmt: skip
    name = "pygeoapi-4490" if storage_4490 else "pygeoapi"
    config_path = WORK / f"{name}-peer.yml"
    openapi_path = WORK / f"{name}-peer-openapi.yml"
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True))
    subprocess.run(
        [str(python.parent / "pygeoapi"), "openapi", "generate", str(config_path),
         "--output-file", str(openapi_path)],
        check=True, capture_output=True, env={**os.environ, "PYGEOAPI_CONFIG": str(config_path)},
    )  # fmt: skip
    env = {"PYGEOAPI_CONFIG": str(config_path), "PYGEOAPI_OPENAPI": str(openapi_path)}
    base = f"http://127.0.0.1:{port}"
    command = _uvicorn(python, "pygeoapi.starlette_app:APP", port, workers)
    with _running(command, env, f"{base}/collections/buildings", WORK / f"{name}.log"):
        yield System(name, f"{base}/collections/buildings/items", "f=json", "geom")


@contextmanager
def tipg(dsn: str, workers: int) -> Iterator[System]:
    python = ensure_peer("tipg")
    port = _free_port()
    plain = make_url(dsn).set(drivername="postgresql").render_as_string(hide_password=False)
    env = {
        "DATABASE_URL": plain,
        "TIPG_DB_SCHEMAS": '["grid"]',
        "TIPG_DB_TABLES": '["grid.buildings"]',
        "TIPG_DB_FUNCTIONS": "[]",
        "TIPG_DB_EXCLUDE_FUNCTION_SCHEMAS": '["public", "grid", "plans", "audit", "counts"]',
        "DB_MAX_CONN_SIZE": "16",
        "DB_MIN_CONN_SIZE": "1",
    }
    base = f"http://127.0.0.1:{port}"
    command = _uvicorn(python, "tipg.main:app", port, workers)
    with _running(command, env, f"{base}/collections/grid.buildings", WORK / "tipg.log"):
        yield System("tipg", f"{base}/collections/grid.buildings/items", "f=geojson", "geom")
