"""Settings of the spatial foundation: where the database is, or where to run our own.

Built once by the CLI or ``create_app`` and passed down, never at import time.
"""

from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from gis.errors import DatabaseError

_EXPECTED = "expected postgresql://user:password@host:port/database"


def parse_database_url(value: str, name: str = "ONEMAP_DATABASE_URL") -> URL:
    """``value`` as a PostgreSQL URL, or a `DatabaseError` naming the part that is wrong.

    The message names the setting (``name``) but never repeats ``value``: an unparsable URL
    cannot be shown with its password masked, so only the faulty part is named.
    """
    try:
        url = make_url(value)
    except ArgumentError:
        problem = "it has no scheme" if "://" not in value else "it cannot be parsed"
        raise DatabaseError(f"{name} is not a database URL ({problem}): {_EXPECTED}") from None
    except ValueError:  # SQLAlchemy's int() of the port
        raise DatabaseError(
            f"{name} is not a database URL (its port is not a number): {_EXPECTED}"
        ) from None
    if url.get_backend_name() != "postgresql":
        raise DatabaseError(f"{name} must name a PostgreSQL database, not {url.drivername!r}")
    if url.port is not None and not 1 <= url.port <= 65535:
        raise DatabaseError(
            f"{name} is not a database URL (its port {url.port} is not between 1 and 65535)"
        )
    return url


class DatabaseSettings(BaseSettings):
    """``ONEMAP_DATABASE_URL`` selects an existing PostGIS; unset, we run a local cluster.

    Attributes
    ----------
    database_url
        SQLAlchemy URL of an existing PostGIS database. When set, nothing local is started.
        A malformed one fails when the settings are built, with a `DatabaseError` sentence
        that does not repeat the URL (see :func:`parse_database_url`). Its role owns the
        schema: migrations, sample loads, plan imports and every other CLI command use it.
    app_database_url
        The same database as the HTTP server connects to it (``ONEMAP_APP_DATABASE_URL``),
        with a login role that is a member of ``onemap_app`` and owns nothing
        (docs/database-roles.md). Required with ``database_url``; unset with the local
        cluster, whose ``onemap_server`` login (password in ``<home>/server.password``) is
        used.
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
    app_database_url: str | None = None
    home: Path = Path(".onemap")
    pg_dir: Path = Path("pg")
    pg_port: int = Field(default=55432, ge=1, le=65535)
    pg_database: str = "onemap"
    pg_bin: Path | None = None

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        """Fail at the edge, in one sentence.

        The `DatabaseError` is raised as is, not as a ``ValueError``: pydantic would wrap that
        in a ``ValidationError`` whose text repeats the input, password included.
        """
        if value:
            parse_database_url(value)
        return value

    @field_validator("app_database_url")
    @classmethod
    def _check_app_database_url(cls, value: str | None) -> str | None:
        if value:
            parse_database_url(value, "ONEMAP_APP_DATABASE_URL")
        return value

    @property
    def data_dir(self) -> Path:
        """Absolute data directory of the local cluster."""
        return (self.home / self.pg_dir).absolute()


def _port_as_text(value: object) -> object:
    """A replica given as a JSON number (``[55446]``) is its port."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class ReplicaSettings(BaseSettings):
    """Streaming replicas: how the CLI builds them, how the app reads from them
    (``ONEMAP_DB_*``; docs/operations-replica.md).

    Attributes
    ----------
    replicas
        Hot standbys the HTTP server reads from (``ONEMAP_DB_REPLICAS``, a JSON list): each a
        port (``"55446"``: the server's own URL with that port), a ``"host:port"`` (the same
        login and database there: a physical replica has the primary's roles), or a full
        ``postgresql://`` URL. Empty: every read goes to the primary.
    replica_max_lag_bytes, replica_max_lag_seconds
        A replica further behind the primary than this (WAL bytes not replayed, or seconds
        since the last replayed transaction while WAL waits to be replayed) is skipped until
        it catches up.
    replica_check_interval
        Seconds between two looks at each node's replay position (one short query each).
    replica_read_wait
        Read-your-writes: how long a client's read after its own write waits for a replica
        to replay that write before it goes to the primary instead.
    replica_restore_command
        ``restore_command`` of the replicas ``onemap db replica create`` makes: how a standby
        fetches WAL from the archive when streaming cannot give it (empty: streaming only).
        ``%f`` and ``%p`` are PostgreSQL's placeholders.
    """

    model_config = SettingsConfigDict(env_prefix="ONEMAP_DB_", extra="ignore")

    replicas: list[Annotated[str, BeforeValidator(_port_as_text)]] = Field(default_factory=list)
    replica_max_lag_bytes: int = Field(default=16 * 1024 * 1024, ge=0)
    replica_max_lag_seconds: float = Field(default=5.0, ge=0)
    replica_check_interval: float = Field(default=1.0, gt=0, le=60)
    replica_read_wait: float = Field(default=0.2, ge=0, le=10)
    replica_restore_command: str = ""
