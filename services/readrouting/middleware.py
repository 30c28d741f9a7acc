"""The one place that decides whether a request reads or writes, and read-your-writes.

GET, HEAD and OPTIONS read: their rows may come from a replica (a feature's history
excepted: it reads the audit on the primary). Every other method may write, so all of it
goes to the primary. After a write that succeeded (and after a look at a
job, whose worker wrote its outputs), the primary's WAL insert position is the client's
*write mark*: its later reads are served by a replica only once that replica has replayed
past the mark (else, after a short wait, by the primary). The mark is kept

- in this worker process for the API key that wrote (the ``key_id`` the key gate found);
- in the answer, as the ``X-Onemap-Lsn`` header and the ``onemap_lsn`` cookie: a client
  that sends either back (a browser does, with the cookie) is served the same way by any
  worker process of the server.

Answers that read say which node served them in ``X-Served-By`` (``primary``,
``replica-1``, ...).
"""

from __future__ import annotations

from collections import OrderedDict
from http.cookies import SimpleCookie
from typing import Final

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gis.replication import format_lsn, parse_lsn
from services.readrouting.context import ROUTE, Route
from services.readrouting.nodes import NodeSet

SAFE: Final = frozenset({"GET", "HEAD", "OPTIONS"})
HEADER: Final = "X-Onemap-Lsn"
COOKIE: Final = "onemap_lsn"
SERVED_BY: Final = "X-Served-By"
JOBS: Final = "/ogc/jobs/"
HISTORY: Final = "/history"
"""A feature's history is read from the audit on the primary: whether the feature exists
is asked there too, so that both answers agree."""
REMEMBERED: Final = 10_000
"""Write marks kept per worker process (the oldest forgotten first)."""
COOKIE_SECONDS: Final = 600
"""How long a browser keeps its mark: far longer than any replica in bounds lags."""


class ReadRouting:
    """ASGI middleware, inside the API-key gate (it reads the caller it found)."""

    def __init__(self, app: ASGIApp, *, nodes: NodeSet) -> None:
        self.app = app
        self.nodes = nodes
        self.marks: OrderedDict[int, int] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        write = scope["method"] not in SAFE
        primary = write or scope["path"].endswith(HISTORY)
        key = _key_id(scope)
        route = Route(write=primary, after_lsn=0 if primary else self._mark(scope, key))
        marks = write or scope["path"].startswith(JOBS)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if route.node is not None:
                    headers[SERVED_BY] = route.node
                if marks and message["status"] < 400:
                    await self._remember(scope, headers, key)
            await send(message)

        token = ROUTE.set(route)
        try:
            await self.app(scope, receive, sending)
        finally:
            ROUTE.reset(token)

    def _mark(self, scope: Scope, key: int | None) -> int:
        """The client's write mark: the highest of the one kept for its key, its header and
        its cookie (a mark that does not parse is ignored)."""
        headers = Headers(scope=scope)
        found = [self.marks.get(key, 0) if key is not None else 0]
        sent = [headers.get(HEADER, "")]
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:
            cookie = SimpleCookie()
        if COOKIE in cookie:
            sent.append(cookie[COOKIE].value)
        for text in sent:
            try:
                found.append(parse_lsn(text) if text else 0)
            except ValueError:
                continue
        return max(found)

    async def _remember(self, scope: Scope, headers: MutableHeaders, key: int | None) -> None:
        lsn = await self.nodes.write_lsn()
        if lsn is None:
            return  # the primary is gone: nothing to wait for
        if key is not None:
            self.marks[key] = max(lsn, self.marks.get(key, 0))
            self.marks.move_to_end(key)
            while len(self.marks) > REMEMBERED:
                self.marks.popitem(last=False)
        headers[HEADER] = format_lsn(lsn)
        secure = "; Secure" if scope.get("scheme") == "https" else ""
        headers.append(
            "Set-Cookie",
            f"{COOKIE}={lsn:x}; Path=/; Max-Age={COOKIE_SECONDS}; HttpOnly; SameSite=Lax{secure}",
        )


def _key_id(scope: Scope) -> int | None:
    principal = scope.get("state", {}).get("principal")
    key = getattr(principal, "key_id", None)
    return key if isinstance(key, int) else None
