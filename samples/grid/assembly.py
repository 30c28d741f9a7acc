"""From raw pieces to the final city: exact admin areas and cells, coded and in degrees,
buildings checked inside their cells, a few deliberate straddlers and outsiders.

Cell codes: 12-digit community code + 3-digit sequence, numbered row-major — west→east
within a row, rows north→south — by cell centroid, where a row is every cell whose centroid
lies within ``ROW_TOLERANCE`` × the median cell height (bounding box) below the
northernmost cell not yet numbered (see :func:`samples.grid.partition.row_major`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from samples.grid.admin import AdminPlan
from samples.grid.buildings import (
    COMMERCIAL,
    OLD_HOUSE,
    RURAL_HOUSE,
    SHED,
    Footprints,
    expand_dwellings,
    rectangles,
)
from samples.grid.detail import CommunityDetail
from samples.grid.partition import row_major
from samples.grid.plane import to_degrees
from samples.grid.tiling import faces_of, multi, single, union_children, unions

ROW_TOLERANCE: Final = 0.5
"""Cells within this share of the median cell height of a row's top form one row."""
STRADDLERS: Final = 3
OUTSIDERS: Final = 2

Ints = NDArray[np.int64]
Objects = NDArray[np.object_]
Strings = NDArray[np.str_]


@dataclass
class AdminAreas:
    code: list[str]
    name: list[str]
    level: list[str]
    parent: list[str | None]
    source: list[str]
    kind: list[str]
    geom: list[BaseGeometry]


@dataclass
class Cells:
    code: Strings
    name: Strings
    community: Strings
    geom: Objects


@dataclass
class Buildings:
    code: Strings
    name: Strings
    use: Strings
    floors: Ints
    address: Strings
    road: Strings
    cell: Strings
    """Code of the cell the building belongs to ('' for the deliberate outsiders)."""
    community: Strings
    geom: Objects
    footprint_m2: NDArray[np.float64]
    kind: Ints


@dataclass
class Homes:
    """Dwellings (户室) with the size of the household living there (0: vacant)."""

    building: Ints
    unit: Ints
    floor: Ints
    room: Ints
    household_size: Ints
    community: Strings


@dataclass
class City:
    admin: AdminAreas
    cells: Cells
    buildings: Buildings
    homes: Homes
    straddling: list[dict[str, Any]] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    dropped_buildings: int = 0


def assemble(plan: AdminPlan, details: list[CommunityDetail], seed: int) -> City:
    """The final city from the admin plan and the detailed communities."""
    by_code = {d.area.code: d for d in details}
    pieces: list[BaseGeometry] = []
    piece_comm: list[int] = []
    piece_cell: list[int] = []
    cell_comm: list[int] = []
    cell_offset: dict[str, int] = {}
    for i, area in enumerate(plan.communities):
        d = by_code.get(area.code)
        if d is None:
            pieces.append(area.geom)
            piece_comm.append(i)
            piece_cell.append(-1)
            continue
        cell_offset[area.code] = len(cell_comm)
        for block, group in zip(d.blocks, d.cell_of_block.tolist(), strict=True):
            pieces.append(block)
            piece_comm.append(i)
            piece_cell.append(len(cell_comm) + group)
        cell_comm.extend([i] * (int(d.cell_of_block.max()) + 1))
    faces, owner = faces_of(to_degrees(np.array(pieces, dtype=object)))
    face_comm = np.asarray(piece_comm)[owner]
    face_cell = np.asarray(piece_cell)[owner]
    communities = unions(faces, face_comm, len(plan.communities))
    in_cell = face_cell >= 0
    cell_geoms = [single(g) for g in unions(faces[in_cell], face_cell[in_cell], len(cell_comm))]
    admin = _admin_areas(plan, communities)

    cell_codes = _cell_codes(plan, cell_comm, cell_geoms)
    cells = Cells(
        cell_codes,
        np.array(
            [
                f"{plan.communities[c].name}第{int(code[12:])}网格"
                for c, code in zip(cell_comm, cell_codes.tolist(), strict=True)
            ]
        ),
        np.array([plan.communities[c].code for c in cell_comm]),
        np.array(cell_geoms, dtype=object),
    )
    return _with_buildings(plan, details, cells, cell_offset, admin)


