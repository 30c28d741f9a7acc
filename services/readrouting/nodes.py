"""The primary and the replicas the server reads from, and how far each has replayed.

Every ``ONEMAP_DB_REPLICA_CHECK_INTERVAL`` seconds one request asks each node its position
(:data:`gis.replication.POSITION_SQL`, one short query on a connection kept for it) while
the others go on with what was last seen. A replica is used while it answers and is within
the lag bounds: behind the primary by at most ``replica_max_lag_bytes`` of WAL and
``replica_max_lag_seconds`` of replay. A replica that is not a standby any more (promoted)
is used only while the primary is down: promoted beside a live primary, its data is no
longer the primary's.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import psycopg
from sqlalchemy.engine import URL

from gis.replication import POSITION_SQL
from gis.settings import ReplicaSettings

PROBE_TIMEOUT_S: Final = 2
WAIT_STEP_S: Final = 0.01
INSERT_LSN_SQL: Final = "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint"
"""Where the primary's next WAL record goes: every transaction committed before this is
behind it, whoever committed it."""


@dataclass(frozen=True)
class Seen:
    """A node as its last probe found it."""

    up: bool = False
    standby: bool = False
    lsn: int | None = None
    lag_seconds: float = 0.0


class Node:
    """One database server: its name in answers (``primary``, ``replica-1``, ...), how to
    connect, and what was last seen of it."""

    def __init__(self, name: str, url: URL, connect: Mapping[str, Any]) -> None:
        self.name = name
        self.url = url
        self.connect = {**connect, "connect_timeout": PROBE_TIMEOUT_S}
        self.seen = Seen()
        self._conn: psycopg.AsyncConnection[Any] | None = None

    async def query(self, sql: str) -> tuple[Any, ...] | None:
        """One row of ``sql`` on the node's own connection; None (and the node down) when
        the node cannot answer."""
        try:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._conn = await psycopg.AsyncConnection.connect(**self.connect, autocommit=True)
            cursor = await self._conn.execute(sql)
            return await cursor.fetchone()
        except (psycopg.Error, OSError):
            await self.lost()
            return None

    async def probe(self) -> None:
        row = await self.query(POSITION_SQL)
        if row is not None:
            lsn = None if row[1] is None else int(row[1])
            self.seen = Seen(True, bool(row[0]), lsn, float(row[2]))

    async def lost(self) -> None:
        """Mark the node down until a probe finds it again."""
        self.seen = Seen()
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                await conn.close()

    async def close(self) -> None:
        await self.lost()


class NodeSet:
    """The primary and the replicas, and the choice of a node for one read."""

    def __init__(self, primary: Node, replicas: Sequence[Node], settings: ReplicaSettings) -> None:
        self.primary = primary
        self.replicas = list(replicas)
        self.settings = settings
        self._by_name = {n.name: n for n in (primary, *replicas)}
        self._lock = asyncio.Lock()
        self._checked = 0.0
        self._turn = 0

    def get(self, name: str) -> Node:
        return self._by_name.get(name, self.primary)

    async def refresh(self, force: bool = False) -> None:
        """Probe every node when the last look is older than the check interval. While one
        request probes, the others use the last look (the first one waits for it)."""
        interval = self.settings.replica_check_interval
        if not force and time.monotonic() - self._checked < interval:
            return
        if self._lock.locked() and self._checked and not force:
            return
        async with self._lock:
            if not force and time.monotonic() - self._checked < interval:
                return
            await asyncio.gather(*(n.probe() for n in (self.primary, *self.replicas)))
            self._checked = time.monotonic()

    def usable(self, node: Node) -> bool:
        """Whether ``node`` (a replica) may serve reads now."""
        seen, primary = node.seen, self.primary.seen
        if not seen.up or seen.lsn is None:
            return False
        if not primary.up:
            return True  # the primary is gone: a replica's answer beats none
        if not seen.standby or seen.lag_seconds > self.settings.replica_max_lag_seconds:
            return False
        behind = (primary.lsn or 0) - seen.lsn
        return behind <= self.settings.replica_max_lag_bytes

    async def choose(self, after_lsn: int = 0) -> Node:
        """The node for a read: a usable replica that has replayed ``after_lsn``, in turn;
        after waiting up to ``replica_read_wait`` for one to get there, the primary (or,
        with the primary down, the replica furthest on)."""
        await self.refresh()
        candidates = [n for n in self.replicas if self.usable(n)]
        ready = [n for n in candidates if (n.seen.lsn or 0) >= after_lsn]
        if not ready and candidates and self.settings.replica_read_wait > 0:
            ready = await self._await_replay(candidates, after_lsn)
        if not ready and candidates and not self.primary.seen.up:
            # the primary is gone: its write may be lost, the most advanced replica is all
            # there is
            ready = [max(candidates, key=lambda n: n.seen.lsn or 0)]
        if not ready:
            return self.primary
        self._turn += 1
        return ready[self._turn % len(ready)]

    async def _await_replay(self, candidates: list[Node], after_lsn: int) -> list[Node]:
        deadline = time.monotonic() + self.settings.replica_read_wait
        while time.monotonic() < deadline:
            await asyncio.sleep(WAIT_STEP_S)
            await asyncio.gather(*(n.probe() for n in candidates))
            ready = [n for n in candidates if self.usable(n) and (n.seen.lsn or 0) >= after_lsn]
            if ready:
                return ready
        return []

    async def write_lsn(self) -> int | None:
        """The primary's WAL insert position now (after a client's write), or None."""
        row = await self.primary.query(INSERT_LSN_SQL)
        return None if row is None or row[0] is None else int(row[0])

    async def close(self) -> None:
        for node in (self.primary, *self.replicas):
            await node.close()
