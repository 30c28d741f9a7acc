"""A grid row's history over HTTP, and reverting it to an earlier version.

``GET /collections/{id}/items/{fid}/history``: every recorded change, oldest first, with
who made it, when, which fields it changed and the row as it was after it (masked: no
ciphertext or hash, a person's name and birth date shown as the masked view shows them,
no geometry; ``geometryChanged`` says when it moved). It needs a key (it names the workers
who made the changes); whoever has one and sees the item sees its history; planners and
admins also see the history of a deleted row.

``POST /collections/{id}/items/{fid}/revert`` with ``{"version": n}``: the row becomes as
it was at version ``n`` (a deleted row comes back), itself a new audited version. Planners
and admins only; ``If-Match`` as for any change (not needed to bring back a deleted row).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from grid import edits
from services.auth.gate import CHALLENGE
from services.auth.routes import principal_of
from services.ogcapi import access, features
from services.ogcapi.edit_bodies import FEATURE_TYPES
from services.ogcapi.edit_routes import EditRoutes, if_match_version
from services.ogcapi.errors import (
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    UnauthorisedError,
)
from services.ogcapi.route_base import JSON, json_response
from services.ogcapi.specs import CollectionSpec

_QUIET: Final = frozenset({"version", "updated_by", "updated_at", "straddles", "cell_id"})
"""Kept by the service: never listed as a field a change made."""


def changed_fields(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[str]:
    """Fields whose value differs between two images (personal fields by their masked
    form's companions: a changed ciphertext means a changed value)."""
    if before is None or after is None:
        return []
    names = set(before) | set(after)
    found = set()
    for name in names:
        if before.get(name) != after.get(name):
            base = name.removesuffix("_enc").removesuffix("_hash").removesuffix("_masked")
            found.add("geometry" if base == "geom" else base)
    return sorted(found - _QUIET)


def _without_geometry(image: dict[str, Any] | None) -> dict[str, Any] | None:
    """The masked image without its geometry (``geometryChanged`` says when it moved)."""
    return None if image is None else {k: v for k, v in image.items() if k != "geom"}


def _entry(table: str, change: edits.Change) -> dict[str, Any]:
    after = change.after if change.operation != "DELETE" else change.before
    at: dt.datetime = change.changed_at
    moved = bool(
        change.before and change.after and change.before.get("geom") != change.after.get("geom")
    )
    return {
        "version": change.version,
        "operation": change.operation,
        "changedBy": change.changed_by,
        "changedAt": at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "changed": changed_fields(change.before, change.after),
        "geometryChanged": moved,
        "properties": _without_geometry(edits.readable(after, table)),
    }


class HistoryRoutes(EditRoutes):
    """History and revert, beside the other write routes."""

    async def _seen(self, request: Request, spec: CollectionSpec, fid: str) -> bool:
        """Whether the row exists for the caller now (False: deleted, or unseen)."""
        try:
            await features.item(self.service.pool, spec, fid, [], self._base(request), "")
        except NotFoundError:
            return False
        return True

    async def history(self, request: Request) -> Response:
        async def work() -> Response:
            caller = principal_of(request)
            spec = await self._spec(request, request.path_params["cid"])
            fid = request.path_params["fid"]
            if spec.edit_table is None or spec.version_column is None:
                raise NotFoundError(f"{spec.id} keeps no history")
            if caller.role == "public":  # it names who changed what: workers' names
                raise UnauthorisedError(
                    "a history needs an API key", headers={"WWW-Authenticate": CHALLENGE}
                )
            table = spec.edit_table
            exists = await self._seen(request, spec, fid)
            if not exists and caller.role not in ("planner", "admin"):
                raise NotFoundError(f"no feature {fid[:100]!r} in {spec.id}")
            changes = await self._write(lambda conn: edits.history(conn, table, fid))
            if not changes and not exists:  # a row bulk-loaded and never changed has none
                raise NotFoundError(f"no feature {fid[:100]!r} in {spec.id}")
            base = self._base(request)
            item_url = f"{base}/collections/{spec.id}/items/{fid}"
            document = {
                "collection": spec.id,
                "id": fid,
                "exists": exists,
                "versions": [_entry(table, c) for c in changes],
                "links": [
                    {"rel": "self", "type": JSON, "href": f"{item_url}/history"},
                    {"rel": "item", "type": "application/geo+json", "href": item_url},
                ],
            }
            response = json_response(document)
            response.headers["Cache-Control"] = "no-store"
            return response

        return await self._guard(work)

    async def revert(self, request: Request) -> Response:
        async def work() -> Response:
            caller = principal_of(request)
            spec = await self._spec(request, request.path_params["cid"])
            fid = request.path_params["fid"]
            if spec.edit_table is None:
                raise NotFoundError(f"{spec.id} keeps no history")
            if caller.role == "public":
                raise UnauthorisedError(
                    "reverting needs an API key", headers={"WWW-Authenticate": CHALLENGE}
                )
            if not access.may_revert(caller, spec):
                raise ForbiddenError("reverting needs a planner's or an admin's key")
            document = await self._body(request, FEATURE_TYPES)
            version = document.get("version")
            if not isinstance(version, int) or isinstance(version, bool) or version < 1:
                raise BadRequestError('the body must be {"version": n}, n ≥ 1, a recorded version')
            exists = await self._seen(request, spec, fid)
            base = if_match_version(request) if exists else None
            assert spec.edit_table is not None
            table, actor = spec.edit_table, caller.actor

            def run(conn: Connection) -> int:
                return edits.revert(conn, table, fid, version, actor, base)

            await self._write(run)
            return await self._answer(request, spec, fid, 200)

        return await self._guard(work)
