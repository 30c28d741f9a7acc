"""Cached tiles expire when the data they draw change (docs/basemap-cache.md).

The database records where drawn data changed: one row of ``tiles.changed_boxes`` per
statement that changed grid.buildings, grid.admin_areas, grid.cells or the current-use rows
of plans.features, with the lon/lat box of the old and new geometries (migration 0012).
:func:`expire_changes` takes pending rows and drops the cached tiles over them, for the
layers drawn from that table, on both sets; :class:`ExpiryWatcher` does so every few
seconds in a server. Taking and dropping are one transaction: rows are deleted with
``FOR UPDATE SKIP LOCKED``, so several server processes never take the same row, and are
committed only after the tiles are gone, so a crash leaves them pending.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from types import MappingProxyType
from typing import Final, NamedTuple

from sqlalchemy import Connection, Engine, text
from starlette.concurrency import run_in_threadpool

from services.basemaps.cache.mbtiles import TileCache
from services.basemaps.jobs import SETS, TILE_SIZE, TileSet

LOG = logging.getLogger("onemap.basemaps")

BBox = tuple[float, float, float, float]
"""(west, south, east, north), lon/lat degrees on CGCS2000."""

VECTOR_LAYERS: Final = ("vec", "cva", "cia")
"""The layers rendered from PostGIS (img and ter come from rasters, never from the database)."""
LAYERS_BY_SOURCE: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "grid.buildings": ("vec",),
        "grid.admin_areas": ("vec", "cva", "cia"),
        "plans.features": ("vec",),
        # No style draws cells today (config/basemap/*.xml): their boxes are recorded and
        # taken, and expire nothing until a style draws them and its layer is named here.
        "grid.cells": (),
    }
)
"""Which layers' tiles a change of each table affects: the tables each style reads."""
BUFFER_PIXELS: Final[Mapping[str, int]] = MappingProxyType({"vec": 64, "cva": 128, "cia": 128})
"""Each style's ``buffer-size``: a change this many pixels beyond a tile can show in it (a
label, a stroke), so a box is widened by it at each level."""
BATCH: Final = 500
"""Rows taken per transaction."""

_TAKE: Final = text(
    "DELETE FROM tiles.changed_boxes WHERE id IN ("
    " SELECT id FROM tiles.changed_boxes ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED)"
    " RETURNING id, source, ST_XMin(box), ST_YMin(box), ST_XMax(box), ST_YMax(box)"
)

TileRange = tuple[int, int, int, int]
"""(first col, last col, first row, last row) at one level, inclusive."""


class ChangedBox(NamedTuple):
    """One recorded change: its row id, its table (``schema.table``) and its box."""

    id: int
    source: str
    bbox: BBox


def take_changes(connection: Connection, limit: int = BATCH) -> list[ChangedBox]:
    """Delete and return up to ``limit`` pending boxes, oldest first, skipping rows another
    transaction holds; they are gone for others only when the caller's transaction commits."""
    rows = connection.execute(_TAKE, {"n": limit}).all()
    found = [ChangedBox(int(r[0]), str(r[1]), (r[2], r[3], r[4], r[5])) for r in rows]
    return sorted(found)


def expire_changes(
    cache: TileCache,
    connection: Connection | Engine,
    levels: Iterable[int] = range(1, 19),
    *,
    batch: int = BATCH,
    max_batches: int = 20,
) -> int:
    """Drop the cached tiles over the pending changed boxes; return how many tiles.

    Each batch of up to ``batch`` rows is one transaction: rows taken, tiles dropped, then
    commit. An error (database or cache) rolls the batch back: its rows stay pending for the
    next call. Stops after a short batch or ``max_batches``. ``connection``: an engine, or a
    connection with no transaction begun.
    """
    levels = tuple(levels)
    dropped = 0
    for _ in range(max_batches):
        with _transaction(connection) as conn:
            boxes = take_changes(conn, batch)
            if boxes:
                started = time.perf_counter()
                dropped_now = expire_boxes(cache, boxes, levels)
                dropped += dropped_now
                LOG.info(
                    "expired %d cached tiles over %d changed boxes (ids %d-%d) in %.0f ms",
                    dropped_now, len(boxes), boxes[0].id, boxes[-1].id,
                    (time.perf_counter() - started) * 1000,
                )  # fmt: skip
        if len(boxes) < batch:
            break
    return dropped


def expire_boxes(cache: TileCache, boxes: Iterable[ChangedBox], levels: Iterable[int]) -> int:
    """Drop the tiles over ``boxes`` for the layers their tables affect, on both sets, at
    ``levels``; return how many. At each level the boxes, widened by the style's buffer,
    become tile ranges, merged where that costs no extra tile beyond their overlap: many
    changes in one city-level tile are one range DELETE, distant street-level ones stay
    apart."""
    by_layer: dict[str, list[BBox]] = {}
    for box in boxes:
        layers = LAYERS_BY_SOURCE.get(box.source)
        if layers is None:
            LOG.warning("changed box %d of unknown table %r: expiring every vector layer",
                        box.id, box.source)  # fmt: skip
            layers = VECTOR_LAYERS
        for layer in layers:
            by_layer.setdefault(layer, []).append(box.bbox)
    dropped = 0
    for layer, bboxes in by_layer.items():
        for tileset in SETS:
            if not cache.path(layer, tileset).exists():
                continue
            for level in levels:
                for r in expiry_ranges(tileset, level, bboxes, BUFFER_PIXELS.get(layer, 0)):
                    dropped += cache.expire_range(layer, tileset, level, r[:2], r[2:])
    return dropped


