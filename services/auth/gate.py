"""The gate every request passes: who is calling, decided once, before any route runs.

A key comes as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. No key: the request
goes on as ``public``. A key that is malformed, unknown, expired or revoked: 401 with an OGC
body and ``WWW-Authenticate``, whatever the route, so a client never mistakes a bad key for
anonymous access. A known key: its :class:`~services.auth.keys.Principal` is put in the
request's state (``request.state.principal``) for the routes to ask.

Checked keys are kept for ``ONEMAP_AUTH_CACHE_SECONDS`` (by hash, never the key), so reads
cost no database round trip; an address that presents too many bad keys is answered 429.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from typing import Final

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from grid.privacy import Keyring, SecretKeyError
from services.auth.keys import MALFORMED, PUBLIC, Verdict, check_key, key_hash, well_formed
from services.http.errors import render_error
from services.settings import AuthSettings

CHALLENGE: Final = 'Bearer realm="onemap"'
MAX_CACHED: Final = 10_000
"""Keys and addresses remembered at most (oldest forgotten first)."""


class KeyResolver:
    """Presented key → verdict, asking the database at most once per key per TTL.

    ``fallbacks`` (the replicas' engines) are asked only when the primary cannot answer: a
    primary that died must not lock every keyed reader out while replicas serve the reads.
    A key revoked on the primary is refused there as soon as a replica has replayed it.
    """

    def __init__(
        self,
        engine: Engine,
        keyring: Callable[[], Keyring],
        ttl: float,
        fallbacks: Sequence[Engine] = (),
    ) -> None:
        self.engine = engine
        self.fallbacks = list(fallbacks)
        self._keyring = keyring
        self.ttl = ttl
        self._cache: OrderedDict[bytes, tuple[float, Verdict]] = OrderedDict()

    async def verdict(self, key: str) -> Verdict:
        if not well_formed(key):
            return MALFORMED
        digest = key_hash(self._keyring(), key)
        found = self._cache.get(digest)
        now = time.monotonic()
        if found is not None and found[0] > now:
            return found[1]
        verdict = await run_in_threadpool(self._check, digest)
        self._cache[digest] = (now + self.ttl, verdict)
        self._cache.move_to_end(digest)
        while len(self._cache) > MAX_CACHED:
            self._cache.popitem(last=False)
        return verdict

    def _check(self, digest: bytes) -> Verdict:
        try:
            return self._check_on(self.engine, digest)
        except OperationalError:
            for engine in self.fallbacks:
                try:
                    return self._check_on(engine, digest)
                except OperationalError:
                    continue
            raise

    @staticmethod
    def _check_on(engine: Engine, digest: bytes) -> Verdict:
        with engine.connect() as conn:
            return check_key(conn, digest, dt.datetime.now(dt.UTC))


class FailureLimiter:
    """Bad keys per client address within a sliding window."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, address: str) -> int:
        """Seconds until this address may try again; 0 when it may now. Only addresses that
        failed are remembered: asking about one that did not adds nothing."""
        times = self._seen.get(address)
        if times is None:
            return 0
        self._expire(times)
        if len(times) < self.limit:
            if not times:
                del self._seen[address]
            return 0
        return max(1, int(times[0] + self.window - time.monotonic()) + 1)

    def record(self, address: str) -> None:
        times = self._seen.setdefault(address, deque())
        self._expire(times)
        times.append(time.monotonic())
        self._seen.move_to_end(address)
        while len(self._seen) > MAX_CACHED:
            self._seen.popitem(last=False)

    def remembered(self) -> int:
        """Addresses with failures in the window (or not yet asked about since)."""
        return len(self._seen)

    def _expire(self, times: deque[float]) -> None:
        cutoff = time.monotonic() - self.window
        while times and times[0] <= cutoff:
            times.popleft()


def presented_key(headers: Headers) -> tuple[str | None, str]:
    """The key a request presents, or why its Authorization header is not one."""
    authorization = headers.get("authorization")
    if authorization is not None:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return None, "Authorization must be 'Bearer <API key>'"
        return value.strip(), ""
    return headers.get("x-api-key"), ""


class ApiKeyGate:
    """ASGI middleware: sets ``state.principal``, or answers 401/429/503 itself."""

    def __init__(self, app: ASGIApp, *, resolver: KeyResolver, settings: AuthSettings) -> None:
        self.app = app
        self.resolver = resolver
        self.failures = FailureLimiter(settings.max_failures, settings.failure_window_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        key, problem = presented_key(Headers(scope=scope))
        state = scope.setdefault("state", {})
        if key is None and not problem:
            state["principal"] = PUBLIC
            await self.app(scope, receive, send)
            return
        address = (scope.get("client") or ("unknown", 0))[0]
        wait = self.failures.retry_after(address)
        if wait:
            description = f"too many bad API keys from {address}: try again in {wait} s"
            await render_error(429, description, headers={"Retry-After": str(wait)})(
                scope, receive, send
            )
            return
        if key is not None:
            try:
                verdict = await self.resolver.verdict(key)
            except SecretKeyError:
                description = "API keys cannot be checked: the platform has no secret key"
                await render_error(503, description)(scope, receive, send)
                return
            if verdict.principal is not None:
                state["principal"] = verdict.principal
                await self.app(scope, receive, send)
                return
            problem = verdict.problem
        self.failures.record(address)
        challenge = f'{CHALLENGE}, error="invalid_token"'
        await render_error(401, problem, headers={"WWW-Authenticate": challenge})(
            scope, receive, send
        )