def _admin_areas(plan: AdminPlan, communities: list[BaseGeometry]) -> AdminAreas:
    streets = {
        s.code: union_children([g for a, g in zip(plan.communities, communities, strict=True)
                                if a.parent == s.code])
        for s in plan.streets
    }  # fmt: skip
    counties = {
        c.code: union_children([streets[s.code] for s in plan.streets if s.parent == c.code])
        for c in plan.counties
    }
    rows = AdminAreas([], [], [], [], [], [], [])
    levels = (
        (plan.counties, counties),
        (plan.streets, streets),
        (plan.communities, dict(zip([a.code for a in plan.communities], communities, strict=True))),
    )
    for areas, geoms in levels:
        for a in areas:
            rows.code.append(a.code)
            rows.name.append(a.name)
            rows.level.append(a.level)
            rows.parent.append(a.parent)
            rows.source.append(a.source)
            rows.kind.append(a.kind)
            rows.geom.append(multi(geoms[a.code]))
    return rows


def _cell_codes(plan: AdminPlan, cell_comm: list[int], geoms: list[Polygon]) -> Strings:
    arr = np.array(geoms, dtype=object)
    xy = shapely.get_coordinates(shapely.centroid(arr))
    bounds = shapely.bounds(arr)
    height = bounds[:, 3] - bounds[:, 1]
    comm = np.asarray(cell_comm)
    codes = np.empty(len(geoms), dtype="<U15")
    for c in np.unique(comm).tolist():
        members = np.flatnonzero(comm == c)
        tol = ROW_TOLERANCE * float(np.median(height[members]))
        order = row_major(xy[members, 0], xy[members, 1], tol)
        for rank, j in enumerate(order.tolist()):
            codes[members[j]] = f"{plan.communities[c].code}{rank + 1:03d}"
    return codes


def _straddler(a: Polygon, b: Polygon) -> Polygon | None:
    """A 24 × 8 m footprint across the middle of the longest edge ``a`` shares with ``b``,
    about 69 % inside ``a``."""
    shared = a.boundary.intersection(b.boundary)
    if not shared.length:
        return None
    merged = shapely.line_merge(shapely.union_all(shapely.get_parts(shared)))
    lines = [g for g in shapely.get_parts(merged) if isinstance(g, LineString)]
    if not lines:
        return None
    line = max(lines, key=lambda g: g.length)
    if line.length < 60:
        return None
    mid = line.interpolate(0.5, normalized=True)
    p, q = line.interpolate(0.45, normalized=True), line.interpolate(0.55, normalized=True)
    angle = float(np.arctan2(q.y - p.y, q.x - p.x))
    nx, ny = -np.sin(angle), np.cos(angle)
    if not a.contains(Point(mid.x + 3 * nx, mid.y + 3 * ny)):
        nx, ny = -nx, -ny
    cx, cy = np.array([mid.x + 1.5 * nx]), np.array([mid.y + 1.5 * ny])
    return rectangles(cx, cy, np.array([24.0]), np.array([8.0]), np.array([angle]))[0]


def _extras(
    plan: AdminPlan, details: list[CommunityDetail], cell_offset: dict[str, int]
) -> tuple[list[tuple[Polygon, str, int]], list[tuple[Polygon, str]]]:
    """Straddlers (footprint, community code, block) and outsiders (footprint, community)."""
    straddlers: list[tuple[Polygon, str, int]] = []
    for d in details:
        if len(straddlers) >= STRADDLERS:
            break
        cells = int(d.cell_of_block.max()) + 1
        if cells < 2:
            continue
        blocks = np.array(d.blocks, dtype=object)
        raw = [shapely.union_all(blocks[d.cell_of_block == g]) for g in range(cells)]
        for g in range(1, cells):
            rect = _straddler(raw[0], raw[g])
            if rect is not None:
                block = int(np.flatnonzero(d.cell_of_block == 0)[0])
                straddlers.append((rect, d.area.code, block))
                break
    detailed = {d.area.code for d in details}
    first = details[0].area
    others = sorted(
        (a for a in plan.communities if a.code not in detailed),
        key=lambda a: (np.hypot(a.seed[0] - first.seed[0], a.seed[1] - first.seed[1]), a.code),
    )
    outsiders = []
    for area in others[:OUTSIDERS]:
        point = area.geom.representative_point()
        rect = rectangles(
            np.array([point.x]), np.array([point.y]), np.array([12.0]), np.array([10.0]),
            np.array([0.05]),
        )[0]  # fmt: skip
        outsiders.append((rect, area.code))
    return straddlers, outsiders


