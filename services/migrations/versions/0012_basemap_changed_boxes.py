"""the boxes where drawn data changed, for the base maps' tile cache (schema tiles)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 13:30:00

``tiles.changed_boxes`` is a queue: one row per statement that changed grid.buildings,
grid.admin_areas, grid.cells or the current-use (三调) layer's rows of plans.features, with
the lon/lat (CGCS2000) extent of the old and new geometries of the rows it changed. The
server drains it (services/basemaps/cache/changes.py) and drops the cached tiles over each
box. Statement-level AFTER triggers with transition tables write it, so a bulk import of
100 000 buildings adds one row, not 100 000. PostgreSQL allows a transition table only on a
trigger of one event, hence three triggers per table; none of the four tables is partitioned
or inherited. A BEFORE TRUNCATE trigger records the extent of what a truncate empties (the
sample loader's ``--replace``).

An UPDATE that changes nothing drawn records nothing: old and new rows are paired by key and
only pairs whose drawn columns differ count (buildings: geom; admin areas: geom, name and
level, since the labels show names; cells: geom and name; plan features: geom, code_2023,
category and the version). Unpaired rows (a key changed) count, so the rule is safe; the
房进格 link's updates of buildings.cell_id record nothing. For plans.features only rows of a
layer whose plan_type is 'current_use' count; rows whose version row is already gone (a
cascade from plans.layer_versions) count too, their layer being unknown. Inserting a new
version of a current-use layer also records the extent of the version before it, which the
styles stop drawing; once per transaction and version, however many COPY chunks it takes.

The trigger functions are SECURITY DEFINER with a fixed search_path: they run as the owner,
so the server's role (which edits the grid) needs no INSERT on the queue. onemap_app may
SELECT and DELETE its rows, and UPDATE one column, which ``SELECT … FOR UPDATE SKIP
LOCKED`` requires to lock a row. The triggers ignore ``onemap.bulk`` and ``onemap.link``:
bulk loads change drawn data too. The SQL is carried here, frozen; the downgrade drops it
all.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GRID = {
    "grid.buildings": ("id", "geom"),
    "grid.admin_areas": ("code", "geom, name, level"),
    "grid.cells": ("id", "geom, name"),
}
"""Grid tables: key, and the columns whose change an UPDATE must record."""
PLANS = ("plans.features", "id", "geom, code_2023, category, layer_version_id")

SCHEMA = r"""
CREATE SCHEMA tiles;
COMMENT ON SCHEMA tiles IS 'Bookkeeping of the base maps'' tile cache';

CREATE TABLE tiles.changed_boxes (
    id bigserial NOT NULL,
    source text NOT NULL,
    box geometry(Polygon, 4490) NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT pk_changed_boxes PRIMARY KEY (id)
);
COMMENT ON TABLE tiles.changed_boxes IS
    'Per changing statement: the lon/lat extent of the drawn rows it changed (old and new);'
    ' drained by the server, which drops the cached tiles over it';

-- Record one box (nothing for an empty extent). ST_MakeEnvelope: always a polygon, even
-- for a degenerate extent.
CREATE FUNCTION tiles.record(source text, extent box2d) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, public, pg_temp AS $$
    INSERT INTO tiles.changed_boxes (source, box)
    SELECT source, ST_MakeEnvelope(ST_XMin(extent), ST_YMin(extent),
                                   ST_XMax(extent), ST_YMax(extent), 4490)
    WHERE extent IS NOT NULL;
$$;

-- INSERT or DELETE of a grid table: the extent of the transition table "changed".
CREATE FUNCTION tiles.on_grid_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    extent box2d;
BEGIN
    SELECT ST_Extent(geom) INTO extent FROM changed;
    PERFORM tiles.record(TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, extent);
    RETURN NULL;
END
$$;

-- UPDATE of a grid table (arguments: key column, drawn columns): old and new rows paired by
-- key; a pair counts when a drawn column differs, an unpaired row always.
CREATE FUNCTION tiles.on_grid_update() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    drawn CONSTANT text[] := string_to_array(replace(TG_ARGV[1], ' ', ''), ',');
    extent box2d;
BEGIN
    EXECUTE format(
        'SELECT ST_Extent(g) FROM (
             SELECT o.geom AS og, n.geom AS ng
             FROM old_rows AS o FULL JOIN new_rows AS n ON n.%1$I = o.%1$I
             WHERE o.%1$I IS NULL OR n.%1$I IS NULL OR (%2$s) IS DISTINCT FROM (%3$s)
         ) AS p CROSS JOIN LATERAL (VALUES (p.og), (p.ng)) AS v(g)',
        TG_ARGV[0],
        (SELECT string_agg(format('o.%I', c), ', ') FROM unnest(drawn) AS c),
        (SELECT string_agg(format('n.%I', c), ', ') FROM unnest(drawn) AS c)
    ) INTO extent;
    PERFORM tiles.record(TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, extent);
    RETURN NULL;
END
$$;

