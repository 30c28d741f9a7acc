"""The feature routes' async pool against the real PostgreSQL: bounded, reused, and never
handing out a connection that a failure or a cancelled request left behind."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, text

from services.ogcapi.pool import AsyncPool, connect_kwargs
from services.ogcapi.service import session_options
from services.settings import Settings


def _pool(engine: Engine, size: int) -> AsyncPool:
    return AsyncPool(connect_kwargs(engine, "-c statement_timeout=2000"), size)


def test_at_most_size_connections_and_they_are_reused(engine: Engine) -> None:
    async def work() -> tuple[set[int], set[int]]:
        pool = _pool(engine, 2)
        try:
            rows = await asyncio.gather(
                *(pool.fetchone("SELECT pg_backend_pid(), pg_sleep(0.05)", {}) for _ in range(6))
            )
            again = await pool.fetchone("SELECT pg_backend_pid()", {})
            assert again is not None
            return {r[0] for r in rows if r is not None}, {again[0]}
        finally:
            await pool.close()

    first, later = asyncio.run(work())
    assert len(first) <= 2
    assert later <= first


def test_session_options_and_bound_values(engine: Engine) -> None:
    async def work() -> tuple[object, ...] | None:
        pool = _pool(engine, 1)
        try:
            return await pool.fetchone(
                "SELECT current_setting('statement_timeout'), %(v)s::text", {"v": "a'; --"}
            )
        finally:
            await pool.close()

    assert asyncio.run(work()) == ("2s", "a'; --")


def test_a_killed_idle_connection_is_replaced_at_checkout_without_a_failure(
    engine: Engine,
) -> None:
    """The server closed it (a restart, a replica stopped, a fail-over): its socket has the
    goodbye to read, so the pool drops it instead of failing the next request with it."""

    async def work() -> int:
        pool = _pool(engine, 1)
        try:
            row = await pool.fetchone("SELECT pg_backend_pid()", {})
            assert row is not None
            with engine.connect() as conn:  # waits until the backend has gone
                conn.execute(text("SELECT pg_terminate_backend(:p, 10000)"), {"p": row[0]})
            after = await pool.fetchone("SELECT pg_backend_pid()", {})
            assert after is not None and after[0] != row[0]
            return len(pool._idle)
        finally:
            await pool.close()

    assert asyncio.run(work()) == 1


def test_a_cancelled_request_does_not_leave_a_busy_connection(engine: Engine) -> None:
    """A cancelled request's statement is cancelled on the server at once, not left running
    up to the statement timeout, and its connection comes back idle and is reused."""

    def server_state(pid: int) -> tuple[str, str]:
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT state, query FROM pg_stat_activity WHERE pid = :p"), {"p": pid}
            ).one()
        return row.state, row.query

    async def work() -> None:
        pool = _pool(engine, 1)
        try:
            row = await pool.fetchone("SELECT pg_backend_pid()", {})
            assert row is not None
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(pool.fetchone("SELECT pg_sleep(1.9)", {}), 0.3)
            # When the cancelled request has returned, its statement no longer runs: the
            # backend is idle after it, and its connection is back in the pool, idle.
            assert server_state(row[0]) == ("idle", "SELECT pg_sleep(1.9)")
            assert [c.info.backend_pid for c in pool._idle] == [row[0]]
            assert pool._idle[0].info.transaction_status == TransactionStatus.IDLE
            after = await pool.fetchone("SELECT pg_backend_pid()", {})
            assert after == row
        finally:
            await pool.close()

    asyncio.run(work())


def test_a_waiter_gets_the_released_connection_in_arrival_order(engine: Engine) -> None:
    """Requests beyond the pool's size wait; each gets a connection only after one is
    released, first come first served, and it is the released connection, not a new one."""

    async def work() -> None:
        pool = _pool(engine, 1)
        served: list[tuple[str, int]] = []

        async def request(name: str) -> None:
            async with pool.connection() as conn:
                served.append((name, conn.info.backend_pid))

        try:
            async with pool.connection() as held:
                holder = held.info.backend_pid
                waiters = [asyncio.create_task(request(name)) for name in ("first", "second")]
                for _ in range(5):  # let both reach the pool and wait there
                    await asyncio.sleep(0)
                assert served == [] and not any(w.done() for w in waiters)
            await asyncio.gather(*waiters)
            assert served == [("first", holder), ("second", holder)]
            assert [c.info.backend_pid for c in pool._idle] == [holder]
        finally:
            await pool.close()

    asyncio.run(work())


def test_a_timed_out_statement_keeps_its_connection(engine: Engine) -> None:
    async def work() -> tuple[int, int]:
        pool = _pool(engine, 1)
        try:
            row = await pool.fetchone("SELECT pg_backend_pid()", {})
            assert row is not None
            with pytest.raises(psycopg.errors.QueryCanceled):
                await pool.fetchone("SELECT pg_sleep(3)", {})
            after = await pool.fetchone("SELECT pg_backend_pid()", {})
            assert after is not None
            return row[0], after[0]
        finally:
            await pool.close()

    before, after = asyncio.run(work())
    assert before == after


def test_ogc_sessions_never_jit_compile(engine: Engine) -> None:
    """A long CQL2 filter's cost estimate passes jit_above_cost; compiling it cost over a
    second for a query that runs in milliseconds, so OGC sessions turn JIT off."""
    settings = Settings()
    options = session_options(settings.ogc)

    async def work() -> tuple[object, ...] | None:
        pool = AsyncPool(connect_kwargs(engine, options), 1)
        try:
            return await pool.fetchone(
                "SELECT current_setting('jit'), current_setting('plan_cache_mode')", {}
            )
        finally:
            await pool.close()

    assert asyncio.run(work()) == ("off", "force_custom_plan")
