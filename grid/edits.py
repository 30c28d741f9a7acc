"""Versioned edits of grid rows: optimistic concurrency, worker authorisation, history, revert.

Every change to a grid row bumps its ``version`` and lands in ``audit.changes`` with its
before and after images: the database does it (grid/audit.sql), so plain SQL edits are
versioned too. This module adds what a trigger cannot know:

* the version the editor started from: a stale one raises :class:`ConflictError`;
* who edits (:class:`Actor`): a grid worker may change only rows inside the cells assigned to
  them, before *and* after the change (:class:`NotAuthorisedError`);
* input checks (geometries, codes, personal fields), each a :class:`GridError` subclass.

Each edit runs in a savepoint: when it fails, the caller's transaction is as it was.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from shapely import wkb
from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Table,
    delete,
    insert,
    literal_column,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError

from gis.sql_files import statement
from grid.audit import acting_as
from grid.edit_values import check_codes, prepare_values
from grid.errors import (
    ConflictError,
    GridError,
    InvalidValueError,
    NotAuthorisedError,
    NotFoundError,
)
from grid.guarded_update import GuardedUpdate, guarded_update, within
from grid.models import GridBase
from grid.privacy import Keyring, mask_name
from grid.settings import GridSettings

_WORKER_TABLES = ("cells", "buildings", "houses", "households", "persons")


@dataclass(frozen=True)
class Actor:
    """Who edits. With ``worker_id`` set, a grid worker limited to their assigned cells."""

    name: str
    worker_id: int | None = None

    @property
    def label(self) -> str:
        """What ``updated_by`` and ``changed_by`` record."""
        return self.name if self.worker_id is None else f"{self.name} (worker {self.worker_id})"


class Change(NamedTuple):
    """One row of a row's history (images as stored: geometries as hex EWKB)."""

    id: int
    version: int | None
    operation: str
    changed_by: str
    changed_at: dt.datetime
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def table_of(name: str) -> Table:
    """The grid table called ``name`` (``persons`` or ``grid.persons``)."""
    short = name.removeprefix("grid.")
    table = GridBase.metadata.tables.get(f"grid.{short}")
    if table is None:
        known = ", ".join(sorted(t.name for t in GridBase.metadata.sorted_tables))
        raise NotFoundError(f"no grid table {name!r}: one of {known}")
    return table


def _key(table: Table) -> Column[Any]:
    return next(iter(table.primary_key.columns))


def _row_key(table: Table, row_id: int | str) -> int | str:
    if table.name == "admin_areas":
        return str(row_id)
    try:
        return int(row_id)
    except ValueError:
        raise NotFoundError(f"{table.name} ids are numbers, got {row_id!r}") from None


def in_worker_cells(conn: Connection, table: str, row_id: int, worker_id: int) -> bool:
    """Whether the row lies in a cell assigned to the worker: the same condition the
    guarded UPDATE carries (grid/edits.sql, ``within_*``)."""
    if table not in _WORKER_TABLES:
        return False
    found = table_of(table)
    inside = literal_column(within(found, worker_id), Boolean)
    return bool(conn.execute(select(inside).where(_key(found) == row_id)).scalar())


def _authorise(conn: Connection, table: Table, key: int | str, actor: Actor, when: str) -> None:
    if actor.worker_id is None:
        return
    if table.name not in _WORKER_TABLES:
        raise NotAuthorisedError(f"grid workers may not edit {table.name}")
    assert isinstance(key, int)
    if not in_worker_cells(conn, table.name, key, actor.worker_id):
        if when == "new":
            raise NotAuthorisedError(
                f"the new row of {table.name} would not be in a cell assigned to worker "
                f"{actor.worker_id}"
            )
        where = "is not" if when == "before" else "would no longer be"
        raise NotAuthorisedError(
            f"{table.name} {key} {where} in a cell assigned to worker {actor.worker_id}"
        )


def _locked_version(conn: Connection, table: Table, key: int | str) -> int | None:
    query = select(table.c.version).where(_key(table) == key).with_for_update()
    version = conn.execute(query).scalar_one_or_none()
    return None if version is None else int(version)


