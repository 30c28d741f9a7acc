-- Work tables of a conflict run (layers/conflict_work.py): ordinary tables named {w}... (a
-- prefix unique to the backend) so PostgreSQL can run the heavy statements with parallel
-- workers, which temporary tables forbid; they are created and dropped inside the run's
-- transaction, so no other session ever sees them and a failed run leaves none behind.
--   {w}county  counties in EPSG:4549, subdivided (the chunks)
--   {w}x/{w}y  the metric parts (plans.feature_parts) of the features taking part (first
--              layer / every other layer), with a bit mask of the rule classes they belong
--              to (cls), their 2023 first-level class (use2) and their chunk; {w}y GiST-indexed
--   {w}feat    one row per feature taking part: its classes, use2 and chunk
--   {w}orient  the conflict types that apply, oriented on the (first, other) layer pairs
--   {w}frag, {w}piece, {w}assigned   one chunk's fragments, pieces, and pieces with types
-- Pieces are the polygonal parts of A ∩ B per feature pair (fragments of subdivided parts
-- unioned back per pair), or of A − ∪B; then noise (< noise_m2), sliver (under the type's
-- minimum area, or nowhere wider than the minimum width) or kept.

-- name: setup
-- The counties as chunks: a 1 km lookup grid (cell → the county holding its centre), so a
-- feature's chunk is a hash join on integers, not a point-in-polygon test per feature.
CREATE TABLE {w}orient (no int PRIMARY KEY, type text NOT NULL, severity text NOT NULL,
    op text NOT NULL, x_lv bigint NOT NULL, y_lv bigint NOT NULL, swapped boolean NOT NULL,
    x_bit int NOT NULL, y_bit int NOT NULL, diff_use boolean NOT NULL,
    min_area double precision NOT NULL);
CREATE TABLE {w}county AS
SELECT code, ST_Subdivide(ST_Transform(geom, 4549), 256) AS geom
FROM grid.admin_areas WHERE level = 'county';
CREATE INDEX ON {w}county USING gist (geom);
ANALYZE {w}county;
CREATE TABLE {w}cell AS
SELECT DISTINCT ON (i, j) i, j, c.code
FROM (SELECT floor(ST_XMin(e) / 1000)::int AS i0, floor(ST_XMax(e) / 1000)::int AS i1,
             floor(ST_YMin(e) / 1000)::int AS j0, floor(ST_YMax(e) / 1000)::int AS j1
      FROM (SELECT ST_Extent(geom)::geometry AS e FROM {w}county) x) b
CROSS JOIN generate_series(b.i0, b.i1) AS i
CROSS JOIN generate_series(b.j0, b.j1) AS j
JOIN {w}county c ON ST_Intersects(c.geom, ST_SetSRID(ST_MakePoint(i * 1000 + 500, j * 1000 + 500), 4549))
ORDER BY i, j, c.code;
CREATE UNIQUE INDEX ON {w}cell (i, j);
ANALYZE {w}cell

-- name: has_counties
SELECT EXISTS (SELECT 1 FROM {w}county)

-- name: insert_orient
INSERT INTO {w}orient (no, type, severity, op, x_lv, y_lv, swapped, x_bit, y_bit, diff_use,
    min_area)
VALUES (:no, :type, :severity, :op, :x_lv, :y_lv, :swapped, :x_bit, :y_bit, :diff_use,
    :min_area);
ANALYZE {w}orient

-- name: layer_features
-- One layer's metric parts (plans.feature_parts, made at import: EPSG:4549, snapped, valid,
-- subdivided) that belong to a tested class, for {w}x (the first layer) or {w}y (the others,
-- joined by UNION ALL). The cls placeholder is the layer's class bit mask, assembled from
-- rule classes. The chunk is the county of the 1 km cell holding the centre of the
-- feature's bounding box (a partition, not a location: any one point per feature does).
SELECT * FROM (
    SELECT p.feature_id AS id, p.part, p.layer_version_id AS lv, /*cls*/ AS cls,
           left(f.code_2023, 2) AS use2, coalesce(c.code, '') AS chunk, p.parts = 1 AS whole,
           p.geom
    FROM plans.feature_parts p
    JOIN plans.features f ON f.id = p.feature_id
    LEFT JOIN {w}cell c ON c.i = p.cell_i AND c.j = p.cell_j
    WHERE p.layer_version_id = /*lv*/
    OFFSET 0  -- the class mask is computed once per part, not again for the filter
) s WHERE cls <> 0

