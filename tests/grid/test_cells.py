"""Split, merge and redraw: codes of untouched cells stay, new ones come next, buildings follow."""

from __future__ import annotations

import pytest
from shapely.geometry import LineString, box
from sqlalchemy import text

from grid.cells import merge, redraw, split
from grid.coverage import check
from grid.edits import Actor
from grid.errors import (
    CellOperationError,
    ConflictError,
    InvalidGeometryError,
    NotAuthorisedError,
    NotFoundError,
)
from tests.grid.conftest import GRID, SOUTH, STEP, WEST, A, Site, building_in

OPERATOR = Actor("operator")


def _codes(site: Site) -> dict[str, int]:
    rows = site.conn.execute(
        text("SELECT code, id FROM grid.cells WHERE community_code = :c"), {"c": A}
    )
    return {r.code: r.id for r in rows}


def _cell_of(site: Site, building: str) -> str | None:
    return site.scalar(
        "SELECT c.code FROM grid.buildings b LEFT JOIN grid.cells c"
        " ON c.id = b.cell_id WHERE b.code = :b",
        b=building,
    )  # type: ignore[return-value]


def test_split_keeps_the_largest_piece_and_numbers_the_new_cells_next(site: Site) -> None:
    before = _codes(site)
    site.add_building("T-EAST", building_in(0, 1, dx=0.8, size=0.1))  # in A003, east part
    # cut A003 vertically at 70 %
    x = WEST + 0.7 * STEP
    line = LineString([(x, SOUTH - 0.001), (x, SOUTH + STEP + 0.001)])
    change = split(site.conn, A + "003", line, OPERATOR, base_version=1, settings=GRID)
    assert (change.kept, change.created, change.retired) == (A + "003", [A + "005"], [])
    after = _codes(site)
    assert {c: i for c, i in after.items() if c in before} == before  # no code changed
    assert [(m.building, m.from_cell, m.to_cell) for m in change.moved] == [
        ("T-EAST", A + "003", A + "005")
    ]
    assert _cell_of(site, "T-A003-1") == A + "003"
    assert check(site.conn, A, settings=GRID).findings == []  # still tiles the community
    # a horizontal cut of A004 into a north and a south half: north first
    y = SOUTH + 0.5 * STEP
    two = split(
        site.conn,
        A + "004",
        LineString([(WEST + 0.9 * STEP, y), (WEST + 2.1 * STEP, y)]),
        OPERATOR,
        settings=GRID,
    )
    assert two.created == [A + "006"]


def test_several_new_pieces_are_numbered_west_to_east(site: Site) -> None:
    x1, x2 = WEST + 0.3 * STEP, WEST + 0.6 * STEP
    below, above = SOUTH - 0.001, SOUTH + STEP + 0.001
    u_line = LineString([(x1, above), (x1, below), (x2, below), (x2, above)])
    change = split(site.conn, A + "003", u_line, OPERATOR, settings=GRID)
    assert change.created == [A + "005", A + "006"]
    west = site.scalar("SELECT ST_XMax(geom) FROM grid.cells WHERE code = :c", c=A + "005")
    middle = site.scalar("SELECT ST_XMax(geom) FROM grid.cells WHERE code = :c", c=A + "006")
    assert west == pytest.approx(x1) and middle == pytest.approx(x2)
    assert site.scalar(
        "SELECT ST_XMin(geom) FROM grid.cells WHERE code = :c", c=A + "003"
    ) == pytest.approx(x2)  # the largest piece kept the code


