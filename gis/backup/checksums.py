"""Row counts and order-independent checksums of every table, to compare two clusters.

A table's checksum is the sum of ``hashtext`` of each row's text form: one sequential scan,
no sort, the same whatever order the rows are stored in. Unlogged tables are listed apart:
they are not in the WAL, so a restored cluster has them empty by design.
"""

from __future__ import annotations

from typing import NamedTuple

_TABLES = """
SELECT n.nspname, c.relname, c.relpersistence = 'u'
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND c.relpersistence IN ('p', 'u')
  AND n.nspname NOT IN ('information_schema') AND n.nspname NOT LIKE 'pg\\_%'
ORDER BY 1, 2
"""


class TableSum(NamedTuple):
    """Rows and checksum of one table."""

    rows: int
    checksum: int


class Mismatch(NamedTuple):
    """A table whose rows or checksum differ (``None``: missing on that side)."""

    table: str
    live: TableSum | None
    restored: TableSum | None


def table_sums(dsn: str) -> tuple[dict[str, TableSum], list[str]]:
    """``{schema.table: TableSum}`` of the logged tables, and the unlogged tables' names."""
    import psycopg
    from psycopg import sql

    sums: dict[str, TableSum] = {}
    unlogged: list[str] = []
    with psycopg.connect(dsn) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        for schema, table, is_unlogged in conn.execute(_TABLES).fetchall():
            name = f"{schema}.{table}"
            if is_unlogged:
                unlogged.append(name)
                continue
            query = sql.SQL(
                "SELECT count(*), coalesce(sum(hashtext(t::text)::bigint), 0) FROM {}.{} AS t"
            ).format(sql.Identifier(schema), sql.Identifier(table))
            row = conn.execute(query).fetchone()
            assert row is not None
            sums[name] = TableSum(int(row[0]), int(row[1]))
    return sums, unlogged


def compare(live: dict[str, TableSum], restored: dict[str, TableSum]) -> list[Mismatch]:
    """Tables that differ between ``live`` and ``restored``, by name.

    >>> compare({"a.t": TableSum(1, 5)}, {"a.t": TableSum(1, 5), "a.u": TableSum(0, 0)})
    [Mismatch(table='a.u', live=None, restored=TableSum(rows=0, checksum=0))]
    """
    names = sorted(set(live) | set(restored))
    return [
        Mismatch(name, live.get(name), restored.get(name))
        for name in names
        if live.get(name) != restored.get(name)
    ]
