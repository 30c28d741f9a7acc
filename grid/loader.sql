-- Bulk loading of a sample city (grid/loader.py): COPY into staging tables, then one
-- INSERT ... SELECT per table that resolves the links by natural keys in SQL.
-- Staging tables are temporary and dropped at commit; `n` is the row's place in its file.

-- name: stage
DROP TABLE IF EXISTS pg_temp.s_admin, pg_temp.s_workers, pg_temp.s_cells, pg_temp.s_buildings,
    pg_temp.s_houses, pg_temp.s_households, pg_temp.s_persons;
CREATE TEMP TABLE s_admin (n int, code text, name text, level text, parent_code text,
    wkb bytea) ON COMMIT DROP;
CREATE TEMP TABLE s_workers (n int, key text, name text, community_code text,
    phone_enc bytea, phone_hash bytea, phone_masked text) ON COMMIT DROP;
CREATE TEMP TABLE s_cells (n int, code text, name text, community_code text, worker text,
    wkb bytea) ON COMMIT DROP;
CREATE TEMP TABLE s_buildings (n int, code text, name text, use text, floors int,
    address text, community_code text, wkb bytea) ON COMMIT DROP;
CREATE TEMP TABLE s_houses (n bigint, key text, building text, unit text, floor int,
    room text, area_m2 double precision) ON COMMIT DROP;
CREATE TEMP TABLE s_households (n bigint, household_no text, house text, residence text)
    ON COMMIT DROP;
CREATE TEMP TABLE s_persons (n bigint, household_no text, name text, sex text, birth_date date,
    relation text, citizen_id_enc bytea, citizen_id_hash bytea, citizen_id_masked text,
    phone_enc bytea, phone_hash bytea, phone_masked text) ON COMMIT DROP

-- name: invalid_admin
SELECT n, code, ST_IsValidReason(ST_GeomFromWKB(wkb, 4490)) AS reason
FROM s_admin WHERE NOT ST_IsValid(ST_GeomFromWKB(wkb, 4490)) ORDER BY n LIMIT 1

-- name: invalid_cells
SELECT n, code, ST_IsValidReason(ST_GeomFromWKB(wkb, 4490)) AS reason
FROM s_cells WHERE NOT ST_IsValid(ST_GeomFromWKB(wkb, 4490)) ORDER BY n LIMIT 1

-- name: invalid_buildings
SELECT n, code, ST_IsValidReason(ST_GeomFromWKB(wkb, 4490)) AS reason
FROM s_buildings WHERE NOT ST_IsValid(ST_GeomFromWKB(wkb, 4490)) ORDER BY n LIMIT 1

-- name: repeated_admin
SELECT code AS key, min(n) AS n FROM s_admin GROUP BY code HAVING count(*) > 1 ORDER BY 2 LIMIT 1

-- name: repeated_cells
SELECT code AS key, min(n) AS n FROM s_cells GROUP BY code HAVING count(*) > 1 ORDER BY 2 LIMIT 1

-- name: repeated_buildings
SELECT code AS key, min(n) AS n FROM s_buildings GROUP BY code HAVING count(*) > 1
ORDER BY 2 LIMIT 1

-- name: repeated_workers
SELECT key, min(n) AS n FROM s_workers GROUP BY key HAVING count(*) > 1 ORDER BY 2 LIMIT 1

-- name: repeated_houses
SELECT key, min(n) AS n FROM s_houses GROUP BY key HAVING count(*) > 1 ORDER BY 2 LIMIT 1

-- name: repeated_households
SELECT household_no AS key, min(n) AS n FROM s_households GROUP BY household_no
HAVING count(*) > 1 ORDER BY 2 LIMIT 1

-- name: insert_admin
INSERT INTO grid.admin_areas (code, name, level, parent_code, geom)
SELECT code, name, level, nullif(parent_code, ''), ST_Multi(ST_GeomFromWKB(wkb, 4490))
FROM s_admin
ORDER BY n

-- name: insert_workers
INSERT INTO grid.workers (id, name, community_code, phone_enc, phone_hash, phone_masked)
SELECT :base + n, name, community_code, phone_enc, phone_hash, phone_masked
FROM s_workers
ORDER BY n

-- name: insert_cells
INSERT INTO grid.cells (code, name, community_code, worker_id, geom)
SELECT c.code, nullif(c.name, ''), c.community_code, :base + w.n, ST_GeomFromWKB(c.wkb, 4490)
FROM s_cells AS c
LEFT JOIN s_workers AS w ON w.key = c.worker
ORDER BY c.n

-- name: insert_buildings
INSERT INTO grid.buildings (code, name, use, floors, address, address_parts, geom)
SELECT b.code, nullif(b.name, ''), b.use, b.floors, nullif(b.address, ''),
       CASE WHEN cm.code IS NOT NULL THEN jsonb_build_object(
           'province', '江苏省', 'city', '连云港市',
           'county', co.name, 'county_code', co.code,
           'street', st.name, 'street_code', st.code,
           'community', cm.name, 'community_code', cm.code,
           'house_number', b.name) END,
       ST_GeomFromWKB(b.wkb, 4490)
FROM s_buildings AS b
LEFT JOIN grid.admin_areas AS cm ON cm.code = b.community_code AND cm.level = 'community'
LEFT JOIN grid.admin_areas AS st ON st.code = cm.parent_code
LEFT JOIN grid.admin_areas AS co ON co.code = st.parent_code
ORDER BY b.n

-- name: insert_houses
INSERT INTO grid.houses (id, building_id, unit, floor, room, area_m2)
SELECT :base + h.n, b.id, h.unit, h.floor, h.room, h.area_m2
FROM s_houses AS h
LEFT JOIN grid.buildings AS b ON b.code = h.building
ORDER BY h.n

-- name: insert_households
INSERT INTO grid.households (household_no, house_id, residence)
SELECT s.household_no, :base + h.n, s.residence
FROM s_households AS s
LEFT JOIN s_houses AS h ON h.key = s.house
ORDER BY s.n

-- name: insert_persons
INSERT INTO grid.persons (household_id, name, sex, birth_date, relation, citizen_id_enc,
    citizen_id_hash, citizen_id_masked, phone_enc, phone_hash, phone_masked)
SELECT hh.id, p.name, p.sex, p.birth_date, nullif(p.relation, ''), p.citizen_id_enc,
       p.citizen_id_hash, p.citizen_id_masked, p.phone_enc, p.phone_hash, p.phone_masked
FROM s_persons AS p
LEFT JOIN grid.households AS hh ON hh.household_no = p.household_no
ORDER BY p.n

-- name: next_ids
SELECT (SELECT coalesce(max(id), 0) FROM grid.workers) AS workers,
       (SELECT coalesce(max(id), 0) FROM grid.houses) AS houses

-- name: sync_sequences
SELECT setval(pg_get_serial_sequence('grid.workers', 'id'),
              (SELECT coalesce(max(id), 1) FROM grid.workers),
              (SELECT count(*) > 0 FROM grid.workers)),
       setval(pg_get_serial_sequence('grid.houses', 'id'),
              (SELECT coalesce(max(id), 1) FROM grid.houses),
              (SELECT count(*) > 0 FROM grid.houses))

-- name: analyze
ANALYZE grid.admin_areas, grid.workers, grid.cells, grid.buildings, grid.houses,
    grid.households, grid.persons
