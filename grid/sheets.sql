-- Collection sheets (grid/sheets.py): lookups for validating a whole sheet at once.

-- name: cell
SELECT c.id, c.code, c.worker_id FROM grid.cells AS c WHERE c.code = :cell

-- name: worker
SELECT id, name FROM grid.workers WHERE id = :worker

-- name: houses_in_cell
SELECT h.id, b.code AS building, h.unit, h.floor, h.room
FROM grid.houses AS h
JOIN grid.buildings AS b ON b.id = h.building_id
WHERE b.cell_id = :cell_id

-- name: households
-- Existing households named by the sheet, with the cell (and its worker) they live in now.
SELECT hh.id, hh.household_no, hh.house_id, hh.residence, c.code AS cell, c.worker_id
FROM grid.households AS hh
LEFT JOIN grid.houses AS h ON h.id = hh.house_id
LEFT JOIN grid.buildings AS b ON b.id = h.building_id
LEFT JOIN grid.cells AS c ON c.id = b.cell_id
WHERE hh.household_no = ANY(:numbers)

-- name: persons
-- Existing persons with the sheet's citizen IDs (by keyed hash), with where they live now.
SELECT p.id, p.citizen_id_hash, p.household_id, c.code AS cell, c.worker_id
FROM grid.persons AS p
LEFT JOIN grid.households AS hh ON hh.id = p.household_id
LEFT JOIN grid.houses AS h ON h.id = hh.house_id
LEFT JOIN grid.buildings AS b ON b.id = h.building_id
LEFT JOIN grid.cells AS c ON c.id = b.cell_id
WHERE p.citizen_id_hash = ANY(:hashes)
