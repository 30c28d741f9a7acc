"""Metric parts of plan features, made once at import for every conflict run.

Conflicts are cut and measured in EPSG:4549 metres, on polygons snapped to a 1 µm grid (edges
two layers share then coincide exactly instead of crossing by nanometres, which spares
thousands of crumbs), made valid where the projection crossed an edge, and cut with
``ST_Subdivide`` above a vertex limit so that a big polygon's intersections stay cheap.
Doing this per run cost about half of a run on two 200 000-polygon layers; it depends on
nothing but the feature, so it is done once, when the version is imported.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import Connection, text

from gis.sql_files import statement

__all__ = ["SNAP_M", "make_parts"]

SNAP_M: Final = 1e-6
"""The snapping grid of metric parts, in metres."""


def make_parts(conn: Connection, layer_version_id: int, vertices: int) -> None:
    """Write the metric parts of one layer version's features (``plans.feature_parts``)."""
    for part in statement(__name__, "make").split(";\n"):
        conn.execute(
            text(part),
            {"lv": layer_version_id, "grid": SNAP_M, "vertices": vertices},
        )
