"""exact row counts kept by the database (schema counts) for the OGC API's numberMatched

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 12:00:00

Statement-level triggers with transition tables add and subtract the rows each statement
inserts or deletes (one aggregate per statement, so bulk loads pay once, not per row);
TRUNCATE resets. A table may be counted per value of one column (``part``), e.g. plan
features per layer version. ``counts.track(table, part_column)`` installs the
triggers and the initial counts, so a later migration counts a new table with one call;
``counts.recount(table)`` recounts exactly (``onemap ogc refresh --recount``).

The ``counts`` schema is bookkeeping, not domain data: it is created here and not declared
in the models, so ``services.migrate.include_object`` leaves it alone, like PostGIS's tables.

Concurrent writers to one counted table (or one part) serialise on its counter row until
they commit; grid edits are single-row transactions, so the wait is one short transaction.
The SQL is carried here, frozen.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTED = (
    ("grid.admin_areas", None),
    ("grid.cells", None),
    ("grid.buildings", None),
    ("plans.features", "layer_version_id"),
)

FUNCTIONS = r"""
CREATE SCHEMA counts;
COMMENT ON SCHEMA counts IS
    'Bookkeeping kept by triggers, not domain data: not in the models (like PostGIS''s tables)';

CREATE TABLE counts.tables (
    table_name text NOT NULL,
    part_column text,
    CONSTRAINT pk_tables PRIMARY KEY (table_name)
);

CREATE TABLE counts.rows (
    table_name text NOT NULL,
    part text NOT NULL DEFAULT '',
    n bigint NOT NULL,
    CONSTRAINT pk_rows PRIMARY KEY (table_name, part)
);
COMMENT ON TABLE counts.rows IS
    'Exact row counts per table (and per value of one column), kept by counts.on_change';

-- The text of one row's part: '' for a table counted as a whole.
CREATE FUNCTION counts.part_expression(part_column text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN coalesce(part_column, '') = '' THEN quote_literal('') || '::text'
                ELSE format('coalesce(%I::text, %L)', part_column, '') END
$$;

-- Statement-level trigger: TG_ARGV[0] is the part column ('' to count the whole table).
CREATE FUNCTION counts.on_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    tbl CONSTANT text := TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME;
    part_expr CONSTANT text := counts.part_expression(TG_ARGV[0]);
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM counts.rows WHERE table_name = tbl;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        EXECUTE format(
            'INSERT INTO counts.rows AS c (table_name, part, n)
             SELECT $1, p, count(*) FROM (SELECT %s AS p FROM new_rows) s GROUP BY p
             ON CONFLICT (table_name, part) DO UPDATE SET n = c.n + excluded.n', part_expr)
        USING tbl;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        EXECUTE format(
            'INSERT INTO counts.rows AS c (table_name, part, n)
             SELECT $1, p, -count(*) FROM (SELECT %s AS p FROM old_rows) s GROUP BY p
             ON CONFLICT (table_name, part) DO UPDATE SET n = c.n + excluded.n', part_expr)
        USING tbl;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION counts.table_name(tbl regclass) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT n.nspname || '.' || c.relname
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tbl
$$;

-- Exact recount of one counted table; writers to it wait for the duration of one count(*).
CREATE FUNCTION counts.recount(tbl regclass) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    name CONSTANT text := counts.table_name(tbl);
    part_column text;
BEGIN
    SELECT t.part_column INTO part_column FROM counts.tables t WHERE t.table_name = name;
    IF NOT FOUND THEN
        RAISE EXCEPTION '% is not counted: run counts.track first', name;
    END IF;
    EXECUTE format('LOCK TABLE %s IN SHARE MODE', tbl);
    DELETE FROM counts.rows WHERE table_name = name;
    EXECUTE format(
        'INSERT INTO counts.rows (table_name, part, n)
         SELECT $1, p, count(*) FROM (SELECT %s AS p FROM %s) s GROUP BY p',
        counts.part_expression(part_column), tbl)
    USING name;
END
$$;

-- Count a table from now on, and count it now; part_column NULL counts the whole table.
CREATE FUNCTION counts.track(tbl regclass, part_column text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    arg CONSTANT text := coalesce(part_column, '');
BEGIN
    INSERT INTO counts.tables (table_name, part_column)
    VALUES (counts.table_name(tbl), part_column)
    ON CONFLICT (table_name) DO UPDATE SET part_column = excluded.part_column;
    EXECUTE format('DROP TRIGGER IF EXISTS row_count_insert ON %s', tbl);
    EXECUTE format('DROP TRIGGER IF EXISTS row_count_delete ON %s', tbl);
    EXECUTE format('DROP TRIGGER IF EXISTS row_count_update ON %s', tbl);
    EXECUTE format('DROP TRIGGER IF EXISTS row_count_truncate ON %s', tbl);
    EXECUTE format('CREATE TRIGGER row_count_insert AFTER INSERT ON %s
                    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
                    EXECUTE FUNCTION counts.on_change(%L)', tbl, arg);
    EXECUTE format('CREATE TRIGGER row_count_delete AFTER DELETE ON %s
                    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
                    EXECUTE FUNCTION counts.on_change(%L)', tbl, arg);
    IF arg <> '' THEN  -- an update may move rows from one part to another
        EXECUTE format('CREATE TRIGGER row_count_update AFTER UPDATE ON %s
                        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION counts.on_change(%L)', tbl, arg);
    END IF;
    EXECUTE format('CREATE TRIGGER row_count_truncate AFTER TRUNCATE ON %s
                    FOR EACH STATEMENT EXECUTE FUNCTION counts.on_change(%L)', tbl, arg);
    PERFORM counts.recount(tbl);
END
$$;
"""

DROP = """
DO $$
DECLARE t text;
BEGIN
    FOR t IN SELECT table_name FROM counts.tables LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS row_count_insert ON %s', t);
        EXECUTE format('DROP TRIGGER IF EXISTS row_count_delete ON %s', t);
        EXECUTE format('DROP TRIGGER IF EXISTS row_count_update ON %s', t);
        EXECUTE format('DROP TRIGGER IF EXISTS row_count_truncate ON %s', t);
    END LOOP;
END
$$;
DROP SCHEMA IF EXISTS counts CASCADE;
"""


def _run_script(script: str) -> None:
    """Send a multi-statement script as is: no parameters, so '%' and ':' need no escaping."""
    op.get_bind().exec_driver_sql(script, execution_options={"no_parameters": True})


def upgrade() -> None:
    _run_script(FUNCTIONS)  # '%' in format() strings: sent as is, without parameters
    for table, part in COUNTED:
        part_sql = "NULL" if part is None else f"'{part}'"
        _run_script(f"SELECT counts.track('{table}', {part_sql})")


def downgrade() -> None:
    _run_script(DROP)
