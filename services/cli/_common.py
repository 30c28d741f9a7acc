"""What every command shares: the console, settings, the engine, the errors users can fix."""

from __future__ import annotations

from rich.console import Console
from sqlalchemy import Engine

from services.settings import Settings

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def known_errors() -> tuple[type[Exception], ...]:
    """The exception roots whose messages are written for users."""
    from gis.errors import GisError
    from grid.errors import GridError
    from layers.errors import LayerError

    return (GisError, GridError, LayerError)


def settings() -> Settings:
    return Settings()


def engine(config: Settings) -> Engine:
    """An engine for the configured database, checked to be reachable and to have PostGIS."""
    from gis.engine import create_engine, database_url, server_info

    result = create_engine(database_url(config.database))
    server_info(result)
    return result
