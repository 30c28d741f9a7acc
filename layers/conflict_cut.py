"""One county chunk of a conflict run, cut in a worker process with vectorised shapely 2.

A chunk arrives as arrays (:class:`ChunkJob`): the features of each side that take part, with
their class bit masks, 2023 first-level class and whether their chunk is this one. The worker
reads their metric parts (EPSG:4549, made at import) as WKB through a binary ``COPY``, pairs
them with an STR tree, tests that interiors meet (``relate`` pattern ``T********``) and cuts
A ∩ B (or A − ∪B) with the GEOS of shapely's wheel, which does each of these two to three
times faster than the GEOS of Debian's PostGIS. Pieces are typed, split into noise, slivers
and kept pieces, and sent back as WKB for the caller to store in its own transaction.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import shapely

from layers.errors import LayerError

__all__ = ["ChunkJob", "ChunkOut", "Side", "TypeRow", "cut_chunk", "peak_mb", "reset_peak"]

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

RELATE_INTERIORS: str = "T********"
"""Interiors meet: neighbours that only share an edge make no piece."""


class TypeRow(NamedTuple):
    """One conflict type on one (first, other) layer pair (``x`` first layer, ``y`` other;
    ``swapped``: the type's side A is ``y``); ``walk``: the side whose chunk holds a pair."""

    no: int
    type: str
    op: str
    x_lv: int
    y_lv: int
    swapped: bool
    x_bit: int
    y_bit: int
    diff_use: bool
    min_area: float
    walk: str


class Side(NamedTuple):
    """The features of one side (``x`` or ``y``) a chunk needs, sorted by id."""

    ids: Ints
    lv: Ints
    cls: Ints
    use2: Ints  # -1: no 2023 code (never a different use, as NULL <> x is not true in SQL)
    whole: Bools  # one part only
    here: Bools  # the feature's chunk is this one


class ChunkJob(NamedTuple):
    """What a worker needs for one chunk."""

    chunk: str
    x: Side
    y: Side
    types: tuple[TypeRow, ...]
    noise_m2: float
    half_width_m: float


class ChunkOut(NamedTuple):
    """A chunk's non-noise pieces (``b_id`` -1 for difference types), its counts and costs."""

    chunk: str
    no: Ints
    a_id: Ints
    b_id: Ints
    kept: Bools
    planar: npt.NDArray[np.float64]
    thin: Bools
    wkb: list[bytes]
    pieces: dict[str, dict[str, int]]
    seconds: dict[str, float]
    peak_mb: float | None


_PARTS_SQL = "SELECT feature_id, geom FROM plans.feature_parts WHERE feature_id = ANY(%s::bigint[])"
"""Parts by feature (primary key index). Fetched in binary, a geometry arrives as EWKB bytes:
measured on the large city, 145 000 parts took 0.57 s this way, 0.81 s as ``ST_AsBinary``
and 1.83 s through a binary ``COPY`` (whose rows are unpacked one by one in Python)."""


def reset_peak() -> None:
    """Reset this process's peak RSS (``VmHWM``), so the next reading covers one chunk."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_mb() -> float | None:
    """This process's peak RSS since the last reset, in MB (Linux only, else None)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError):
        pass
    return None


def _read(db: Any, ids: Ints) -> tuple[Ints, npt.NDArray[np.object_]]:
    """The metric parts of these features: their feature ids and geometries."""
    with db.cursor(binary=True) as cur:
        rows = cur.execute(_PARTS_SQL, (ids.tolist(),)).fetchall()
    found = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    if len(np.unique(found)) != len(ids):
        raise LayerError(
            "a layer version's features were not found by a conflict worker: the versions "
            "compared must be committed before a run with more than one worker"
        )
    return found, shapely.from_wkb([r[1] for r in rows])


class _Parts(NamedTuple):
    """The parts of one side, each with its feature's row in the side's arrays."""

    row: Ints
    geom: npt.NDArray[np.object_]


def _polygons(geoms: npt.NDArray[np.object_]) -> tuple[npt.NDArray[np.object_], Ints]:
    """The polygons of each geometry (``ST_Dump(ST_CollectionExtract(g, 3))``), with the
    index of the geometry each came from."""
    parts, index = shapely.get_parts(geoms, return_index=True)
    kind = shapely.get_type_id(parts)
    if (kind == 6).any() or (kind == 7).any():  # nested in a collection
        more, at = shapely.get_parts(parts, return_index=True)
        parts, index, kind = more, index[at], shapely.get_type_id(more)
    keep = (kind == 3) & ~shapely.is_empty(parts)
    return parts[keep], index[keep].astype(np.int64)


def _whole(side: Side, parts: _Parts, rows: Ints) -> npt.NDArray[np.object_]:
    """The geometry of each of these features: its part, or its parts unioned."""
    order = np.argsort(parts.row, kind="stable")
    sorted_rows = parts.row[order]
    start = np.searchsorted(sorted_rows, rows, side="left")
    stop = np.searchsorted(sorted_rows, rows, side="right")
    out = np.empty(len(rows), dtype=object)
    for k, (i, j) in enumerate(zip(start, stop, strict=True)):
        got = parts.geom[order[i:j]]
        out[k] = got[0] if side.whole[rows[k]] else shapely.union_all(got)
    return out


def _taken(t: TypeRow, x: Side, y: Side, xr: Ints, yr: Ints) -> Bools:
    """Which (x, y) feature pairs type ``t`` tests: its layers, classes and use test."""
    hit: Bools = (x.lv[xr] == t.x_lv) & (y.lv[yr] == t.y_lv)
    hit &= ((x.cls[xr] & t.x_bit) != 0) & ((y.cls[yr] & t.y_bit) != 0)
    if t.diff_use:
        hit &= (x.use2[xr] >= 0) & (y.use2[yr] >= 0) & (x.use2[xr] != y.use2[yr])
    return hit


def _pairs(job: ChunkJob, xp: _Parts, yp: _Parts) -> tuple[Ints, Ints]:
    """The (x part, y part) pairs of the intersection types whose interiors meet, each pair
    once: the walk side's parts of this chunk against an STR tree of the other side's parts
    of the type's class; a pair two types would both take is cut for the first only."""
    x, y = job.x, job.y
    found_x: list[Ints] = []
    found_y: list[Ints] = []
    before: list[TypeRow] = []
    for t in job.types:
        if t.op != "intersection":
            continue
        x_in = (x.lv[xp.row] == t.x_lv) & ((x.cls[xp.row] & t.x_bit) != 0)
        y_in = (y.lv[yp.row] == t.y_lv) & ((y.cls[yp.row] & t.y_bit) != 0)
        if t.walk == "x":
            walk, probe = np.flatnonzero(x_in & x.here[xp.row]), np.flatnonzero(y_in)
            walk_geom, probe_geom = xp.geom, yp.geom
        else:
            walk, probe = np.flatnonzero(y_in & y.here[yp.row]), np.flatnonzero(x_in)
            walk_geom, probe_geom = yp.geom, xp.geom
        tree = shapely.STRtree(probe_geom[probe])
        w, p = tree.query(walk_geom[walk])
        xi, yi = (walk[w], probe[p]) if t.walk == "x" else (probe[p], walk[w])
        keep = _taken(t, x, y, xp.row[xi], yp.row[yi])
        for earlier in before:
            keep &= ~_taken(earlier, x, y, xp.row[xi], yp.row[yi])
        xi, yi = xi[keep], yi[keep]
        meet = shapely.relate_pattern(xp.geom[xi], yp.geom[yi], RELATE_INTERIORS)
        found_x.append(xi[meet])
        found_y.append(yi[meet])
        before.append(t)
    if not found_x:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(found_x), np.concatenate(found_y)


class _Pieces(NamedTuple):
    no: Ints  # -1: an intersection piece, typed later
    x_id: Ints  # row in the x side (or, for difference pieces, the A feature's row)
    y_id: Ints  # row in the y side, -1 for difference pieces
    geom: npt.NDArray[np.object_]


def _intersections(job: ChunkJob, xp: _Parts, yp: _Parts, xi: Ints, yi: Ints) -> _Pieces:
    """Polygons of A ∩ B per feature pair; fragments of subdivided features unioned back."""
    polys, at = _polygons(shapely.intersection(xp.geom[xi], yp.geom[yi]))
    xr, yr = xp.row[xi][at], yp.row[yi][at]
    whole = job.x.whole[xr] & job.y.whole[yr]
    pieces_x, pieces_y, pieces = [xr[whole]], [yr[whole]], [polys[whole]]
    if (~whole).any():
        span = len(job.y.ids) + 1
        groups, inverse = np.unique(xr[~whole] * span + yr[~whole], return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        bounds = np.searchsorted(inverse[order], np.arange(len(groups) + 1))
        frags = polys[~whole][order]
        unions = np.empty(len(groups), dtype=object)
        for k, (i, j) in enumerate(itertools.pairwise(bounds)):
            unions[k] = shapely.union_all(frags[i:j])
        merged, back = _polygons(unions)
        pieces_x.append((groups // span)[back])
        pieces_y.append((groups % span)[back])
        pieces.append(merged)
    geom = np.concatenate(pieces)
    return _Pieces(np.full(len(geom), -1), np.concatenate(pieces_x), np.concatenate(pieces_y), geom)


def _differences(job: ChunkJob, xp: _Parts, yp: _Parts) -> list[_Pieces]:
    """Polygons of each A feature of this chunk minus the union of the B parts it meets."""
    found = []
    for t in job.types:
        if t.op != "difference":
            continue
        (a, ap), (b, bp) = ((job.y, yp), (job.x, xp)) if t.swapped else ((job.x, xp), (job.y, yp))
        a_lv, a_bit, b_lv, b_bit = (
            (t.y_lv, t.y_bit, t.x_lv, t.x_bit) if t.swapped else (t.x_lv, t.x_bit, t.y_lv, t.y_bit)
        )
        rows = np.flatnonzero((a.lv == a_lv) & ((a.cls & a_bit) != 0) & a.here)
        if not len(rows):
            continue
        geoms = _whole(a, ap, rows)
        b_parts = np.flatnonzero((b.lv[bp.row] == b_lv) & ((b.cls[bp.row] & b_bit) != 0))
        tree = shapely.STRtree(bp.geom[b_parts])
        ai, bi = tree.query(geoms, predicate="intersects")
        rest = geoms.copy()
        if len(ai):
            order = np.argsort(ai, kind="stable")
            ai, bi = ai[order], bi[order]
            starts = np.flatnonzero(np.r_[True, ai[1:] != ai[:-1]])
            stops = np.r_[starts[1:], len(ai)]
            met = ai[starts]
            unions = np.empty(len(met), dtype=object)
            for k, (i, j) in enumerate(zip(starts, stops, strict=True)):
                unions[k] = shapely.union_all(bp.geom[b_parts[bi[i:j]]])
            rest[met] = shapely.difference(geoms[met], unions)
        polys, at = _polygons(rest)
        found.append(_Pieces(np.full(len(polys), t.no), rows[at], np.full(len(polys), -1), polys))
    return found


def _assign(job: ChunkJob, cut: _Pieces) -> tuple[Ints, Ints, Ints, npt.NDArray[np.object_]]:
    """Each piece with the type(s) it makes, oriented: type number, A and B feature ids."""
    nos: list[Ints] = []
    a_ids: list[Ints] = []
    b_ids: list[Ints] = []
    at: list[Ints] = []
    x, y = job.x, job.y
    inter = np.flatnonzero(cut.no < 0)
    for t in job.types:
        if t.op == "difference":
            mine = np.flatnonzero(cut.no == t.no)
            ids = (y if t.swapped else x).ids[cut.x_id[mine]]
            nos.append(np.full(len(mine), t.no))
            a_ids.append(ids)
            b_ids.append(np.full(len(mine), -1))
            at.append(mine)
            continue
        mine = inter[_taken(t, x, y, cut.x_id[inter], cut.y_id[inter])]
        xs, ys = x.ids[cut.x_id[mine]], y.ids[cut.y_id[mine]]
        nos.append(np.full(len(mine), t.no))
        a_ids.append(ys if t.swapped else xs)
        b_ids.append(xs if t.swapped else ys)
        at.append(mine)
    index = np.concatenate(at) if at else np.empty(0, np.int64)
    return (
        np.concatenate(nos).astype(np.int64) if nos else index,
        np.concatenate(a_ids).astype(np.int64) if a_ids else index,
        np.concatenate(b_ids).astype(np.int64) if b_ids else index,
        cut.geom[index],
    )


def cut_chunk(db: Any, job: ChunkJob) -> ChunkOut:
    """Read, pair, cut and classify one chunk, with the psycopg connection ``db``."""
    reset_peak()
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = round(seconds.get(name, 0.0) + now - clock, 3)
        clock = now

    fids, geoms = _read(db, np.concatenate([job.x.ids, job.y.ids]))
    in_x = np.isin(fids, job.x.ids)
    xp = _Parts(np.searchsorted(job.x.ids, fids[in_x]), geoms[in_x])
    yp = _Parts(np.searchsorted(job.y.ids, fids[~in_x]), geoms[~in_x])
    lap("read")
    xi, yi = _pairs(job, xp, yp)
    lap("pair")
    cut = [_intersections(job, xp, yp, xi, yi), *_differences(job, xp, yp)]
    joined = _Pieces(*(np.concatenate(c) for c in zip(*cut, strict=True)))
    no, a_id, b_id, geom = _assign(job, joined)
    lap("cut")
    planar = shapely.area(geom)
    min_area = np.zeros(max((t.no for t in job.types), default=0) + 1)
    for t in job.types:
        min_area[t.no] = t.min_area
    counted = planar >= job.noise_m2
    thin = np.zeros(len(geom), dtype=bool)
    thin[counted] = shapely.is_empty(shapely.buffer(geom[counted], -job.half_width_m))
    kept = counted & ~thin & (planar >= min_area[no])
    pieces: dict[str, dict[str, int]] = {}
    for t in job.types:
        mine = no == t.no
        kinds = {
            "noise": int((mine & ~counted).sum()),
            "sliver": int((mine & counted & ~kept).sum()),
            "kept": int((mine & kept).sum()),
        }
        if any(kinds.values()):
            entry = pieces.setdefault(t.type, {})
            for kind, n in kinds.items():
                if n:
                    entry[kind] = entry.get(kind, 0) + n
    out = np.flatnonzero(counted)
    wkb = shapely.to_wkb(geom[out]).tolist()
    lap("filter")
    return ChunkOut(
        job.chunk,
        no[out],
        a_id[out],
        b_id[out],
        kept[out],
        planar[out],
        thin[out],
        wkb,
        pieces,
        seconds,
        peak_mb(),
    )


_DB: Any = None


def init_worker(conninfo: str) -> None:
    """Pool initializer: the worker's own connection, read-only, kept for its chunks."""
    import psycopg

    global _DB
    _DB = psycopg.connect(conninfo, autocommit=True)
    _DB.execute("SET default_transaction_read_only = on")


def worker_cut(job: ChunkJob) -> ChunkOut:
    """A pool task: one chunk, on the worker's connection; errors as one-line LayerErrors
    (a driver's exception may not survive the trip back to the caller)."""
    try:
        return cut_chunk(_DB, job)
    except LayerError:
        raise
    except Exception as exc:
        raise LayerError(f"conflict chunk {job.chunk or '(outside the counties)'}: {exc}") from None


def sides_of(types: Sequence[TypeRow]) -> tuple[bool, bool]:
    """Whether some type walks the x side, and whether some walks the y side (and so needs
    the other side's parts around the walked ones)."""
    walks_x = any(
        (t.op == "intersection" and t.walk == "x") or (t.op == "difference" and not t.swapped)
        for t in types
    )
    walks_y = any(
        (t.op == "intersection" and t.walk == "y") or (t.op == "difference" and t.swapped)
        for t in types
    )
    return walks_x, walks_y
