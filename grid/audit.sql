-- Versioned edits, before/after images and the derived 房进格 link, kept by the database so
-- that edits made in plain SQL are caught too. Installed by grid.audit.install() (migrations
-- 0003 and 0010); every statement is idempotent (CREATE OR REPLACE).
--
-- Session settings read here (set them transaction-local: SET LOCAL or set_config(.., true)):
--   onemap.actor  who edits (updated_by, changed_by); falls back to current_user.
--   onemap.bulk  'on' for bulk loads (COPY of millions of rows): no per-row audit image,
--                version bump or 房进格 link; one summary row per table and operation in
--                audit.changes instead. Re-link with grid.linking.link_buildings afterwards.
--   onemap.link  'on' only while the link itself writes buildings.cell_id/straddles: those
--                are derived, not edits, so they bump no version and write no image.
-- The two switches count only for a role that may TRUNCATE the table (its owner, a
-- superuser, a loader granted TRUNCATE): such a role can already empty it with one summary
-- row. For every other role, the server's onemap_app included, they have no effect: its
-- rows are audited, versioned and linked as if they were off (docs/database-roles.md).
-- The check is in each trigger's WHEN, row by row, so a switch turned on inside the
-- statement itself changes nothing either. Cell edits still re-link buildings without an
-- audit image for every role: grid.relink_area and grid.unlink_cell run as the owner.

CREATE OR REPLACE FUNCTION audit.actor() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('onemap.actor', true), ''), current_user::text)
$$;

-- Per-row trigger: TG_ARGV[0] names the key column, TG_ARGV[1] = 'geom' when the table has a
-- geometry, which the images hold as hex EWKB so that a revert restores it bit for bit.
CREATE OR REPLACE FUNCTION audit.row_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    who CONSTANT text := audit.actor();
    tbl CONSTANT text := TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME;
    key_column CONSTANT text := TG_ARGV[0];
    has_geom CONSTANT boolean := TG_NARGS > 1 AND TG_ARGV[1] = 'geom';
    old_image jsonb;
    new_image jsonb;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_image := to_jsonb(OLD);
        IF has_geom THEN
            old_image := old_image || jsonb_build_object('geom', encode(ST_AsEWKB(OLD.geom), 'hex'));
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        INSERT INTO audit.changes (table_name, row_id, version, operation, before, after, changed_by)
        VALUES (tbl, old_image ->> key_column, OLD.version + 1, 'DELETE', old_image, NULL, who);
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' THEN  -- the bookkeeping columns are ours, whatever the statement set
        NEW.version := OLD.version;
        NEW.updated_by := OLD.updated_by;
        NEW.updated_at := OLD.updated_at;
    END IF;
    new_image := to_jsonb(NEW);
    IF has_geom THEN
        new_image := new_image || jsonb_build_object('geom', encode(ST_AsEWKB(NEW.geom), 'hex'));
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF new_image = old_image THEN
            RETURN NEW;  -- nothing changed: no new version
        END IF;
        NEW.version := OLD.version + 1;
    ELSE
        NEW.version := coalesce(NEW.version, 1);
    END IF;
    NEW.updated_by := who;
    NEW.updated_at := now();
    new_image := new_image || jsonb_build_object(
        'version', NEW.version, 'updated_by', NEW.updated_by, 'updated_at', NEW.updated_at);
    INSERT INTO audit.changes (table_name, row_id, version, operation, before, after, changed_by)
    VALUES (tbl, new_image ->> key_column, NEW.version, TG_OP, old_image, new_image, who);
    RETURN NEW;
END
$$;

-- Statement trigger: one summary row per table, operation and transaction for bulk loads
-- (onemap.bulk = on) and for every TRUNCATE.
CREATE OR REPLACE FUNCTION audit.bulk_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    tbl CONSTANT text := TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME;
    tx CONSTANT text := pg_current_xact_id()::text;
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM audit.changes
        WHERE table_name = tbl AND row_id = '*' AND operation = TG_OP AND after ->> 'txid' = tx
    ) THEN
        INSERT INTO audit.changes (table_name, row_id, operation, after, changed_by)
        VALUES (tbl, '*', TG_OP,
                jsonb_build_object('bulk', TG_OP <> 'TRUNCATE', 'txid', tx), audit.actor());
    END IF;
    RETURN NULL;
END
$$;

