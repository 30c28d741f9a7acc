"""Deliberate defects: invalid 土规 geometries the importer must repair, and 城规 edges shifted
by 0.3–1 m against 土规 (slivers the conflict analysis must filter and keep aside).

A sliver is made by moving part of an atom edge shared by two 城规 halves: a strip of width
``d`` is taken from the half on one side and given to the half on the other, so 城规 stays
a clean coverage while its boundary no longer matches 土规 (nor the control lines, which
follow the atoms). Slivers are only placed between ordinary, undesigned atoms, so they never
touch a designed patch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import LineString, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import substring

Geoms = NDArray[np.object_]

WIDTH_ONLY_AREA_M2 = 700.0
"""A "long" sliver is at least this large, so only the width filter can catch it."""


class Sliver(NamedTuple):
    """One shifted edge: the 城规 half that grew (``gainer``) and the one that shrank,
    as indexes into the 城规 feature array, and the strip's nominal width and length."""

    gainer: int
    loser: int
    width: float
    length: float
    long: bool


def bowtie(polygon: Polygon) -> Polygon:
    """The polygon with its second and third vertices swapped: a self-crossing ring."""
    ring = list(polygon.exterior.coords)[:-1]
    ring[1], ring[2] = ring[2], ring[1]
    return Polygon(ring)


def spike(polygon: Polygon, length: float = 40.0) -> Polygon:
    """The polygon with a zero-width spike going out of its first vertex and back."""
    ring = np.asarray(polygon.exterior.coords)[:-1]
    centre = ring.mean(axis=0)
    out = ring[0] + (ring[0] - centre) / np.hypot(*(ring[0] - centre)) * length
    return Polygon([tuple(ring[0]), tuple(out), *map(tuple, ring)])


def make_slivers(
    rng: np.random.Generator,
    halves: Geoms,
    atoms: Geoms,
    atom_of: NDArray[np.intp],
    usable: NDArray[np.bool_],
    conflicting: Callable[[int, int], bool],
    count: int,
) -> tuple[Geoms, list[Sliver]]:
    """Shift ``count`` shared edges between halves of different atoms.

    ``usable[i]`` says whether 城规 feature ``i`` may be changed; ``conflicting(g, a)`` whether
    feature ``g`` spreading onto atom ``a`` makes a conflict (a sliver that is no conflict
    would be invisible to the analysis). Half of the slivers run along a whole edge (long),
    half along a short piece of one (under 150 m²).
    """
    out = halves.copy()
    tree = shapely.STRtree(halves)
    touched = np.zeros(len(halves), dtype=bool)
    made: list[Sliver] = []
    for g in rng.permutation(np.flatnonzero(usable)).tolist():
        if len(made) == count:
            break
        want_long = len(made) % 2 == 0
        for q in tree.query(halves[g], predicate="intersects").tolist():
            if touched[g] or touched[q] or not usable[q] or atom_of[q] == atom_of[g]:
                continue
            if not conflicting(g, int(atom_of[q])):
                continue
            edge = _shared_edge(atoms[atom_of[g]], atoms[atom_of[q]], halves[g], halves[q])
            plan = _plan(rng, edge, want_long)
            if plan is None:
                continue
            segment, width = plan
            strip = _strip(segment, width, halves[q])
            if strip is None:
                continue
            out[g] = shapely.union(halves[g], strip)
            out[q] = shapely.difference(halves[q], strip)
            touched[[g, q]] = True
            made.append(Sliver(g, q, width, segment.length, want_long))
            break
    return out, made


def _shared_edge(
    atom_a: BaseGeometry, atom_b: BaseGeometry, a: BaseGeometry, b: BaseGeometry
) -> LineString | None:
    """The longest stretch of the atoms' common edge that both halves ``a`` and ``b`` touch.

    The edge is taken from the atoms (Voronoi cells share exact vertices), not from the
    halves, whose cut points are interpolated and only nearly on it.
    """
    edge = shapely.intersection(atom_a.boundary, atom_b.boundary)
    near = shapely.intersection(shapely.buffer(a, 0.01), shapely.buffer(b, 0.01))
    shared = shapely.line_merge(shapely.intersection(edge, near))
    lines = [p for p in shapely.get_parts(shared) if p.geom_type == "LineString"]
    return max(lines, key=lambda line: line.length) if lines else None


def _plan(
    rng: np.random.Generator, edge: LineString | None, long: bool
) -> tuple[LineString, float] | None:
    """The part of ``edge`` to shift and by how much, or None if the edge cannot serve.

    A long sliver takes the whole edge, at least 700 m² where the edge is long enough (so
    only a width filter catches it); a short one 20–140 m² of it (an area filter catches it).
    """
    if edge is None or edge.length < 30.0:
        return None
    width = float(rng.uniform(0.3, 1.0))
    if long:
        return edge, min(1.0, max(width, WIDTH_ONLY_AREA_M2 / edge.length))
    area = float(rng.uniform(20.0, 140.0))
    length = min(area / width, 0.6 * edge.length)
    width = min(1.0, max(0.3, area / length))
    start = float(rng.uniform(0.2, 0.8 - length / edge.length)) * edge.length
    return substring(edge, start, start + length), width


def _strip(segment: LineString, width: float, loser: BaseGeometry) -> BaseGeometry | None:
    """The strip of ``loser`` along ``segment``, ``width`` wide."""
    sides = [shapely.buffer(segment, s * width, single_sided=True) for s in (1, -1)]
    pieces = [shapely.intersection(side, loser) for side in sides]
    strip = max(pieces, key=lambda p: p.area)
    if strip.geom_type != "Polygon" or strip.area < 0.9 * segment.length * width:
        return None
    return strip