-- name: index
-- {w}feat: one row per feature (classes, chunk) for typing the pieces.
CREATE INDEX ON {w}x (chunk);
CREATE INDEX ON {w}y (chunk);
CREATE TABLE {w}feat AS
SELECT id, lv, cls, use2, chunk FROM {w}x WHERE part = 0
UNION ALL
SELECT id, lv, cls, use2, chunk FROM {w}y WHERE part = 0;
CREATE UNIQUE INDEX ON {w}feat (id);
ANALYZE {w}feat;
ANALYZE {w}x;
ANALYZE {w}y

-- name: index_x
-- Only for difference types whose A side is in another layer: they look up first-layer parts.
CREATE INDEX ON {w}x USING gist (geom)

-- name: index_y
-- Only for difference types whose A side is in the first layer: they look up other parts.
CREATE INDEX ON {w}y USING gist (geom)

-- name: chunk_frag
-- Fragments of the (first-layer part x, other-layer part y) pairs of one intersection type
-- (layers/conflict_work.py joins the types by UNION ALL): the walk side's parts of the chunk
-- probe the probe side's partial GiST index. The pairs placeholder is the type's class test
-- on (x, y), integer and text comparisons only, so it is made before the costly geometry
-- tests. Pairs whose interiors do not meet are left out (ST_Relate 'T********'): in two
-- tessellations most candidate pairs are neighbours that only share an edge, and their
-- intersection has no area.
SELECT x.id AS x_id, y.id AS y_id, x.whole AND y.whole AS whole,
       ST_CollectionExtract(ST_Intersection(x.geom, y.geom), 3) AS geom
FROM {w}/*walk*/ /*walk*/
JOIN {w}/*probe*/ /*probe*/ ON /*probe*/.geom && /*walk*/.geom AND /*pairs*/
    AND ST_Relate(x.geom, y.geom, 'T********')
WHERE /*walk*/.chunk = :chunk

-- name: class_counts
-- Parts per side, layer version and class bit: which side of a type is the smaller.
-- Counted per class mask, then split into bits (few masks, no per-bit scan).
SELECT 'x' AS side, lv, cls, count(*) FROM {w}x GROUP BY lv, cls
UNION ALL
SELECT 'y', lv, cls, count(*) FROM {w}y GROUP BY lv, cls

-- name: empty_frag
-- No intersection type: difference types only.
CREATE TABLE {w}frag (x_id bigint, y_id bigint, whole boolean, geom geometry)

-- name: chunk_pieces
-- Polygon pieces: of the intersections (fragments of subdivided features unioned back per
-- feature pair), and of each A feature of a difference type minus the B parts it meets
-- (A in the first layer and B in the others, or the other way round).
CREATE TABLE {w}piece AS
SELECT NULL::int AS no, p.x_id, p.y_id, d.geom, ST_Area(d.geom) AS planar
FROM (
    SELECT x_id, y_id, geom FROM {w}frag WHERE whole
    UNION ALL
    SELECT x_id, y_id, ST_UnaryUnion(ST_Collect(geom)) FROM {w}frag WHERE NOT whole
    GROUP BY x_id, y_id
) p
CROSS JOIN LATERAL ST_Dump(p.geom) d
UNION ALL
SELECT r.no, a.id, NULL, d.geom, ST_Area(d.geom)
FROM {w}orient r
JOIN (SELECT id, lv, cls, geom FROM {w}x WHERE whole AND chunk = :chunk
      UNION ALL
      SELECT id, lv, cls, ST_UnaryUnion(ST_Collect(geom)) FROM {w}x
      WHERE NOT whole AND chunk = :chunk GROUP BY id, lv, cls) a
    ON a.lv = r.x_lv AND (a.cls & r.x_bit) <> 0
CROSS JOIN LATERAL (
    SELECT coalesce(ST_Difference(a.geom, ST_Union(b.geom)), a.geom) AS geom
    FROM {w}y b
    WHERE b.lv = r.y_lv AND (b.cls & r.y_bit) <> 0
      AND b.geom && a.geom AND ST_Intersects(b.geom, a.geom)
) rest
CROSS JOIN LATERAL ST_Dump(ST_CollectionExtract(rest.geom, 3)) d
WHERE r.op = 'difference' AND NOT r.swapped
UNION ALL
SELECT r.no, a.id, NULL, d.geom, ST_Area(d.geom)
FROM {w}orient r
JOIN (SELECT id, lv, cls, geom FROM {w}y WHERE whole AND chunk = :chunk
      UNION ALL
      SELECT id, lv, cls, ST_UnaryUnion(ST_Collect(geom)) FROM {w}y
      WHERE NOT whole AND chunk = :chunk GROUP BY id, lv, cls) a
    ON a.lv = r.y_lv AND (a.cls & r.y_bit) <> 0
