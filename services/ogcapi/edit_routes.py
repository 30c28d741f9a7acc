"""OGC API – Features Part 4 on the grid: POST, PUT, PATCH, DELETE and OPTIONS.

Every write goes through grid/edits.py (cells' boundaries through grid/cells.py's redraw,
which keeps the tiling): the row and its before/after image land in one transaction, with
``updated_by`` naming the key's owner (and worker). Who may write what is access.py's.

Optimistic locking: an item's ``ETag`` names its row version (``"v7-…"``). PUT, PATCH and
DELETE must send it in ``If-Match``: 428 without it, 412 when the row has moved on (the
body says the current version), and nothing is written then. POST answers 201 with
``Location`` and the new row's ``ETag``; PUT and PATCH answer the feature as it now is.
History and revert are in history_routes.py.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import psycopg
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from grid import cells, edits
from grid.errors import ConflictError, GridError, NotAuthorisedError
from grid.errors import NotFoundError as GridNotFoundError
from grid.privacy import SecretKeyError
from services.auth.gate import CHALLENGE
from services.auth.keys import Principal
from services.auth.routes import principal_of
from services.ogcapi import access, features
from services.ogcapi.edit_bodies import (
    FEATURE_TYPES,
    PATCH_TYPES,
    Edit,
    content_crs,
    media_type_of,
    read_edit,
    read_json,
)
from services.ogcapi.errors import (
    BadRequestError,
    ForbiddenError,
    MethodNotAllowedError,
    NotFoundError,
    OgcError,
    PayloadTooLargeError,
    PreconditionFailedError,
    PreconditionRequiredError,
    UnauthorisedError,
    UnavailableError,
)
from services.ogcapi.errors import ConflictError as HttpConflictError
from services.ogcapi.features import Answer
from services.ogcapi.route_base import RouteBase, database_error
from services.ogcapi.service import OgcService
from services.ogcapi.specs import CollectionSpec
from services.ogcapi.validators import row_validators, tag_version

T = TypeVar("T")
SET_ACTOR = "SELECT set_config('onemap.actor', %(who)s, true)"
"""Who the audit triggers name (``updated_by``, ``changed_by``) for this transaction."""


def actor_of(caller: Principal) -> edits.Actor:
    """The editor grid/edits.py records: the key's owner, limited to their cells if a
    grid worker."""
    return edits.Actor(caller.name, caller.worker_id if caller.role == "grid_worker" else None)


def grid_error(exc: GridError) -> OgcError:
    """A domain refusal as the HTTP status it means."""
    if isinstance(exc, ConflictError):
        if exc.current is not None:
            return PreconditionFailedError(str(exc), extra={"currentVersion": exc.current})
        return HttpConflictError(str(exc))
    if isinstance(exc, NotAuthorisedError):
        return ForbiddenError(str(exc))
    if isinstance(exc, GridNotFoundError):
        return NotFoundError(str(exc))
    if isinstance(exc, SecretKeyError):
        return UnavailableError("personal fields cannot be written: the server has no secret")
    return BadRequestError(str(exc))


def wants_minimal(request: Request) -> bool:
    """``Prefer: return=minimal`` (RFC 7240): answer a change with 204 and the new ETag,
    not the feature (a phone saves the bytes, the server the read)."""
    prefer = request.headers.get("prefer", "")
    return any(p.strip().lower() == "return=minimal" for p in prefer.split(","))


def if_match_version(request: Request) -> int:
    """The row version ``If-Match`` names: 428 without it, 400 when it names none."""
    header = request.headers.get("if-match")
    if header is None or not header.strip():
        raise PreconditionRequiredError(
            "send If-Match with the ETag of the version you edit (GET the item first)"
        )
    tags = [t.strip() for t in header.split(",") if t.strip()]
    if "*" in tags:
        raise PreconditionRequiredError("If-Match: * names no version: send the item's ETag")
    versions = {tag_version(t) for t in tags}
    if None in versions or len(versions) != 1:
        raise BadRequestError(
            f'If-Match {header[:100]!r} is not one ETag of this service (like "v3-…")'
        )
    version = versions.pop()
    assert version is not None
    return version


class EditRoutes(RouteBase):
    """The write routes: they write through the service's transactional engine."""

    def __init__(self, service: OgcService) -> None:
        super().__init__(service)
        self.writer = service.writer
        self.keyring = service.keyring

    # --- checks -------------------------------------------------------------------------

    async def _editable(self, request: Request, *, item: bool) -> tuple[Principal, CollectionSpec]:
        """The caller and the collection, if the caller may write it; else 401/403/404/405."""
        caller = principal_of(request)
        spec = await self._spec(request, request.path_params["cid"])
        if request.method not in access.methods_taken(spec, item=item):
            allowed = access.allowed_methods(caller, spec, self.service.settings.auth, item=item)
            why = "is read-only" if spec.edit_table is None else (
                f"does not take {request.method}: cells are made and removed by splitting and "
                "merging (onemap grid split/merge)"
            )  # fmt: skip
            raise MethodNotAllowedError(f"{spec.id} {why}", headers={"Allow": ", ".join(allowed)})
        if caller.role == "public":
            raise UnauthorisedError(
                "changing features needs an API key", headers={"WWW-Authenticate": CHALLENGE}
            )
        refusal = access.edit_refusal(caller, spec, self.service.settings.auth)
        if refusal is not None:
            raise ForbiddenError(refusal)
        return caller, spec

    async def _body(self, request: Request, accepted: tuple[str, ...]) -> dict[str, object]:
        media_type_of(request.headers.get("content-type", ""), accepted)
        body = await request.body()
        limit = self.service.ogc.max_feature_bytes
        if len(body) > limit:
            raise PayloadTooLargeError(f"a feature body takes at most {limit} bytes")
        return read_json(body)

    def _read_edit(
        self, request: Request, spec: CollectionSpec, document: dict[str, object], **kw: object
    ) -> Edit:
        keyring = self.keyring if spec.edit_table == "persons" else None
        try:
            ring = keyring() if keyring is not None else None
        except SecretKeyError:
            ring = None
        return read_edit(
            spec,
            document,
            crs=content_crs(request.headers.get("content-crs")),
            keyring=ring,
            settings=self.service.settings.grid,
            **kw,  # type: ignore[arg-type]
        )

    async def _write(self, work: Callable[[Connection], T]) -> T:
        """``work`` in one transaction of the writing engine, off the event loop."""

        def run() -> T:
            with self.writer.begin() as conn:
                return work(conn)

        try:
            return await run_in_threadpool(run)
        except GridError as exc:
            raise grid_error(exc) from None
        except DBAPIError as exc:
            raise database_error(exc) from None

    async def _answer(
        self, request: Request, spec: CollectionSpec, fid: str, status: int
    ) -> Response:
        """The feature as it now is, read after the commit."""
        accept = request.headers.get("accept", "")
        answer = await features.item(self.service.pool, spec, fid, [], self._base(request), accept)
        return self._changed(request, spec, fid, answer, status)

    def _changed(
        self, request: Request, spec: CollectionSpec, fid: str, answer: Answer, status: int
    ) -> Response:
        """A write's answer: the feature with its new ``ETag`` (and ``Location`` for 201)."""
        headers = dict(answer.headers)
        if answer.validators is not None:
            headers["ETag"] = answer.validators.etag
        if status == 201:
            headers["Location"] = f"{self._base(request)}/collections/{spec.id}/items/{fid}"
        return Response(answer.body, status, media_type=answer.media_type, headers=headers)

    # --- routes ---------------------------------------------------------------------------

    async def create(self, request: Request) -> Response:
        async def work() -> Response:
            caller, spec = await self._editable(request, item=False)
            document = await self._body(request, FEATURE_TYPES)
            edit = self._read_edit(request, spec, document, patch=False, fid=None)
            assert spec.edit_table is not None
            table, actor = spec.edit_table, caller.actor
            values = {**edit.values, **({"geom": edit.geometry} if edit.geometry else {})}

            def insert(conn: Connection) -> int | str:
                return edits.insert_row(
                    conn, table, values, actor,
                    keyring=self.keyring() if table == "persons" else None,
                    settings=self.service.settings.grid,
                )  # fmt: skip

            key = await self._write(insert)
            return await self._answer(request, spec, str(key), 201)

        return await self._guard(work)

    async def replace(self, request: Request) -> Response:
        return await self._change(request, patch=False)

    async def update(self, request: Request) -> Response:
        return await self._change(request, patch=True)

    async def _change(self, request: Request, *, patch: bool) -> Response:
        async def work() -> Response:
            caller, spec = await self._editable(request, item=True)
            fid = request.path_params["fid"]
            document = await self._body(request, PATCH_TYPES if patch else FEATURE_TYPES)
            base = if_match_version(request)
            edit = self._read_edit(request, spec, document, patch=patch, fid=fid,
                                   base_version=base)  # fmt: skip
            if spec.edit_table == "cells" and edit.geometry is not None:
                apply = functools.partial(self._apply, spec, fid, base, edit, caller.actor)
                await self._write(apply)
                return await self._answer(request, spec, fid, 200)
            return await self._update_at_once(request, spec, fid, base, edit, caller)

        return await self._guard(work)

    async def _update_at_once(
        self,
        request: Request,
        spec: CollectionSpec,
        fid: str,
        base: int,
        edit: Edit,
        caller: Principal,
    ) -> Response:
        """A PUT or PATCH in one pipelined exchange on the event loop's connections:
        BEGIN, the actor, the guarded UPDATE (grid/guarded_update.py) and the feature as it
        now is, then COMMIT, or ROLLBACK with the reason when the UPDATE changed nothing or
        would take the row out of the worker's cells. No thread, no read before the write."""
        assert spec.edit_table is not None
        values = {**edit.values, **({"geom": edit.geometry} if edit.geometry is not None else {})}
        try:
            planned = edits.prepare_update(
                spec.edit_table, fid, base, values, caller.actor,
                keyring=self.keyring() if spec.edit_table == "persons" else None,
                settings=self.service.settings.grid,
            )  # fmt: skip
        except GridError as exc:
            raise grid_error(exc) from None
        minimal = wants_minimal(request)
        item_sql, item_values = features.item_query(spec, fid, [])
        try:
            async with (
                self.service.pool.connection() as conn,
                conn.pipeline(),
                conn.transaction(),
            ):
                await conn.execute(SET_ACTOR, {"who": caller.label})
                updated = await conn.execute(planned.sql, planned.params)
                shown = None if minimal else await conn.execute(item_sql, item_values)
                version = planned.version(await updated.fetchone())
                if version is None:
                    why = await conn.execute(planned.refusal_sql, {"key": planned.key})
                    raise planned.refusal(await why.fetchone())
                row = await shown.fetchone() if shown is not None else None
        except GridError as exc:
            raise grid_error(exc) from None
        except psycopg.Error as exc:
            found = edits.refused(exc, planned.table, planned.key)
            raise (grid_error(found) if found else database_error(exc)) from None
        accept = request.headers.get("accept", "")
        if minimal:  # RFC 7240: no body, only the new version's ETag
            kind = features.media_type(accept)
            tag = row_validators(version, None, spec, fid, [], self._base(request), kind)
            headers = {"ETag": tag.etag, "Preference-Applied": "return=minimal"}
            return Response(status_code=204, headers=headers)
        answer = features.item_answer(spec, fid, row, [], self._base(request), accept)
        return self._changed(request, spec, fid, answer, 200)

    def _apply(
        self,
        spec: CollectionSpec,
        fid: str,
        base: int,
        edit: Edit,
        actor: edits.Actor,
        conn: Connection,
    ) -> int:
        """One PUT or PATCH: a cell's boundary by redraw (keeps the tiling), the rest by
        grid/edits.update, in the caller's transaction."""
        assert spec.edit_table is not None
        values = dict(edit.values)
        settings = self.service.settings.grid
        if spec.edit_table == "cells" and edit.geometry is not None:
            code = conn.execute(
                text("SELECT code FROM grid.cells WHERE id = :id"), {"id": int(fid)}
            ).scalar_one_or_none()
            if code is None:
                raise GridNotFoundError(f"no cell {fid}")
            cells.redraw(conn, code, edit.geometry, actor, base_version=base, settings=settings)
            base = int(
                conn.execute(
                    text("SELECT version FROM grid.cells WHERE id = :id"), {"id": int(fid)}
                ).scalar_one()
            )
            if not values:
                return base
        elif edit.geometry is not None:
            values["geom"] = edit.geometry
        keyring = self.keyring() if spec.edit_table == "persons" else None
        return edits.update(
            conn, spec.edit_table, fid, base, values, actor, keyring=keyring, settings=settings
        )

    async def delete(self, request: Request) -> Response:
        async def work() -> Response:
            caller, spec = await self._editable(request, item=True)
            fid = request.path_params["fid"]
            base = if_match_version(request)
            assert spec.edit_table is not None
            table, actor = spec.edit_table, caller.actor
            await self._write(lambda conn: edits.delete_row(conn, table, fid, base, actor))
            return Response(status_code=204)

        return await self._guard(work)

    async def options(self, request: Request) -> Response:
        """The methods this caller may use here (``Allow``), as Part 4 clients ask."""

        async def work() -> Response:
            spec = await self._spec(request, request.path_params["cid"])
            item = "fid" in request.path_params
            allowed = access.allowed_methods(
                principal_of(request), spec, self.service.settings.auth, item=item
            )
            return Response(status_code=204, headers={"Allow": ", ".join(allowed)})

        return await self._guard(work)
