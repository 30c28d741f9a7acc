-- Cell operations (grid/cells.py): split, merge, redraw. Geometries are bound as EWKB.

-- name: lock_cell
SELECT c.id, c.code, c.community_code, c.worker_id, c.version, ST_AsEWKB(c.geom) AS geom
FROM grid.cells AS c
WHERE c.code = :code
FOR UPDATE

-- name: pieces
-- The polygons a line cuts the cell into, largest first, with their ellipsoidal areas.
SELECT ST_AsEWKB(p.geom) AS geom, ST_Area(p.geom::geography) AS area_m2,
       ST_X(ST_PointOnSurface(p.geom)) AS x, ST_Y(ST_PointOnSurface(p.geom)) AS y
FROM ST_Dump(ST_Split(ST_GeomFromEWKB(:cell), ST_GeomFromEWKB(:line))) AS p
WHERE ST_Dimension(p.geom) = 2
ORDER BY ST_Area(p.geom::geography) DESC

-- name: merged
SELECT ST_AsEWKB(u) AS geom, ST_NumGeometries(u) AS parts
FROM (SELECT ST_UnaryUnion(ST_Collect(geom)) AS u FROM grid.cells WHERE code = ANY(:codes)) AS m

-- name: outside_community
-- The part of a geometry outside its community, when above the tolerance.
SELECT d.area_m2, ST_X(d.point) AS lon, ST_Y(d.point) AS lat
FROM grid.admin_areas AS a
CROSS JOIN LATERAL (
    SELECT ST_Area(g::geography) AS area_m2, ST_PointOnSurface(g) AS point
    FROM ST_CollectionExtract(ST_Difference(ST_GeomFromEWKB(:geom), a.geom), 3) AS g
) AS d
WHERE a.code = :community AND d.area_m2 > :tolerance

-- name: overlapping_cells
SELECT c.code, i.area_m2
FROM grid.cells AS c
CROSS JOIN LATERAL (
    SELECT ST_Area(ST_CollectionExtract(
        ST_Intersection(c.geom, ST_GeomFromEWKB(:geom)), 3)::geography) AS area_m2
) AS i
WHERE c.code <> ALL(:except_codes)
  AND ST_Intersects(c.geom, ST_GeomFromEWKB(:geom))
  AND i.area_m2 > :tolerance
ORDER BY c.code

-- name: used_codes
-- Codes in use and retired (deleted cells keep their codes out of reuse).
SELECT code FROM grid.cells WHERE community_code = :community
UNION
SELECT before ->> 'code' FROM audit.changes
WHERE table_name = 'grid.cells' AND operation = 'DELETE'
  AND before ->> 'community_code' = :community

-- name: building_cells
SELECT b.code, c.code AS cell
FROM grid.buildings AS b
LEFT JOIN grid.cells AS c ON c.id = b.cell_id
WHERE b.geom && ST_GeomFromEWKB(:area)

-- name: set_geom
UPDATE grid.cells SET geom = ST_GeomFromEWKB(:geom) WHERE id = :id RETURNING version

-- name: insert_cell
INSERT INTO grid.cells (code, community_code, worker_id, geom)
VALUES (:code, :community, :worker, ST_GeomFromEWKB(:geom))

-- name: delete_cells
DELETE FROM grid.cells WHERE code = ANY(:codes)
