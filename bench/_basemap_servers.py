"""The servers ``bench basemap`` compares, one after another, each under the same uvicorn
launcher (bench/_uvicorn.py: TCP_NODELAY, one accept per wake-up), the same number of
workers, h11, asyncio loop, no access log:

- ``onemap``: this platform (bench/_basemap_app.py: ``create_app`` plus a ``StaticFiles``
  mount of the same tile bytes, so the WMTS route and the static files are one server);
- ``mapproxy``: MapProxy 7.0 (PyPI) serving our MBTiles files read-only (caches with no
  source, grid ``GLOBAL_WEBMERCATOR`` counted from the south so that its MBTiles rows are
  the spec's), its WSGI app adapted to ASGI by a2wsgi so that it runs under the same
  uvicorn (same server, same workers; a2wsgi runs the WSGI app in a thread pool, as
  starlette runs sync code);
- ``titiler``: titiler.core 2.4 (PyPI, ``TilerFactory`` in FastAPI) reading the imagery COG.

Peers live in their own virtualenvs under ``.onemap/bench-venv/`` (never in ``.venv``),
installed on first use at the versions pinned in :data:`PEERS`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from bench._ogc_servers import LAUNCHER, VENVS, WORK, _free_port, _running

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
PEERS = {
    "mapproxy": ["mapproxy==7.0.0", "a2wsgi==1.10.10", "uvicorn==0.54.0"],
    "titiler": ["titiler.core==2.4.0", "uvicorn==0.54.0"],
}
"""Each peer's pinned packages; uvicorn at the version this platform pins."""
STATIC_PREFIX = "bench-static"
MAPPROXY_SET = "w"
"""The name of MapProxy's grid (GLOBAL_WEBMERCATOR) in its WMTS URLs."""
MAPPROXY_FORMATS = {"png": "image/png", "jpg": "image/jpeg"}


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


def _uvicorn(python: Path, app: str, port: int, workers: int, app_dir: Path) -> list[str]:
    return [
        str(python),
        str(LAUNCHER),
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--http",
        "h11",
        "--loop",
        "asyncio",
        "--log-level",
        "warning",
        "--no-access-log",
        "--app-dir",
        str(app_dir),
    ]


@contextmanager
def onemap(env: dict[str, str], workers: int, name: str = "onemap") -> Iterator[str]:
    """This platform with ``env`` (database, cache directory, imagery, static directory);
    yields its base URL."""
    port = _free_port()
    command = _uvicorn(Path(sys.executable), "bench._basemap_app:app", port, workers, ROOT)
    base = f"http://127.0.0.1:{port}/"
    with _running(
        command, {**env, "PYTHONPATH": str(ROOT)}, f"{base}health", WORK / f"basemap-{name}.log"
    ):
        yield base


def mapproxy_config(files: dict[str, tuple[Path, str]]) -> dict[str, object]:
    """MapProxy serving each ``layer`` from its MBTiles file (``layer -> (file, ext)``),
    read-only: caches with no source answer only what the file holds."""
    caches = {
        f"{layer}_cache": {
            "grids": [MAPPROXY_SET],
            "sources": [],
            "format": MAPPROXY_FORMATS[ext],
            "request_format": MAPPROXY_FORMATS[ext],
            "cache": {"type": "mbtiles", "filename": str(path)},
        }
        for layer, (path, ext) in files.items()
    }
    return {
        "services": {
            "wmts": {
                "restful": True,
                "kvp": False,
                "restful_template": (
                    "/{Layer}/{TileMatrixSet}/{TileMatrix}/{TileRow}/{TileCol}.{Format}"
                ),
            },
        },
        "layers": [
            {"name": layer, "title": layer, "sources": [f"{layer}_cache"]} for layer in files
        ],
        "caches": caches,
        # origin sw: MapProxy's MBTiles cache stores its internal row as tile_row, which is
        # MBTiles' (TMS, from the south) only on a grid counted from the south; its WMTS
        # still answers rows from the top (checked byte for byte before timing)
        "grids": {MAPPROXY_SET: {"base": "GLOBAL_WEBMERCATOR", "origin": "sw"}},
        "globals": {"cache": {"base_dir": str(WORK / "mapproxy-cache")}},
    }


def mapproxy_path(layer: str, level: int, row: int, col: int, ext: str) -> str:
    """A tile in MapProxy's RESTful WMTS (rows from the top, as ours)."""
    fmt = "png" if ext == "png" else "jpeg"
    return f"wmts/{layer}/{MAPPROXY_SET}/{level:02d}/{row}/{col}.{fmt}"


@contextmanager
def mapproxy(files: dict[str, tuple[Path, str]], workers: int) -> Iterator[str]:
    python = ensure_peer("mapproxy")
    port = _free_port()
    config = WORK / "basemap-mapproxy.yaml"
    config.write_text(yaml.safe_dump(mapproxy_config(files)))
    command = _uvicorn(python, "_basemap_mapproxy_app:app", port, workers, BENCH)
    base = f"http://127.0.0.1:{port}/"
    probe = f"{base}wmts/1.0.0/WMTSCapabilities.xml"
    with _running(command, {"MAPPROXY_CONFIG": str(config)}, probe, WORK / "basemap-mapproxy.log"):
        yield base


def titiler_path(cog: Path, level: int, x: int, y: int, resampling: str) -> str:
    """A WebMercatorQuad tile of ``cog`` from TiTiler, JPEG, 256 px, ``resampling`` for
    both the read and the warp."""
    return (
        f"tiles/WebMercatorQuad/{level}/{x}/{y}.jpg?url={cog}&tilesize=256"
        f"&resampling={resampling}&reproject={resampling}"
    )


@contextmanager
def titiler(workers: int) -> Iterator[str]:
    python = ensure_peer("titiler")
    port = _free_port()
    command = _uvicorn(python, "_basemap_titiler_app:app", port, workers, BENCH)
    base = f"http://127.0.0.1:{port}/"
    with _running(command, {}, f"{base}health", WORK / "basemap-titiler.log"):
        yield base
