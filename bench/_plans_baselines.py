"""The baselines of ``bench plans``: geopandas (bench/_plans_geopandas.py in its own
virtualenv, one core) and ``ogr2ogr`` into PostGIS.

geopandas lives in ``.onemap/bench-venv/geopandas`` (installed on first use, never in
``.venv``). It runs with every thread pool it might use held to one thread
(``OMP_NUM_THREADS`` …, ``GDAL_NUM_THREADS``); shapely and GEOS compute on one core anyway,
and its CPU time (its own ``time.process_time()``) ≈ its wall time shows it on a quiet
machine. Its memory and CPU are also sampled from this process as ours are (bench/_memory.py:
the subprocess and its descendants) over the windows it reports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

from bench import _plans_setup as setup
from bench._memory import Sampler
from layers.settings import CONFIG

VENV = setup.ROOT / ".onemap" / "bench-venv" / "geopandas"
GEOPANDAS = ("geopandas==1.2.0", "pyogrio==0.13.0")
SCRIPT = Path(__file__).with_name("_plans_geopandas.py")
ONE_THREAD = {
    name: "1"
    for name in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
        "GDAL_NUM_THREADS",
    )
}


def _python() -> Path:
    python = VENV / "bin" / "python"
    marker = VENV / ".installed"
    if not marker.is_file() or marker.read_text() != " ".join(GEOPANDAS):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *GEOPANDAS], check=True)
        marker.write_text(" ".join(GEOPANDAS))
    return python


def geopandas(mode: str, city: setup.City, repeat: int = 1) -> dict[str, Any]:
    """One baseline process (``analysis`` with ``repeat`` timed runs, or ``files``); its
    JSON with each run's peak memory added, or ``{"error": ...}``."""
    python = _python()
    command = [
        str(python),
        str(SCRIPT),
        mode,
        str(city.landuse),
        str(city.urban),
        str(CONFIG / "classification"),
        str(repeat),
    ]
    out = setup.WORK / f"plans-geopandas-{mode}.out"
    with out.open("w") as stdout:
        process = subprocess.Popen(
            command,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **ONE_THREAD},
        )
        with Sampler([process.pid]) as sampler:
            _, err = process.communicate()
    if process.returncode != 0:
        return {"error": err.strip()[-500:]}
    found: dict[str, Any] = json.loads(out.read_text())
    for run in found["runs"]:
        peak = sampler.peak(run["t0"], run["t1"])
        run["memory"] = (
            None
            if peak is None
            else {
                "peak_mb": round(peak.total_mb, 1),
                "processes": peak.processes,
                "cpu_s": sampler.cpu(run["t0"], run["t1"]),
            }
        )
    return found


def ogr2ogr(url: URL, city: setup.City) -> dict[str, Any]:
    """Both layers into PostGIS with ``ogr2ogr`` (COPY, GiST index, EPSG:4490), warm cache."""
    dsn = (
        f"PG:host={url.host} port={url.port} dbname={url.database} user={url.username} "
        f"password={url.password}"
    )
    setup.warm(city)
    found: dict[str, Any] = {}
    total = 0.0
    for key, path in (("landuse", city.landuse), ("urban", city.urban)):
        command = [
            "ogr2ogr",
            "-f",
            "PostgreSQL",
            dsn,
            str(path),
            "-nln",
            f"ogr_{key}",
            "-overwrite",
            "-t_srs",
            "EPSG:4490",
            "-nlt",
            "PROMOTE_TO_MULTI",
            "-lco",
            "GEOMETRY_NAME=geom",
            "-lco",
            "SPATIAL_INDEX=GIST",
            "-gt",
            "65536",
            "--config",
            "PG_USE_COPY",
            "YES",
        ]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            return {"error": done.stderr.strip()[-300:]}
        found[key] = {"seconds": round(seconds, 3)}
        total += seconds
    found["seconds"] = round(total, 3)
    return found
