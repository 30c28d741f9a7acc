"""Alembic environment: assembles the models owned by the domain packages.

Run through ``onemap db upgrade`` (services/schema.py), which passes the engine in.
"""

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import text

from grid.models import METADATA as GRID_METADATA
from layers.models import METADATA as PLANS_METADATA

SCHEMAS = ("grid", "plans", "audit")
target_metadata = [*GRID_METADATA, *PLANS_METADATA]


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    """Only our schemas; PostGIS's own tables (spatial_ref_sys ...) are not ours to manage."""
    schema = getattr(obj, "schema", None) or getattr(getattr(obj, "table", None), "schema", None)
    if type_ == "table" and schema not in SCHEMAS:
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)


def run_migrations_online() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        for schema in SCHEMAS:
            connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        connection.commit()
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_schemas=True,
            include_object=include_object,
            process_revision_directives=alembic_helpers.writer,
            render_item=alembic_helpers.render_item,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
