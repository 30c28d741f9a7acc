-- Summaries of stored conflict runs (layers/conflict_summaries.py).

-- name: summary_by_type
SELECT t.type, t.severity, coalesce(p.n, 0) AS patches, coalesce(p.area, 0) AS area_m2,
       coalesce(s.n, 0) AS slivers, coalesce(s.area, 0) AS sliver_m2
FROM (SELECT key AS type, value ->> 'severity' AS severity
      FROM plans.conflict_runs r, jsonb_each(r.parameters -> 'types') AS e(key, value)
      WHERE r.id = :run) t
LEFT JOIN (SELECT type, count(*) AS n, sum(area_m2) AS area FROM plans.conflict_patches
           WHERE run_id = :run GROUP BY type) p ON p.type = t.type
LEFT JOIN (SELECT type, count(*) AS n, sum(area_m2) AS area FROM plans.conflict_slivers
           WHERE run_id = :run GROUP BY type) s ON s.type = t.type

-- name: summary_by_county
SELECT p.county_code, a.name AS county_name, p.type, count(*) AS patches,
       sum(p.area_m2) AS area_m2
FROM plans.conflict_patches p
LEFT JOIN grid.admin_areas a ON a.code = p.county_code
WHERE p.run_id = :run
GROUP BY p.county_code, a.name, p.type
ORDER BY p.county_code NULLS LAST, p.type

-- name: runs
SELECT r.id, r.title, r.started_at, r.finished_at, r.created_by,
       (SELECT count(*) FROM plans.conflict_patches p WHERE p.run_id = r.id) AS patches
FROM plans.conflict_runs r ORDER BY r.id

-- name: run
SELECT id, title, rules_file, rules_sha256, parameters, stats, started_at, finished_at,
       created_by
FROM plans.conflict_runs WHERE id = :run
