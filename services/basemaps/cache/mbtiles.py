"""The tile cache: one MBTiles 1.3 file per layer and set, ``<directory>/<layer>_<set>.mbtiles``.

Rows are flipped: Tianditu (and WMTS) count tile rows from the top, MBTiles (TMS) counts
``tile_row`` from the bottom, so ``tile_row = matrix_height(level) - 1 - row``
(:func:`mbtiles_row`; on set ``c`` level n has 2ⁿ⁻¹ rows, not 2ⁿ). ``zoom_level`` and
``tile_column`` are Tianditu's level and column as they are. The ``w`` files are ordinary
Web Mercator MBTiles; the ``c`` files hold CGCS2000 lon/lat tiles, which the MBTiles spec does
not foresee (it assumes Web Mercator), so their metadata says ``crs`` and ``tile_matrix_set``.

A blank tile (nothing of the city's data in it) is cached as an empty blob, :data:`BLANK`:
:meth:`TileCache.get` answers ``b""`` for it and None for a tile not cached.

Several worker processes share a file: WAL journal (readers never wait for the writer),
``busy_timeout`` (a writer waits for another instead of failing with "database is locked"),
autocommit statements (each write is its own short transaction), ``INSERT OR REPLACE``.
Each thread of each process has its own connection.
"""

from __future__ import annotations

import fcntl
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final, NamedTuple

from gis.tms import get_tms, matrix_size, tiles_for_bbox
from services.basemaps.jobs import LAYERS, SETS, Renderer, TileJob, TileSet

BLANK: Final = b""
"""What a blank tile is stored as: cached, and distinct from 'not cached' (None)."""
_FILE: Final = re.compile(r"^(?P<layer>[a-z]+)_(?P<set>[a-z]+)\.mbtiles$")
_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS metadata (name TEXT NOT NULL, value TEXT)",
    "CREATE UNIQUE INDEX IF NOT EXISTS metadata_name ON metadata (name)",
    "CREATE TABLE IF NOT EXISTS tiles (zoom_level INTEGER NOT NULL,"
    " tile_column INTEGER NOT NULL, tile_row INTEGER NOT NULL, tile_data BLOB NOT NULL)",
    "CREATE UNIQUE INDEX IF NOT EXISTS tile_index ON tiles (zoom_level, tile_column, tile_row)",
)


class LevelStatus(NamedTuple):
    """What one file holds at one level: tiles (blank ones included) and their bytes."""

    layer: str
    tileset: str
    level: int
    tiles: int
    blank: int
    bytes: int


def mbtiles_row(tileset: TileSet | str, level: int, row: int) -> int:
    """MBTiles' ``tile_row`` (from the bottom) of a Tianditu row (from the top); its own
    inverse.

    >>> mbtiles_row("c", 10, 157), mbtiles_row("w", 10, 406)
    (354, 617)
    """
    return matrix_size(tileset, level).height - 1 - row


