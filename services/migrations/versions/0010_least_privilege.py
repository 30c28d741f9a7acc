"""least privilege: the server's role onemap_app, and audit switches only for loaders

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 12:00:00

The HTTP server no longer works as the owner. ``onemap_app`` is a NOLOGIN group role (made
here when missing: roles belong to the cluster, so another database's migration or
``onemap db start`` may have made it already) granted, in this database, only what serving
needs: USAGE on our schemas (never CREATE), SELECT on grid, plans and counts, INSERT, UPDATE
and DELETE on the seven grid tables, INSERT on audit.access_log, SELECT and INSERT on
audit.changes (the audit triggers run as the editor), SELECT on auth.api_keys (keys are
looked up by their hash; they are made and revoked by the CLI), INSERT and UPDATE on
counts.rows and counts.stamps (their triggers run as the editor too), SELECT on
alembic_version (/health), and default privileges so that tables and views later
migrations make in grid, plans and counts are readable. No TRUNCATE, no DDL. The server
logs in with a role that is a member of it (docs/database-roles.md).

The switches that relax auditing (``onemap.bulk``, ``onemap.link``) are plain settings any
session may set, so they are now honoured only for a role that may TRUNCATE the table: its
owner, a superuser, a loader granted TRUNCATE. Such a role can already empty the table
leaving one summary row, so relaxing the per-row audit gives it nothing new. For any other
role the switches have no effect (no error): its rows are audited, versioned and linked as
with the switches off. The rule sits in each trigger's WHEN, evaluated for every row, not in
a check made once per statement: a statement can turn a switch on in its own WHERE clause,
after any statement-level check. ``has_table_privilege`` is a built-in, evaluated only when
a switch is on, so a bulk load pays well under a microsecond a row for it.

The link switch is also set by the database itself, while grid.relink_area and
grid.unlink_cell write the derived buildings.cell_id/straddles after an edit of a cell by
any role, the server's included. They become SECURITY DEFINER (with a fixed search_path),
so they run as the owner, for whom the switch counts. That is sound because they write only
what the 房进格 rule computes: a caller chooses at most which area is re-linked, never a
value. A content-based rule (skip the audit when only cell_id/straddles changed) was not
chosen: it would let any role write wrong links without an audit row. Bulk mode is switched
off inside them, so that a caller for whom it does not count cannot make them write a bulk
summary. Foreign keys run their actions as the owner too; the only grid one with an action
(buildings.cell_id ON DELETE SET NULL) finds nothing to do after grid.unlink_cell, and
writes a derived column anyway (in bulk mode, its empty statement leaves a summary row).
What the server can still do to audit.changes is add rows (its triggers write them as the
editor); it can neither change nor delete one.

The downgrade restores 0003's triggers and functions and revokes what is granted here; the
role stays, since other databases of the cluster may use it. The SQL is carried here,
frozen; grid/audit.sql carries the same triggers and functions.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = r"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'onemap_app') THEN
        BEGIN
            CREATE ROLE onemap_app NOLOGIN;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL;  -- made meanwhile by a migration of another database
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'the role onemap_app does not exist and % may not create it',
                    current_user
                    USING HINT = 'as a superuser: CREATE ROLE onemap_app NOLOGIN; then migrate again';
        END;
    END IF;
END
$$;
"""

GRANTS = r"""
GRANT USAGE ON SCHEMA grid, plans, audit, auth, counts TO onemap_app;
GRANT SELECT ON ALL TABLES IN SCHEMA grid, plans, counts TO onemap_app;
GRANT INSERT, UPDATE, DELETE ON grid.admin_areas, grid.workers, grid.cells, grid.buildings,
    grid.houses, grid.households, grid.persons TO onemap_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA grid TO onemap_app;
GRANT SELECT, INSERT ON audit.changes TO onemap_app;
GRANT INSERT ON audit.access_log TO onemap_app;
GRANT USAGE ON SEQUENCE audit.changes_id_seq, audit.access_log_id_seq TO onemap_app;
GRANT SELECT ON auth.api_keys TO onemap_app;
GRANT INSERT, UPDATE ON counts.rows, counts.stamps TO onemap_app;
GRANT SELECT ON public.alembic_version TO onemap_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA grid, plans, counts GRANT SELECT ON TABLES TO onemap_app;
"""

REVOKES = r"""
ALTER DEFAULT PRIVILEGES IN SCHEMA grid, plans, counts REVOKE SELECT ON TABLES FROM onemap_app;
REVOKE ALL ON public.alembic_version FROM onemap_app;
REVOKE ALL ON ALL TABLES IN SCHEMA grid, plans, audit, auth, counts FROM onemap_app;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA grid, plans, audit, auth, counts FROM onemap_app;
REVOKE ALL ON SCHEMA grid, plans, audit, auth, counts FROM onemap_app;
"""

