"""Multi-plan integration on two ``large`` plan layers: import, conflicts, against baselines.

Data: the ``large`` synthetic plans (≈ 210 000 土规 and 260 000 城规 polygons, seed 20261123)
are written once to ``.onemap/bench/plans-large`` with :mod:`samples.plans` (the plan
layers only: rasters are not needed). A database ``plans_bench`` in the local cluster is made
afresh each run, migrated, and given the small sample's admin areas (the counties used as
chunks cover the same city).

Measured in one run, one after another:

- import throughput (features/s) of ``onemap plans import`` (read, transform with 100 m
  densification, repair, classify, COPY) beside ``ogr2ogr`` into PostGIS of the same
  Shapefile (``-t_srs EPSG:4490``, COPY, GiST index);
- the conflict analysis 城规 × 土规 (three conflict types) beside geopandas ``overlay`` +
  classification + area on the same files (geopandas lives in its own virtualenv,
  ``.onemap/bench-venv/geopandas``, never in ``.venv``); target: at least 5 times faster;
- the PostgreSQL backend's peak RSS per county chunk (``VmHWM`` reset through
  ``/proc/PID/clear_refs`` after each chunk): flat in the number of counties.

Both sides of the conflict comparison run ``ONEMAP_BENCH_REPEATS`` times (default 3, as
``bench grid``) and are compared by their medians. Before the first run the loaded tables
are vacuumed (docs/performance.md) and a ``CHECKPOINT`` written: otherwise the first run pays for
writing back the ≈ 1 GB the imports dirtied (the first of three runs took 9.8 s, the next
6.0-6.4 s).

Results go to ``.onemap/bench/plans-results.json``. Environment: ``ONEMAP_BENCH_PLANS_SKIP``
(comma list of ``ogr2ogr``, ``geopandas``) leaves baselines out.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import SecretStr
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from layers.settings import CONFIG

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".onemap" / "bench"
DATA = WORK / "plans-large"
VENV = ROOT / ".onemap" / "bench-venv" / "geopandas"
SEED = 20261123
DATABASE = "plans_bench"
GEOPANDAS = ("geopandas==1.2.0", "pyogrio==0.13.0")


def _data() -> Path:
    plans = DATA / "plans"
    if not (plans / "urban_plan.shp").is_file():
        from samples.plans import plans as synthetic
        from samples.plans.scales import SCALES

        seeds = np.random.SeedSequence(SEED).spawn(8)  # as generate_plans does
        synthetic.build(DATA, seeds, SCALES["large"])
    return plans


def _database() -> tuple[Engine, URL]:
    from gis.engine import create_engine
    from gis.pgserver import LocalServer
    from gis.settings import DatabaseSettings
    from grid.loader import load_sample
    from grid.privacy import Keyring
    from grid.settings import PrivacySettings
    from services.migrate import upgrade

    server = LocalServer(DatabaseSettings(home=ROOT / ".onemap"))
    server.start()
    server.ensure_database("onemap_template")
    admin = create_engine(server.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DATABASE}" TEMPLATE onemap_template'))
    admin.dispose()
    url = server.url(DATABASE)
    engine = create_engine(url)
    upgrade(engine)
    keyring = Keyring.from_settings(
        PrivacySettings(secret_key=SecretStr(secrets.token_urlsafe(32)))
    )
    with engine.begin() as conn:
        load_sample(conn, ROOT / "data" / "samples" / "small", keyring, replace=False)
    return engine, url


def _import(engine: Engine, path: Path, layer: str, plan_type: str, scheme: str) -> dict[str, Any]:
    from layers.classification import load_schemes
    from layers.importer import import_layer
    from layers.registry import LayerSpec
    from layers.settings import PlanSettings

    config = PlanSettings()
    started = time.perf_counter()
    with engine.begin() as conn:
        report = import_layer(
            conn,
            path,
            LayerSpec(layer, layer, plan_type, scheme),
            load_schemes(config.schemes_file),
            imported_by="bench",
            densify_m=config.densify_m,
            subdivide_vertices=config.subdivide_vertices,
        )
    seconds = time.perf_counter() - started
    return {
        "features": report.read,
        "loaded": report.loaded,
        "rejected": len(report.rejected),
        "repaired": len(report.repaired),
        "seconds": round(seconds, 2),
        "features_per_s": round(report.read / seconds),
    }


def _ogr2ogr(url: URL, path: Path, table: str) -> dict[str, Any]:
    dsn = (
        f"PG:host={url.host} port={url.port} dbname={url.database} user={url.username} "
        f"password={url.password}"
    )
    command = [
        "ogr2ogr", "-f", "PostgreSQL", dsn, str(path), "-nln", table, "-overwrite",
        "-t_srs", "EPSG:4490", "-nlt", "PROMOTE_TO_MULTI", "-lco", "GEOMETRY_NAME=geom",
        "-lco", "SPATIAL_INDEX=GIST", "-gt", "65536", "--config", "PG_USE_COPY", "YES",
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        return {"error": done.stderr.strip()[-300:]}
    return {"seconds": round(seconds, 2)}


def _rss(pid: int, reset: bool) -> float | None:
    """Peak RSS (MB) of a process since the last reset (Linux ``VmHWM``)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        peak = next(
            int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")
        )
        if reset:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
    except (OSError, StopIteration, ValueError):
        return None
    return round(peak / 1024, 1)


def _repeats() -> int:
    return int(os.environ.get("ONEMAP_BENCH_REPEATS", "3"))


