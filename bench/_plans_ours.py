"""Our side of ``bench plans``: the import of both plan layers and the conflict run 城规 × 土规,
timed, with the memory of everything working on them (bench/_memory.py).

Both run in this process through the platform's functions (``import_layer``,
``run_conflicts``), as ``onemap plans import`` and ``onemap plans conflicts`` call them, on
one connection to a bench database no other session uses. The process count comes from the
settings (bench/_plans_setup.py).
"""

from __future__ import annotations

import contextlib
import ctypes
import time
from typing import Any

from sqlalchemy import Connection, Engine, text

from bench import _memory as memory
from bench import _plans_setup as setup
from bench._memory import Sampler

LAYERS = (
    ("landuse", "landuse_plan", "GB/T 21010-2017"),
    ("urban", "urban_plan", "GB 50137-2011"),
)


def trim() -> None:
    """Give freed heap back to the system before a window, so that the bench's own
    leftovers (a former import's buffers) do not count against the next measurement."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def import_both(conn: Connection, city: setup.City, processes: int) -> dict[str, Any]:
    """Import both layers, each committed, as ``onemap plans import`` does; figures per layer."""
    from layers.classification import load_schemes
    from layers.importer import import_layer
    from layers.registry import LayerSpec

    config = setup.settings(processes)
    options = setup.import_options(config)
    schemes = load_schemes(config.schemes_file)
    found: dict[str, Any] = {"processes": processes, "settings": setup.process_fields(config)}
    total_read, total_s = 0, 0.0
    with setup.environment(processes):
        for key, layer, scheme in LAYERS:
            path = city.landuse if key == "landuse" else city.urban
            started = time.perf_counter()
            with conn.begin():
                report = import_layer(
                    conn,
                    path,
                    LayerSpec(layer, layer, layer, scheme),
                    schemes,
                    imported_by="bench",
                    **options,
                )
            seconds = time.perf_counter() - started
            found[key] = {
                "features": report.read,
                "loaded": report.loaded,
                "rejected": len(report.rejected),
                "repaired": len(report.repaired),
                "seconds": round(seconds, 3),
            }
            total_read += report.read
            total_s += seconds
    found["features"] = total_read
    found["seconds"] = round(total_s, 3)
    found["features_per_s"] = round(total_read / total_s) if total_s else None
    return found


def conflict_run(conn: Connection, processes: int) -> dict[str, Any]:
    """One run of 城规 × 土规 (committed, as the CLI's); its time, patches and chunks."""
    from layers.conflicts import ChunkStat, run_conflicts
    from layers.rules import load_rules

    config = setup.settings(processes)
    rules = load_rules(config.rules_file)
    chunks: list[dict[str, Any]] = []

    def on_chunk(stat: ChunkStat) -> None:
        pieces = sum(sum(kinds.values()) for kinds in stat.pieces.values())
        chunks.append(
            {
                "chunk": stat.chunk or "-",
                "seconds": round(stat.seconds, 3),
                "pieces": pieces,
                "peak_mb": getattr(stat, "peak_mb", None),
            }
        )

    with setup.environment(processes):
        started = time.perf_counter()
        with conn.begin():
            result = run_conflicts(
                conn,
                "urban_plan",
                ["landuse_plan"],
                rules=rules,
                settings=config,
                on_chunk=on_chunk,
                created_by="bench",
            )
        seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 3),
        "processes": processes,
        "settings": setup.process_fields(config),
        "run_id": result.run_id,
        "types": {
            s.type: {"patches": s.patches, "area_m2": round(s.area_m2, 1), "slivers": s.slivers}
            for s in result.by_type
        },
        "chunks": chunks,
    }


def features(conn: Connection) -> int:
    return int(
        conn.execute(
            text(
                "SELECT count(*) FROM plans.features f JOIN plans.layer_versions v"
                " ON v.id = f.layer_version_id WHERE v.layer_id IN ('urban_plan', 'landuse_plan')"
            )
        ).scalar_one()
    )


def _watch(sampler: Sampler, conn: Connection, database: str) -> None:
    """Count every session on ``database`` of this connection's cluster."""
    backend = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
    conn.commit()
    sampler.watch_backend(backend)
    postmaster = memory.parent(backend)
    if postmaster is not None:
        sampler.watch_database(database, postmaster)


def _memory(sampler: Sampler, t0: float, t1: float) -> dict[str, Any] | None:
    peak = sampler.peak(t0, t1)
    if peak is None:
        return None
    return {
        "peak_mb": round(peak.total_mb, 1),
        "client_mb": round(peak.client_mb, 1),
        "database_mb": round(peak.database_mb, 1),
        "processes": peak.processes,
        "cpu_s": sampler.cpu(t0, t1),
    }


def from_files(
    engine: Engine, database: str, city: setup.City, processes: int, sampler: Sampler
) -> dict[str, Any]:
    """Import both layers into a fresh database and run: the time of both, one window."""
    setup.warm(city)
    trim()
    sampler.forget()
    with engine.connect() as conn:
        _watch(sampler, conn, database)
        t0 = time.monotonic()
        imported = import_both(conn, city, processes)
        run = conflict_run(conn, processes)
        t1 = time.monotonic()
    return {
        "processes": processes,
        "seconds": round(t1 - t0, 3),
        "import": imported,
        "run": run,
        "memory": _memory(sampler, t0, t1),
    }


def analysis(engine: Engine, database: str, processes: int, sampler: Sampler) -> dict[str, Any]:
    """One run on layers already imported and settled: the analysis alone."""
    trim()
    sampler.forget()
    with engine.connect() as conn:
        _watch(sampler, conn, database)
        t0 = time.monotonic()
        run = conflict_run(conn, processes)
        t1 = time.monotonic()
    return {**run, "memory": _memory(sampler, t0, t1)}
