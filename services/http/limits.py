"""Request size limits answered in HTTP, with an OGC body: 414 for a URL, 431 for headers,
413 for a body. A client sending too much learns why instead of seeing a reset connection;
uvicorn's own parser is set just above these limits (services/http/protocol.py) so that
requests up to them reach this check."""

from __future__ import annotations

import re
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.http.errors import render_error


class BodyTooLargeError(Exception):
    """The body grew past the limit while it was being read."""


class RequestLimits:
    """Refuse requests whose URL, headers or body exceed the configured sizes.

    ``larger_bodies`` lifts the body limit for paths matching a pattern (an OGC API –
    Processes execution carries an uploaded file): every other route keeps ``max_body``.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_url: int,
        max_headers: int,
        max_body: int,
        larger_bodies: Sequence[tuple[str, int]] = (),
    ) -> None:
        self.app = app
        self.max_url = max_url
        self.max_headers = max_headers
        self.default_body = max_body
        self.larger = [(re.compile(pattern), limit) for pattern, limit in larger_bodies]

    def _body_limit(self, scope: Scope) -> int:
        path = scope.get("path", "")
        for pattern, limit in self.larger:
            if pattern.fullmatch(path):
                return max(limit, self.default_body)
        return self.default_body

    def _refusal(self, scope: Scope, max_body: int) -> tuple[int, str] | None:
        url = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"") + 1
        if url > self.max_url:
            return 414, (
                f"the URL has {url} bytes, more than the {self.max_url} this server takes: "
                "send a shorter filter (CQL2 with fewer terms or a simpler geometry)"
            )
        headers = sum(len(k) + len(v) + 4 for k, v in scope["headers"])
        if headers > self.max_headers:
            return 431, f"the request headers have {headers} bytes, more than {self.max_headers}"
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    return 400, "Content-Length is not a number"
                if length > max_body:
                    return 413, f"the body has {length} bytes, more than {max_body}"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_body = self._body_limit(scope)
        refusal = self._refusal(scope, max_body)
        if refusal is not None:
            status, description = refusal
            await render_error(status, description, headers={"Connection": "close"})(
                scope, receive, send
            )
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_body:
                    raise BodyTooLargeError
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLargeError:
            if started:
                raise
            response = render_error(
                413,
                f"the body is larger than {max_body} bytes",
                headers={"Connection": "close"},
            )
            await response(scope, receive, send)
