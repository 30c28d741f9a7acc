"""``onemap serve``: the HTTP app under uvicorn."""

from __future__ import annotations

import typer

from services.cli._common import settings


def _listen_without_nagle() -> None:
    """TCP_NODELAY on uvicorn's listening socket (inherited by accepted sockets on Linux).

    With several workers uvicorn binds the socket itself with protocol 0, so asyncio leaves
    Nagle on for accepted connections, and every keep-alive response (headers and body are
    written separately) waits ~40 ms for the client's delayed ACK.
    """
    import socket

    from uvicorn.config import Config

    bind = Config.bind_socket
    if getattr(bind, "nodelay", False):
        return

    def bind_socket(self: Config) -> socket.socket:
        sock = bind(self)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    bind_socket.nodelay = True  # type: ignore[attr-defined]
    Config.bind_socket = bind_socket  # type: ignore[method-assign]


def serve(
    host: str = typer.Option(None, help="Address to listen on (ONEMAP_HOST)."),
    port: int = typer.Option(None, help="Port to listen on (ONEMAP_PORT)."),
    workers: int = typer.Option(None, help="Worker processes (ONEMAP_WORKERS)."),
) -> None:
    """Serve the platform (health, and the APIs as they are built) with uvicorn."""
    import uvicorn

    from gis.engine import app_database_url
    from services.http import uvicorn_options

    # Every setting is read here, so a malformed one (ONEMAP_DATABASE_URL ...) is one sentence
    # before uvicorn starts, not a traceback from each worker importing the app; so is a
    # missing server login (ONEMAP_APP_DATABASE_URL, or `onemap db start` not yet run).
    config = settings()
    app_database_url(config.database)
    _listen_without_nagle()
    uvicorn.run(
        "services.asgi:app",
        host=host or config.server.host,
        port=port or config.server.port,
        workers=workers or config.server.workers,
        log_level="info",
        **uvicorn_options(config.http.max_url_bytes, config.http.max_header_bytes),
    )
