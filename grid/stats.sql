-- Statistics per cell, rolled up to the areas of one level in one query (grid/stats.py).
-- A cell's area at each level follows from its code (the admin_areas constraints tie every
-- code to its parent's): community = first 12 digits, street = first 9 + '000', county =
-- first 6 + '000000'. Parameters: :level, :born_by (elderly = born on or before).

-- name: rollup
WITH house_cell AS (
    SELECT h.id, b.cell_id
    FROM grid.houses AS h
    JOIN grid.buildings AS b ON b.id = h.building_id
    WHERE b.cell_id IS NOT NULL
),
per_cell AS (
    SELECT c.id, c.code, c.community_code,
           coalesce(bs.n, 0) AS buildings, coalesce(hs.n, 0) AS houses,
           coalesce(hhs.n, 0) AS households, coalesce(ps.n, 0) AS persons,
           coalesce(ps.elderly, 0) AS elderly
    FROM grid.cells AS c
    LEFT JOIN (SELECT cell_id, count(*) AS n FROM grid.buildings GROUP BY cell_id) AS bs
           ON bs.cell_id = c.id
    LEFT JOIN (SELECT cell_id, count(*) AS n FROM house_cell GROUP BY cell_id) AS hs
           ON hs.cell_id = c.id
    LEFT JOIN (
        SELECT hc.cell_id, count(*) AS n
        FROM grid.households AS hh JOIN house_cell AS hc ON hc.id = hh.house_id
        GROUP BY hc.cell_id
    ) AS hhs ON hhs.cell_id = c.id
    LEFT JOIN (
        SELECT hc.cell_id, count(*) AS n,
               count(*) FILTER (WHERE p.birth_date <= :born_by) AS elderly
        FROM grid.persons AS p
        JOIN grid.households AS hh ON hh.id = p.household_id
        JOIN house_cell AS hc ON hc.id = hh.house_id
        GROUP BY hc.cell_id
    ) AS ps ON ps.cell_id = c.id
),
rolled AS (
    SELECT CASE CAST(:level AS text)
               WHEN 'cell' THEN code
               WHEN 'community' THEN community_code
               WHEN 'street' THEN left(community_code, 9) || '000'
               ELSE left(community_code, 6) || '000000'
           END AS code,
           count(*) AS cells, sum(buildings) AS buildings, sum(houses) AS houses,
           sum(households) AS households, sum(persons) AS persons, sum(elderly) AS elderly
    FROM per_cell
    GROUP BY 1
),
areas AS (
    SELECT code, name FROM grid.admin_areas WHERE level = CAST(:level AS text)
    UNION ALL
    SELECT code, coalesce(name, code) FROM grid.cells WHERE CAST(:level AS text) = 'cell'
)
SELECT a.code, a.name, coalesce(r.cells, 0) AS cells, coalesce(r.buildings, 0) AS buildings,
       coalesce(r.houses, 0) AS houses, coalesce(r.households, 0) AS households,
       coalesce(r.persons, 0) AS persons, coalesce(r.elderly, 0) AS elderly
FROM areas AS a
LEFT JOIN rolled AS r ON r.code = a.code
ORDER BY a.code

-- name: unassigned
SELECT
    (SELECT count(*) FROM grid.buildings WHERE cell_id IS NULL) AS buildings,
    (SELECT count(*) FROM grid.persons AS p
     WHERE NOT EXISTS (
         SELECT 1 FROM grid.households AS hh
         JOIN grid.houses AS h ON h.id = hh.house_id
         JOIN grid.buildings AS b ON b.id = h.building_id
         WHERE hh.id = p.household_id AND b.cell_id IS NOT NULL)) AS persons
