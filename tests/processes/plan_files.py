"""What the plan-import tests share: uploads built from files, a small real job context, the
plan tables' row counts, the real ``onemap`` CLI, and removal of the layers a test made."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from services.auth.keys import Principal
from services.settings import Settings
from tests.conftest import ROOT, SAMPLE, SERVER_URLS

PLANS = SAMPLE / "plans"
PLANNER = Principal(role="planner", name="test planner")
PLAN_TABLES = ("layers", "layer_versions", "features", "feature_parts", "repairs", "rejects")
VOLATILE = ("layer_id", "version_id", "seconds")
"""What differs between two imports of one file under two layer ids."""


@dataclass
class Context:
    """A job context as the worker gives one: the engine, the caller, progress recorded."""

    engine: Engine
    caller: Principal = PLANNER
    job_id: str | None = None
    calls: list[tuple[int, str]] = field(default_factory=list)
    settings: Settings = field(default_factory=Settings)

    def progress(self, percent: int, message: str = "") -> None:
        self.calls.append((percent, message))


def zip_bytes(entries: Iterable[tuple[str, bytes]]) -> bytes:
    """A deflated zip of ``(name, bytes)`` entries."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def shapefile_entries(
    shp: Path, prefix: str = "", name: str | None = None
) -> list[tuple[str, bytes]]:
    """The Shapefile's parts as zip entries, under ``prefix`` and renamed ``name`` if given."""
    stem = name or shp.stem
    return [
        (f"{prefix}{stem}{part.suffix}", part.read_bytes())
        for part in sorted(shp.parent.glob(f"{shp.stem}.*"))
    ]


def upload(data: bytes, media_type: str = "application/zip") -> dict[str, Any]:
    """The OGC qualified value of a binary input."""
    return {"value": base64.b64encode(data).decode(), "mediaType": media_type, "encoding": "base64"}


def plan_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t: conn.execute(text(f"SELECT count(*) FROM plans.{t}")).scalar_one()
            for t in PLAN_TABLES
        }


def versions(engine: Engine, layer: str) -> list[tuple[int, int, str]]:
    """``(version, features, sha256)`` of each version of ``layer``, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT v.version, count(f.*), v.source_sha256 FROM plans.layer_versions v"
                " LEFT JOIN plans.features f ON f.layer_version_id = v.id"
                " WHERE v.layer_id = :layer GROUP BY v.id ORDER BY v.version"
            ),
            {"layer": layer},
        )
        return [(int(v), int(n), str(sha)) for v, n, sha in rows]


def drop_layers(engine: Engine, prefix: str) -> None:
    """Remove the layers whose id starts with ``prefix`` and everything of their versions."""
    like = {"p": prefix.replace("_", r"\_") + "%"}
    versions_of = "SELECT id FROM plans.layer_versions WHERE layer_id LIKE :p"
    with engine.begin() as conn:
        conn.execute(
            text(
                "DELETE FROM plans.feature_parts WHERE feature_id IN (SELECT id FROM"
                f" plans.features WHERE layer_version_id IN ({versions_of}))"
            ),
            like,
        )
        for table in ("features", "repairs", "rejects"):
            conn.execute(
                text(f"DELETE FROM plans.{table} WHERE layer_version_id IN ({versions_of})"), like
            )
        conn.execute(text("DELETE FROM plans.layer_versions WHERE layer_id LIKE :p"), like)
        conn.execute(text("DELETE FROM plans.layers WHERE id LIKE :p"), like)


def onemap(url_env: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The real ``onemap`` command on the session database."""
    environment = {
        **os.environ,
        "ONEMAP_DATABASE_URL": url_env,
        "ONEMAP_APP_DATABASE_URL": SERVER_URLS[url_env],
        "ONEMAP_SECRET_KEY": "k" * 40,
    }
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def without(report: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k not in keys}
