"""Tile load for ``bench basemap``: many keep-alive connections from one asyncio process
(bench/_http1.py, the lean HTTP/1.1 client), against any server of the bench alike.

- :func:`steady`: ``connections`` clients loop over a list of tile paths (each starting at
  its own offset) for a warm-up, then for ``seconds``; the tiles served per second are the
  answers completed in the timed window over its length.
- :func:`once`: each path is asked exactly once (the clients share one iterator): every
  request of an empty cache renders; the rate is the tiles over the time to the last answer.

A non-200 answer, an empty body or a broken connection counts as an error, never as a tile.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from bench._http1 import Connection, HttpError


@dataclass
class Load:
    """What one run of the load measured."""

    tiles: int = 0
    errors: int = 0
    seconds: float = 0.0
    bytes: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    client_cpu_s: float = 0.0
    error_examples: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        found = asdict(self)
        del found["latencies_ms"]
        lat = self.latencies_ms
        found |= {
            "tiles_per_s": round(self.tiles / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(float(np.percentile(lat, 50)), 2) if lat else None,
            "p95_ms": round(float(np.percentile(lat, 95)), 2) if lat else None,
            "client_cpu_ms_per_tile": round(self.client_cpu_s * 1000 / self.tiles, 3)
            if self.tiles
            else None,
        }
        return found

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_examples) < 5:
            self.error_examples.append(what[:200])


async def _get(conn: Connection, path: str, load: Load, timed: bool) -> None:
    started = time.perf_counter()
    try:
        answer = await conn.request("GET", path, {})
    except HttpError as exc:
        if timed:
            load.error(str(exc))
        return
    if not timed:
        return
    if answer.status != 200 or not answer.body:
        load.error(f"{path}: HTTP {answer.status}, {len(answer.body)} bytes")
        return
    load.tiles += 1
    load.bytes += len(answer.body)
    load.latencies_ms.append((time.perf_counter() - started) * 1000)


async def _steady(
    base: str, paths: list[str], connections: int, warmup: float, seconds: float
) -> Load:
    load = Load()
    loop = asyncio.get_running_loop()
    start = loop.time()
    timed_from, until = start + warmup, start + warmup + seconds
    cpu: dict[str, float] = {}

    async def client(number: int) -> None:
        conn = Connection(base)
        i = number * len(paths) // connections
        try:
            while (now := loop.time()) < until:
                timed = now >= timed_from
                if timed and "start" not in cpu:
                    cpu["start"] = time.process_time()
                await _get(conn, paths[i % len(paths)], load, timed and loop.time() < until)
                i += 1
        finally:
            await conn.close()

    await asyncio.gather(*(client(n) for n in range(connections)))
    load.client_cpu_s = time.process_time() - cpu.get("start", time.process_time())
    load.seconds = seconds
    return load


async def _once(base: str, paths: list[str], connections: int) -> Load:
    load = Load()
    queue = iter(paths)
    cpu = time.process_time()
    started = time.perf_counter()

    async def client() -> None:
        conn = Connection(base)
        try:
            for path in queue:
                await _get(conn, path, load, True)
        finally:
            await conn.close()

    await asyncio.gather(*(client() for _ in range(connections)))
    load.seconds = time.perf_counter() - started
    load.client_cpu_s = time.process_time() - cpu
    return load


def steady(
    base: str, paths: list[str], connections: int, warmup: float, seconds: float
) -> dict[str, Any]:
    """Loop over ``paths`` for ``warmup`` + ``seconds``; figures of the timed part."""
    return asyncio.run(_steady(base, paths, connections, warmup, seconds)).figures()


def once(base: str, paths: list[str], connections: int) -> dict[str, Any]:
    """Each path asked exactly once; figures of the whole run."""
    return asyncio.run(_once(base, paths, connections)).figures()


async def _fetch_all(base: str, paths: list[str]) -> list[tuple[int, bytes]]:
    conn = Connection(base)
    try:
        found = []
        for path in paths:
            answer = await conn.request("GET", path, {})
            found.append((answer.status, answer.body))
        return found
    finally:
        await conn.close()


def fetch(base: str, paths: list[str]) -> list[tuple[int, bytes]]:
    """Status and body of each path, asked one after another (the checks before timing)."""
    return asyncio.run(_fetch_all(base, paths))
