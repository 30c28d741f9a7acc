"""Only the hosts the platform is configured for reach it: links, redirects and the OpenAPI
``servers`` are built from ``Host``, so a forged one (``Host: evil.example``) must never
get that far. Unlike Starlette's ``TrustedHostMiddleware`` the refusal is an OGC body."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from services.http.errors import render_error


def host_of(url: str) -> str:
    """The host (and port) part of ``url``, lower case."""
    return (urlsplit(url).netloc or "").lower()


def _bare(host: str) -> str:
    """``host`` without its port (``[::1]:8000`` → ``[::1]``)."""
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class AllowedHosts:
    """Answer 400 to requests whose ``Host`` is not one of ``allowed``.

    A pattern is a host name, optionally with ``:port`` (then only that port), or
    ``*.example.org`` for its subdomains, or ``*`` for any (not recommended).
    """

    def __init__(self, app: ASGIApp, allowed: Iterable[str]) -> None:
        self.app = app
        self.patterns = tuple(p.strip().lower() for p in allowed if p.strip())

    def allows(self, host: str) -> bool:
        host = host.strip().lower()
        if not host:
            return False
        bare = _bare(host)
        for pattern in self.patterns:
            if pattern == "*" or pattern in (host, bare):
                return True
            if pattern.startswith("*.") and bare.endswith(pattern[1:]):
                return True
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = ""
        for name, value in scope["headers"]:
            if name == b"host":
                host = value.decode("latin-1")
                break
        if not self.allows(host):
            shown = host[:100] or "(none)"
            response = render_error(
                400, f"Host {shown!r} is not served here; use one of the configured hosts"
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