def expiry_ranges(
    tileset: TileSet, level: int, bboxes: Sequence[BBox], buffer_pixels: int = 0
) -> list[TileRange]:
    """The tile ranges meeting ``bboxes`` widened by ``buffer_pixels``, merged."""
    pad = buffer_pixels * 360.0 / (TILE_SIZE * 2**level)  # a pixel's width in longitude
    ranges = set()
    for bbox in bboxes:
        found = tile_range(tileset, level, _widen(tileset, bbox, pad))
        if found is not None:
            ranges.add(found)
    return merge_ranges(ranges)


def merge_ranges(ranges: Iterable[TileRange]) -> list[TileRange]:
    """Merge two ranges into their bounding range while that adds no more tiles than they
    share (side by side, nested, overlapping much), until no two merge. Only ranges that
    meet or touch can merge (between others the bounding range adds the gap), so each range
    is compared only with those still open at its first column."""
    pending = sorted(set(ranges))
    while True:
        merged: list[TileRange] = []
        open_: list[int] = []  # indices in merged of ranges reaching the current column - 1
        changed = False
        for r in pending:
            open_ = [i for i in open_ if merged[i][1] >= r[0] - 1]
            for i in open_:
                m = merged[i]
                u = (m[0], max(m[1], r[1]), min(m[2], r[2]), max(m[3], r[3]))  # m[0] <= r[0]
                if _area(u) <= _area(m) + _area(r):
                    merged[i], changed = u, True
                    break
            else:
                merged.append(r)
                open_.append(len(merged) - 1)
        if not changed:
            return merged
        pending = sorted(set(merged))


def _area(r: TileRange) -> int:
    return (r[1] - r[0] + 1) * (r[3] - r[2] + 1)


def _widen(tileset: TileSet, bbox: BBox, pad: float) -> BBox:
    """``bbox`` widened by ``pad`` degrees (a pixel is no taller than wide in latitude on
    either set, so this is at least the buffer), clipped to the set's latitudes."""
    limit = 90.0 if tileset == "c" else 85.0511
    west, south, east, north = bbox
    return (
        max(west - pad, -180.0),
        max(south - pad, -limit),
        min(east + pad, 180.0),
        min(north + pad, limit),
    )


def tile_range(tileset: TileSet, level: int, bbox: BBox) -> TileRange | None:
    """The columns and rows of the tiles meeting a lon/lat ``bbox``, with the rules of
    :func:`gis.tms.tiles_for_bbox` (an east or south edge on a tile boundary does not pull in
    the next tile), by arithmetic instead of listing tiles. Both sets' columns are the
    meridians 360/2ⁿ degrees apart from -180; ``c`` rows are parallels as far apart from 90,
    ``w`` rows split Web Mercator's square into 2ⁿ."""
    west, south, east, north = bbox
    step = 360.0 / 2**level
    c0 = math.floor((west + 180.0) / step)
    c1 = max(math.ceil((east + 180.0) / step) - 1, c0)
    if tileset == "c":
        top, bottom, nrows = (90.0 - north) / step, (90.0 - south) / step, 2 ** (level - 1)
    else:
        top, bottom, nrows = _mercator_row(north, level), _mercator_row(south, level), 2**level
    r0 = math.floor(top)
    r1 = max(math.ceil(bottom) - 1, r0)
    c0, c1, r0, r1 = max(c0, 0), min(c1, 2**level - 1), max(r0, 0), min(r1, nrows - 1)
    if c0 > c1 or r0 > r1:
        return None
    return c0, c1, r0, r1


def _mercator_row(lat: float, level: int) -> float:
    """Where a latitude falls among the 2ⁿ rows of Web Mercator's square, from the top."""
    return float((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * 2**level)


@contextmanager
def _transaction(connection: Connection | Engine) -> Iterator[Connection]:
    if isinstance(connection, Engine):
        with connection.begin() as conn:
            yield conn
    else:
        with connection.begin():
            yield connection


class ExpiryWatcher:
    """Runs :func:`expire_changes` every ``interval`` seconds on the event loop's side:
    the work runs in a worker thread, the loop only waits. A failing run (database down,
    cache error) is logged and tried again at the next tick; its rows stay pending.

    >>> watcher = ExpiryWatcher(cache, engine, interval=2.0)  # doctest: +SKIP
    >>> await watcher.start(); ...; await watcher.stop()  # doctest: +SKIP
    """

    def __init__(
        self,
        cache: TileCache,
        engine: Engine,
        interval: float,
        *,
        levels: Iterable[int] = range(1, 19),
    ) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be positive, not {interval}")
        self.cache, self.engine, self.interval = cache, engine, interval
        self.levels = tuple(levels)
        self.runs = 0
        """Runs that succeeded."""
        self.dropped = 0
        """Tiles dropped since start."""
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start the ticks (the first one at once); a no-op when already running."""
        if self.running:
            return
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="basemap-expiry")

    async def stop(self) -> None:
        """Stop, after the run in progress (if any) has finished."""
        if self._task is None:
            return
        self._stopping.set()
        task, self._task = self._task, None
        await task

    async def _run(self) -> None:
        failing = False
        while not self._stopping.is_set():
            try:
                dropped = await run_in_threadpool(
                    expire_changes, self.cache, self.engine, self.levels
                )
            except Exception as exc:  # any failure: logged, retried at the next tick
                level = logging.DEBUG if failing else logging.WARNING
                LOG.log(level, "expiring changed tiles failed, retrying in %gs: %s",
                        self.interval, exc, exc_info=not failing)  # fmt: skip
                failing = True
            else:
                if failing:
                    LOG.info("expiring changed tiles works again")
                failing = False
                self.runs += 1
                self.dropped += dropped
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval)
