-- The caller's side of a conflict run (layers/conflict_work.py). Temporary tables, dropped at
-- the end of the run (and with its savepoint if it fails):
--   pg_temp.conflict_county  counties in EPSG:4549, subdivided
--   pg_temp.conflict_cell    1 km lookup grid: cell → the county holding its centre (chunks)
--   pg_temp.conflict_orient  the conflict types that apply, oriented on the layer pairs
--   pg_temp.conflict_piece   one chunk's non-noise pieces (kept or sliver), as cut by a worker
-- The pairing and cutting happen in worker processes (layers/conflict_cut.py).

-- name: setup
-- The counties as chunks: a feature's chunk is a lookup of its 1 km cell, not a
-- point-in-polygon test per feature.
CREATE TEMP TABLE conflict_orient (no int PRIMARY KEY, type text NOT NULL,
    severity text NOT NULL, swapped boolean NOT NULL, x_lv bigint NOT NULL,
    y_lv bigint NOT NULL, min_area double precision NOT NULL);
CREATE TEMP TABLE conflict_piece (no int NOT NULL, a_id bigint NOT NULL, b_id bigint,
    kept boolean NOT NULL, planar double precision NOT NULL, thin boolean NOT NULL,
    wkb bytea NOT NULL);
CREATE TEMP TABLE conflict_county AS
SELECT code, ST_Subdivide(ST_Transform(geom, 4549), 256) AS geom
FROM grid.admin_areas WHERE level = 'county';
CREATE INDEX ON conflict_county USING gist (geom);
ANALYZE conflict_county;
CREATE TEMP TABLE conflict_cell AS
SELECT DISTINCT ON (i, j) i, j, c.code
FROM (SELECT floor(ST_XMin(e) / 1000)::int AS i0, floor(ST_XMax(e) / 1000)::int AS i1,
             floor(ST_YMin(e) / 1000)::int AS j0, floor(ST_YMax(e) / 1000)::int AS j1
      FROM (SELECT ST_Extent(geom)::geometry AS e FROM conflict_county) x) b
CROSS JOIN generate_series(b.i0, b.i1) AS i
CROSS JOIN generate_series(b.j0, b.j1) AS j
JOIN conflict_county c
    ON ST_Intersects(c.geom, ST_SetSRID(ST_MakePoint(i * 1000 + 500, j * 1000 + 500), 4549))
ORDER BY i, j, c.code;
CREATE UNIQUE INDEX ON conflict_cell (i, j);
ANALYZE conflict_cell

-- name: counties
SELECT DISTINCT code FROM conflict_county ORDER BY code

-- name: layer_parts
-- One layer version's metric parts (plans.feature_parts, made at import: EPSG:4549, snapped,
-- valid, subdivided) that belong to a tested class: ids, part count, class bit mask (the cls
-- placeholder, assembled from rule classes), 2023 first-level class (its two characters as
-- one number: code points are below 1114112; -1 without a code), chunk (0 outside every
-- county, else the position of the county's code in :codes) and bounding box. The chunk is
-- the county of the 1 km cell holding the centre of the feature's bounding box (a
-- partition, not a location). Each column is packed into one value (big-endian binary).
SELECT string_agg(int8send(id), '') AS ids, string_agg(int4send(parts), '') AS parts,
       string_agg(int4send(cls), '') AS cls, string_agg(int8send(use2), '') AS use2,
       string_agg(int4send(chunk), '') AS chunks,
       string_agg(float8send(ST_XMin(b)) || float8send(ST_YMin(b)) || float8send(ST_XMax(b))
                  || float8send(ST_YMax(b)), '') AS boxes
FROM (
    SELECT p.feature_id AS id, p.parts::int AS parts, /*cls*/ AS cls,
           coalesce(ascii(substr(f.code_2023, 1, 1))::bigint * 1114112
                    + ascii(substr(f.code_2023, 2, 1)), -1) AS use2,
           coalesce(array_position(CAST(:codes AS text[]), c.code), 0) AS chunk,
           p.geom::box2d AS b
    FROM plans.feature_parts p
    JOIN plans.features f ON f.id = p.feature_id AND f.layer_version_id = :lv
    LEFT JOIN conflict_cell c ON c.i = p.cell_i AND c.j = p.cell_j
    WHERE p.layer_version_id = :lv
    OFFSET 0  -- the class mask is computed once per part, not again for the filter
) s WHERE cls <> 0

-- name: insert_orient
INSERT INTO conflict_orient (no, type, severity, swapped, x_lv, y_lv, min_area)
VALUES (:no, :type, :severity, :swapped, :x_lv, :y_lv, :min_area)

-- name: copy_pieces
COPY conflict_piece (no, a_id, b_id, kept, planar, thin, wkb) FROM STDIN (FORMAT BINARY)

-- name: insert_patches
-- Kept pieces, one patch per type and feature pair, measured on the CGCS2000 ellipsoid.
INSERT INTO plans.conflict_patches (run_id, type, severity, a_layer_version_id, a_feature_id,
    a_code, a_code_2023, b_layer_version_id, b_feature_id, b_code, b_code_2023, pieces,
    area_m2, area_mu, area_ha, geom)
SELECT :run, r.type, r.severity, fa.layer_version_id, k.a_id, fa.source_code, fa.code_2023,
       CASE WHEN r.swapped THEN r.x_lv ELSE r.y_lv END, k.b_id, fb.source_code, fb.code_2023,
       k.pieces, k.area, k.area / :m2_per_mu, k.area / 10000.0, k.geom
FROM (
    SELECT no, a_id, b_id, count(*) AS pieces, sum(ST_Area(g::geography)) AS area,
           ST_Multi(ST_Collect(g)) AS geom
    FROM (SELECT no, a_id, b_id, ST_Transform(ST_GeomFromWKB(wkb, 4549), 4490) AS g
          FROM conflict_piece WHERE kept) s
    GROUP BY no, a_id, b_id
) k
JOIN conflict_orient r ON r.no = k.no
JOIN plans.features fa ON fa.id = k.a_id
LEFT JOIN plans.features fb ON fb.id = k.b_id

-- name: insert_slivers
INSERT INTO plans.conflict_slivers (run_id, type, a_feature_id, b_feature_id, county_code,
    area_m2, planar_area_m2, by_area, by_width, geom)
SELECT :run, r.type, s.a_id, s.b_id, nullif(:chunk, ''), ST_Area(s.g::geography), s.planar,
       s.planar < r.min_area, s.thin, s.g
FROM (SELECT no, a_id, b_id, planar, thin, ST_Transform(ST_GeomFromWKB(wkb, 4549), 4490) AS g
      FROM conflict_piece WHERE NOT kept) s
JOIN conflict_orient r ON r.no = s.no

-- name: clear_pieces
TRUNCATE conflict_piece

-- name: teardown
DROP TABLE conflict_orient, conflict_piece, conflict_county, conflict_cell
