-- name: history
SELECT id, version, operation, changed_by, changed_at, before, after
FROM audit.changes
WHERE table_name = :table AND row_id = :row_id
ORDER BY id

-- name: image
-- The row as it was at :version: the after image of the change that made it, else the before
-- image of the change that followed it (rows bulk-loaded have no INSERT image).
SELECT image FROM (
    SELECT after AS image, 0 AS rank, id FROM audit.changes
    WHERE table_name = :table AND row_id = :row_id AND version = :version
      AND operation IN ('INSERT', 'UPDATE')
    UNION ALL
    SELECT before, 1, id FROM audit.changes
    WHERE table_name = :table AND row_id = :row_id AND version = :version + 1
      AND operation IN ('UPDATE', 'DELETE') AND CAST(before ->> 'version' AS integer) = :version
) AS images
ORDER BY rank, id DESC
LIMIT 1

-- name: last_version
SELECT max(version) FROM audit.changes WHERE table_name = :table AND row_id = :row_id

-- name: restore
SELECT audit.restore(CAST(:table AS regclass), :key_column, :row_id, CAST(:image AS jsonb), :base)

-- name: reinsert
SELECT audit.reinsert(CAST(:table AS regclass), CAST(:image AS jsonb))

-- Whether a row lies in a cell assigned to a grid worker (the worker-authorisation rule): a
-- cell itself, or the cell its building is linked to, through the foreign-key chain. One
-- condition per table on one of its rows ({row}: the table's qualified name, {worker}: the
-- worker's id as a number): in an UPDATE's WHERE it reads the row as it was, in its
-- RETURNING the row as it is now, in a SELECT the row as it is.

-- name: within_cells
({row}.worker_id = {worker})

-- name: within_buildings
EXISTS (SELECT 1 FROM grid.cells AS c WHERE c.id = {row}.cell_id AND c.worker_id = {worker})

-- name: within_houses
EXISTS (
    SELECT 1 FROM grid.buildings AS b JOIN grid.cells AS c ON c.id = b.cell_id
    WHERE b.id = {row}.building_id AND c.worker_id = {worker}
)

-- name: within_households
EXISTS (
    SELECT 1 FROM grid.houses AS h
    JOIN grid.buildings AS b ON b.id = h.building_id
    JOIN grid.cells AS c ON c.id = b.cell_id
    WHERE h.id = {row}.house_id AND c.worker_id = {worker}
)

-- name: within_persons
EXISTS (
    SELECT 1 FROM grid.households AS hh
    JOIN grid.houses AS h ON h.id = hh.house_id
    JOIN grid.buildings AS b ON b.id = h.building_id
    JOIN grid.cells AS c ON c.id = b.cell_id
    WHERE hh.id = {row}.household_id AND c.worker_id = {worker}
)
