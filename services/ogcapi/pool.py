"""The feature routes' database path: a small pool of psycopg async connections.

Why not SQLAlchemy in the thread pool: with one thread per request, sixteen requests in
flight meant sixteen threads taking turns at the GIL, and the GIL serves waiters in no
particular order, so a few requests waited several turns (p99 at 5-7x p50 in the bench).
On the event loop the Python work of each request runs in arrival order, and requests wait
for a connection in FIFO order on an ``asyncio.Semaphore``.

The size matters as much: the database runs at most ``size`` statements per worker, and
every statement beyond what the cores can run only waits in the OS scheduler, in no order.
On 2 cores shared by PostgreSQL, 2 workers and the clients, 16 per worker still gave p99 at
5-6x p50; 2 per worker gave p99 under 3x p50 and more requests/s (``ONEMAP_OGC_POOL_SIZE``:
about the cores divided by the workers, plus one).

Connections are autocommit (no BEGIN/ROLLBACK round trips) and psycopg prepares a
statement after its fifth run on a connection (``prepare_threshold``), so the repeated
shapes of the feature routes are parsed once per connection. When a request is cancelled
(its client went away) psycopg cancels the statement on the server and waits for it to end,
so the connection comes back idle and is reused; one left in any other state (broken, or
in a failed statement) is closed, not reused. An idle connection the server has closed
meanwhile (a restart, a replica stopped, a fail-over) is noticed at checkout without a round
trip: its socket has the server's goodbye to read, which an idle connection never has.
"""

from __future__ import annotations

import asyncio
import select
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from typing import Any, Final

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import Engine
from sqlalchemy.engine import URL

PREPARE_THRESHOLD: Final = 5


def connect_kwargs(engine: Engine, options: str, url: URL | None = None) -> dict[str, Any]:
    """The libpq parameters ``engine`` connects with (SQLAlchemy's psycopg dialect reads its
    URL, query entries included), or would with ``url``, with the session ``options`` added."""
    _, found = engine.dialect.create_connect_args(url or engine.url)
    found = {k: v for k, v in found.items() if k != "context"}  # the dialect's sync adapters
    found["options"] = f"{found.get('options', '')} {options}".strip()
    return found


class AsyncPool:
    """At most ``size`` open connections, handed out first come, first served."""

    def __init__(self, connect: Mapping[str, Any], size: int) -> None:
        self._connect = dict(connect)
        self.size = size
        self._slots = asyncio.Semaphore(size)
        self._idle: list[psycopg.AsyncConnection[Any]] = []

    async def _open(self) -> psycopg.AsyncConnection[Any]:
        conn = await psycopg.AsyncConnection.connect(**self._connect, autocommit=True)
        conn.prepare_threshold = PREPARE_THRESHOLD
        return conn

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A connection for one request; returned to the pool only when left idle."""
        async with self._slots:
            conn = await self._checkout()
            try:
                yield conn
            finally:
                if _idle(conn):
                    self._idle.append(conn)
                else:
                    await _close(conn)

    async def _checkout(self) -> psycopg.AsyncConnection[Any]:
        while self._idle:
            conn = self._idle.pop()
            if not _dropped(conn):
                return conn
            await _close(conn)
        return await self._open()

    async def fetchone(self, sql: str, values: Mapping[str, object]) -> tuple[Any, ...] | None:
        """The first row of one statement (``%(name)s`` placeholders, values bound)."""
        async with self.connection() as conn:
            cursor = await conn.execute(sql, values)
            return await cursor.fetchone()

    async def close(self) -> None:
        """Close the idle connections (at shutdown; connections in use close on return)."""
        idle, self._idle = self._idle, []
        for conn in idle:
            await _close(conn)


def _idle(conn: psycopg.AsyncConnection[Any]) -> bool:
    """Whether ``conn`` can serve the next request: open and outside any statement."""
    if conn.closed or conn.broken:
        return False
    return conn.info.transaction_status == TransactionStatus.IDLE


def _dropped(conn: psycopg.AsyncConnection[Any]) -> bool:
    """Whether the server closed idle ``conn``: its socket is readable (an error message, or
    the end of the stream) although no statement runs."""
    try:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
    except (psycopg.Error, OSError, ValueError):
        return True
    return bool(readable)


async def _close(conn: psycopg.AsyncConnection[Any]) -> None:
    with suppress(psycopg.Error):
        await conn.close()
