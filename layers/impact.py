"""Impact of a plan on the grid: buildings, houses, households and persons inside an area.

The area is any polygon, the patches of a conflict run (optionally of some types), or a
checked site. Results are counts, in total and per community — never a person, a name or an
address — e.g. how many households a planned road corridor touches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from gis.crs import STORAGE_SRID
from gis.sql_files import sql, statement
from layers.errors import UnknownLayerError

__all__ = ["CommunityImpact", "Impact", "impact_of_geometry", "impact_of_run", "impact_of_site"]

Mode = Literal["intersects", "inside"]


class CommunityImpact(NamedTuple):
    """Counts in one community (None: buildings outside every community)."""

    community_code: str | None
    community_name: str | None
    street_code: str | None
    buildings: int
    houses: int
    households: int
    persons: int


class Impact(NamedTuple):
    """Totals and the per-community breakdown; ``mode`` says how buildings were counted."""

    mode: str
    buildings: int
    houses: int
    households: int
    persons: int
    by_community: list[CommunityImpact]

    def as_dict(self) -> dict[str, Any]:
        """As ``onemap plans impact --json`` prints it and the ``grid-impact`` process
        returns it (one shape for both): counts only, JSON-ready."""
        return {**self._asdict(), "by_community": [c._asdict() for c in self.by_community]}


def _measure(conn: Connection, fill: str, params: dict[str, object], mode: Mode) -> Impact:
    with conn.begin_nested():
        for part in statement(__name__, "setup").split(";\n"):
            conn.execute(text(part))
        conn.execute(sql(__name__, fill), params)
        for part in statement(__name__, "index_area").split(";\n"):
            conn.execute(text(part))
        rows = [
            CommunityImpact(*r) for r in conn.execute(sql(__name__, "by_community"), {"mode": mode})
        ]
    return Impact(
        mode,
        sum(r.buildings for r in rows),
        sum(r.houses for r in rows),
        sum(r.households for r in rows),
        sum(r.persons for r in rows),
        rows,
    )


def impact_of_geometry(
    conn: Connection, geometry: BaseGeometry, mode: Mode = "intersects"
) -> Impact:
    """Impact of a polygon in EPSG:4490 (a planned road corridor, a project site ...)."""
    ewkb = shapely.to_wkb(shapely.set_srid(geometry, STORAGE_SRID), include_srid=True)
    return _measure(conn, "area_geometry", {"area": ewkb}, mode)


def impact_of_run(
    conn: Connection, run_id: int, types: Sequence[str] | None = None, mode: Mode = "intersects"
) -> Impact:
    """Impact of the patches of conflict run ``run_id`` (of ``types`` only, if given)."""
    if (
        conn.execute(text("SELECT 1 FROM plans.conflict_runs WHERE id = :r"), {"r": run_id}).first()
        is None
    ):
        raise UnknownLayerError(f"no conflict run {run_id}")
    return _measure(
        conn, "area_run", {"run": run_id, "types": list(types) if types else None}, mode
    )


def impact_of_site(conn: Connection, site_id: int, mode: Mode = "intersects") -> Impact:
    """Impact of the red line of site check ``site_id``."""
    if (
        conn.execute(text("SELECT 1 FROM plans.site_checks WHERE id = :s"), {"s": site_id}).first()
        is None
    ):
        raise UnknownLayerError(f"no site check {site_id}")
    return _measure(conn, "area_site", {"site": site_id}, mode)
