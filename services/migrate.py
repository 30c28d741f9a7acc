"""Running the Alembic migrations (``services/migrations``, package data) against a database."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from geoalchemy2 import alembic_helpers
from sqlalchemy import Engine, MetaData

from grid.models import METADATA as GRID_METADATA
from layers.models import METADATA as PLANS_METADATA
from services.auth.models import METADATA as AUTH_METADATA
from services.processes.models import METADATA as JOBS_METADATA

MIGRATIONS = Path(str(files("services").joinpath("migrations")))
"""The migration scripts, shipped inside the package (found the same way when installed)."""
SCHEMAS = ("grid", "plans", "audit", "auth", "jobs")
TARGET_METADATA: list[MetaData] = [
    *GRID_METADATA,
    *PLANS_METADATA,
    *AUTH_METADATA,
    *JOBS_METADATA,
]


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Only our schemas: PostGIS's own tables (spatial_ref_sys ...) are not ours to manage."""
    schema = getattr(obj, "schema", None) or getattr(getattr(obj, "table", None), "schema", None)
    if type_ == "table" and schema not in SCHEMAS:
        return False
    keep = alembic_helpers.include_object(obj, name, type_, reflected, compare_to)  # type: ignore[no-untyped-call]
    return bool(keep)


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; running it again is a no-op."""
    command.upgrade(_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None before the first migration."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped with this code."""
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()
