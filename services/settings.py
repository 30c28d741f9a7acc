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


@dataclass(frozen=True)
class Settings:
    """One object per concern, each read from its ``ONEMAP_*`` environment variables."""

    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    server: ServerSettings = field(default_factory=ServerSettings)
