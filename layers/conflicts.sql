-- Conflict runs (layers/conflicts.py): the run record, its layers, its chunks, and where
-- its patches lie. The chunks' temporary tables are in conflict_work.sql.

-- name: chunks
SELECT code FROM grid.admin_areas WHERE level = 'county' ORDER BY code

-- name: locate_patches
-- County, street and community of each patch: the ones holding its point on surface.
UPDATE plans.conflict_patches p
SET community_code = h.community, street_code = h.street, county_code = h.county
FROM (
    SELECT DISTINCT ON (p.id) p.id, c.code AS community, c.parent_code AS street,
           s.parent_code AS county
    FROM plans.conflict_patches p
    JOIN grid.admin_areas c ON c.level = 'community'
        AND ST_Intersects(c.geom, ST_PointOnSurface(p.geom))
    LEFT JOIN grid.admin_areas s ON s.code = c.parent_code
    WHERE p.run_id = :run
    ORDER BY p.id, c.code
) h
WHERE p.id = h.id;
UPDATE plans.conflict_patches p SET county_code = h.code
FROM (
    SELECT DISTINCT ON (p.id) p.id, c.code
    FROM plans.conflict_patches p
    JOIN grid.admin_areas c ON c.level = 'county'
        AND ST_Intersects(c.geom, ST_PointOnSurface(p.geom))
    WHERE p.run_id = :run AND p.county_code IS NULL
    ORDER BY p.id, c.code
) h
WHERE p.id = h.id

-- name: new_run
INSERT INTO plans.conflict_runs (title, rules_file, rules_sha256, parameters, created_by)
VALUES (:title, :rules_file, :rules_sha256, CAST(:parameters AS jsonb), :created_by)
RETURNING id

-- name: run_layer
INSERT INTO plans.conflict_run_layers (run_id, layer_version_id, role)
VALUES (:run, :lv, :role)

-- name: finish_run
UPDATE plans.conflict_runs SET finished_at = clock_timestamp(), stats = CAST(:stats AS jsonb)
WHERE id = :run