-- 房进格 for one footprint: a cell covering it (the lowest code if several); else the cell
-- with the largest overlap (ties to the lower code). straddles = it overlaps more than one cell
-- with positive area. grid/linking.sql is the same rule, set-based, for all buildings at once:
-- keep the two in step.
CREATE OR REPLACE FUNCTION grid.best_cell(g geometry, OUT cell_id bigint, OUT straddles boolean)
LANGUAGE sql STABLE AS $$
    SELECT x.id, x.n > 1
    FROM (
        SELECT y.id, y.code, y.area, count(*) OVER () AS n
        FROM (
            SELECT c.id, c.code,
                   CASE WHEN ST_Covers(c.geom, g) THEN 'Infinity'::float8
                        WHEN ST_Intersects(c.geom, g) THEN ST_Area(ST_Intersection(c.geom, g))
                        ELSE 0 END AS area
            FROM grid.cells AS c
            WHERE c.geom && g
        ) AS y
        WHERE y.area > 0
    ) AS x
    ORDER BY x.area DESC, x.code
    LIMIT 1
$$;

-- Re-link the buildings whose box meets area (or other_area): one statement, no audit image.
-- SECURITY DEFINER: it runs as the owner, for whom the link switch counts, so that an edit of
-- a cell by any role re-links buildings as derived data; it writes only what the rule
-- computes. Bulk mode is off while it writes: a caller who may bulk-load has no cell trigger
-- calling it in bulk mode, so one who has it on here is one for whom it does not count.
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

CREATE OR REPLACE FUNCTION grid.link_building() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    SELECT best.cell_id, coalesce(best.straddles, false) INTO NEW.cell_id, NEW.straddles
    FROM grid.best_cell(NEW.geom) AS best;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION grid.relink_cell() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM grid.relink_area(NEW.geom);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM grid.relink_area(OLD.geom);
    ELSE
        PERFORM grid.relink_area(OLD.geom, NEW.geom);
    END IF;
    RETURN NULL;
END
$$;

-- Before a cell goes, its buildings are unlinked as derived data, so that the foreign key's
-- ON DELETE SET NULL finds nothing to do (it would be an audited edit of every building).
-- SECURITY DEFINER, bulk mode off while it writes: as grid.relink_area.
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

-- The triggers. BEFORE row triggers fire in name order: link_cell (sets cell_id) runs before
-- version_audit (takes the after image). Each WHEN tests the switches first (a string
-- compare), and whether the role may TRUNCATE the table only when one is on.
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
        EXECUTE format(
            'CREATE OR REPLACE TRIGGER truncate_audit AFTER TRUNCATE ON grid.%I'
            ' FOR EACH STATEMENT EXECUTE FUNCTION audit.bulk_change()', t.name);
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

-- Persons as every ordinary read shows them (docs/domain.md): masked, birth year only.
CREATE OR REPLACE VIEW grid.persons_masked AS
SELECT
    id,
    household_id,
    left(name, 1) || repeat('*', greatest(char_length(name) - 1, 0)) AS name,
    sex,
    extract(year FROM birth_date)::integer AS birth_year,
    relation,
    citizen_id_masked,
    phone_masked,
    version
FROM grid.persons;

-- Revert: set every column of row `key` except the key, the bookkeeping and the derived ones
-- to its value in `image` (an audit image), when the row is at version `base`. Returns the
-- row's version afterwards (unchanged when the image equals the row), NULL when no row
-- matched. The triggers make it a new version like any other edit.
CREATE OR REPLACE FUNCTION audit.restore(
    tbl regclass, key_column text, key text, image jsonb, base integer
) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    cols text;
    result integer;
BEGIN
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols
    FROM pg_attribute
    WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped
      AND attname <> ALL (ARRAY[key_column, 'version', 'updated_by', 'updated_at',
                                'cell_id', 'straddles']);
    EXECUTE format(
        'UPDATE %s AS t SET (%s) = (SELECT %s FROM jsonb_populate_record(NULL::%s, $1))'
        ' WHERE t.%I::text = $2 AND t.version = $3 RETURNING t.version',
        tbl, cols, cols, tbl, key_column)
    INTO result USING image, key, base;
    RETURN result;
END
$$;

-- Restore a deleted row from an audit image (its key, values and the version given in it).
CREATE OR REPLACE FUNCTION audit.reinsert(tbl regclass, image jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('INSERT INTO %s SELECT * FROM jsonb_populate_record(NULL::%s, $1)', tbl, tbl)
    USING image;
END
$$;
