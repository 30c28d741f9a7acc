-- Reports of a conflict run (layers/reports.py).

-- name: patches
SELECT p.id, p.type, p.severity, va.layer_id AS a_layer, va.version AS a_version,
       fa.source_fid AS a_fid, p.a_code, p.a_code_2023, vb.layer_id AS b_layer,
       vb.version AS b_version, fb.source_fid AS b_fid, p.b_code, p.b_code_2023,
       p.county_code, p.street_code, p.community_code, p.pieces, p.area_m2, p.area_mu,
       p.area_ha, ST_AsBinary(p.geom) AS wkb
FROM plans.conflict_patches p
JOIN plans.layer_versions va ON va.id = p.a_layer_version_id
JOIN plans.layer_versions vb ON vb.id = p.b_layer_version_id
JOIN plans.features fa ON fa.id = p.a_feature_id
LEFT JOIN plans.features fb ON fb.id = p.b_feature_id
WHERE p.run_id = :run
ORDER BY p.type, p.id

-- name: slivers
SELECT s.id, s.type, fa.source_fid AS a_fid, fb.source_fid AS b_fid, s.county_code,
       s.area_m2, s.planar_area_m2, s.by_area, s.by_width, ST_AsBinary(s.geom) AS wkb
FROM plans.conflict_slivers s
JOIN plans.features fa ON fa.id = s.a_feature_id
LEFT JOIN plans.features fb ON fb.id = s.b_feature_id
WHERE s.run_id = :run
ORDER BY s.type, s.id

-- name: background
-- A plan layer for the map: simplified (≈ 1 m) GeoJSON, at most the limit of features;
-- snap-rounded to the 6 decimals written (rounding alone can make parts cross).
SELECT source_fid, source_code, category,
       ST_AsGeoJSON(ST_ReducePrecision(ST_SimplifyPreserveTopology(geom, 0.00001), 1e-6), 6)
           AS geojson
FROM plans.features WHERE layer_version_id = :lv
ORDER BY id LIMIT :limit
