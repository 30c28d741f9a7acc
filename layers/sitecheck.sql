-- Site compliance checks (layers/sitecheck.py). :site is the red line as EWKB in EPSG:4490;
-- overlaps are cut in EPSG:4549 (as conflicts are) and measured on the CGCS2000 ellipsoid.

-- name: site_area
SELECT ST_Area(ST_GeomFromEWKB(:site)::geography)

-- name: overlaps
-- The site's overlap with each feature of one layer version that meets it; /*cls*/ is the
-- feature class the check tests (true for every feature).
SELECT f.id, f.source_fid, f.source_code, f.code_2023, f.category,
       ST_Area(ST_Transform(ST_CollectionExtract(
           ST_Intersection(ST_Transform(f.geom, 4549), s.metric), 3), 4490)::geography) AS m2
FROM (SELECT ST_GeomFromEWKB(:site) AS g,
             ST_Transform(ST_GeomFromEWKB(:site), 4549) AS metric) s
JOIN plans.features f ON f.layer_version_id = :lv AND f.geom && s.g AND ST_Intersects(f.geom, s.g)
WHERE /*cls*/
ORDER BY f.id

-- name: outside
-- The part of the site outside every feature of one layer version (m², ellipsoidal).
SELECT ST_Area(ST_Transform(ST_CollectionExtract(coalesce(
           ST_Difference(s.metric, (SELECT ST_Union(ST_Transform(f.geom, 4549))
                                    FROM plans.features f
                                    WHERE f.layer_version_id = :lv AND f.geom && s.g
                                      AND ST_Intersects(f.geom, s.g))),
           s.metric), 3), 4490)::geography)
FROM (SELECT ST_GeomFromEWKB(:site) AS g,
             ST_Transform(ST_GeomFromEWKB(:site), 4549) AS metric) s

-- name: insert_check
INSERT INTO plans.site_checks (name, source, use, verdict, area_m2, checked_by, geom)
VALUES (:name, :source, :use, :verdict, :area, :checked_by, ST_GeomFromEWKB(:site))
RETURNING id

-- name: insert_item
INSERT INTO plans.site_check_items (site_check_id, kind, layer_version_id, verdict, overlap_m2,
    share, message, features)
VALUES (:check_id, :kind, :lv, :verdict, :overlap, :share, :message, CAST(:features AS jsonb))
