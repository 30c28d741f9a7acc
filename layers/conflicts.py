"""Conflict analysis (差异图斑) between plan layers, inside PostGIS, chunked by county.

A run compares a first layer with one or more others (or with every control line): the
conflict types of the rule table that apply to each layer pair are compiled to class bit
masks; the metric parts of the features that belong to a tested class (EPSG:4549, snapped to
1 µm, valid, big polygons cut with ``ST_Subdivide``: made once at import, see
:mod:`layers.parts`) go to work tables, and candidate pairs come from a GiST index, filtered
by class before the costly test that their interiors meet. Then, one county at a time (the
county of the 1 km cell holding the centre of each first-layer feature's bounding box;
features outside every county form a last chunk), the pieces of A ∩ B (or A − ∪B) are cut,
filtered into noise, slivers and kept pieces, measured on the CGCS2000 ellipsoid
(``ST_Area(geography)`` on EPSG:4490) and stored: kept pieces as patches (one per type and
feature pair), slivers in their own table. A county's work tables are dropped before the
next, so memory stays flat in the number of counties. Work tables are ordinary tables
(PostgreSQL may then use parallel workers, which temporary tables forbid) created and
dropped inside the run's transaction: no other session sees them. The run is stored with its
parameters and the layer versions it used.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, NamedTuple

from sqlalchemy import Connection, text

from gis.crs import GK_CM120_SRID
from layers._sql import raw, sql
from layers.errors import LayerError, RuleError, UnknownLayerError
from layers.parts import SNAP_M
from layers.registry import LayerInfo, VersionInfo, control_layers, get_layer, version
from layers.rules import Orientation, Rules, class_sql, orientations
from layers.settings import PlanSettings

__all__ = [
    "MU_M2",
    "ChunkStat",
    "CountySummary",
    "RunInfo",
    "RunResult",
    "TypeSummary",
    "list_runs",
    "run_conflicts",
    "run_info",
    "summary_by_county",
    "summary_by_type",
]

MU_M2: Final = 10000 / 15
"""One 亩 in m², exactly (≈ 666.67)."""
_MAX_CLASSES: Final = 30


class ChunkStat(NamedTuple):
    """One county chunk of a run: pieces by type and kind (kept/sliver/noise), its time."""

    chunk: str
    seconds: float
    pieces: dict[str, dict[str, int]]


class TypeSummary(NamedTuple):
    """Patches, their ellipsoidal area (m², 亩, ha), slivers and noise of one type."""

    type: str
    label: str
    severity: str
    patches: int
    area_m2: float
    area_mu: float
    area_ha: float
    slivers: int
    sliver_m2: float
    noise: int


class CountySummary(NamedTuple):
    """Patches of one type whose point on surface lies in one county (None: outside all)."""

    county_code: str | None
    county_name: str | None
    type: str
    patches: int
    area_m2: float
    area_mu: float
    area_ha: float


class RunResult(NamedTuple):
    """A finished run: its id, its summaries and how the chunks went."""

    run_id: int
    title: str
    by_type: list[TypeSummary]
    by_county: list[CountySummary]
    chunks: list[ChunkStat]
    seconds: float


class RunInfo(NamedTuple):
    """A stored run as listed."""

    id: int
    title: str
    started_at: Any
    finished_at: Any
    created_by: str
    patches: int


def _split(script: str) -> list[str]:
    return [s.strip() for s in script.split(";\n") if s.strip()]


class _Work:
    """Names of a run's work tables: ``plans.cfw<backend pid>_...``, unique per session."""

    def __init__(self, conn: Connection) -> None:
        pid = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
        self.prefix = f"plans.cfw{pid}_"

    def sql(self, name: str, replace: Mapping[str, str] | None = None) -> list[str]:
        """The statements of section ``name`` with the work-table names filled in."""
        script = raw(__file__, name).replace("{w}", self.prefix)
        for key, value in (replace or {}).items():
            script = script.replace(key, value)
        return _split(script)

    def run(
        self,
        conn: Connection,
        name: str,
        params: Mapping[str, Any] | None = None,
        replace: Mapping[str, str] | None = None,
    ) -> None:
        for statement in self.sql(name, replace):
            conn.execute(text(statement), dict(params or {}))


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
    if len(names) > _MAX_CLASSES:
        raise RuleError(f"{rules.path}: a run can use at most {_MAX_CLASSES} classes")
    return plan, {name: 1 << i for i, name in enumerate(names)}


