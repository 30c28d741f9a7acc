"""views of houses, households and persons located by their building (schema grid)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:30:00

Houses, households and persons have no geometry of their own: they are where their building
is (户进房、房进格). These views give each row its building's footprint, cell and that cell's
worker, so that the feature service can publish them as collections, filter them by bbox
(the footprint is the indexed column of grid.buildings) and restrict a grid worker to their
own cells with one equality (``worker_id``). Persons are masked here as in
grid.persons_masked: the view never holds a plain citizen ID, phone or full name.
The SQL is carried here, frozen.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VIEWS = r"""
CREATE VIEW grid.houses_located AS
SELECT h.id, h.building_id, h.unit, h.floor, h.room, h.area_m2,
       h.version, h.updated_by, h.updated_at,
       b.code AS building_code, b.cell_id, c.code AS cell_code, c.worker_id, b.geom
FROM grid.houses AS h
LEFT JOIN grid.buildings AS b ON b.id = h.building_id
LEFT JOIN grid.cells AS c ON c.id = b.cell_id;

CREATE VIEW grid.households_located AS
SELECT hh.id, hh.household_no, hh.house_id, hh.residence,
       hh.version, hh.updated_by, hh.updated_at,
       h.building_id, b.cell_id, c.code AS cell_code, c.worker_id, b.geom
FROM grid.households AS hh
LEFT JOIN grid.houses AS h ON h.id = hh.house_id
LEFT JOIN grid.buildings AS b ON b.id = h.building_id
LEFT JOIN grid.cells AS c ON c.id = b.cell_id;

CREATE VIEW grid.persons_located AS
SELECT p.id, p.household_id,
       left(p.name, 1) || repeat('*', greatest(char_length(p.name) - 1, 0)) AS name,
       p.sex, extract(year FROM p.birth_date)::integer AS birth_year, p.relation,
       p.citizen_id_masked AS citizen_id, p.phone_masked AS phone,
       p.version, p.updated_by, p.updated_at,
       hh.house_id, h.building_id, b.cell_id, c.code AS cell_code, c.worker_id, b.geom
FROM grid.persons AS p
LEFT JOIN grid.households AS hh ON hh.id = p.household_id
LEFT JOIN grid.houses AS h ON h.id = hh.house_id
LEFT JOIN grid.buildings AS b ON b.id = h.building_id
LEFT JOIN grid.cells AS c ON c.id = b.cell_id;
"""


def upgrade() -> None:
    op.execute(VIEWS)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS grid.persons_located")
    op.execute("DROP VIEW IF EXISTS grid.households_located")
    op.execute("DROP VIEW IF EXISTS grid.houses_located")
