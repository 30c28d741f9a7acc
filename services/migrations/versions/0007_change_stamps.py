"""change stamps of published tables (schema counts) for HTTP cache validators

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 12:00:00

``counts.stamps`` holds, per table, a serial that grows with every statement that changes
the table and the time of the last one, kept by a statement-level trigger (one upsert per
statement, so bulk loads pay once). The OGC API derives ``ETag`` and ``Last-Modified`` of a
collection's answers from its table's stamp, so a client revalidates with one cheap read.
Concurrent writers to one table serialise on its stamp row until they commit, as they do on
its counter row (migration 0004). The SQL is carried here, frozen.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMPED = (
    "grid.admin_areas",
    "grid.workers",
    "grid.cells",
    "grid.buildings",
    "grid.houses",
    "grid.households",
    "grid.persons",
    "plans.features",
    "plans.conflict_patches",
)

FUNCTIONS = r"""
CREATE TABLE counts.stamps (
    table_name text NOT NULL,
    serial bigint NOT NULL DEFAULT 1,
    changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT pk_stamps PRIMARY KEY (table_name)
);
COMMENT ON TABLE counts.stamps IS
    'Per table: a serial grown by every changing statement and its time (counts.on_stamp)';

CREATE FUNCTION counts.on_stamp() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO counts.stamps AS s (table_name)
    VALUES (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME)
    ON CONFLICT (table_name)
    DO UPDATE SET serial = s.serial + 1, changed_at = clock_timestamp();
    RETURN NULL;
END
$$;

-- Stamp a table from now on (and now: its first stamp is the migration's time).
CREATE FUNCTION counts.stamp(tbl regclass) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO counts.stamps (table_name) VALUES (counts.table_name(tbl))
    ON CONFLICT (table_name) DO NOTHING;
    EXECUTE format('DROP TRIGGER IF EXISTS change_stamp ON %s', tbl);
    EXECUTE format('DROP TRIGGER IF EXISTS change_stamp_truncate ON %s', tbl);
    EXECUTE format('CREATE TRIGGER change_stamp AFTER INSERT OR UPDATE OR DELETE ON %s
                    FOR EACH STATEMENT EXECUTE FUNCTION counts.on_stamp()', tbl);
    EXECUTE format('CREATE TRIGGER change_stamp_truncate AFTER TRUNCATE ON %s
                    FOR EACH STATEMENT EXECUTE FUNCTION counts.on_stamp()', tbl);
END
$$;
"""


def upgrade() -> None:
    op.execute(FUNCTIONS)
    for table in STAMPED:
        op.execute(f"SELECT counts.stamp('{table}')")


def downgrade() -> None:
    for table in STAMPED:
        op.execute(f"DROP TRIGGER IF EXISTS change_stamp ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS change_stamp_truncate ON {table}")
    op.execute("DROP FUNCTION counts.stamp(regclass)")
    op.execute("DROP FUNCTION counts.on_stamp()")
    op.execute("DROP TABLE counts.stamps")