def _conflicts(engine: Engine) -> dict[str, Any]:
    """Repeated runs of 城规 × 土规, each stored: the last one's figures, the median time
    and the memory peaks of every chunk of every run."""
    runs = [_conflict_run(engine) for _ in range(_repeats())]
    measured = [
        p["backend_peak_mb"] for r in runs for p in r["chunks"] if p["backend_peak_mb"] is not None
    ]
    return {
        **runs[-1],
        "seconds": statistics.median(r["seconds"] for r in runs),
        "runs_s": [r["seconds"] for r in runs],
        "backend_peak_mb_max": max(measured) if measured else None,
        "backend_peak_mb_min": min(measured) if measured else None,
    }


def _conflict_run(engine: Engine) -> dict[str, Any]:
    from layers.conflicts import ChunkStat, run_conflicts
    from layers.rules import load_rules
    from layers.settings import PlanSettings

    config = PlanSettings()
    rules = load_rules(config.rules_file)
    peaks: list[dict[str, Any]] = []
    with engine.begin() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        _rss(pid, reset=True)

        def on_chunk(stat: ChunkStat) -> None:
            pieces = sum(sum(kinds.values()) for kinds in stat.pieces.values())
            peaks.append(
                {"chunk": stat.chunk or "-", "seconds": stat.seconds, "pieces": pieces,
                 "backend_peak_mb": _rss(pid, reset=True)}
            )  # fmt: skip

        started = time.perf_counter()
        result = run_conflicts(
            conn, "urban_plan", ["landuse_plan"], rules=rules, settings=config, on_chunk=on_chunk,
            created_by="bench",
        )  # fmt: skip
        seconds = time.perf_counter() - started
        features = conn.execute(
            text(
                "SELECT count(*) FROM plans.features f JOIN plans.layer_versions v"
                " ON v.id = f.layer_version_id WHERE v.layer_id IN ('urban_plan', 'landuse_plan')"
            )
        ).scalar_one()
    return {
        "seconds": round(seconds, 2),
        "conflict_workers": config.conflict_workers,
        "features": features,
        "types": {
            s.type: {"patches": s.patches, "area_m2": round(s.area_m2, 1), "slivers": s.slivers}
            for s in result.by_type
        },
        "chunks": peaks,
    }


def _geopandas(plans: Path) -> dict[str, Any]:
    python = VENV / "bin" / "python"
    marker = VENV / ".installed"
    if not marker.is_file():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *GEOPANDAS], check=True)
        marker.write_text(" ".join(GEOPANDAS))
    done = subprocess.run(
        [str(python), str(Path(__file__).with_name("_plans_geopandas.py")),
         str(plans / "landuse_plan.shp"), str(plans / "urban_plan.shp"),
         str(CONFIG / "classification"), str(_repeats())],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        return {"error": done.stderr.strip()[-500:]}
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def run() -> dict[str, Any]:
    """Run the plan benchmarks; a flat dict of figures (details in the results file)."""
    skip = set(filter(None, os.environ.get("ONEMAP_BENCH_PLANS_SKIP", "").split(",")))
    plans = _data()
    engine, url = _database()
    details: dict[str, Any] = {}
    try:
        details["import_landuse"] = _import(
            engine, plans / "landuse_plan.shp", "landuse_plan", "landuse_plan", "GB/T 21010-2017"
        )
        details["import_urban"] = _import(
            engine, plans / "urban_plan.shp", "urban_plan", "urban_plan", "GB 50137-2011"
        )
        if "ogr2ogr" not in skip:
            details["ogr2ogr_landuse"] = _ogr2ogr(url, plans / "landuse_plan.shp", "ogr_landuse")
            details["ogr2ogr_urban"] = _ogr2ogr(url, plans / "urban_plan.shp", "ogr_urban")
        # docs/performance.md: after a bulk load, VACUUM (ANALYZE) so that the first reader does not
        # pay for setting hint bits on every fresh page (as autovacuum would soon do).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE) plans.features, plans.feature_parts"))
            conn.execute(text("CHECKPOINT"))  # the imports' dirty pages, written now
        details["conflicts"] = _conflicts(engine)
    finally:
        engine.dispose()
    if "geopandas" not in skip:
        details["geopandas"] = _geopandas(plans)
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "plans-results.json").write_text(json.dumps(details, indent=2, ensure_ascii=False))
    return _figures(details)


def _figures(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("import_landuse", "import_urban"):
        out[f"{key}_features_per_s"] = d[key]["features_per_s"]
        out[f"{key}_s"] = d[key]["seconds"]
    for key, feats in (("ogr2ogr_landuse", "import_landuse"), ("ogr2ogr_urban", "import_urban")):
        if "seconds" in d.get(key, {}):
            out[f"{key}_features_per_s"] = round(d[feats]["features"] / d[key]["seconds"])
    c = d["conflicts"]
    out["conflicts_features"] = c["features"]
    out["conflicts_s"] = c["seconds"]
    out["conflicts_runs_s"] = " / ".join(f"{v:.2f}" for v in c["runs_s"])
    out["conflicts_patches"] = sum(t["patches"] for t in c["types"].values())
    out["backend_peak_mb_per_county_max"] = c["backend_peak_mb_max"]
    out["backend_peak_mb_per_county_min"] = c["backend_peak_mb_min"]
    g = d.get("geopandas", {})
    if "overlay_area_s" in g:
        out["geopandas_overlay_area_s"] = g["overlay_area_s"]
        out["geopandas_runs_s"] = " / ".join(f"{v:.2f}" for v in g["runs_s"])
        out["geopandas_read_s"] = g["read_s"]
        out["geopandas_peak_rss_mb"] = g["peak_rss_mb"]
        out["geopandas_patches"] = sum(t["patches"] for t in g["types"].values())
        out["speedup_vs_geopandas"] = round(g["overlay_area_s"] / c["seconds"], 2)
        out["passed"] = out["speedup_vs_geopandas"] >= 5.0
    elif "error" in g:
        out["geopandas_error"] = g["error"][-200:]
    return out
