"""The work tables of a conflict run and the SQL assembled for them.

Statements live in ``conflict_work.sql``; their work-table names carry ``{w}``, a prefix
unique to the backend (``plans.cfw<pid>_``), and a few carry ``/*...*/`` slots filled here
with SQL made from the rule table (class bit masks, the pairs each type tests). Every value
put in a slot is an integer from the database or the rule compiler, or a bound parameter.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, Final, NamedTuple

from sqlalchemy import Connection, text

from gis.sql_files import statement
from layers.conflict_summaries import MU_M2
from layers.errors import RuleError
from layers.registry import LayerInfo, VersionInfo
from layers.rules import Orientation, Rules, class_sql
from layers.settings import PlanSettings

__all__ = [
    "MAX_CLASSES",
    "OrientRow",
    "WorkTables",
    "cut_chunk",
    "fragment_sql",
    "load_features",
    "orient",
]

MAX_CLASSES: Final = 30
"""Classes one run can use: each is a bit of an integer mask."""


class OrientRow(NamedTuple):
    """One conflict type on one (first, other) layer pair, as stored in ``{w}orient``.

    ``x`` is the first layer, ``y`` the other; ``swapped`` says the type's side A is ``y``.
    """

    no: int
    type: str
    severity: str
    op: str
    x_lv: int
    y_lv: int
    swapped: bool
    x_bit: int
    y_bit: int
    diff_use: bool
    min_area: float


def _split(script: str) -> list[str]:
    return [s.strip() for s in script.split(";\n") if s.strip()]


class WorkTables:
    """Names of a run's work tables: ``plans.cfw<backend pid>_...``, unique per session."""

    def __init__(self, conn: Connection) -> None:
        pid = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
        self.prefix = f"plans.cfw{pid}_"

    def sql(self, name: str, replace: Mapping[str, str] | None = None) -> list[str]:
        """The statements of section ``name`` with the work-table names filled in."""
        script = statement(__name__, name).replace("{w}", self.prefix)
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
        """Execute every statement of section ``name``."""
        for part in self.sql(name, replace):
            conn.execute(text(part), dict(params or {}))


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


def load_features(
    conn: Connection,
    work: WorkTables,
    rules: Rules,
    layers: Sequence[LayerInfo],
    used: Sequence[VersionInfo],
    plan: Sequence[tuple[int, Orientation]],
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


def orient(
    conn: Connection,
    work: WorkTables,
    rules: Rules,
    used: Sequence[VersionInfo],
    plan: Sequence[tuple[int, Orientation]],
    bits: Mapping[str, int],
    settings: PlanSettings,
) -> list[OrientRow]:
    """The oriented types of the run, stored in ``{w}orient`` and returned."""
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
            OrientRow(
                no=no,
                type=o.type,
                severity=o.rule.severity,
                op=o.rule.operation,
                x_lv=used[0].id,
                y_lv=used[j].id,
                swapped=o.swapped,
                x_bit=bits[x_class],
                y_bit=bits[y_class],
                diff_use=o.rule.pair == "different_use",
                min_area=settings.min_area_m2[o.rule.sliver_class],
            )
        )
    insert, analyze = work.sql("insert_orient")
    conn.execute(text(insert), [row._asdict() for row in rows])
    conn.execute(text(analyze))
    return rows


def fragment_sql(
    conn: Connection, work: WorkTables, rows: Sequence[OrientRow]
) -> tuple[list[str], str]:
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
        for bit in range(MAX_CLASSES):
            if mask & (1 << bit):
                counts[(side, lv, 1 << bit)] += n
    (template,) = work.sql("chunk_frag")
    indexes: dict[tuple[str, int], str] = {}
    selects: list[str] = []
    taken: list[str] = []
    for row in rows:
        if row.op != "intersection":
            continue
        xl, yl, xb, yb = int(row.x_lv), int(row.y_lv), int(row.x_bit), int(row.y_bit)
        use = " AND x.use2 <> y.use2" if row.diff_use else ""
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


def cut_chunk(
    conn: Connection,
    work: WorkTables,
    run_id: int,
    chunk: str,
    settings: PlanSettings,
    frag: str,
) -> dict[str, dict[str, int]]:
    """Cut, classify and store one county chunk's pieces; their counts by type and kind."""
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
    return dict(pieces)
