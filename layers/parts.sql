-- Metric parts of plan features (layers/parts.py): EPSG:4549, snapped to the grid, valid,
-- cut with ST_Subdivide above the vertex limit, with the 1 km cell of the feature's
-- bounding-box centre (the conflict runs' chunking key). The CTEs are materialised so that
-- each geometry is transformed, snapped and checked once (inlined, the planner would
-- repeat the expression in every filter that uses it).

-- name: make
WITH snapped AS MATERIALIZED (
    SELECT id, layer_version_id AS lv, ST_SnapToGrid(ST_Transform(geom, 4549), :grid) AS g
    FROM plans.features WHERE layer_version_id = :lv
), metric AS MATERIALIZED (
    SELECT id, lv,
           CASE WHEN ST_IsValid(g) THEN g ELSE ST_CollectionExtract(ST_MakeValid(g), 3) END AS g
    FROM snapped
), kept AS MATERIALIZED (
    SELECT id, lv, g, ST_NPoints(g) AS n,
           floor((ST_XMin(g) + ST_XMax(g)) / 2000)::int AS cell_i,
           floor((ST_YMin(g) + ST_YMax(g)) / 2000)::int AS cell_j
    FROM metric WHERE NOT ST_IsEmpty(g)
)
INSERT INTO plans.feature_parts (feature_id, part, parts, layer_version_id, cell_i, cell_j,
    geom)
SELECT id, 0, 1, lv, cell_i, cell_j, g FROM kept WHERE n <= :vertices
UNION ALL
SELECT k.id, (s.no - 1)::smallint, (count(*) OVER (PARTITION BY k.id))::smallint, k.lv,
       k.cell_i, k.cell_j, s.geom
FROM kept k CROSS JOIN LATERAL ST_Subdivide(k.g, :vertices) WITH ORDINALITY AS s(geom, no)
WHERE k.n > :vertices;
ANALYZE plans.feature_parts
