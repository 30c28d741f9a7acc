"""Conflict analysis (差异图斑) between plan layers, chunked by county, cut in worker processes.

A run compares a first layer with one or more others (or with every control line): the
conflict types of the rule table that apply to each layer pair are compiled to class bit
masks, computed in PostGIS for the metric parts of the features (EPSG:4549, snapped to 1 µm,
valid, big polygons cut with ``ST_Subdivide``: made once at import, see :mod:`layers.parts`).
The parts are then split into county chunks (the county of the 1 km cell holding the centre
of each feature's bounding box; features outside every county form a last chunk), and each
chunk is cut by a worker process with vectorised shapely 2 (:mod:`layers.conflict_cut`): it
reads its parts as WKB through a binary ``COPY``, pairs them with an STR tree, cuts A ∩ B (or
A − ∪B) and sorts the pieces into noise, slivers and kept pieces. The caller stores each
chunk's pieces in its own transaction, through a binary ``COPY``, measured on the CGCS2000
ellipsoid (``ST_Area(geography)`` on EPSG:4490): kept pieces as patches (one per type and
feature pair), slivers in their own table. A worker holds one chunk at a time, so memory stays
flat in the number of counties. The run is stored with its parameters and the layer versions
it used; a failure, or a cancellation through ``on_progress``, leaves nothing.

This module runs the steps; the caller's side of the chunks (their jobs, the stored pieces)
is in :mod:`layers.conflict_work`, what a stored run found in :mod:`layers.conflict_summaries`.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections import defaultdict
from collections.abc import Callable, Generator, Mapping, Sequence
from contextlib import closing
from typing import Any, NamedTuple

import shapely
from sqlalchemy import Connection, text

from gis.crs import GK_CM120_SRID
from gis.sql_files import sql, statement
from layers import conflict_work as cw
from layers.conflict_cut import ChunkJob, ChunkOut, cut_chunk, init_worker, worker_cut
from layers.conflict_summaries import (
    MU_M2,
    CountySummary,
    TypeSummary,
    summary_by_county,
    summary_by_type,
)
from layers.errors import LayerError, RuleError
from layers.parts import SNAP_M
from layers.registry import LayerInfo, VersionInfo, control_layers, get_layer, version
from layers.rules import Orientation, Rules, orientations
from layers.settings import PlanSettings

__all__ = ["ChunkStat", "RunResult", "run_conflicts"]


class ChunkStat(NamedTuple):
    """One county chunk of a run: pieces by type and kind (kept/sliver/noise), its time, the
    peak RSS (MB) of the process that cut it, and its seconds by stage (read, pair, cut,
    filter in the worker; write in the caller)."""

    chunk: str
    seconds: float
    pieces: dict[str, dict[str, int]]
    peak_mb: float | None
    stages: dict[str, float]


class RunResult(NamedTuple):
    """A finished run: its id, its summaries and how the chunks went."""

    run_id: int
    title: str
    by_type: list[TypeSummary]
    by_county: list[CountySummary]
    chunks: list[ChunkStat]
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        """As ``onemap plans conflicts --json`` prints it and the ``conflicts`` process
        returns it (one shape for both): JSON-ready, without the chunks' details."""
        return {
            "run_id": self.run_id,
            "title": self.title,
            "seconds": self.seconds,
            "by_type": [s._asdict() for s in self.by_type],
            "by_county": [c._asdict() for c in self.by_county],
        }


def _versions(
    conn: Connection, first: str, others: Sequence[str], numbers: Mapping[str, int]
) -> tuple[list[LayerInfo], list[VersionInfo]]:
    layers = [get_layer(conn, first), *(get_layer(conn, o) for o in others)]
    ids = [layer.id for layer in layers]
    if len(set(ids)) != len(ids):
        raise LayerError(f"a layer is compared with itself: {', '.join(ids)}")
    return layers, [version(conn, layer.id, numbers.get(layer.id)) for layer in layers]


def _plan(
    rules: Rules, layers: list[LayerInfo]
) -> tuple[list[tuple[int, Orientation]], dict[str, int]]:
    """Orientations per other layer (by index) and a bit per class they use."""
    plan: list[tuple[int, Orientation]] = []
    for j, other in enumerate(layers[1:], start=1):
        plan += [(j, o) for o in orientations(rules, layers[0].plan_type, other.plan_type)]
    if not plan:
        pairs = ", ".join(f"{layers[0].plan_type} × {o.plan_type}" for o in layers[1:])
        raise RuleError(f"{rules.path}: no conflict type applies to {pairs}")
    names = sorted({o.rule.a.class_ for _, o in plan} | {o.rule.b.class_ for _, o in plan})
    if len(names) > cw.MAX_CLASSES:
        raise RuleError(f"{rules.path}: a run can use at most {cw.MAX_CLASSES} classes")
    return plan, {name: 1 << i for i, name in enumerate(names)}