def _with_buildings(
    plan: AdminPlan,
    details: list[CommunityDetail],
    cells: Cells,
    cell_offset: dict[str, int],
    admin: AdminAreas,
) -> City:
    straddlers, outsiders = _extras(plan, details, cell_offset)
    index = {a.code: i for i, a in enumerate(plan.communities)}
    parts: list[Footprints] = []
    cell_of: list[Ints] = []
    comm_of: list[Ints] = []
    road_of: list[Strings] = []
    homes: list[tuple[Ints, Ints, Ints, Ints, Ints]] = []
    offset = 0
    for d in details:
        b = d.buildings
        parts.append(b)
        cell_of.append(cell_offset[d.area.code] + d.cell_of_block[b.block])
        comm_of.append(np.full(len(b), index[d.area.code]))
        road_of.append(np.asarray(d.roads, dtype=str)[b.block] if len(b) else np.array([], str))
        w = d.dwellings
        homes.append((w.building + offset, w.unit, w.floor, w.room, d.household_size))
        offset += len(b)
    extra_geoms = [r for r, _, _ in straddlers] + [r for r, _ in outsiders]
    n_extra = len(extra_geoms)
    kinds = np.array([COMMERCIAL] * len(straddlers) + [RURAL_HOUSE] * len(outsiders))
    floors = np.array([2] * len(straddlers) + [2] * len(outsiders), dtype=np.int64)
    blocks = np.array([blk for _, _, blk in straddlers] + [0] * len(outsiders), dtype=np.int64)
    extra = Footprints(
        np.array(extra_geoms, dtype=object), kinds, floors, np.ones(n_extra, np.int64), blocks
    )
    parts.append(extra)
    cell_of.append(np.array([-2] * len(straddlers) + [-1] * len(outsiders), dtype=np.int64))
    extra_comm = [c for _, c, _ in straddlers] + [c for _, c in outsiders]
    comm_of.append(np.array([index[c] for c in extra_comm], dtype=np.int64))
    by_code = {d.area.code: d for d in details}
    road_of.append(
        np.array(
            [by_code[c].roads[blk] for _, c, blk in straddlers] + [""] * len(outsiders), dtype=str
        )
    )
    w = expand_dwellings(extra.kind, extra.floors, extra.units)
    homes.append((w.building + offset, w.unit, w.floor, w.room, np.full(len(w.building), 3)))

    fp = Footprints.concat(parts)
    cell = np.concatenate(cell_of)
    comm = np.concatenate(comm_of)
    road = np.concatenate(road_of)
    footprint_m2 = shapely.area(fp.geom)
    geom = to_degrees(fp.geom)
    keep = np.ones(len(geom), dtype=bool)
    normal = cell >= 0
    keep[normal] = shapely.contains_properly(cells.geom[cell[normal]], geom[normal])
    dropped = int((~keep).sum())

    cell_code = np.where(cell >= 0, cells.code[np.maximum(cell, 0)], "")
    straddling: list[dict[str, Any]] = []
    tree = shapely.STRtree(cells.geom)
    for i in np.flatnonzero(cell == -2).tolist():
        hits = tree.query(geom[i], predicate="intersects")
        shares = shapely.area(shapely.intersection(cells.geom[hits], geom[i]))
        order = np.lexsort((cells.code[hits], -shares))
        best = hits[order[0]]
        cell_code[i] = cells.code[best]
        total = float(shares.sum())
        straddling.append(
            {
                "index": i,
                "cell": str(cells.code[best]),
                "cells": {str(cells.code[h]): round(float(s) / total, 3)
                          for h, s in zip(hits[order].tolist(), shares[order].tolist(),
                                          strict=True)},
            }
        )  # fmt: skip

    new_index = np.cumsum(keep) - 1
    hb, hu, hf, hr, hs = (np.concatenate(x) for x in zip(*homes, strict=True))
    home_keep = keep[hb]
    comm_codes = np.array([a.code for a in plan.communities])
    building_comm = comm_codes[comm[keep]]
    codes = _building_codes(building_comm)
    old_to_code = np.full(len(geom), "", dtype="<U17")
    old_to_code[keep] = codes
    for s in straddling:
        s["building"] = str(old_to_code[s.pop("index")])
    outside_codes = [str(c) for c in old_to_code[cell == -1]]
    buildings = _describe(plan, fp.take(keep), geom[keep], codes, building_comm, cell_code[keep],
                          road[keep], footprint_m2[keep])  # fmt: skip
    homes_final = Homes(
        new_index[hb[home_keep]], hu[home_keep], hf[home_keep], hr[home_keep], hs[home_keep],
        building_comm[new_index[hb[home_keep]]],
    )  # fmt: skip
    return City(admin, cells, buildings, homes_final, straddling, outside_codes, dropped)