def test_a_split_needs_a_line_across_the_cell(site: Site) -> None:
    inside = LineString(
        [(WEST + 0.2 * STEP, SOUTH + 0.5 * STEP), (WEST + 0.4 * STEP, SOUTH + 0.5 * STEP)]
    )
    with pytest.raises(CellOperationError, match="does not cut"):
        split(site.conn, A + "003", inside, OPERATOR, settings=GRID)
    with pytest.raises(InvalidGeometryError, match="must be a LineString"):
        split(site.conn, A + "003", box(119.8, 35.14, 119.81, 35.15), OPERATOR, settings=GRID)
    with pytest.raises(ConflictError):
        split(site.conn, A + "003", inside, OPERATOR, base_version=5, settings=GRID)
    with pytest.raises(NotFoundError):
        split(site.conn, A + "999", inside, OPERATOR, settings=GRID)
    with pytest.raises(NotAuthorisedError):
        split(site.conn, A + "003", inside, Actor("w", site.workers["W2"]), settings=GRID)


def test_merge_absorbs_into_the_lowest_code_and_codes_are_never_reused(site: Site) -> None:
    change = merge(site.conn, [A + "002", A + "001"], OPERATOR)
    assert (change.kept, change.retired) == (A + "001", [A + "002"])
    assert set(_codes(site)) == {A + "001", A + "003", A + "004"}
    assert _cell_of(site, "T-A002-1") == A + "001"
    assert site.scalar("SELECT straddles FROM grid.buildings WHERE code = 'T-STRADDLE'") is False
    assert {m.building for m in change.moved} == {"T-A002-1", "T-STRADDLE"}
    assert site.scalar("SELECT version FROM grid.buildings WHERE code = 'T-A002-1'") == 1
    assert check(site.conn, A, settings=GRID).findings == []
    x = WEST + 0.5 * STEP
    again = split(
        site.conn,
        A + "003",
        LineString([(x, SOUTH - 0.001), (x, SOUTH + 0.011)]),
        OPERATOR,
        settings=GRID,
    )
    assert again.created == [A + "005"]  # 002 is retired, 004 in use


def test_merge_refuses_cells_that_are_not_neighbours_or_not_in_one_community(site: Site) -> None:
    with pytest.raises(CellOperationError, match="not adjacent"):
        merge(site.conn, [A + "001", A + "004"], OPERATOR)  # corner to corner only
    with pytest.raises(CellOperationError, match="different communities"):
        merge(site.conn, [A + "002", "320799001002001"], OPERATOR)
    with pytest.raises(CellOperationError, match="at least two"):
        merge(site.conn, [A + "001", A + "001"], OPERATOR)


def test_redraw_moves_a_shared_boundary(site: Site) -> None:
    # A001 gives its eastern 40 % ... to nobody first: that would leave a gap, allowed here
    a001 = box(WEST, SOUTH + STEP, WEST + 0.6 * STEP, SOUTH + 2 * STEP)
    a002 = box(WEST + 0.6 * STEP, SOUTH + STEP, WEST + 2 * STEP, SOUTH + 2 * STEP)
    with pytest.raises(CellOperationError, match="overlaps cells 320799001001001"):
        redraw(site.conn, A + "002", a002, OPERATOR, settings=GRID)
    redraw(site.conn, A + "001", a001, OPERATOR, base_version=1, settings=GRID)
    change = redraw(site.conn, A + "002", a002, OPERATOR, settings=GRID)
    assert change.kept == A + "002"
    assert _cell_of(site, "T-STRADDLE") == A + "002"
    assert site.scalar("SELECT straddles FROM grid.buildings WHERE code = 'T-STRADDLE'") is False
    assert check(site.conn, A, settings=GRID).findings == []


def test_redraw_may_not_leave_the_community(site: Site) -> None:
    wide = box(WEST + STEP, SOUTH + STEP, WEST + 2.5 * STEP, SOUTH + 2 * STEP)
    with pytest.raises(CellOperationError, match="leaves community 320799001001 by"):
        redraw(site.conn, A + "002", wide, OPERATOR, settings=GRID)
    with pytest.raises(InvalidGeometryError, match="outside Lianyungang"):
        redraw(site.conn, A + "002", box(121, 31, 121.01, 31.01), OPERATOR, settings=GRID)
