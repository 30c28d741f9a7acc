"""Links that are derived, not typed: 房进格 (building → cell), kept by set-based SQL."""

from __future__ import annotations

from sqlalchemy import Connection, text

# The cell a building shares the largest area with; for a building inside one cell that is
# the cell holding its point-on-surface. Ties go to the lower code, so the result is stable.
_LINK_BUILDINGS = text(
    """
    WITH choice AS (
        SELECT b.id, best.cell_id
        FROM grid.buildings AS b
        LEFT JOIN LATERAL (
            SELECT c.id AS cell_id
            FROM grid.cells AS c
            WHERE ST_Intersects(c.geom, b.geom)
            ORDER BY ST_Area(ST_Intersection(c.geom, b.geom)) DESC, c.code
            LIMIT 1
        ) AS best ON true
    )
    UPDATE grid.buildings AS b
    SET cell_id = choice.cell_id
    FROM choice
    WHERE choice.id = b.id AND b.cell_id IS DISTINCT FROM choice.cell_id
    """
)


def link_buildings(conn: Connection) -> int:
    """Re-link every building to its cell in one statement; return how many moved."""
    return conn.execute(_LINK_BUILDINGS).rowcount
