"""The caller's side of a conflict run: the oriented types, the chunks' jobs, the stored pieces.

Statements live in ``conflict_work.sql``; a few carry ``/*...*/`` slots filled here with SQL
made from the rule table (class bit masks). Every value put in a slot is an integer from the
database or the rule compiler, or a bound parameter. Temporary tables (``pg_temp.conflict_*``:
the county lookup grid, the types, one chunk's pieces) live in the run's transaction; the
chunks themselves are cut by :mod:`layers.conflict_cut`, in worker processes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt
import shapely
from sqlalchemy import Connection, text

from gis.sql_files import statement
from layers.conflict_cut import ChunkJob, ChunkOut, Side, TypeRow, sides_of
from layers.conflict_summaries import MU_M2
from layers.errors import RuleError
from layers.registry import LayerInfo, VersionInfo
from layers.rules import Orientation, Rules, class_sql
from layers.settings import PlanSettings

__all__ = [
    "MAX_CLASSES",
    "OrientRow",
    "chunk_jobs",
    "orient",
    "setup",
    "store_chunk",
    "store_orient",
    "teardown",
]

MAX_CLASSES: Final = 30
"""Classes one run can use: each is a bit of an integer mask."""


class OrientRow(NamedTuple):
    """One conflict type on one (first, other) layer pair, as the run stores and cuts it.

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


def _run(conn: Connection, name: str, params: Mapping[str, Any] | None = None) -> None:
    for part in statement(__name__, name).split(";\n"):
        if part.strip():
            conn.execute(text(part), dict(params or {}))


def setup(conn: Connection) -> list[str]:
    """The run's temporary tables; the county codes (the chunks), none without counties."""
    _run(conn, "setup")
    return list(conn.execute(text(statement(__name__, "counties"))).scalars())


def teardown(conn: Connection) -> None:
    _run(conn, "teardown")


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


def orient(
    rules: Rules,
    used: Sequence[VersionInfo],
    plan: Sequence[tuple[int, Orientation]],
    bits: Mapping[str, int],
    settings: PlanSettings,
) -> list[OrientRow]:
    """The oriented types of the run, numbered in the order of the rule file."""
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
    return rows


class _Parts(NamedTuple):
    """The metric parts of one side that belong to a tested class: one entry per part."""

    id: npt.NDArray[np.int64]
    lv: npt.NDArray[np.int64]
    parts: npt.NDArray[np.int64]
    cls: npt.NDArray[np.int64]
    use2: npt.NDArray[np.int64]
    chunk: npt.NDArray[np.int64]  # 0: outside every county, k: the k-th county code
    box: npt.NDArray[np.float64]  # xmin, ymin, xmax, ymax


def _read_parts(
    conn: Connection,
    rules: Rules,
    layers: Sequence[LayerInfo],
    used: Sequence[VersionInfo],
    wanted: Mapping[int, set[str]],
    bits: Mapping[str, int],
    counties: Sequence[str],
    side: Sequence[int],
) -> _Parts:
    """Ids, classes and bounding boxes (no geometry) of the parts of these layers (by index),
    each column packed into one binary value: half a million parts arrive in a few rows."""
    template = statement(__name__, "layer_parts")
    got: list[list[Any]] = [[] for _ in range(7)]
    for i in side:
        if i not in wanted:
            continue
        params: dict[str, Any] = {"lv": used[i].id, "codes": list(counties)}
        mask = _class_mask(rules, wanted[i], bits, layers[i].scheme, params)
        row = conn.execute(text(template.replace("/*cls*/", mask)), params).one()
        if row.ids is None:
            continue
        ids = np.frombuffer(row.ids, ">i8").astype(np.int64)
        got[0].append(ids)
        got[1].append(np.full(len(ids), used[i].id, dtype=np.int64))
        got[2].append(np.frombuffer(row.parts, ">i4").astype(np.int64))
        got[3].append(np.frombuffer(row.cls, ">i4").astype(np.int64))
        got[4].append(np.frombuffer(row.use2, ">i8").astype(np.int64))
        got[5].append(np.frombuffer(row.chunks, ">i4").astype(np.int64))
        got[6].append(np.frombuffer(row.boxes, ">f8").astype(np.float64).reshape(-1, 4))
    if not got[0]:
        empty = np.empty(0, np.int64)
        return _Parts(empty, empty, empty, empty, empty, empty, np.empty((0, 4)))
    return _Parts(*(np.concatenate(column) for column in got))