def run_conflicts(
    conn: Connection,
    first: str,
    others: Sequence[str] = (),
    *,
    rules: Rules,
    settings: PlanSettings,
    control_lines: bool = False,
    versions: Mapping[str, int] | None = None,
    created_by: str = "system",
    on_chunk: Callable[[ChunkStat], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Run the conflict analysis of layer ``first`` against ``others`` (current versions
    unless ``versions`` names one), or against every control line with ``control_lines``.

    Runs in a savepoint of the caller's transaction; with more than one worker, the layer
    versions compared must be committed (the workers read them on their own connections).
    ``on_chunk`` is called after each county chunk is stored (memory, what was cut),
    ``on_progress`` with the chunks done and their number, once before the first and after
    each (progress bars, a job's percentage; an exception it raises, such as a job's
    cancellation, stops the workers and rolls the run back).
    """
    started = time.perf_counter()
    if control_lines:
        others = [*others, *(c.id for c in control_layers(conn) if c.id != first)]
    if not others:
        raise LayerError("name a second layer, or compare with every control line")
    with conn.begin_nested():
        _tune(conn)
        layers, used = _versions(conn, first, others, versions or {})
        plan, bits = _plan(rules, layers)
        counties = cw.setup(conn)
        orient = cw.orient(rules, used, plan, bits, settings)
        cw.store_orient(conn, orient)
        run_id = _new_run(conn, rules, layers, used, orient, settings, created_by)
        lap = {"setup": time.perf_counter() - started}
        jobs = cw.chunk_jobs(conn, rules, layers, used, plan, bits, orient, counties, settings)
        lap["jobs"] = time.perf_counter() - started
        stats = []
        with closing(_cut(conn, jobs, settings.conflict_workers, on_progress)) as cut:
            for out in cut:  # leaving early closes the generator: the pool is terminated
                writing = time.perf_counter()
                cw.store_chunk(conn, run_id, out)
                stages = {**out.seconds, "write": round(time.perf_counter() - writing, 3)}
                stat = ChunkStat(
                    out.chunk, round(sum(stages.values()), 3), out.pieces, out.peak_mb, stages
                )
                if on_chunk is not None:
                    on_chunk(stat)
                stats.append(stat)
        lap["chunks"] = time.perf_counter() - started
        stats.sort(key=lambda s: (s.chunk == "", s.chunk))
        cw.teardown(conn)
        for part in statement(__name__, "locate_patches").split(";\n"):
            conn.execute(text(part), {"run": run_id})
        noise: dict[str, int] = defaultdict(int)
        for stat in stats:
            for type_, kinds in stat.pieces.items():
                noise[type_] += kinds.get("noise", 0)
        seconds = time.perf_counter() - started
        conn.execute(
            sql(__name__, "finish_run"),
            {
                "run": run_id,
                "stats": json.dumps(
                    {
                        "seconds": round(seconds, 3),
                        "stages": _stages(lap, seconds),
                        "workers": _workers(settings.conflict_workers, len(jobs)),
                        "noise_pieces": dict(noise),
                        "chunks": [s._asdict() for s in stats],
                    },
                    ensure_ascii=False,
                ),
            },
        )
        title = _title(layers)
    return RunResult(
        run_id,
        title,
        summary_by_type(conn, run_id),
        summary_by_county(conn, run_id),
        stats,
        seconds,
    )


def _tune(conn: Connection) -> None:
    """Transaction-local settings: no JIT (PostGIS functions do the work; compiling costs
    ≈ 0.5 s a statement), and room for the hash joins of a layer's parts with its features
    (with the default 4 MB they spill to disk: 0.8 s of 3.3 on a 260 000-part layer)."""
    for name, value in (("jit", "off"), ("work_mem", "64MB")):
        conn.execute(text("SELECT set_config(:n, :v, true)"), {"n": name, "v": value})


def _stages(lap: dict[str, float], total: float) -> dict[str, float]:
    """Seconds of each stage from the clock readings at their ends: setup (county grid,
    types, run record), jobs (reading ids, classes and boxes of the parts), chunks (cut
    and stored, wall time), locate (patches located, summaries)."""
    ends = [*lap.values(), total]
    starts = [0.0, *lap.values()]
    names = [*lap, "locate"]
    return {n: round(e - b, 3) for n, b, e in zip(names, starts, ends, strict=True)}


def _workers(setting: int, chunks: int) -> int:
    """Processes that cut: no more than the chunks, and one in a daemon process (a job
    worker of the processes service, which may not start children: jobs run side by side
    there already)."""
    if multiprocessing.current_process().daemon:
        return 1
    return max(1, min(setting, chunks))


def _cut(
    conn: Connection,
    jobs: list[ChunkJob],
    workers: int,
    on_progress: Callable[[int, int], None] | None,
) -> Generator[ChunkOut]:
    """The chunks cut, in the order they finish: in this process with one worker (on the
    caller's connection), else in a pool of worker processes with their own connections.
    Leaving early (an exception in the caller or in ``on_progress``) terminates the pool."""
    if on_progress is not None:
        on_progress(0, len(jobs))
    if _workers(workers, len(jobs)) == 1:
        db = conn.connection.driver_connection
        for done, job in enumerate(jobs, start=1):
            yield cut_chunk(db, job)
            if on_progress is not None:
                on_progress(done, len(jobs))
        return
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["layers.conflict_cut"])
    conninfo = conn.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with context.Pool(
        _workers(workers, len(jobs)), initializer=init_worker, initargs=(conninfo,)
    ) as pool:  # leaving the block terminates the workers, finished or not
        for done, out in enumerate(pool.imap_unordered(worker_cut, jobs), start=1):
            yield out
            if on_progress is not None:
                on_progress(done, len(jobs))


def _title(layers: list[LayerInfo]) -> str:
    return f"{layers[0].id} × {', '.join(layer.id for layer in layers[1:])}"


def _new_run(
    conn: Connection,
    rules: Rules,
    layers: list[LayerInfo],
    used: list[VersionInfo],
    orient: list[cw.OrientRow],
    settings: PlanSettings,
    created_by: str,
) -> int:
    described = rules.describe()
    types: dict[str, dict[str, Any]] = {}
    for row in orient:
        entry = types.setdefault(row.type, {**described["types"][row.type], "layer_pairs": []})
        a, b = (row.y_lv, row.x_lv) if row.swapped else (row.x_lv, row.y_lv)
        entry["layer_pairs"].append({"a_layer_version_id": a, "b_layer_version_id": b})
    parameters = {
        "layers": [
            {
                "role": "a" if i == 0 else "b",
                "layer": layer.id,
                "plan_type": layer.plan_type,
                "version": lv.version,
                "layer_version_id": lv.id,
                "sha256": lv.source_sha256,
            }
            for i, (layer, lv) in enumerate(zip(layers, used, strict=True))
        ],
        "types": types,
        "type_order": list(types),
        "classes": described["classes"],
        "sliver_filter": {
            "min_area_m2": settings.min_area_m2,
            "min_width_m": settings.min_width_m,
            "noise_below_m2": settings.noise_m2,
            "rule": "sliver when planar area (EPSG:4549) < the type's minimum area, or "
            "buffer(piece, -min_width/2) is empty (shapely 2, in the workers)",
        },
        "subdivide_vertices": "as imported (plans.feature_parts)",
        "metric_crs": f"EPSG:{GK_CM120_SRID}",
        "area": "ST_Area(geom::geography) on EPSG:4490 (CGCS2000 ellipsoid), in PostGIS",
        "engine": "pairs (STRtree, relate T********) and cuts (intersection, difference) "
        f"with shapely {shapely.__version__} / GEOS {shapely.geos_version_string} in "
        "worker processes, one county chunk each",
        "m2_per_mu": MU_M2,
        "chunks": "county (grid.admin_areas) of the 1 km cell holding the centre of the "
        "first-layer feature's bounding box",
        "snap_m": SNAP_M,
    }
    run_id: int = conn.execute(
        sql(__name__, "new_run"),
        {
            "title": _title(layers),
            "rules_file": str(rules.path),
            "rules_sha256": rules.sha256,
            "parameters": json.dumps(parameters, ensure_ascii=False),
            "created_by": created_by,
        },
    ).scalar_one()
    for i, lv in enumerate(used):
        conn.execute(
            sql(__name__, "run_layer"), {"run": run_id, "lv": lv.id, "role": "a" if i == 0 else "b"}
        )
    return run_id
