-- The collection registry's queries: extents and the plan layer versions.
-- {table} and {where} are filled from a CollectionSpec (quoted identifiers, bound values).

-- name: extent
SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), t0, t1
FROM (SELECT ST_Extent(t.{geom}) AS e, {t0} AS t0, {t1} AS t1 FROM {table} AS t {where}) AS s

-- name: plan_versions
SELECT l.id AS layer_id, l.title, l.department, l.plan_type, p.name AS plan_type_name,
       v.id AS version_id, v.version, v.snapshot_date, v.source_name, v.imported_at,
       v.version = max(v.version) OVER (PARTITION BY l.id) AS latest
FROM plans.layers AS l
JOIN plans.layer_versions AS v ON v.layer_id = l.id
LEFT JOIN plans.plan_types AS p ON p.code = l.plan_type
ORDER BY l.id, v.version

-- name: plan_extents
SELECT layer_version_id, ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
FROM (SELECT layer_version_id, ST_Extent(geom) AS e FROM plans.features GROUP BY 1) AS s

-- name: conflict_runs
-- Finished conflict runs with the layers they compared (a: first, b: others) and the extent
-- of their patches; a run without patches is still published (an empty collection).
SELECT r.id, r.title, r.started_at, r.finished_at, r.created_by,
       (SELECT string_agg(format('%s v%s (%s)', v.layer_id, v.version, rl.role), ', '
                          ORDER BY rl.role, v.layer_id)
        FROM plans.conflict_run_layers AS rl
        JOIN plans.layer_versions AS v ON v.id = rl.layer_version_id
        WHERE rl.run_id = r.id) AS layers,
       ST_XMin(e.e), ST_YMin(e.e), ST_XMax(e.e), ST_YMax(e.e)
FROM plans.conflict_runs AS r
LEFT JOIN LATERAL (SELECT ST_Extent(p.geom) AS e FROM plans.conflict_patches AS p
                   WHERE p.run_id = r.id) AS e ON TRUE
WHERE r.finished_at IS NOT NULL
ORDER BY r.id

-- name: fingerprint
-- What the published collections depend on, beyond the fixed grid tables: plan layer
-- versions and finished conflict runs. Read every few seconds by each server process, so a
-- new import or run is published without `onemap ogc refresh` (a reload changes imported_at).
SELECT (SELECT row(count(*), max(id), max(imported_at))::text FROM plans.layer_versions),
       (SELECT row(count(*), max(id), max(finished_at))::text FROM plans.conflict_runs
        WHERE finished_at IS NOT NULL)
