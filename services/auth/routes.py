"""``/auth``: who a key belongs to (any key) and the keys themselves (admins only).

Routes ask :func:`principal_of` and :func:`require`; a request without a key is 401 with
the challenge, a key whose role may not is 403.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from services.auth.gate import CHALLENGE
from services.auth.keys import PUBLIC, KeyInfo, Principal, list_keys


def principal_of(request: Request) -> Principal:
    """The caller, as the gate decided (``public`` when the gate did not run)."""
    found = getattr(request.state, "principal", PUBLIC)
    assert isinstance(found, Principal)
    return found


def require(request: Request, *roles: str) -> Principal:
    """The caller if their role is one of ``roles``; else 401 (no key) or 403."""
    caller = principal_of(request)
    if caller.role == "public":
        raise HTTPException(401, "this needs an API key", {"WWW-Authenticate": CHALLENGE})
    if caller.role not in roles:
        raise HTTPException(
            403, f"a {caller.role} key may not do this; it needs {' or '.join(roles)}"
        )
    return caller


def auth_routes(engine: Engine) -> list[BaseRoute]:
    async def me(request: Request) -> Response:
        caller = require(request, "planner", "grid_worker", "admin")
        return JSONResponse(
            {"role": caller.role, "name": caller.name, "worker_id": caller.worker_id}
        )

    async def keys(request: Request) -> Response:
        require(request, "admin")
        now = dt.datetime.now(dt.UTC)
        found = await run_in_threadpool(_list_keys, engine)
        return JSONResponse({"keys": [k.as_dict(now) for k in found]})

    return [Route("/auth/me", me), Route("/auth/keys", keys)]


def _list_keys(engine: Engine) -> list[KeyInfo]:
    with engine.connect() as conn:
        return list_keys(conn)