def _building_codes(community: Strings) -> Strings:
    """Community code + 5-digit serial in generation order within the community."""
    order = np.argsort(community, kind="stable")
    sorted_comm = community[order]
    starts = np.flatnonzero(np.r_[True, sorted_comm[1:] != sorted_comm[:-1]])
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    serial = np.empty(len(order), dtype=np.int64)
    serial[order] = np.arange(len(order)) - group_start + 1
    return np.char.add(community, np.char.zfill(serial.astype(str), 5))


def _describe(
    plan: AdminPlan,
    fp: Footprints,
    geom: Objects,
    codes: Strings,
    community: Strings,
    cell_code: Strings,
    road: Strings,
    footprint_m2: NDArray[np.float64],
) -> Buildings:
    """Names and standard addresses (省 › 市 › 区县 › 街道 › 社区 › 路 › 号 › 幢)."""
    from samples.grid.buildings import uses

    areas = {a.code: a for a in (*plan.counties, *plan.streets, *plan.communities)}
    prefix = {
        a.code: "江苏省连云港市" + areas[a.code[:6] + "000000"].name
        + areas[a.code[:9] + "000"].name + a.name
        for a in plan.communities
    }  # fmt: skip
    village = {a.code: a.kind == "village" for a in plan.communities}
    serial = np.char.lstrip(np.asarray([c[12:] for c in codes.tolist()]), "0")
    key = np.char.add(np.char.add(community, "|"), fp.block.astype(str))
    order = np.argsort(key, kind="stable")
    sk = key[order]
    starts = np.flatnonzero(np.r_[True, sk[1:] != sk[:-1]])
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    in_block = np.empty(len(order), dtype=np.int64)
    in_block[order] = np.arange(len(order)) - group_start + 1
    names_: list[str] = []
    addresses: list[str] = []
    small = np.isin(fp.kind, (OLD_HOUSE, SHED)).tolist()
    rows = zip(community.tolist(), road.tolist(), fp.block.tolist(), in_block.tolist(),
               serial.tolist(), small, strict=True)  # fmt: skip
    for c, r, blk, k, s, house in rows:
        if village[c] or not r:
            name = f"{areas[c].name}{s}号"  # 张庄村12号
        elif house:
            name = f"{r}{k}号"  # 幸福路37号: a house on its own number
        else:
            name = f"{r}{2 * blk + 2}号{k}幢"  # 幸福路12号3幢: a building of an estate
        names_.append(name)
        addresses.append(prefix[c] + name)
    return Buildings(
        codes, np.array(names_), uses(fp.kind), fp.floors, np.array(addresses), road,
        cell_code, community, geom, footprint_m2, fp.kind,
    )  # fmt: skip
