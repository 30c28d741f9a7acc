-- Consistency and coverage checks (grid/coverage.py). Parameters: :community (NULL = all),
-- :tolerance (m², ellipsoidal). Areas are ST_Area(geom::geography) on CGCS2000; locations are
-- ST_PointOnSurface of the piece (lon, lat).

-- name: gaps
WITH communities AS (
    SELECT a.code, a.geom,
           (SELECT ST_Union(c.geom) FROM grid.cells AS c WHERE c.community_code = a.code) AS cells
    FROM grid.admin_areas AS a
    WHERE a.level = 'community' AND (CAST(:community AS text) IS NULL OR a.code = :community)
),
pieces AS (  -- a community without any cell is not gridded yet: counted in notes instead
    SELECT m.code, (ST_Dump(ST_Difference(m.geom, m.cells))).geom AS geom
    FROM communities AS m
    WHERE m.cells IS NOT NULL
)
SELECT p.code AS community, p.area_m2, ST_X(p.point) AS lon, ST_Y(p.point) AS lat
FROM (
    SELECT code, ST_Area(geom::geography) AS area_m2, ST_PointOnSurface(geom) AS point
    FROM pieces
    WHERE ST_Dimension(geom) = 2
) AS p
WHERE p.area_m2 > :tolerance
ORDER BY p.code, p.area_m2 DESC

-- name: overlaps
-- Pairwise intersections only in communities whose cells' areas add up to more than their
-- union: a community without overlap costs one union, not one overlay per neighbour pair.
WITH suspects AS (
    SELECT c.community_code AS code
    FROM grid.cells AS c
    WHERE CAST(:community AS text) IS NULL OR c.community_code = :community
    GROUP BY c.community_code
    HAVING sum(ST_Area(c.geom::geography)) - ST_Area(ST_Union(c.geom)::geography) > :tolerance
)
SELECT a.community_code AS community, a.code AS cell_a, b.code AS cell_b, a.id AS id_a,
       b.id AS id_b, i.area_m2, ST_X(i.point) AS lon, ST_Y(i.point) AS lat
FROM grid.cells AS a
JOIN grid.cells AS b
  ON b.community_code = a.community_code AND a.code < b.code AND ST_Intersects(a.geom, b.geom)
CROSS JOIN LATERAL (
    SELECT ST_Area(g::geography) AS area_m2, ST_PointOnSurface(g) AS point
    FROM ST_CollectionExtract(ST_Intersection(a.geom, b.geom), 3) AS g
) AS i
WHERE a.community_code IN (SELECT code FROM suspects) AND i.area_m2 > :tolerance
ORDER BY a.code, b.code

-- name: cells_outside
SELECT c.id, c.code, c.community_code AS community, ST_Area(c.geom::geography) AS cell_m2,
       d.area_m2, ST_X(d.point) AS lon, ST_Y(d.point) AS lat
FROM grid.cells AS c
JOIN grid.admin_areas AS a ON a.code = c.community_code
CROSS JOIN LATERAL (
    SELECT ST_Area(g::geography) AS area_m2, ST_PointOnSurface(g) AS point
    FROM ST_CollectionExtract(ST_Difference(c.geom, a.geom), 3) AS g
) AS d
WHERE (CAST(:community AS text) IS NULL OR c.community_code = :community)
  AND NOT ST_Covers(a.geom, c.geom)
  AND d.area_m2 > :tolerance
ORDER BY c.code

-- name: unlinked_buildings
-- Linked buildings overlap their cell by construction (the link is kept by the database), so
-- only unlinked ones need the spatial test: outside every cell, or a link not yet computed
-- (e.g. a bulk load that skipped `onemap grid link`).
SELECT b.id, b.code, ST_X(p.point) AS lon, ST_Y(p.point) AS lat,
       EXISTS (
           SELECT 1 FROM grid.cells AS c
           WHERE ST_Intersects(c.geom, b.geom) AND ST_Area(ST_Intersection(c.geom, b.geom)) > 0
       ) AS in_a_cell,
       (SELECT a.code FROM grid.admin_areas AS a
        WHERE a.level = 'community' AND ST_Intersects(a.geom, p.point)
        ORDER BY a.code LIMIT 1) AS community
FROM grid.buildings AS b
CROSS JOIN LATERAL (SELECT ST_PointOnSurface(b.geom) AS point) AS p
WHERE b.cell_id IS NULL
  AND (CAST(:community AS text) IS NULL OR EXISTS (
      SELECT 1 FROM grid.admin_areas AS a
      WHERE a.code = :community AND ST_Intersects(a.geom, b.geom)))
ORDER BY b.code

-- name: houses_without_building
SELECT h.id, h.unit, h.floor, h.room FROM grid.houses AS h
WHERE h.building_id IS NULL
ORDER BY h.id

-- name: households_without_house
SELECT hh.id, hh.household_no FROM grid.households AS hh
WHERE hh.house_id IS NULL
ORDER BY hh.household_no

-- name: persons_without_household
SELECT m.id, m.name, m.citizen_id_masked FROM grid.persons_masked AS m
WHERE m.household_id IS NULL
ORDER BY m.id

-- name: duplicate_citizen_ids
-- Grouped by the keyed hash: equal IDs, whatever their (random-nonce) ciphertexts.
SELECT min(p.citizen_id_masked) AS masked, array_agg(p.id ORDER BY p.id) AS ids,
       array_remove(array_agg(DISTINCT c.community_code), NULL) AS communities
FROM grid.persons AS p
LEFT JOIN grid.households AS hh ON hh.id = p.household_id
LEFT JOIN grid.houses AS h ON h.id = hh.house_id
LEFT JOIN grid.buildings AS b ON b.id = h.building_id
LEFT JOIN grid.cells AS c ON c.id = b.cell_id
WHERE p.citizen_id_hash IS NOT NULL
GROUP BY p.citizen_id_hash
HAVING count(DISTINCT p.id) > 1
   AND (CAST(:community AS text) IS NULL OR CAST(:community AS text) = ANY(array_agg(c.community_code)))
ORDER BY min(p.id)

-- name: straddling
SELECT count(*) FROM grid.buildings AS b
LEFT JOIN grid.cells AS c ON c.id = b.cell_id
WHERE b.straddles AND (CAST(:community AS text) IS NULL OR c.community_code = :community)

-- name: ungridded
SELECT count(*) FROM grid.admin_areas AS a
WHERE a.level = 'community' AND (CAST(:community AS text) IS NULL OR a.code = :community)
  AND NOT EXISTS (SELECT 1 FROM grid.cells AS c WHERE c.community_code = a.code)

-- name: community_exists
SELECT EXISTS (SELECT 1 FROM grid.admin_areas WHERE code = :community AND level = 'community')
