"""Settings of the spatial foundation: where the database is, or where to run our own.

Built once by the CLI or ``create_app`` and passed down, never at import time.
"""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DatabaseSettings(BaseSettings):
    """``ONEMAP_DATABASE_URL`` selects an existing PostGIS; unset, we run a local cluster.

    Attributes
    ----------
    database_url
        SQLAlchemy URL of an existing PostGIS database. When set, nothing local is started.
    home
        The platform's state directory (local cluster, secrets, caches).
    pg_dir
        Data directory of the local cluster; relative paths are taken from ``home``.
    pg_port
        TCP port of the local cluster on 127.0.0.1.
    pg_database
        Name of the platform's database in the local cluster.
    pg_bin
        Directory holding ``initdb``/``pg_ctl``; found under /usr/lib/postgresql when unset.
    """

    model_config = SettingsConfigDict(env_prefix="ONEMAP_", extra="ignore")

    database_url: str | None = None
    home: Path = Path(".onemap")
    pg_dir: Path = Path("pg")
    pg_port: int = Field(default=55432, ge=1, le=65535)
    pg_database: str = "onemap"
    pg_bin: Path | None = None

    @property
    def data_dir(self) -> Path:
        """Absolute data directory of the local cluster."""
        return (self.home / self.pg_dir).absolute()
