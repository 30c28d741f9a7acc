"""Pre-rendering the base maps into the cache (``onemap basemap seed``), and the areas and
level ranges the CLI's ``seed`` and ``expire`` take.

Seeding walks the tiles of a box level by level and hands them in batches to the render
workers (:mod:`.render_pool`), which write them into the MBTiles files; a tile already
cached is left alone unless forced. Batches keep inter-process traffic small, and only a
few batches are in flight at once, so memory stays flat whatever the number of tiles.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Engine, text

from gis.errors import GisError
from gis.tms import levels as set_levels
from gis.tms import tiles_for_bbox
from services.basemaps.jobs import LAYERS, SETS, TileJob, TileSet
from services.basemaps.render_pool import processes as render_processes
from services.basemaps.render_pool import render_pool, seed_batch
from services.settings import Settings

BBox = tuple[float, float, float, float]
"""(west, south, east, north) in CGCS2000 lon/lat."""
BATCH: Final = 16
_LEVELS: Final = re.compile(r"^\s*(\d{1,2})\s*(?:-\s*(\d{1,2})\s*)?$")
_NO_LIMIT: Final = 10**12


class SeedError(GisError):
    """A seed or expire request that names nothing servable (layer, set, levels, area)."""


@dataclass(frozen=True)
class SeedReport:
    """What a seeding did: tiles considered, rendered (of which blank), already cached."""

    tiles: int
    rendered: int
    blank: int
    skipped: int
    bytes: int
    seconds: float
    processes: int

    @property
    def tiles_per_second(self) -> float:
        return self.tiles / self.seconds if self.seconds > 0 else 0.0


def parse_levels(value: str, tileset: str | None = None) -> range:
    """``"8-16"`` or ``"12"`` as a range of levels, checked against the set (both sets have
    levels 1-18)."""
    found = _LEVELS.match(value)
    if not found:
        raise SeedError(f"levels {value!r}: write one level (12) or a range (8-16)")
    first = int(found.group(1))
    last = int(found.group(2) or first)
    allowed = set_levels(tileset or "c")
    if first > last or first not in allowed or last not in allowed:
        raise SeedError(f"levels {value!r}: between {allowed.start} and {allowed.stop - 1}")
    return range(first, last + 1)


def parse_bbox(value: str) -> BBox:
    """``"W,S,E,N"`` in CGCS2000 lon/lat degrees."""
    try:
        west, south, east, north = (float(part) for part in value.split(","))
    except ValueError:
        raise SeedError(f"bbox {value!r}: write west,south,east,north in degrees") from None
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise SeedError(f"bbox {value!r}: not west < east and south < north within ±180/±90")
    return west, south, east, north


def area_bbox(engine: Engine, county: str | None = None) -> BBox:
    """The extent of the city's administrative areas, or of one county by its code (6 or
    12 digits)."""
    code = None
    if county is not None:
        code = county.strip()
        if not re.fullmatch(r"\d{6}(?:000000)?", code):
            raise SeedError(f"county {county!r}: a 6-digit code such as 320706")
        code = code[:6] + "000000"
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM"
                " (SELECT ST_Extent(geom) AS e FROM grid.admin_areas"
                "  WHERE CAST(:code AS text) IS NULL OR (level = 'county' AND code = :code)) AS s"
            ),
            {"code": code},
        ).one()
    if row[0] is None:
        raise SeedError(
            f"no county {county} in grid.admin_areas" if county else "no administrative areas"
        )
    return float(row[0]), float(row[1]), float(row[2]), float(row[3])


def check_names(layers: Sequence[str], sets: Sequence[str]) -> None:
    for layer in layers:
        if layer not in LAYERS:
            raise SeedError(f"layer {layer!r}: one of {', '.join(LAYERS)}")
    for tileset in sets:
        if tileset not in SETS:
            raise SeedError(f"set {tileset!r}: one of {', '.join(SETS)}")


def plan(
    layers: Sequence[str], sets: Sequence[TileSet], levels: Iterable[int], bbox: BBox
) -> Iterator[TileJob]:
    """Every tile to seed, level by level (small levels first), each layer and set."""
    for level in levels:
        for tileset in sets:
            for tile in tiles_for_bbox(tileset, bbox, level, geographic=True, max_tiles=_NO_LIMIT):
                for layer in layers:
                    yield TileJob(layer, tileset, level, tile.y, tile.x)


def count(layers: Sequence[str], sets: Sequence[TileSet], levels: Iterable[int], bbox: BBox) -> int:
    """How many tiles :func:`plan` yields, without making them."""
    total = 0
    for level in levels:
        for tileset in sets:
            west, south, east, north = bbox
            cols = tiles_for_bbox(
                tileset, (west, south, east, south), level, geographic=True, max_tiles=_NO_LIMIT
            )
            rows = tiles_for_bbox(
                tileset, (west, south, west, north), level, geographic=True, max_tiles=_NO_LIMIT
            )
            total += sum(1 for _ in cols) * sum(1 for _ in rows)
    return total * len(layers)


class _Tally:
    def __init__(self) -> None:
        self.tiles = self.rendered = self.blank = self.skipped = self.bytes = 0

    def add(self, sizes: list[int]) -> int:
        self.tiles += len(sizes)
        self.skipped += sizes.count(-1)
        self.blank += sizes.count(0)
        self.rendered += sum(1 for s in sizes if s >= 0)
        self.bytes += sum(s for s in sizes if s > 0)
        return len(sizes)


def seed(
    settings: Settings,
    jobs: Iterable[TileJob],
    *,
    processes: int | None = None,
    force: bool = False,
    advance: Callable[[int], None] = lambda n: None,
) -> SeedReport:
    """Render ``jobs`` into the cache with ``processes`` workers (default: the setting, else
    one per core); ``advance(n)`` after each batch of n tiles."""
    started = time.perf_counter()
    workers = processes or render_processes(settings)
    tally = _Tally()
    source = iter(jobs)
    pending: set[Future[list[int]]] = set()
    with render_pool(settings, workers) as pool:
        while batch := list(itertools.islice(source, BATCH)):
            pending.add(pool.submit(seed_batch, batch, force))
            if len(pending) >= 3 * workers:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    advance(tally.add(future.result()))
        for future in pending:
            advance(tally.add(future.result()))
    return SeedReport(
        tally.tiles,
        tally.rendered,
        tally.blank,
        tally.skipped,
        tally.bytes,
        time.perf_counter() - started,
        workers,
    )
