"""The servers ``bench tiles`` runs, one at a time, through the launcher and helpers of
bench/_ogc_servers.py (same uvicorn, workers, h11, no access log):

- ``onemap``: this platform, with ``ONEMAP_OGC_TILE_CACHE_MB`` as asked (``0``: cache off,
  every request makes its tile);
- ``tipg``: tipg 1.6.1 (its own virtualenv under ``.onemap/bench-venv/tipg``) on the views of
  schema ``bench_tiles`` (one per collection, the same columns and rows as ours), with
  ``TIPG_MAX_FEATURES_PER_TILE`` our feature limit and layers named after the view.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from bench import _ogc_servers as servers


@contextmanager
def onemap(
    dsn: str, server_dsn: str, workers: int, cache_mb: float, pool: int | None = None
) -> Iterator[str]:
    """Our server (``pool``: tile connections per worker, default the server's own,
    ``ONEMAP_OGC_TILE_POOL_SIZE``); yields its ``/ogc/`` base URL."""
    wanted = {"ONEMAP_OGC_TILE_CACHE_MB": str(cache_mb)}
    if pool:
        wanted["ONEMAP_OGC_TILE_POOL_SIZE"] = str(pool)
    saved = {k: os.environ.get(k) for k in wanted}
    os.environ.update(wanted)
    try:
        with servers.onemap(dsn, workers, server_dsn=server_dsn) as system:
            yield system.items.split("/collections/")[0] + "/"
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def tipg(dsn: str, workers: int, schema: str, views: Sequence[str], limit: int) -> Iterator[str]:
    """tipg on ``schema``'s ``views``; yields its root URL."""
    python = servers.ensure_peer("tipg")
    port = servers._free_port()
    plain = make_url(dsn).set(drivername="postgresql").render_as_string(hide_password=False)
    env = {
        "DATABASE_URL": plain,
        "TIPG_DB_SCHEMAS": json.dumps([schema]),
        "TIPG_DB_TABLES": json.dumps([f"{schema}.{v}" for v in views]),
        "TIPG_DB_FUNCTIONS": "[]",
        "TIPG_DB_EXCLUDE_FUNCTION_SCHEMAS": '["public", "grid", "plans", "audit", "counts"]',
        "TIPG_MAX_FEATURES_PER_TILE": str(limit),
        "TIPG_SET_MVT_LAYERNAME": "true",
        "DB_MAX_CONN_SIZE": "16",
        "DB_MIN_CONN_SIZE": "1",
    }
    base = f"http://127.0.0.1:{port}"
    command = servers._uvicorn(python, "tipg.main:app", port, workers)
    probe = f"{base}/collections/{schema}.{views[0]}"
    with servers._running(command, env, probe, servers.WORK / "tipg-tiles.log"):
        yield base + "/"


def peer_installed() -> Path:
    return servers.ensure_peer("tipg")