_CONCURRENT: Final = frozenset({"40001", "40P01"})
"""SQLSTATEs of a concurrent edit: serialization failure (REPEATABLE READ and SERIALIZABLE
refuse to overwrite a row changed since the snapshot) and deadlock."""


_REFUSED_VALUE: Final = ("22", "23", "P0")
"""SQLSTATE classes of a value the database refuses: data exceptions, integrity constraint
violations, and exceptions raised by our triggers. Anything else (a lost connection, a
server shutting down) is not the editor's fault and is raised as it is."""


def refused(error: object, table: Table, key: int | str) -> GridError | None:
    """What a driver error (psycopg's) means for the editor: a conflict, a refused value,
    or None when it is not the edit's fault (a lost connection: raise it as it is)."""
    state = str(getattr(error, "sqlstate", None) or "")
    if state in _CONCURRENT:
        return ConflictError(
            f"{table.name} {key} was changed by a concurrent edit: reload it and edit again"
        )
    if not state.startswith(_REFUSED_VALUE):
        return None
    diag = getattr(error, "diag", None)
    detail = getattr(diag, "message_primary", None) or str(error).splitlines()[0]
    return InvalidValueError(f"{table.name} {key}: the database refused the change ({detail})")


def _translate(exc: DBAPIError, table: Table, key: int | str) -> GridError:
    found = refused(exc.orig, table, key)
    if found is None:
        raise exc
    return found


def prepare_update(
    table_name: str,
    row_id: int | str,
    base_version: int,
    changes: Mapping[str, object],
    actor: Actor,
    *,
    keyring: Keyring | None = None,
    settings: GridSettings | None = None,
) -> GuardedUpdate:
    """The checked statement of an edit (grid/guarded_update.py), for :func:`update` or a
    caller that runs it on a connection of its own (the HTTP service, asynchronously)."""
    table = table_of(table_name)
    key = _row_key(table, row_id)
    if actor.worker_id is not None and table.name not in _WORKER_TABLES:
        raise NotAuthorisedError(f"grid workers may not edit {table.name}")
    values = prepare_values(table, changes, keyring, settings)
    return guarded_update(table, key, base_version, values, actor.worker_id)


def update(
    conn: Connection,
    table_name: str,
    row_id: int | str,
    base_version: int,
    changes: Mapping[str, object],
    actor: Actor,
    *,
    keyring: Keyring | None = None,
    settings: GridSettings | None = None,
) -> int:
    """Apply ``changes`` to a row last read at ``base_version``; return its new version.

    Raises :class:`ConflictError` when the row moved on since, :class:`NotAuthorisedError`
    for a worker outside their cells; nothing is written then. One guarded statement
    (grid/guarded_update.py); a second query only when it changed nothing.
    """
    planned = prepare_update(
        table_name, row_id, base_version, changes, actor, keyring=keyring, settings=settings
    )
    try:
        with conn.begin_nested(), acting_as(conn, actor.label):
            version = planned.version(conn.exec_driver_sql(planned.sql, planned.params).first())
            if version is None:
                found = conn.exec_driver_sql(planned.refusal_sql, {"key": planned.key}).first()
                raise planned.refusal(None if found is None else tuple(found))
            return version
    except DBAPIError as exc:
        raise _translate(exc, planned.table, planned.key) from None


def insert_row(
    conn: Connection,
    table_name: str,
    values: Mapping[str, object],
    actor: Actor,
    *,
    keyring: Keyring | None = None,
    settings: GridSettings | None = None,
) -> int | str:
    """Insert a row (version 1); a worker may insert only inside their cells. Returns its key."""
    table = table_of(table_name)
    check_codes(table, values)
    codes = {"code", "community_code"} if table.name in ("cells", "admin_areas") else set()
    prepared = prepare_values(table, {k: v for k, v in values.items() if k not in codes},
                              keyring, settings)  # fmt: skip
    prepared.update({k: v for k, v in values.items() if k in codes})
    try:
        with conn.begin_nested(), acting_as(conn, actor.label):
            key = conn.execute(insert(table).values(prepared).returning(_key(table))).scalar_one()
            _authorise(conn, table, key, actor, "new")
            return key  # type: ignore[no-any-return]
    except DBAPIError as exc:
        raise _translate(exc, table, "(new)") from None


