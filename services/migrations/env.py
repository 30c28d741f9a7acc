"""Alembic environment: assembles the models owned by the domain packages.

Run through ``onemap db upgrade`` (services/migrate.py), which passes the engine in.
"""

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import text

from services.migrate import SCHEMAS, TARGET_METADATA, include_object


def run_migrations_online() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        for schema in SCHEMAS:
            connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        connection.commit()
        context.configure(
            connection=connection,
            target_metadata=TARGET_METADATA,
            include_schemas=True,
            include_object=include_object,
            process_revision_directives=alembic_helpers.writer,
            render_item=alembic_helpers.render_item,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
