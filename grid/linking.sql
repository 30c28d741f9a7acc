-- 房进格 for every building in one statement: the rule of grid.best_cell (grid/audit.sql) made
-- set-based; keep the two in step. One pass over the buildings, one GiST probe each for the
-- cells whose box meets the footprint (usually one). A cell covering the footprint wins
-- without any overlay (ST_Covers, prepared); ST_Intersection areas are computed only for
-- footprints crossing a cell boundary. straddles = positive overlap with more than one cell.

-- name: choice
WITH choice AS (
    SELECT b.id, b.cell_id AS old_cell, best.cell_id, coalesce(best.straddles, false) AS straddles
    FROM grid.buildings AS b
    LEFT JOIN LATERAL (
        SELECT x.id AS cell_id, x.n > 1 AS straddles
        FROM (
            SELECT y.id, y.code, y.area, count(*) OVER () AS n
            FROM (
                SELECT c.id, c.code,
                       CASE WHEN ST_Covers(c.geom, b.geom) THEN 'Infinity'::float8
                            WHEN ST_Intersects(c.geom, b.geom)
                            THEN ST_Area(ST_Intersection(c.geom, b.geom))
                            ELSE 0 END AS area
                FROM grid.cells AS c
                WHERE c.geom && b.geom
            ) AS y
            WHERE y.area > 0
        ) AS x
        ORDER BY x.area DESC, x.code
        LIMIT 1
    ) AS best ON true
    WHERE b.cell_id IS DISTINCT FROM best.cell_id
       OR b.straddles IS DISTINCT FROM coalesce(best.straddles, false)
)

-- name: update_bare
UPDATE grid.buildings AS b
SET cell_id = choice.cell_id, straddles = choice.straddles
FROM choice
WHERE b.id = choice.id

-- name: update_report
, moved AS (
    UPDATE grid.buildings AS b
    SET cell_id = choice.cell_id, straddles = choice.straddles
    FROM choice
    WHERE b.id = choice.id
    RETURNING b.code, choice.old_cell, choice.cell_id, choice.straddles
)
SELECT
    count(*) FILTER (WHERE old_cell IS NOT NULL AND cell_id IS NOT NULL
                     AND old_cell <> cell_id) AS moved,
    count(*) FILTER (WHERE old_cell IS NULL AND cell_id IS NOT NULL) AS linked,
    count(*) FILTER (WHERE old_cell IS NOT NULL AND cell_id IS NULL) AS unlinked,
    count(*) FILTER (WHERE old_cell IS NOT DISTINCT FROM cell_id) AS flag_changed,
    (SELECT coalesce(jsonb_agg(s), '[]'::jsonb) FROM (
        SELECT m.code AS building, oc.code AS from_cell, nc.code AS to_cell, m.straddles
        FROM moved AS m
        LEFT JOIN grid.cells AS oc ON oc.id = m.old_cell
        LEFT JOIN grid.cells AS nc ON nc.id = m.cell_id
        WHERE m.old_cell IS DISTINCT FROM m.cell_id
        ORDER BY m.code
        LIMIT :sample
    ) AS s) AS sample
FROM moved

-- name: straddling
SELECT b.code AS building, c.code AS cell
FROM grid.buildings AS b
LEFT JOIN grid.cells AS c ON c.id = b.cell_id
WHERE b.straddles
ORDER BY b.code
LIMIT :limit

-- name: straddling_count
SELECT count(*) FROM grid.buildings WHERE straddles

-- name: summary
INSERT INTO audit.changes (table_name, row_id, operation, after, changed_by)
VALUES ('grid.buildings', '*', 'UPDATE', CAST(:after AS jsonb), audit.actor())