def delete_row(
    conn: Connection, table_name: str, row_id: int | str, base_version: int, actor: Actor
) -> None:
    """Delete a row last read at ``base_version`` (its last image stays in the history)."""
    table = table_of(table_name)
    key = _row_key(table, row_id)
    try:
        with conn.begin_nested(), acting_as(conn, actor.label):
            current = _locked_version(conn, table, key)
            if current is None:
                raise NotFoundError(f"{table.name} {key} does not exist")
            if current != base_version:
                raise ConflictError(
                    f"{table.name} {key} is at version {current}, the delete was based on "
                    f"version {base_version}: reload it first",
                    current,
                )
            _authorise(conn, table, key, actor, "before")
            conn.execute(delete(table).where(_key(table) == key))
    except DBAPIError as exc:
        raise _translate(exc, table, key) from None


def history(conn: Connection, table_name: str, row_id: int | str) -> list[Change]:
    """Every recorded change of a row, oldest first."""
    table = table_of(table_name)
    params = {"table": f"grid.{table.name}", "row_id": str(_row_key(table, row_id))}
    rows = conn.execute(text(statement(__name__, "history")), params)
    return [Change(*row) for row in rows]


def readable(image: Mapping[str, Any] | None, table: str = "") -> dict[str, Any] | None:
    """An image for people: no ciphertexts or hashes, the geometry as WKT, and a person
    masked as every ordinary read shows them (name ``张*``, birth year, masked ID and phone)."""
    if image is None:
        return None
    result = {k: v for k, v in image.items() if not k.endswith(("_enc", "_hash"))}
    if isinstance(result.get("geom"), str):
        result["geom"] = wkb.loads(bytes.fromhex(result["geom"])).wkt
    if table.removeprefix("grid.") == "persons":
        if isinstance(result.get("name"), str):
            result["name"] = mask_name(result["name"])
        birth = result.pop("birth_date", None)
        result["birth_year"] = int(str(birth)[:4]) if birth else None
        for field in ("citizen_id", "phone"):
            result[field] = result.pop(f"{field}_masked", None)
    return result


def revert(
    conn: Connection,
    table_name: str,
    row_id: int | str,
    to_version: int,
    actor: Actor,
    base_version: int | None = None,
) -> int:
    """Make the row as it was at ``to_version``: a new version (a deleted row comes back).

    With ``base_version``, the row must still be at that version (as for :func:`update`).
    Returns the row's version afterwards.
    """
    table = table_of(table_name)
    key = _row_key(table, row_id)
    params = {"table": f"grid.{table.name}", "row_id": str(key)}
    image = conn.execute(
        text(statement(__name__, "image")), {**params, "version": to_version}
    ).scalar_one_or_none()
    if image is None:
        raise NotFoundError(f"{table.name} {key} has no recorded version {to_version}")
    try:
        with conn.begin_nested(), acting_as(conn, actor.label):
            current = _locked_version(conn, table, key)
            if current is None:
                last = conn.execute(text(statement(__name__, "last_version")), params).scalar()
                restored = {**image, "version": int(last or 0) + 1}
                conn.execute(
                    text(statement(__name__, "reinsert")),
                    {"table": params["table"], "image": json.dumps(restored)},
                )
                _authorise(conn, table, key, actor, "after")
                return int(restored["version"])
            if base_version is not None and current != base_version:
                raise ConflictError(
                    f"{table.name} {key} is at version {current}, the revert was based on "
                    f"version {base_version}: reload it first",
                    current,
                )
            _authorise(conn, table, key, actor, "before")
            version = conn.execute(
                text(statement(__name__, "restore")),
                {**params, "key_column": _key(table).name, "image": json.dumps(image),
                 "base": current},
            ).scalar_one()  # fmt: skip
            _authorise(conn, table, key, actor, "after")
            return int(version)
    except DBAPIError as exc:
        raise _translate(exc, table, key) from None
