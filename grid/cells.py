"""Changing the cells of a community: split by a line, merge neighbours, redraw a boundary.

Rules (docs/domain.md): cells of a community tile it without gap or overlap and never leave
it; codes of untouched cells never change; new cells get the next sequence numbers of their
community, west→east then north→south, and a retired code is never given out again. What a
touched cell keeps:

* split: the largest piece keeps the cell's code, id and history; the others are new cells;
* merge: the cell with the lowest code absorbs the others, whose codes are retired;
* redraw: the cell keeps its code; the new boundary may not overlap another cell or leave
  the community.

Buildings are re-linked in the same transaction (by the database triggers, grid/audit.sql);
each operation reports the buildings whose cell changed. Only operators change cells: a
grid worker gets :class:`NotAuthorisedError`. Each operation runs in a savepoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from gis.crs import STORAGE_SRID
from gis.sql_files import statement
from grid.audit import acting_as
from grid.codes import next_cell_codes, reading_order
from grid.edits import Actor
from grid.errors import CellOperationError, ConflictError, NotAuthorisedError, NotFoundError
from grid.geometry_checks import checked
from grid.linking import Move
from grid.settings import GridSettings

_METRES_PER_DEGREE = 111_000.0


class CellChange(NamedTuple):
    """What an operation did: the cell kept, cells created and retired, buildings moved."""

    kept: str
    created: list[str]
    retired: list[str]
    moved: list[Move]

    def as_dict(self) -> dict[str, Any]:
        return {**self._asdict(), "moved": [m._asdict() for m in self.moved]}


class _Cell(NamedTuple):
    id: int
    code: str
    community_code: str
    worker_id: int | None
    version: int
    geom: BaseGeometry


def _q(name: str) -> Any:
    return text(statement(__name__, name))


def _ewkb(geom: BaseGeometry) -> bytes:
    return shapely.to_wkb(shapely.set_srid(geom, STORAGE_SRID), include_srid=True)  # type: ignore[no-any-return]


def _operator_only(actor: Actor) -> None:
    if actor.worker_id is not None:
        raise NotAuthorisedError("grid workers may not split, merge or redraw cells")


def _lock(conn: Connection, code: str, base_version: int | None = None) -> _Cell:
    row = conn.execute(_q("lock_cell"), {"code": code}).one_or_none()
    if row is None:
        raise NotFoundError(f"no cell with code {code}")
    cell = _Cell(row.id, row.code, row.community_code, row.worker_id, row.version,
                 shapely.from_wkb(bytes(row.geom)))  # fmt: skip
    if base_version is not None and cell.version != base_version:
        raise ConflictError(
            f"cell {code} is at version {cell.version}, the change was based on version "
            f"{base_version}: reload it first",
            cell.version,
        )
    return cell


def _snapshot(conn: Connection, area: BaseGeometry) -> dict[str, str | None]:
    rows = conn.execute(_q("building_cells"), {"area": _ewkb(area.envelope)})
    return {r.code: r.cell for r in rows}


def _moves(before: dict[str, str | None], after: dict[str, str | None]) -> list[Move]:
    return [
        Move(code, before.get(code), cell, False)
        for code, cell in sorted(after.items())
        if before.get(code) != cell
    ]


def _new_codes(conn: Connection, community: str, pieces: Sequence[tuple[float, float]],
               settings: GridSettings) -> list[str]:  # fmt: skip
    used = [r[0] for r in conn.execute(_q("used_codes"), {"community": community})]
    codes = next_cell_codes(community, used, len(pieces))
    order = reading_order(pieces, settings.row_tolerance_m / _METRES_PER_DEGREE)
    result = [""] * len(pieces)
    for code, index in zip(codes, order, strict=True):
        result[index] = code
    return result


def split(
    conn: Connection,
    code: str,
    line: BaseGeometry,
    actor: Actor,
    *,
    base_version: int | None = None,
    settings: GridSettings,
) -> CellChange:
    """Cut cell ``code`` along ``line``; the largest piece keeps the code."""
    _operator_only(actor)
    line = checked(line, "LineString", settings, "split line")
    with conn.begin_nested(), acting_as(conn, actor.label):
        cell = _lock(conn, code, base_version)
        pieces = conn.execute(_q("pieces"), {"cell": _ewkb(cell.geom), "line": _ewkb(line)}).all()
        if len(pieces) < 2:
            raise CellOperationError(f"the line does not cut cell {code} in two")
        small = [p for p in pieces if p.area_m2 <= settings.coverage_tolerance_m2]
        if small:
            raise CellOperationError(
                f"the line cuts off {len(small)} piece(s) of cell {code} smaller than "
                f"{settings.coverage_tolerance_m2} m²: draw it across the cell"
            )
        before = _snapshot(conn, cell.geom)
        conn.execute(_q("set_geom"), {"geom": bytes(pieces[0].geom), "id": cell.id})
        rest = pieces[1:]
        codes = _new_codes(conn, cell.community_code, [(p.x, p.y) for p in rest], settings)
        for new_code, piece in zip(codes, rest, strict=True):
            conn.execute(
                _q("insert_cell"),
                {"code": new_code, "community": cell.community_code, "worker": cell.worker_id,
                 "geom": bytes(piece.geom)},
            )  # fmt: skip
        moved = _moves(before, _snapshot(conn, cell.geom))
    return CellChange(code, sorted(codes), [], moved)


def merge(conn: Connection, codes: Sequence[str], actor: Actor) -> CellChange:
    """Merge adjacent cells of one community into the one with the lowest code."""
    _operator_only(actor)
    wanted = sorted(set(codes))
    if len(wanted) < 2:
        raise CellOperationError("name at least two different cells to merge")
    with conn.begin_nested(), acting_as(conn, actor.label):
        cells = [_lock(conn, c) for c in wanted]
        communities = sorted({c.community_code for c in cells})
        if len(communities) > 1:
            raise CellOperationError(
                f"cells of different communities ({', '.join(communities)}) cannot be merged"
            )
        union = conn.execute(_q("merged"), {"codes": wanted}).one()
        if union.parts != 1:
            raise CellOperationError(
                f"cells {', '.join(wanted)} are not adjacent: together they form "
                f"{union.parts} separate pieces"
            )
        geom = shapely.from_wkb(bytes(union.geom))
        if not isinstance(geom, Polygon):
            raise CellOperationError(f"merging {', '.join(wanted)} gives a {geom.geom_type}")
        kept, retired = cells[0], [c.code for c in cells[1:]]
        before = _snapshot(conn, geom)
        conn.execute(_q("set_geom"), {"geom": _ewkb(geom), "id": kept.id})
        conn.execute(_q("delete_cells"), {"codes": retired})
        moved = _moves(before, _snapshot(conn, geom))
    return CellChange(kept.code, [], retired, moved)


def redraw(
    conn: Connection,
    code: str,
    geom: BaseGeometry,
    actor: Actor,
    *,
    base_version: int | None = None,
    settings: GridSettings,
) -> CellChange:
    """Give cell ``code`` a new boundary that overlaps no other cell and stays in its community."""
    _operator_only(actor)
    polygon = checked(geom, "Polygon", settings, "cell boundary")
    tolerance = settings.coverage_tolerance_m2
    with conn.begin_nested(), acting_as(conn, actor.label):
        cell = _lock(conn, code, base_version)
        params = {"geom": _ewkb(polygon), "community": cell.community_code,
                  "tolerance": tolerance, "except_codes": [code]}  # fmt: skip
        outside = conn.execute(_q("outside_community"), params).one_or_none()
        if outside is not None:
            raise CellOperationError(
                f"the new boundary of {code} leaves community {cell.community_code} by "
                f"{outside.area_m2:.1f} m² near {outside.lon:.6f}, {outside.lat:.6f}"
            )
        overlaps = conn.execute(_q("overlapping_cells"), params).all()
        if overlaps:
            listed = ", ".join(f"{r.code} ({r.area_m2:.1f} m²)" for r in overlaps)
            raise CellOperationError(f"the new boundary of {code} overlaps cells {listed}")
        area = shapely.union(cell.geom, polygon)
        before = _snapshot(conn, area)
        conn.execute(_q("set_geom"), {"geom": _ewkb(polygon), "id": cell.id})
        moved = _moves(before, _snapshot(conn, area))
    return CellChange(code, [], [], moved)