-- The versions of layers that are not current-use ones: a row of any other version counts
-- (a version row already gone, by a cascade, cannot say its layer's plan type).
CREATE FUNCTION tiles.other_versions() RETURNS SETOF bigint
LANGUAGE sql STABLE SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT v.id FROM plans.layer_versions AS v JOIN plans.layers AS l ON l.id = v.layer_id
    WHERE l.plan_type <> 'current_use';
$$;

-- The extent of the versions that the current-use versions inserted into supersede (the one
-- just before each), each counted once per transaction.
CREATE FUNCTION tiles.superseded(inserted bigint[]) RETURNS box2d
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    done CONSTANT text := coalesce(current_setting('onemap.tiles_superseded', true), '');
    versions bigint[];
BEGIN
    SELECT array_agg(DISTINCT p.id) INTO versions
    FROM plans.layer_versions AS v
    CROSS JOIN LATERAL (
        SELECT b.id FROM plans.layer_versions AS b
        WHERE b.layer_id = v.layer_id AND b.version < v.version
        ORDER BY b.version DESC LIMIT 1
    ) AS p
    WHERE v.id = ANY(inserted)
      AND NOT p.id::text = ANY(string_to_array(done, ','));
    IF versions IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('onemap.tiles_superseded',
                       concat_ws(',', nullif(done, ''), array_to_string(versions, ',')), true);
    RETURN (SELECT ST_Extent(geom) FROM plans.features WHERE layer_version_id = ANY(versions));
END
$$;

-- INSERT, UPDATE or DELETE of plans.features: only rows of current-use layers count.
CREATE FUNCTION tiles.on_plan_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    extent box2d;
    inserted bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT ST_Extent(geom), array_agg(DISTINCT layer_version_id) INTO extent, inserted
        FROM new_rows WHERE layer_version_id NOT IN (SELECT tiles.other_versions());
        IF inserted IS NOT NULL THEN
            SELECT ST_Extent(b::geometry) INTO extent
            FROM (VALUES (extent), (tiles.superseded(inserted))) AS v(b);
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT ST_Extent(geom) INTO extent
        FROM old_rows WHERE layer_version_id NOT IN (SELECT tiles.other_versions());
    ELSE
        EXECUTE format(
            'SELECT ST_Extent(g) FROM (
                 SELECT o.geom AS og, n.geom AS ng
                 FROM old_rows AS o FULL JOIN new_rows AS n ON n.id = o.id
                 WHERE (o.id IS NULL OR n.id IS NULL OR (%1$s) IS DISTINCT FROM (%2$s))
                   AND (o.layer_version_id NOT IN (SELECT tiles.other_versions())
                        OR n.layer_version_id NOT IN (SELECT tiles.other_versions()))
             ) AS p CROSS JOIN LATERAL (VALUES (p.og), (p.ng)) AS v(g)',
            'o.geom, o.code_2023, o.category, o.layer_version_id',
            'n.geom, n.code_2023, n.category, n.layer_version_id'
        ) INTO extent;
    END IF;
    PERFORM tiles.record('plans.features', extent);
    RETURN NULL;
END
$$;

-- BEFORE TRUNCATE: the extent of what is about to go (argument: a filter, or none).
CREATE FUNCTION tiles.on_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    extent box2d;
BEGIN
    EXECUTE format('SELECT ST_Extent(geom) FROM %I.%I WHERE %s',
                   TG_TABLE_SCHEMA, TG_TABLE_NAME, coalesce(TG_ARGV[0], 'true')) INTO extent;
    PERFORM tiles.record(TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, extent);
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION tiles.on_grid_rows(), tiles.on_grid_update(), tiles.on_plan_rows(),
    tiles.on_truncate() FROM PUBLIC;

GRANT USAGE ON SCHEMA tiles TO onemap_app;
GRANT SELECT, DELETE, UPDATE (changed_at) ON tiles.changed_boxes TO onemap_app;
"""

TRIGGERS = r"""
CREATE TRIGGER changed_box_insert AFTER INSERT ON {table}
REFERENCING NEW TABLE AS {new} FOR EACH STATEMENT EXECUTE FUNCTION {rows};
CREATE TRIGGER changed_box_update AFTER UPDATE ON {table}
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION {update};
CREATE TRIGGER changed_box_delete AFTER DELETE ON {table}
REFERENCING OLD TABLE AS {old} FOR EACH STATEMENT EXECUTE FUNCTION {rows};
CREATE TRIGGER changed_box_truncate BEFORE TRUNCATE ON {table}
FOR EACH STATEMENT EXECUTE FUNCTION tiles.on_truncate({truncate});
"""

TABLES = (*GRID, PLANS[0])


def _run_script(script: str) -> None:
    """Send a multi-statement script as is: no parameters, so '%' and ':' need no escaping."""
    op.get_bind().exec_driver_sql(script, execution_options={"no_parameters": True})


def upgrade() -> None:
    _run_script(SCHEMA)
    for table, (key, drawn) in GRID.items():
        _run_script(
            TRIGGERS.format(
                table=table,
                new="changed",
                old="changed",
                rows="tiles.on_grid_rows()",
                update=f"tiles.on_grid_update('{key}', '{drawn}')",
                truncate="",
            )
        )
    _run_script(
        TRIGGERS.format(
            table=PLANS[0],
            new="new_rows",
            old="old_rows",
            rows="tiles.on_plan_rows()",
            update="tiles.on_plan_rows()",
            truncate="'layer_version_id NOT IN (SELECT tiles.other_versions())'",
        )
    )


def downgrade() -> None:
    for table in TABLES:
        for event in ("insert", "update", "delete", "truncate"):
            op.execute(f"DROP TRIGGER IF EXISTS changed_box_{event} ON {table}")
    op.execute("DROP TABLE tiles.changed_boxes")
    op.execute("DROP FUNCTION tiles.on_truncate()")
    op.execute("DROP FUNCTION tiles.on_plan_rows()")
    op.execute("DROP FUNCTION tiles.superseded(bigint[])")
    op.execute("DROP FUNCTION tiles.other_versions()")
    op.execute("DROP FUNCTION tiles.on_grid_update()")
    op.execute("DROP FUNCTION tiles.on_grid_rows()")
    op.execute("DROP FUNCTION tiles.record(text, box2d)")
    op.execute("DROP SCHEMA tiles")
