"""The middleware every request passes, outermost first: size limits, allowed hosts, CORS
(when origins are configured), the API-key gate, compression."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware

from services.http.cors import OgcCORSMiddleware
from services.http.hosts import AllowedHosts, host_of
from services.http.limits import RequestLimits
from services.settings import Settings


def allowed_hosts(settings: Settings) -> list[str]:
    """The configured hosts, plus the public URL's host when one is set."""
    hosts = list(settings.http.allowed_hosts)
    if settings.ogc.public_url:
        hosts.append(host_of(settings.ogc.public_url))
    return hosts


EXECUTION = r"/ogc/processes/[^/]+/execution"
"""OGC API – Processes execution: its body may carry an uploaded file, so it is limited by
``ONEMAP_PROCESSES_MAX_EXECUTE_BYTES`` rather than ``ONEMAP_HTTP_MAX_BODY_BYTES``."""


def middleware(settings: Settings, inner: Sequence[Middleware] = ()) -> list[Middleware]:
    """The stack, outermost first; ``inner`` (the API-key gate) runs after the host and size
    checks and CORS, inside compression."""
    http = settings.http
    stack = [
        Middleware(
            RequestLimits,
            max_url=http.max_url_bytes,
            max_headers=http.max_header_bytes,
            max_body=http.max_body_bytes,
            larger_bodies=[(EXECUTION, settings.processes.max_execute_bytes)],
        ),
        Middleware(AllowedHosts, allowed=allowed_hosts(settings)),
    ]
    if http.cors_origins:
        stack.append(
            Middleware(
                OgcCORSMiddleware,
                allow_origins=http.cors_origins,
                allow_methods=["GET", "HEAD", "OPTIONS"],
                allow_headers=[
                    "Accept",
                    "Accept-Language",
                    "If-None-Match",
                    "If-Match",
                    "Authorization",
                    "X-API-Key",
                ],
                expose_headers=[
                    *("ETag", "Last-Modified", "Content-Crs", "Link"),
                    *("OGC-Tile-Truncated", "OGC-Tile-Features", "X-Cache"),
                ],
                max_age=600,
            )
        )
    stack.extend(inner)
    stack.append(Middleware(GZipMiddleware, minimum_size=http.gzip_min_bytes, compresslevel=6))
    return stack