def _class_mask(
    rules: Rules,
    classes: set[str],
    bits: Mapping[str, int],
    scheme: str | None,
    params: dict[str, Any],
) -> str:
    """SQL for the bit mask of the classes a layer's features belong to."""
    terms = [
        f"(CASE WHEN {class_sql(rules, name, scheme, params)} THEN {bits[name]} ELSE 0 END)"
        for name in sorted(classes)
    ]
    return " | ".join(terms) if terms else "0"


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
) -> RunResult:
    """Run the conflict analysis of layer ``first`` against ``others`` (current versions
    unless ``versions`` names one), or against every control line with ``control_lines``.

    Runs in a savepoint of the caller's transaction; ``on_chunk`` is called after each
    county chunk (progress, memory measurements).
    """
    started = time.perf_counter()
    if control_lines:
        others = [*others, *(c.id for c in control_layers(conn) if c.id != first)]
    if not others:
        raise LayerError("name a second layer, or compare with every control line")
    with conn.begin_nested():
        _tune(conn, settings)
        work = _Work(conn)
        layers, used = _versions(conn, first, others, versions or {})
        plan, bits = _plan(rules, layers)
        work.run(conn, "setup")
        (has_counties_sql,) = work.sql("has_counties")
        has_counties = bool(conn.execute(text(has_counties_sql)).scalar())
        _load(conn, work, rules, layers, used, plan, bits)
        orient = _orient(conn, work, rules, used, plan, bits, settings)
        run_id = _new_run(conn, rules, layers, used, orient, settings, created_by)
        chunks = [*conn.execute(sql(__file__, "chunks")).scalars(), ""] if has_counties else [""]
        indexes, frag = _frag_sql(conn, work, orient)
        for statement in indexes:
            conn.execute(text(statement))
        stats = [_chunk(conn, work, run_id, chunk, settings, frag, on_chunk) for chunk in chunks]
        work.run(conn, "teardown")
        for statement in _split(raw(__file__, "locate_patches")):
            conn.execute(text(statement), {"run": run_id})
        noise: dict[str, int] = defaultdict(int)
        for stat in stats:
            for type_, kinds in stat.pieces.items():
                noise[type_] += kinds.get("noise", 0)
        seconds = time.perf_counter() - started
        conn.execute(
            sql(__file__, "finish_run"),
            {
                "run": run_id,
                "stats": json.dumps(
                    {
                        "seconds": round(seconds, 3),
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


def _tune(conn: Connection, settings: PlanSettings) -> None:
    """Transaction-local planner settings: no JIT (the time is in PostGIS functions, which it
    cannot speed up, and compiling costs ≈ 0.5 s a statement); parallel workers for the
    heavy statements, whose per-row PostGIS costs the default thresholds underrate."""
    for name, value in (
        ("jit", "off"),
        ("max_parallel_workers_per_gather", str(settings.parallel_workers)),
        ("parallel_setup_cost", "100"),
        ("parallel_tuple_cost", "0.01"),
    ):
        conn.execute(text("SELECT set_config(:n, :v, true)"), {"n": name, "v": value})


def _title(layers: list[LayerInfo]) -> str:
    return f"{layers[0].id} × {', '.join(layer.id for layer in layers[1:])}"


def _load(
    conn: Connection,
    work: _Work,
    rules: Rules,
    layers: list[LayerInfo],
    used: list[VersionInfo],
    plan: list[tuple[int, Orientation]],
    bits: Mapping[str, int],
) -> None:
    """Each layer's features that belong to a class some type tests on its side."""
    wanted: dict[int, set[str]] = defaultdict(set)
    for j, o in plan:
        a_side, b_side = (j, 0) if o.swapped else (0, j)
        wanted[a_side].add(o.rule.a.class_)
        wanted[b_side].add(o.rule.b.class_)
    (template,) = work.sql("layer_features")
    params: dict[str, Any] = {}
    parts = []
    for i, (layer, lv) in enumerate(zip(layers, used, strict=True)):
        if i not in wanted:
            continue
        params[f"lv{i}"] = lv.id
        mask = _class_mask(rules, wanted[i], bits, layer.scheme, params)
        parts.append(template.replace("/*cls*/", mask).replace("/*lv*/", f":lv{i}"))
    first, *others = parts  # every type has the first layer on one side
    conn.execute(text(f"CREATE TABLE {work.prefix}x AS\n{first}"), params)
    conn.execute(text(f"CREATE TABLE {work.prefix}y AS\n" + "\nUNION ALL\n".join(others)), params)
    work.run(conn, "index")
    if any(o.swapped and o.rule.operation == "difference" for _, o in plan):
        work.run(conn, "index_x")
    if any(not o.swapped and o.rule.operation == "difference" for _, o in plan):
        work.run(conn, "index_y")


def _orient(
    conn: Connection,
    work: _Work,
    rules: Rules,
    used: list[VersionInfo],
    plan: list[tuple[int, Orientation]],
    bits: Mapping[str, int],
    settings: PlanSettings,
) -> list[dict[str, Any]]:
    rows = []
    for no, (j, o) in enumerate(plan, start=1):
        x_class, y_class = (
            (o.rule.b.class_, o.rule.a.class_) if o.swapped else (o.rule.a.class_, o.rule.b.class_)
        )
        if o.rule.sliver_class not in settings.min_area_m2:
            raise RuleError(
                f"{rules.path}: type {o.type}: no minimum area for sliver class "
                f"{o.rule.sliver_class!r} (settings have {', '.join(settings.min_area_m2)})"
            )
        rows.append(
            {
                "no": no,
                "type": o.type,
                "severity": o.rule.severity,
                "op": o.rule.operation,
                "x_lv": used[0].id,
                "y_lv": used[j].id,
                "swapped": o.swapped,
                "x_bit": bits[x_class],
                "y_bit": bits[y_class],
                "diff_use": o.rule.pair == "different_use",
                "min_area": settings.min_area_m2[o.rule.sliver_class],
            }
        )
    insert, analyze = work.sql("insert_orient")
    conn.execute(text(insert), rows)
    conn.execute(text(analyze))
    return rows


def _frag_sql(conn: Connection, work: _Work, orient: list[dict[str, Any]]) -> tuple[list[str], str]:
    """The partial GiST indexes and the fragment statement of a chunk.

    Each intersection type enumerates its pairs from the smaller of its two sides (the parts
    of its class in the first layer, or in the other layer) and probes a partial GiST index
    of the other side's class (``WHERE (cls & bit) <> 0``): a part then meets only
    candidates some type pairs it with, and the larger side is never walked (in two
    land-use plans most neighbours are of a class no type tests, and construction is the
    smaller class). The side walked carries the chunk filter, so a pair falls in exactly one
    chunk; a pair two types would both take is kept by the first only. Values are integers
    from the database and the rule compiler, written as literals so that the planner can
    match the partial indexes.
    """
    (count_sql,) = work.sql("class_counts")
    counts: dict[tuple[str, int, int], int] = defaultdict(int)
    for side, lv, mask, n in conn.execute(text(count_sql)):
        for bit in range(_MAX_CLASSES):
            if mask & (1 << bit):
                counts[(side, lv, 1 << bit)] += n
    (template,) = work.sql("chunk_frag")
    indexes: dict[tuple[str, int], str] = {}
    selects: list[str] = []
    taken: list[str] = []
    for row in orient:
        if row["op"] != "intersection":
            continue
        xl, yl, xb, yb = (int(row[k]) for k in ("x_lv", "y_lv", "x_bit", "y_bit"))
        use = " AND x.use2 <> y.use2" if row["diff_use"] else ""
        test = f"x.lv = {xl} AND y.lv = {yl} AND (x.cls & {xb}) <> 0 AND (y.cls & {yb}) <> 0{use}"
        walk, probe, bit = "x", "y", yb
        if counts[("y", yl, yb)] < counts[("x", xl, xb)]:
            walk, probe, bit = "y", "x", xb
        indexes[(probe, bit)] = (
            f"CREATE INDEX ON {work.prefix}{probe} USING gist (geom) WHERE (cls & {bit}) <> 0"
        )
        before = "".join(f" AND NOT ({t})" for t in taken)
        selects.append(
            template.replace("/*walk*/", walk)
            .replace("/*probe*/", probe)
            .replace("/*pairs*/", f"{test}{before}")
        )
        taken.append(test)
    if not selects:
        return [], ""
    statement = f"CREATE TABLE {work.prefix}frag AS\n" + "\nUNION ALL\n".join(selects)
    return list(indexes.values()), statement


def _new_run(
    conn: Connection,
    rules: Rules,
    layers: list[LayerInfo],
    used: list[VersionInfo],
    orient: list[dict[str, Any]],
    settings: PlanSettings,
    created_by: str,
) -> int:
    described = rules.describe()
    types: dict[str, dict[str, Any]] = {}
    for row in orient:
        entry = types.setdefault(
            row["type"], {**described["types"][row["type"]], "layer_pairs": []}
        )
        a, b = (row["y_lv"], row["x_lv"]) if row["swapped"] else (row["x_lv"], row["y_lv"])
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
            "ST_Buffer(piece, -min_width/2) is empty",
        },
        "subdivide_vertices": "as imported (plans.feature_parts)",
        "metric_crs": f"EPSG:{GK_CM120_SRID}",
        "area": "ST_Area(geom::geography) on EPSG:4490 (CGCS2000 ellipsoid)",
        "m2_per_mu": MU_M2,
        "chunks": "county (grid.admin_areas) of the 1 km cell holding the centre of the "
        "first-layer feature's bounding box",
        "snap_m": SNAP_M,
    }
    run_id: int = conn.execute(
        sql(__file__, "new_run"),
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
            sql(__file__, "run_layer"), {"run": run_id, "lv": lv.id, "role": "a" if i == 0 else "b"}
        )
    return run_id


def _chunk(
    conn: Connection,
    work: _Work,
    run_id: int,
    chunk: str,
    settings: PlanSettings,
    frag: str,
    on_chunk: Callable[[ChunkStat], None] | None,
) -> ChunkStat:
    started = time.perf_counter()
    (empty,) = work.sql("empty_frag")
    conn.execute(text(frag or empty), {"chunk": chunk})
    work.run(conn, "chunk_pieces", {"chunk": chunk})
    half = settings.min_width_m / 2
    work.run(conn, "chunk_assign", {"noise": settings.noise_m2, "half_width": half})
    work.run(conn, "insert_patches", {"run": run_id, "m2_per_mu": MU_M2})
    work.run(conn, "insert_slivers", {"run": run_id, "chunk": chunk})
    pieces: dict[str, dict[str, int]] = defaultdict(dict)
    (stats_sql,) = work.sql("chunk_stats")
    for type_, kind, n in conn.execute(text(stats_sql)):
        pieces[type_][kind] = n
    work.run(conn, "clear_chunk")
    stat = ChunkStat(chunk, round(time.perf_counter() - started, 3), dict(pieces))
    if on_chunk is not None:
        on_chunk(stat)
    return stat


def summary_by_type(conn: Connection, run_id: int) -> list[TypeSummary]:
    """Per conflict type of the run: patches, areas, slivers, noise pieces."""
    info = run_info(conn, run_id)
    noise = (info["stats"] or {}).get("noise_pieces", {})
    labels = {k: v["label"] for k, v in info["parameters"]["types"].items()}
    order = {t: i for i, t in enumerate(info["parameters"].get("type_order", []))}
    rows = sorted(
        conn.execute(sql(__file__, "summary_by_type"), {"run": run_id}),
        key=lambda r: order.get(r.type, len(order)),
    )
    return [
        TypeSummary(
            r.type,
            labels.get(r.type, r.type),
            r.severity,
            r.patches,
            r.area_m2,
            r.area_m2 / MU_M2,
            r.area_m2 / 1e4,
            r.slivers,
            r.sliver_m2,
            int(noise.get(r.type, 0)),
        )
        for r in rows
    ]


def summary_by_county(conn: Connection, run_id: int) -> list[CountySummary]:
    """Per county and type: patches and their area (the county holds the point on surface)."""
    return [
        CountySummary(
            r.county_code,
            r.county_name,
            r.type,
            r.patches,
            r.area_m2,
            r.area_m2 / MU_M2,
            r.area_m2 / 1e4,
        )
        for r in conn.execute(sql(__file__, "summary_by_county"), {"run": run_id})
    ]


def run_info(conn: Connection, run_id: int) -> dict[str, Any]:
    """The stored run: title, rule file and checksum, parameters, stats, times."""
    row = conn.execute(sql(__file__, "run"), {"run": run_id}).mappings().one_or_none()
    if row is None:
        raise UnknownLayerError(f"no conflict run {run_id}: see `onemap plans conflicts --list`")
    return dict(row)


def list_runs(conn: Connection) -> list[RunInfo]:
    """Every stored run, oldest first."""
    return [RunInfo(*r) for r in conn.execute(sql(__file__, "runs"))]