# grid/audit.sql at this revision: the two functions that write the link, and the triggers.
AUDIT = r"""
CREATE OR REPLACE FUNCTION grid.relink_area(area geometry, other_area geometry DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    previous CONSTANT text := coalesce(current_setting('onemap.link', true), '');
    bulk CONSTANT text := coalesce(current_setting('onemap.bulk', true), '');
    moved integer;
BEGIN
    PERFORM set_config('onemap.link', 'on', true);
    PERFORM set_config('onemap.bulk', '', true);
    WITH target AS (
        SELECT b.id, best.cell_id, coalesce(best.straddles, false) AS straddles
        FROM grid.buildings AS b
        CROSS JOIN LATERAL grid.best_cell(b.geom) AS best
        WHERE b.geom && area OR (other_area IS NOT NULL AND b.geom && other_area)
    )
    UPDATE grid.buildings AS b
    SET cell_id = t.cell_id, straddles = t.straddles
    FROM target AS t
    WHERE b.id = t.id
      AND (b.cell_id IS DISTINCT FROM t.cell_id OR b.straddles IS DISTINCT FROM t.straddles);
    GET DIAGNOSTICS moved = ROW_COUNT;
    PERFORM set_config('onemap.bulk', bulk, true);
    PERFORM set_config('onemap.link', previous, true);
    RETURN moved;
END
$$;

CREATE OR REPLACE FUNCTION grid.unlink_cell() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    previous CONSTANT text := coalesce(current_setting('onemap.link', true), '');
    bulk CONSTANT text := coalesce(current_setting('onemap.bulk', true), '');
BEGIN
    PERFORM set_config('onemap.link', 'on', true);
    PERFORM set_config('onemap.bulk', '', true);
    UPDATE grid.buildings SET cell_id = NULL, straddles = false WHERE cell_id = OLD.id;
    PERFORM set_config('onemap.bulk', bulk, true);
    PERFORM set_config('onemap.link', previous, true);
    RETURN OLD;
END
$$;

DO $$
DECLARE
    t record;
    may CONSTANT text := 'has_table_privilege(%L::regclass, ''TRUNCATE'')';
    per_row CONSTANT text := '((current_setting(''onemap.bulk'', true) IS DISTINCT FROM ''on'''
        || ' AND current_setting(''onemap.link'', true) IS DISTINCT FROM ''on'') OR NOT '
        || may || ')';
    bulk CONSTANT text := '(current_setting(''onemap.bulk'', true) = ''on'' AND ' || may || ')';
BEGIN
    FOR t IN
        SELECT * FROM (VALUES
            ('admin_areas', 'code', true), ('workers', 'id', false), ('cells', 'id', true),
            ('buildings', 'id', true), ('houses', 'id', false), ('households', 'id', false),
            ('persons', 'id', false)
        ) AS v(name, key, geom)
    LOOP
        EXECUTE format(
            'CREATE OR REPLACE TRIGGER version_audit BEFORE INSERT OR UPDATE OR DELETE ON grid.%I'
            ' FOR EACH ROW WHEN %s EXECUTE FUNCTION audit.row_change(%L%s)',
            t.name, format(per_row, 'grid.' || t.name), t.key,
            CASE WHEN t.geom THEN ', ''geom''' ELSE '' END);
        EXECUTE format(
            'CREATE OR REPLACE TRIGGER bulk_audit AFTER INSERT OR UPDATE OR DELETE ON grid.%I'
            ' FOR EACH STATEMENT WHEN %s EXECUTE FUNCTION audit.bulk_change()',
            t.name, format(bulk, 'grid.' || t.name));
    END LOOP;
END
$$;

CREATE OR REPLACE TRIGGER link_cell
BEFORE INSERT OR UPDATE OF geom ON grid.buildings
FOR EACH ROW WHEN (current_setting('onemap.bulk', true) IS DISTINCT FROM 'on'
                   OR NOT has_table_privilege('grid.buildings'::regclass, 'TRUNCATE'))
EXECUTE FUNCTION grid.link_building();

CREATE OR REPLACE TRIGGER unlink_buildings
BEFORE DELETE ON grid.cells
FOR EACH ROW WHEN (current_setting('onemap.bulk', true) IS DISTINCT FROM 'on'
                   OR NOT has_table_privilege('grid.cells'::regclass, 'TRUNCATE'))
EXECUTE FUNCTION grid.unlink_cell();

CREATE OR REPLACE TRIGGER relink_buildings
AFTER INSERT OR DELETE OR UPDATE OF geom ON grid.cells
FOR EACH ROW WHEN (current_setting('onemap.bulk', true) IS DISTINCT FROM 'on'
                   OR NOT has_table_privilege('grid.cells'::regclass, 'TRUNCATE'))
EXECUTE FUNCTION grid.relink_cell();
"""

