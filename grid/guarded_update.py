"""One versioned edit as one statement: ``UPDATE … WHERE key AND version = base [AND in the
worker's cells] RETURNING version [, still in them]``.

The statement is plain SQL with psycopg placeholders and values psycopg adapts itself, so
the CLI's synchronous connection (grid/edits.py) and the HTTP service's asynchronous one
(services/ogcapi/edit_routes.py) run the very same text. Under READ COMMITTED it waits
for a concurrent writer's row lock and then re-reads that writer's row: a stale version
changes nothing. Only when no row changed does :attr:`GuardedUpdate.refusal_sql` say why
(gone, moved on, outside the worker's cells).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from geoalchemy2.elements import WKBElement
from psycopg.types.json import Jsonb
from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import JSONB

from gis.sql_files import statement
from grid.errors import ConflictError, GridError, NotAuthorisedError, NotFoundError


def within(table: Table, worker_id: int) -> str:
    """SQL: the row of ``table`` being changed lies in a cell of the worker (its WHERE reads
    the row as it was, its RETURNING the row as it is now)."""
    fragment = statement("grid.edits", f"within_{table.name}")
    return fragment.format(row=f"grid.{table.name}", worker=int(worker_id))


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _bound(table: Table, column: str, value: object, name: str) -> tuple[str, object]:
    """The SQL of one value and what psycopg binds for it."""
    if isinstance(value, WKBElement):
        return f"ST_GeomFromWKB(%({name})s, {int(value.srid)})", bytes(value.data)
    if value is not None and isinstance(table.c[column].type, JSONB):
        return f"%({name})s", Jsonb(value)
    return f"%({name})s", value


@dataclass(frozen=True)
class GuardedUpdate:
    """The statement, its values, and how to read what it answered."""

    table: Table
    key: int | str
    base_version: int
    worker_id: int | None
    sql: str
    params: dict[str, object]

    @property
    def refusal_sql(self) -> str:
        inside = within(self.table, self.worker_id) if self.worker_id is not None else "true"
        key = _ident(next(iter(self.table.primary_key.columns)).name)
        # identifiers from the table's metadata, the worker an int: no text from a client
        return f"SELECT version, {inside} FROM grid.{self.table.name} WHERE {key} = %(key)s"  # noqa: S608

    def version(self, row: tuple[Any, ...] | None) -> int | None:
        """The new version from the statement's row; None when it changed nothing (then
        ask :meth:`refusal`); :class:`NotAuthorisedError` when the change would take the
        row out of the worker's cells (the caller must roll back)."""
        if row is None:
            return None
        if not row[1]:
            raise NotAuthorisedError(
                f"{self.table.name} {self.key} would no longer be in a cell assigned to worker "
                f"{self.worker_id}"
            )
        return int(row[0])

    def refusal(self, found: tuple[Any, ...] | None) -> GridError:
        """Why nothing changed, from the row :attr:`refusal_sql` found."""
        name, key = self.table.name, self.key
        if found is None:
            return NotFoundError(f"{name} {key} does not exist")
        current, inside = int(found[0]), bool(found[1])
        if current != self.base_version:
            return ConflictError(
                f"{name} {key} is at version {current}, the edit was based on version "
                f"{self.base_version}: reload it and edit again",
                current,
            )
        if not inside:
            return NotAuthorisedError(
                f"{name} {key} is not in a cell assigned to worker {self.worker_id}"
            )
        return ConflictError(f"{name} {key} was changed by a concurrent edit: reload it")


def guarded_update(
    table: Table,
    key: int | str,
    base_version: int,
    values: Mapping[str, object],
    worker_id: int | None,
) -> GuardedUpdate:
    """The statement for checked column ``values`` (grid/edit_values.prepare_values)."""
    sets, params = [], {}
    for i, (column, value) in enumerate(values.items()):
        sql, bound = _bound(table, column, value, f"v{i}")
        sets.append(f"{_ident(column)} = {sql}")
        params[f"v{i}"] = bound
    params.update(key=key, base=base_version)
    key_column = _ident(next(iter(table.primary_key.columns)).name)
    where = f"{key_column} = %(key)s AND version = %(base)s"
    inside = "true"
    if worker_id is not None:
        where += f" AND {within(table, worker_id)}"
        inside = within(table, worker_id)
    sql = (
        f"UPDATE grid.{table.name} SET {', '.join(sets)} WHERE {where}"  # noqa: S608
        f" RETURNING version, {inside}"
    )
    return GuardedUpdate(table, key, base_version, worker_id, sql, params)