def _walk_sides(rows: Sequence[OrientRow], x: _Parts, y: _Parts) -> list[TypeRow]:
    """Each intersection type walks the smaller of its two sides (parts of its class in the
    first layer, or in the other layer) and probes the other side's parts: the side walked
    holds the pair's chunk, so a pair falls in exactly one chunk. Difference types walk A."""
    typed = []
    for r in rows:
        walk = "y" if r.swapped else "x"
        if r.op == "intersection":
            n_x = int(((x.lv == r.x_lv) & ((x.cls & r.x_bit) != 0)).sum())
            n_y = int(((y.lv == r.y_lv) & ((y.cls & r.y_bit) != 0)).sum())
            walk = "y" if n_y < n_x else "x"
        typed.append(
            TypeRow(r.no, r.type, r.op, r.x_lv, r.y_lv, r.swapped, r.x_bit, r.y_bit,
                    r.diff_use, r.min_area, walk)
        )  # fmt: skip
    return typed


def _near(tree: shapely.STRtree, boxes: npt.NDArray[np.object_]) -> npt.NDArray[np.bool_]:
    """Parts in ``tree`` (the other side's) whose bounding box meets one of ``boxes``: a
    chunk's probes reach across its county's edge, but not across the city. Boxes against
    boxes, so the tree's envelope test is exact."""
    near = np.zeros(len(tree), dtype=bool)
    near[tree.query(boxes)[1]] = True
    return near


def _side(parts: _Parts, mask: npt.NDArray[np.bool_], chunk: int) -> Side:
    """Per-feature arrays of the features some selected part belongs to."""
    ids, first = np.unique(parts.id[mask], return_index=True)
    at = np.flatnonzero(mask)[first]
    return Side(
        ids, parts.lv[at], parts.cls[at], parts.use2[at], parts.parts[at] == 1,
        parts.chunk[at] == chunk,
    )  # fmt: skip


def chunk_jobs(
    conn: Connection,
    rules: Rules,
    layers: Sequence[LayerInfo],
    used: Sequence[VersionInfo],
    plan: Sequence[tuple[int, Orientation]],
    bits: Mapping[str, int],
    rows: Sequence[OrientRow],
    counties: Sequence[str],
    settings: PlanSettings,
) -> list[ChunkJob]:
    """One job per chunk (the counties in code order, then features outside every county):
    the features whose chunk it is, and the other side's features whose parts lie within
    the bounding box of their parts (the probes may reach across a county's edge)."""
    wanted: dict[int, set[str]] = defaultdict(set)
    for j, o in plan:
        a_side, b_side = (j, 0) if o.swapped else (0, j)
        wanted[a_side].add(o.rule.a.class_)
        wanted[b_side].add(o.rule.b.class_)
    x = _read_parts(conn, rules, layers, used, wanted, bits, counties, [0])
    y = _read_parts(conn, rules, layers, used, wanted, bits, counties, range(1, len(layers)))
    types = tuple(_walk_sides(rows, x, y))
    walks_x, walks_y = sides_of(types)
    x_boxes, y_boxes = shapely.box(*x.box.T), shapely.box(*y.box.T)
    x_tree, y_tree = shapely.STRtree(x_boxes), shapely.STRtree(y_boxes)
    jobs = []
    for k, code in [*((k, c) for k, c in enumerate(counties, start=1)), (0, "")]:
        x_here, y_here = x.chunk == k, y.chunk == k
        x_take, y_take = x_here.copy(), y_here.copy()
        if walks_x and x_here.any():
            y_take |= _near(y_tree, x_boxes[x_here])
        if walks_y and y_here.any():
            x_take |= _near(x_tree, y_boxes[y_here])
        jobs.append(
            ChunkJob(code, _side(x, x_take, k), _side(y, y_take, k), types,
                     settings.noise_m2, settings.min_width_m / 2)
        )  # fmt: skip
    return jobs


def store_orient(conn: Connection, rows: Sequence[OrientRow]) -> None:
    """The run's types, for storing its pieces."""
    params = [
        {k: getattr(r, k) for k in ("no", "type", "severity", "swapped", "x_lv", "y_lv",
                                    "min_area")}
        for r in rows
    ]  # fmt: skip
    conn.execute(text(statement(__name__, "insert_orient")), params)


def store_chunk(conn: Connection, run_id: int, out: ChunkOut) -> None:
    """Store a chunk's kept pieces as patches (one per type and feature pair) and its
    slivers, with their ellipsoidal areas, through a binary ``COPY`` of the pieces."""
    if not len(out.no):
        return
    db = conn.connection.driver_connection
    assert db is not None
    with db.cursor() as cur, cur.copy(statement(__name__, "copy_pieces")) as copy:
        copy.set_types(["int4", "int8", "int8", "bool", "float8", "bool", "bytea"])
        for record in zip(
            out.no.tolist(),
            out.a_id.tolist(),
            [None if b < 0 else b for b in out.b_id.tolist()],
            out.kept.tolist(),
            out.planar.tolist(),
            out.thin.tolist(),
            out.wkb,
            strict=True,
        ):
            copy.write_row(record)
    _run(conn, "insert_patches", {"run": run_id, "m2_per_mu": MU_M2})
    _run(conn, "insert_slivers", {"run": run_id, "chunk": out.chunk})
    _run(conn, "clear_pieces")