# The same, as migration 0003 made them (for the downgrade).
AUDIT_0003 = r"""
CREATE OR REPLACE FUNCTION grid.relink_area(area geometry, other_area geometry DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    previous CONSTANT text := coalesce(current_setting('onemap.link', true), '');
    moved integer;
BEGIN
    PERFORM set_config('onemap.link', 'on', true);
    WITH target AS (
        SELECT b.id, best.cell_id, coalesce(best.straddles, false) AS straddles
        FROM grid.buildings AS b
        CROSS JOIN LATERAL grid.best_cell(b.geom) AS best
        WHERE b.geom && area OR (other_area IS NOT NULL AND b.geom && other_area)
    )
    UPDATE grid.buildings AS b
    SET cell_id = t.cell_id, straddles = t.straddles
    FROM target AS t
    WHERE b.id = t.id
      AND (b.cell_id IS DISTINCT FROM t.cell_id OR b.straddles IS DISTINCT FROM t.straddles);
    GET DIAGNOSTICS moved = ROW_COUNT;
    PERFORM set_config('onemap.link', previous, true);
    RETURN moved;
END
$$;

CREATE OR REPLACE FUNCTION grid.unlink_cell() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    previous CONSTANT text := coalesce(current_setting('onemap.link', true), '');
BEGIN
    PERFORM set_config('onemap.link', 'on', true);
    UPDATE grid.buildings SET cell_id = NULL, straddles = false WHERE cell_id = OLD.id;
    PERFORM set_config('onemap.link', previous, true);
    RETURN OLD;
END
$$;

DO $$
DECLARE
    t record;
    per_row CONSTANT text := '(current_setting(''onemap.bulk'', true) IS DISTINCT FROM ''on'''
        || ' AND current_setting(''onemap.link'', true) IS DISTINCT FROM ''on'')';
BEGIN
    FOR t IN
        SELECT * FROM (VALUES
            ('admin_areas', 'code', true), ('workers', 'id', false), ('cells', 'id', true),
            ('buildings', 'id', true), ('houses', 'id', false), ('households', 'id', false),
            ('persons', 'id', false)
        ) AS v(name, key, geom)
    LOOP
        EXECUTE format(
            'CREATE OR REPLACE TRIGGER version_audit BEFORE INSERT OR UPDATE OR DELETE ON grid.%I'
            ' FOR EACH ROW WHEN %s EXECUTE FUNCTION audit.row_change(%L%s)',
            t.name, per_row, t.key, CASE WHEN t.geom THEN ', ''geom''' ELSE '' END);
        EXECUTE format(
            'CREATE OR REPLACE TRIGGER bulk_audit AFTER INSERT OR UPDATE OR DELETE ON grid.%I'
            ' FOR EACH STATEMENT WHEN (current_setting(''onemap.bulk'', true) = ''on'')'
            ' EXECUTE FUNCTION audit.bulk_change()', t.name);
    END LOOP;
END
$$;

CREATE OR REPLACE TRIGGER link_cell
BEFORE INSERT OR UPDATE OF geom ON grid.buildings
FOR EACH ROW WHEN (current_setting('onemap.bulk', true) IS DISTINCT FROM 'on')
EXECUTE FUNCTION grid.link_building();

CREATE OR REPLACE TRIGGER unlink_buildings
BEFORE DELETE ON grid.cells
FOR EACH ROW WHEN (current_setting('onemap.bulk', true) IS DISTINCT FROM 'on')
EXECUTE FUNCTION grid.unlink_cell();

CREATE OR REPLACE TRIGGER relink_buildings
AFTER INSERT OR DELETE OR UPDATE OF geom ON grid.cells
FOR EACH ROW WHEN (current_setting('onemap.bulk', true) IS DISTINCT FROM 'on')
EXECUTE FUNCTION grid.relink_cell();
"""


def _run_script(script: str) -> None:
    """Send a multi-statement script as is: no parameters, so '%' and ':' need no escaping."""
    op.get_bind().exec_driver_sql(script, execution_options={"no_parameters": True})


def upgrade() -> None:
    _run_script(ROLE)
    _run_script(GRANTS)
    _run_script(AUDIT)


def downgrade() -> None:
    _run_script(AUDIT_0003)
    _run_script(REVOKES)
