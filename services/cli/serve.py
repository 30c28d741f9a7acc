"""``onemap serve``: the HTTP app under uvicorn."""

from __future__ import annotations

import typer

from services.cli._common import settings


def serve(
    host: str = typer.Option(None, help="Address to listen on (ONEMAP_HOST)."),
    port: int = typer.Option(None, help="Port to listen on (ONEMAP_PORT)."),
    workers: int = typer.Option(None, help="Worker processes (ONEMAP_WORKERS)."),
) -> None:
    """Serve the platform (health, and the APIs as they are built) with uvicorn."""
    import uvicorn

    config = settings().server
    uvicorn.run(
        "services.asgi:app",
        host=host or config.host,
        port=port or config.port,
        workers=workers or config.workers,
        log_level="info",
    )