class TileCache:
    """The cache under ``directory`` (created when first written to).

    Parameters
    ----------
    directory
        Where the ``<layer>_<set>.mbtiles`` files live.
    busy_timeout_ms
        How long a statement waits for another process's write before failing.
    """

    def __init__(self, directory: Path | str, *, busy_timeout_ms: int = 30_000) -> None:
        self.directory = Path(directory)
        self.busy_timeout_ms = busy_timeout_ms
        self._pid = os.getpid()
        self._local = threading.local()
        self._keys_lock = threading.Lock()
        self._keys: dict[TileJob, tuple[threading.Lock, int]] = {}

    def path(self, layer: str, tileset: str) -> Path:
        """The file of one layer and set."""
        if layer not in LAYERS or tileset not in SETS:
            raise ValueError(f"no cache for layer {layer!r} and set {tileset!r}")
        return self.directory / f"{layer}_{tileset}.mbtiles"

    # -- tiles ----------------------------------------------------------------------------

    def get(self, job: TileJob) -> bytes | None:
        """The cached tile, :data:`BLANK` (``b""``) for a cached blank one, None if not cached."""
        found = (
            self._connection(job.layer, job.tileset)
            .execute(
                "SELECT tile_data FROM tiles"
                " WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
                (job.level, job.col, mbtiles_row(job.tileset, job.level, job.row)),
            )
            .fetchone()
        )
        return None if found is None else bytes(found[0])

    def put(self, job: TileJob, data: bytes | None) -> None:
        """Keep a rendered tile; None (a blank tile) is kept as :data:`BLANK`."""
        self._connection(job.layer, job.tileset).execute(
            "INSERT OR REPLACE INTO tiles (zoom_level, tile_column, tile_row, tile_data)"
            " VALUES (?, ?, ?, ?)",
            (job.level, job.col, mbtiles_row(job.tileset, job.level, job.row), data or BLANK),
        )

    def get_or_render(self, job: TileJob, renderer: Renderer) -> bytes | None:
        """The tile from the cache, else rendered once and kept; None for a blank tile.

        Single flight within this process: threads asking for the same tile at once wait
        for the first one's rendering. Two processes may both render a tile they miss at
        the same moment; the second write replaces the first (same bytes), nothing breaks.
        """
        cached = self.get(job)
        if cached is not None:
            return cached or None
        with self._key_lock(job):
            cached = self.get(job)
            if cached is not None:
                return cached or None
            data = renderer.render(job)
            self.put(job, data)
            return data

    def expire(
        self,
        layer: str,
        tileset: TileSet | str,
        bbox_lonlat: tuple[float, float, float, float],
        levels: Iterable[int],
    ) -> int:
        """Drop the tiles meeting a (west, south, east, north) CGCS2000 box at these levels,
        exactly those :func:`gis.tms.tiles_for_bbox` lists; return how many were dropped.

        The box's columns come from a strip along its south edge and its rows from a strip
        along its west edge (the same tiles_for_bbox rules), so a level-18 box over the whole
        city is one range DELETE, not millions of keys.
        """
        if not self.path(layer, tileset).exists():
            return 0
        west, south, east, north = bbox_lonlat
        dropped = 0
        for level in levels:
            cols = [
                t.x
                for t in tiles_for_bbox(tileset, (west, south, east, south), level, geographic=True)
            ]
            rows = [
                t.y
                for t in tiles_for_bbox(tileset, (west, south, west, north), level, geographic=True)
            ]
            if cols and rows:
                dropped += self.expire_range(
                    layer, tileset, level, (cols[0], cols[-1]), (rows[0], rows[-1])
                )
        return dropped

    def expire_range(
        self,
        layer: str,
        tileset: TileSet | str,
        level: int,
        cols: tuple[int, int],
        rows: tuple[int, int],
    ) -> int:
        """Drop the tiles of columns ``cols[0]``–``cols[1]`` and (Tianditu, from the top)
        rows ``rows[0]``–``rows[1]`` at one level, in one range DELETE; return how many."""
        if not self.path(layer, tileset).exists():
            return 0
        low, high = mbtiles_row(tileset, level, rows[1]), mbtiles_row(tileset, level, rows[0])
        return (
            self._connection(layer, tileset)
            .execute(
                "DELETE FROM tiles WHERE zoom_level = ? AND tile_column BETWEEN ? AND ?"
                " AND tile_row BETWEEN ? AND ?",
                (level, cols[0], cols[1], low, high),
            )
            .rowcount
        )

    def status(self) -> list[LevelStatus]:
        """Tiles and bytes per layer, set and level, for every cache file present."""
        found: list[LevelStatus] = []
        for layer, tileset in self._files():
            rows = self._connection(layer, tileset).execute(
                "SELECT zoom_level, count(*), sum(length(tile_data) = 0),"
                " coalesce(sum(length(tile_data)), 0) FROM tiles"
                " GROUP BY zoom_level ORDER BY zoom_level"
            )
            found += [LevelStatus(layer, tileset, *map(int, row)) for row in rows]
        return found

    def close(self) -> None:
        """Close this thread's connections (other threads' close when they end)."""
        for connection in getattr(self._local, "connections", {}).values():
            connection.close()
        self._local = threading.local()

    # -- plumbing -----------------------------------------------------------------------------

    def _files(self) -> Iterator[tuple[str, str]]:
        if not self.directory.is_dir():
            return
        for path in sorted(self.directory.iterdir()):
            match = _FILE.match(path.name)
            if match and match["layer"] in LAYERS and match["set"] in SETS:
                yield match["layer"], match["set"]

    @contextmanager
    def _key_lock(self, job: TileJob) -> Iterator[None]:
        """A lock for one tile, alive only while some thread holds or waits for it."""
        with self._keys_lock:
            lock, users = self._keys.get(job, (threading.Lock(), 0))
            self._keys[job] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._keys_lock:
                lock, users = self._keys[job]
                if users == 1:
                    del self._keys[job]
                else:
                    self._keys[job] = (lock, users - 1)

    def _connection(self, layer: str, tileset: str) -> sqlite3.Connection:
        if os.getpid() != self._pid:  # forked: the parent's connections are not ours to use
            self._pid, self._local = os.getpid(), threading.local()
            self._keys_lock, self._keys = threading.Lock(), {}
        connections: dict[str, sqlite3.Connection] | None = getattr(
            self._local, "connections", None
        )
        if connections is None:
            connections = self._local.connections = {}
        key = f"{layer}_{tileset}"
        connection = connections.get(key)
        if connection is None:
            connection = connections[key] = self._open(layer, tileset)
        return connection

    def _open(self, layer: str, tileset: str) -> sqlite3.Connection:
        path = self.path(layer, tileset)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Creating the file and switching it to WAL need the whole file: one process at a time.
        with open(path.with_name(f".{path.name}.lock"), "a") as guard:
            fcntl.flock(guard, fcntl.LOCK_EX)
            connection = sqlite3.connect(
                path,
                timeout=self.busy_timeout_ms / 1000,
                isolation_level=None,
                check_same_thread=True,
            )
            connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            if connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] < 4:
                with connection:  # one transaction: the schema and metadata or nothing
                    connection.execute("BEGIN IMMEDIATE")
                    for statement in _SCHEMA:
                        connection.execute(statement)
                    connection.executemany(
                        "INSERT OR REPLACE INTO metadata (name, value) VALUES (?, ?)",
                        _metadata(layer, tileset),
                    )
        return connection


def _metadata(layer: str, tileset: str) -> list[tuple[str, str]]:
    """MBTiles 1.3 metadata: the required name and format, and what a reader needs."""
    tms = get_tms(tileset)
    job = TileJob(layer, tileset, tms.minzoom, 0, 0)  # type: ignore[arg-type]
    return [
        ("name", f"Lianyungang One Map {layer}_{tileset}"),
        ("format", "jpg" if job.media_type == "image/jpeg" else "png"),
        ("type", "overlay" if layer in ("cva", "cia") else "baselayer"),
        ("version", "1"),
        ("minzoom", str(tms.minzoom)),
        ("maxzoom", str(tms.maxzoom)),
        ("scheme", "tms"),
        ("crs", f"EPSG:{job.srid}"),
        ("tile_matrix_set", str(tms.id)),
        ("description", "Tianditu rows from the top flipped to tile_row from the bottom"),
    ]
