"""Streaming replication as PostgreSQL reports it: WAL positions, standbys, slots.

Positions (LSNs) are handled as integers, the bytes of WAL since the cluster began, so that
lag is a subtraction; PostgreSQL writes them as two hexadecimal halves (``16/B374D848``).
The queries read the views the server keeps (``pg_stat_replication``,
``pg_replication_slots``) on a psycopg connection the caller opened.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import psycopg

_LSN = re.compile(r"([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})")


def parse_lsn(text: str) -> int:
    """The WAL position ``text`` (``X/Y`` as PostgreSQL writes it, or plain hexadecimal).

    >>> parse_lsn("16/B374D848")
    97500059720
    >>> parse_lsn("16b374d848")
    97500059720
    >>> parse_lsn("0/0")
    0
    """
    found = _LSN.fullmatch(text.strip())
    if found:
        return (int(found[1], 16) << 32) | int(found[2], 16)
    if re.fullmatch(r"[0-9A-Fa-f]{1,16}", text.strip()):
        return int(text.strip(), 16)
    raise ValueError(f"{text[:40]!r} is not a WAL position (expected X/Y in hexadecimal)")


def format_lsn(value: int) -> str:
    """``value`` as PostgreSQL writes a WAL position.

    >>> format_lsn(97500059720)
    '16/B374D848'
    >>> format_lsn(parse_lsn("0/3000060"))
    '0/3000060'
    """
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


POSITION_SQL = """
SELECT pg_is_in_recovery(),
       pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
                            ELSE pg_current_wal_lsn() END, '0/0')::bigint,
       CASE WHEN NOT pg_is_in_recovery()
                 OR pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn()
            THEN 0
            ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)
       END::float8
"""
"""One node's position: whether it is a standby, what it has replayed (a primary: what it
has written), and how long replay has been behind (0 when everything received is replayed,
as an idle standby's old last-transaction time is not lag)."""


class Position(NamedTuple):
    """Where a node is (:data:`POSITION_SQL`)."""

    standby: bool
    lsn: int | None
    lag_seconds: float


def position(conn: psycopg.Connection[Any]) -> Position:
    row = conn.execute(POSITION_SQL).fetchone()
    assert row is not None
    return Position(bool(row[0]), None if row[1] is None else int(row[1]), float(row[2]))


class Standby(NamedTuple):
    """A standby streaming from the primary, as the primary sees it."""

    state: str
    sync_state: str
    sent_lsn: int | None
    replay_lsn: int | None
    lag_bytes: int | None
    lag_seconds: float | None


STANDBYS_SQL = """
SELECT application_name, state, sync_state,
       pg_wal_lsn_diff(sent_lsn, '0/0')::bigint,
       pg_wal_lsn_diff(replay_lsn, '0/0')::bigint,
       pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint,
       coalesce(extract(epoch FROM replay_lag), 0)::float8
FROM pg_stat_replication
"""


def standbys(conn: psycopg.Connection[Any]) -> dict[str, Standby]:
    """The primary's walsenders by ``application_name`` (a replica's name)."""
    return {
        str(name): Standby(str(state), str(sync), sent, replay, lag, seconds)
        for name, state, sync, sent, replay, lag, seconds in conn.execute(STANDBYS_SQL)
    }


class Slot(NamedTuple):
    """A physical replication slot: the primary keeps the WAL its standby still needs."""

    active: bool
    retained_bytes: int | None


SLOTS_SQL = """
SELECT slot_name, active, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint
FROM pg_replication_slots WHERE slot_type = 'physical'
"""


def slots(conn: psycopg.Connection[Any]) -> dict[str, Slot]:
    return {str(name): Slot(bool(active), kept) for name, active, kept in conn.execute(SLOTS_SQL)}
