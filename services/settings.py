"""All settings of the running platform, built once at the edge (CLI or ``create_app``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from gis.settings import DatabaseSettings
from grid.settings import PrivacySettings


class ServerSettings(BaseSettings):
    """Where ``onemap serve`` listens."""

    model_config = SettingsConfigDict(env_prefix="ONEMAP_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1)


class OgcSettings(BaseSettings):
    """The OGC API mounted at ``/ogc`` (``ONEMAP_OGC_*``).

    Attributes
    ----------
    public_url
        Base URL of the API as clients see it (``https://onemap.example/ogc``); unset, links
        are built from each request's scheme and ``Host``, which suits one server.
    default_limit, max_limit
        Page size without ``limit``, and the largest page: a bigger ``limit`` is cut to it,
        as OGC API Features Part 1 asks (no error).
    count_limit
        ``numberMatched`` of a filtered request is counted exactly up to this many features
        and left out above it (the standard makes it optional; it is never an estimate).
        Unfiltered requests are always exact (counts kept by the database).
    statement_timeout_ms
        One query's time limit; a filter that needs longer is answered with HTTP 400.
    pool_size
        Database connections per worker process for the feature routes (kept open; a
        request waits for one, first come first served, rather than opening more). About
        the cores divided by the workers, plus one: statements beyond what the cores run
        only queue in the OS scheduler and stretch p99 (services/ogcapi/pool.py).
    fast_items
        Serve ``/items`` as GeoJSON with our own routes (SQL-built responses); False routes
        them through pygeoapi's handler with our provider (kept for measurement).
    """

    model_config = SettingsConfigDict(env_prefix="ONEMAP_OGC_", extra="ignore")

    public_url: str | None = None
    default_limit: int = Field(default=10, ge=1)
    max_limit: int = Field(default=10_000, ge=1)
    count_limit: int = Field(default=100_000, ge=0)
    statement_timeout_ms: int = Field(default=15_000, ge=100)
    pool_size: int = Field(default=3, ge=1)
    fast_items: bool = True


@dataclass(frozen=True)
class Settings:
    """One object per concern, each read from its ``ONEMAP_*`` environment variables."""

    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    ogc: OgcSettings = field(default_factory=OgcSettings)
