"""The in-process cache of vector tiles: an LRU bounded in bytes, and single flight.

A tile is kept with the ``ETag`` it was made under, and that tag is built from the change
stamps (``counts.stamps`` serials) of the tables under the tile, the layers' definitions,
the tile and its parameters (services/ogcapi/tiles.py). A lookup is given the tag computed
from the stamps as they are *now* (one cheap read, the same as a conditional request's) and
answers only when the kept tag is equal: a tile changes as soon as the data under it do,
with no expiry timer. An entry whose tag is out of date is dropped when met.

The key holds the layers' definitions as the caller sees them (a grid worker's view of
buildings carries their cells' condition), so a tile made for one caller is never handed to
another who may see less; the routes also cache only tiles whose collections are all public
(keyed collections are views without a change stamp, so they have no tag anyway).

Sizes are counted in bytes: the body, the headers kept with it and the key, each string
with its object header, plus :data:`ENTRY_OVERHEAD` for the Python objects around them
(checked with ``tracemalloc`` in tests/services/test_ogc_tile_cache.py). The cache belongs
to one worker process and is used from its event loop only (no locks: nothing here awaits
while changing the structure).

Single flight: requests for the same missing tile (same key and tag) wait on one task, so
one ``ST_AsMVT`` statement answers them all; a waiter that goes away does not cancel it.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Final

ENTRY_OVERHEAD: Final = 256
"""Bytes counted per entry beyond its strings, bytes and tuples (:func:`_size`): the entry
object, its header dict, the LRU's node and slot. Strings shared between entries (header
names, the set's id) are counted in each, so the total is a bound: tracemalloc saw 1.3-2.1
kB per small entry (1 to 12 layers) where 1.8-2.6 kB were counted (CPython 3.12)."""
MB: Final = 1024 * 1024


@dataclass(frozen=True)
class CachedTile:
    """A tile as answered: its bytes (None for an empty tile, answered 204), its tag and
    the headers sent with it (validators, features counts)."""

    body: bytes | None
    etag: str
    headers: Mapping[str, str]


def _size(value: object) -> int:
    """Bytes of the strings, bytes, numbers and tuples in ``value``, each with its object
    header (CPython 3.12: 49 bytes for ASCII ``str``, 33 for ``bytes``, 40 plus 8 a slot
    for a tuple, 28 for an int)."""
    if isinstance(value, str):
        return 49 + len(value)
    if isinstance(value, bytes):
        return 33 + len(value)
    if isinstance(value, (tuple, list, frozenset)):
        return 40 + 8 * len(value) + sum(_size(v) for v in value)
    return 28


def entry_size(key: Hashable, tile: CachedTile) -> int:
    """What one entry is counted as."""
    headers = sum(_size(k) + _size(v) for k, v in tile.headers.items())
    body = _size(tile.body) if tile.body is not None else 0
    return ENTRY_OVERHEAD + _size(key) + body + _size(tile.etag) + headers


@dataclass
class Stats:
    hits: int = 0
    misses: int = 0
    queries: int = 0
    """Statements run through :meth:`TileCache.made` (one per flight)."""
    evictions: int = 0


@dataclass
class TileCache:
    """Tiles by key, least recently used first out, at most ``max_bytes`` in all (0: the
    routes do not use it, and tiles are made as without a cache)."""

    max_bytes: int
    stats: Stats = field(default_factory=Stats)
    _entries: OrderedDict[Hashable, tuple[CachedTile, int]] = field(default_factory=OrderedDict)
    _flights: dict[tuple[Hashable, str], asyncio.Task[CachedTile]] = field(default_factory=dict)
    size: int = 0
    """Bytes counted for the entries kept."""

    @classmethod
    def of_megabytes(cls, megabytes: float) -> TileCache:
        return cls(int(megabytes * MB))

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable, etag: str) -> CachedTile | None:
        """The kept tile if it was made under ``etag`` (the current stamps' tag)."""
        found = self._entries.get(key)
        if found is None:
            return None
        tile, size = found
        if tile.etag != etag:  # the data changed since: the entry can only mislead
            del self._entries[key]
            self.size -= size
            return None
        self._entries.move_to_end(key)
        self.stats.hits += 1
        return tile

    def put(self, key: Hashable, tile: CachedTile) -> None:
        """Keep ``tile`` (replacing the key's entry), evicting the least recently used
        until the total fits; a tile larger than the whole bound is not kept."""
        old = self._entries.pop(key, None)
        if old is not None:
            self.size -= old[1]
        size = entry_size(key, tile)
        if size > self.max_bytes:
            return
        self._entries[key] = (tile, size)
        self.size += size
        while self.size > self.max_bytes:
            _, (_, dropped) = self._entries.popitem(last=False)
            self.size -= dropped
            self.stats.evictions += 1

    async def made(
        self, key: Hashable, etag: str, make: Callable[[], Awaitable[CachedTile]]
    ) -> CachedTile:
        """The tile of ``key`` at ``etag``, made by ``make`` once however many ask at the
        same time, and kept (under the tag it was made with)."""
        self.stats.misses += 1
        flight_key = (key, etag)
        task = self._flights.get(flight_key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._run(flight_key, make))
            task.add_done_callback(_retrieve)
            self._flights[flight_key] = task
        return await asyncio.shield(task)

    async def _run(
        self, flight_key: tuple[Hashable, str], make: Callable[[], Awaitable[CachedTile]]
    ) -> CachedTile:
        try:
            self.stats.queries += 1
            tile = await make()
            if self.enabled:
                self.put(flight_key[0], tile)
            return tile
        finally:
            self._flights.pop(flight_key, None)


def _retrieve(task: asyncio.Task[CachedTile]) -> None:
    """Read a failed flight's error, so that one left with no waiter is not reported as
    never retrieved (the waiters got it)."""
    if not task.cancelled():
        task.exception()
