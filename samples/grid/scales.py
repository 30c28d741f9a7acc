"""The sizes of the synthetic city, and which communities get full detail at each size.

Every scale has the whole administrative hierarchy; only some communities get cells,
buildings and people. Urban communities (居委会, of county seats first, then of town seats)
are taken nearest first to the scale's urban anchors until the urban quota of persons is
reached, then villages nearest first to its rural anchors and their towns' seats until
both targets are (nearly) reached, or one is passed by 15 %. Distances are divided by an
anchor's weight, so a heavier anchor draws more of the detail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final, NamedTuple

import numpy as np

from samples.grid.admin import AdminPlan, Area
from samples.grid.detail import CommunityDetail


class Scale(NamedTuple):
    """Targets and anchors of one scale (anchors: county or street codes, with weights)."""

    name: str
    persons: int
    buildings: int
    urban_persons: int
    urban_anchors: tuple[tuple[str, float], ...]
    rural_anchors: tuple[tuple[str, float], ...]
    events: int
    collection_households: int


_ALL_COUNTIES: Final = (
    ("320706", 1.0), ("320703", 0.8), ("320707", 0.6), ("320722", 0.6), ("320723", 0.6),
    ("320724", 0.6),
)  # fmt: skip

SCALES: Final = {
    "tiny": Scale("tiny", 6_000, 1_500, 1_000, (("320706", 1.0),), (("320706100", 1.0),), 40, 12),
    "small": Scale(
        "small",
        20_000,
        5_000,
        11_000,
        (("320706", 1.0), ("320703", 0.7)),
        (("320706100", 1.0),),
        300,
        30,
    ),
    "medium": Scale("medium", 400_000, 100_000, 200_000, _ALL_COUNTIES, _ALL_COUNTIES, 3_000, 40),
    "large": Scale(
        "large", 3_000_000, 1_000_000, 1_350_000, _ALL_COUNTIES, _ALL_COUNTIES, 20_000, 40
    ),
}
"""Targets (persons, buildings, urban persons): small ≈ 5 000 buildings / 20 000 persons,
medium ≈ 100 000 / 400 000, large ≈ 1 000 000 / 3 000 000."""


def _anchor_points(
    plan: AdminPlan, anchors: tuple[tuple[str, float], ...], towns: bool
) -> list[tuple[float, float, float]]:
    streets = {s.code[:9]: s for s in plan.streets}
    points = []
    for code, weight in anchors:
        if len(code) == 6:
            x, y, _ = plan.centres[code]
            points.append((x, y, weight))
            if towns:  # every town seat of the county draws rural detail too
                points.extend(
                    (s.seed[0], s.seed[1], weight * 0.8)
                    for s in plan.streets
                    if s.code.startswith(code) and s.kind != "street"
                )
        else:
            s = streets[code]
            points.append((s.seed[0], s.seed[1], weight))
    return points


def _by_priority(areas: list[Area], anchors: list[tuple[float, float, float]]) -> list[Area]:
    xy = np.array([a.seed for a in areas])
    best = np.full(len(areas), np.inf)
    for x, y, w in anchors:
        best = np.minimum(best, np.hypot(xy[:, 0] - x, xy[:, 1] - y) / w)
    return [areas[i] for i in np.lexsort((np.array([a.code for a in areas]), best)).tolist()]


def select(
    plan: AdminPlan,
    scale: Scale,
    detail: Callable[[Area], CommunityDetail],
) -> Iterator[CommunityDetail]:
    """Detailed communities in priority order until the scale's persons are reached."""
    urban = [a for a in plan.communities if a.kind != "village"]
    villages = [a for a in plan.communities if a.kind == "village"]
    persons = buildings = 0
    for area in _by_priority(urban, _anchor_points(plan, scale.urban_anchors, towns=False)):
        if persons >= scale.urban_persons:
            break
        result = detail(area)
        persons += result.persons
        buildings += len(result.buildings)
        yield result
    for area in _by_priority(villages, _anchor_points(plan, scale.rural_anchors, towns=True)):
        enough = persons >= scale.persons and buildings >= 0.9 * scale.buildings
        if enough or persons >= 1.15 * scale.persons or buildings >= 1.15 * scale.buildings:
            break
        result = detail(area)
        persons += result.persons
        buildings += len(result.buildings)
        yield result
