-- Impact of an area on the grid (layers/impact.py): buildings, houses (户室), households and
-- persons inside, by community. Counts only: no personal field is read.
-- The area is the union of im_area's rows (temporary, filled by the caller's source).

-- name: setup
DROP TABLE IF EXISTS pg_temp.im_area;
CREATE TEMP TABLE im_area (geom geometry NOT NULL) ON COMMIT DROP

-- name: area_geometry
INSERT INTO im_area (geom) SELECT ST_GeomFromEWKB(:area)

-- name: area_run
INSERT INTO im_area (geom)
SELECT geom FROM plans.conflict_patches
WHERE run_id = :run AND (CAST(:types AS text[]) IS NULL OR type = ANY(CAST(:types AS text[])))

-- name: area_site
INSERT INTO im_area (geom) SELECT geom FROM plans.site_checks WHERE id = :site

-- name: index_area
CREATE INDEX ON im_area USING gist (geom);
ANALYZE im_area

-- name: by_community
-- A building counts when it meets the area (mode 'intersects') or when its point on surface
-- lies inside (mode 'inside'); once, however many area polygons it meets. Its community is
-- its cell's, else the community holding its point on surface.
WITH b AS (
    SELECT b.id, coalesce(c.community_code, (
               SELECT a.code FROM grid.admin_areas a
               WHERE a.level = 'community' AND ST_Intersects(a.geom, ST_PointOnSurface(b.geom))
               ORDER BY a.code LIMIT 1)) AS community
    FROM grid.buildings b
    LEFT JOIN grid.cells c ON c.id = b.cell_id
    WHERE EXISTS (
        SELECT 1 FROM im_area m
        WHERE m.geom && b.geom
          AND CASE WHEN :mode = 'inside' THEN ST_Intersects(m.geom, ST_PointOnSurface(b.geom))
                   ELSE ST_Intersects(m.geom, b.geom) END)
)
SELECT b.community AS community_code, a.name AS community_name, a.parent_code AS street_code,
       count(DISTINCT b.id) AS buildings, count(DISTINCT h.id) AS houses,
       count(DISTINCT hh.id) AS households, count(p.id) AS persons
FROM b
LEFT JOIN grid.admin_areas a ON a.code = b.community
LEFT JOIN grid.houses h ON h.building_id = b.id
LEFT JOIN grid.households hh ON hh.house_id = h.id
LEFT JOIN grid.persons p ON p.household_id = hh.id
GROUP BY b.community, a.name, a.parent_code
ORDER BY b.community NULLS LAST