CROSS JOIN LATERAL (
    SELECT coalesce(ST_Difference(a.geom, ST_Union(b.geom)), a.geom) AS geom
    FROM {w}x b
    WHERE b.lv = r.x_lv AND (b.cls & r.x_bit) <> 0
      AND b.geom && a.geom AND ST_Intersects(b.geom, a.geom)
) rest
CROSS JOIN LATERAL ST_Dump(ST_CollectionExtract(rest.geom, 3)) d
WHERE r.op = 'difference' AND r.swapped

-- name: chunk_assign
-- Each piece with the type(s) it makes, oriented A (builder) / B, and its kind.
CREATE TABLE {w}assigned AS
SELECT no, a_id, b_id,
       CASE WHEN planar < :noise THEN 'noise'
            WHEN planar < min_area OR thin THEN 'sliver' ELSE 'kept' END AS kind,
       geom, planar, thin,
       CASE WHEN planar >= :noise THEN ST_Area(ST_Transform(geom, 4490)::geography) END
           AS area
FROM (
    SELECT r.no, r.min_area, p.geom, p.planar, p.x_id AS a_id, NULL::bigint AS b_id,
           CASE WHEN p.planar >= :noise
                THEN ST_IsEmpty(ST_Buffer(p.geom, -:half_width)) END AS thin
    FROM {w}piece p
    JOIN {w}orient r ON r.no = p.no
    UNION ALL
    SELECT r.no, r.min_area, p.geom, p.planar,
           CASE WHEN r.swapped THEN p.y_id ELSE p.x_id END,
           CASE WHEN r.swapped THEN p.x_id ELSE p.y_id END,
           CASE WHEN p.planar >= :noise
                THEN ST_IsEmpty(ST_Buffer(p.geom, -:half_width)) END
    FROM {w}piece p
    JOIN {w}feat x ON x.id = p.x_id
    JOIN {w}feat y ON y.id = p.y_id
    JOIN {w}orient r ON r.op = 'intersection' AND r.x_lv = x.lv AND r.y_lv = y.lv
        AND (x.cls & r.x_bit) <> 0 AND (y.cls & r.y_bit) <> 0
        AND (NOT r.diff_use OR x.use2 <> y.use2)
    WHERE p.no IS NULL
) s

-- name: insert_patches
INSERT INTO plans.conflict_patches (run_id, type, severity, a_layer_version_id, a_feature_id,
    a_code, a_code_2023, b_layer_version_id, b_feature_id, b_code, b_code_2023, pieces,
    area_m2, area_mu, area_ha, geom)
SELECT :run, r.type, r.severity, fa.layer_version_id, k.a_id, fa.source_code, fa.code_2023,
       CASE WHEN r.swapped THEN r.x_lv ELSE r.y_lv END, k.b_id, fb.source_code, fb.code_2023,
       k.pieces, k.area, k.area / :m2_per_mu, k.area / 10000.0, k.geom
FROM (
    SELECT no, a_id, b_id, count(*) AS pieces, sum(area) AS area,
           ST_Multi(ST_Collect(ST_Transform(geom, 4490))) AS geom
    FROM {w}assigned WHERE kind = 'kept'
    GROUP BY no, a_id, b_id
) k
JOIN {w}orient r ON r.no = k.no
JOIN plans.features fa ON fa.id = k.a_id
LEFT JOIN plans.features fb ON fb.id = k.b_id

-- name: insert_slivers
INSERT INTO plans.conflict_slivers (run_id, type, a_feature_id, b_feature_id, county_code,
    area_m2, planar_area_m2, by_area, by_width, geom)
SELECT :run, r.type, s.a_id, s.b_id, nullif(:chunk, ''), s.area, s.planar,
       s.planar < r.min_area, s.thin, ST_Transform(s.geom, 4490)
FROM {w}assigned s JOIN {w}orient r ON r.no = s.no
WHERE s.kind = 'sliver'

-- name: chunk_stats
SELECT r.type, s.kind, count(*) AS n FROM {w}assigned s JOIN {w}orient r ON r.no = s.no
GROUP BY r.type, s.kind

-- name: clear_chunk
DROP TABLE {w}frag, {w}piece, {w}assigned

-- name: teardown
DROP TABLE {w}orient, {w}county, {w}cell, {w}feat, {w}x, {w}y
