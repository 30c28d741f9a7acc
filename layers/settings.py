"""Settings of multi-plan integration: where the rule and scheme tables are, and thresholds.

The sliver thresholds are practice, not law (docs/plans.md): the 三调 minimum mapping units
200 / 400 / 600 m² for construction / farmland / other land are the default minimum areas,
2 m the default minimum width. Built once by the CLI and passed down, never at import time.
"""

import os
from pathlib import Path
from typing import Final

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from gis.package_data import data_dir

CONFIG: Final = data_dir("layers")
"""The package's data: ``classification/`` (the mapping tables) and ``conflict_rules.yaml``."""

MIN_AREA_M2: Final = {"construction": 200.0, "farmland": 400.0, "other": 600.0}
"""Default sliver areas by sliver class: the 三调 minimum mapping units (read-only; copied)."""
MIN_WIDTH_M: Final = 2.0
"""Default sliver width: a piece nowhere wider than this is a sliver."""
NOISE_M2: Final = 1.0
"""Default noise area: pieces under it are crumbs of CRS round trips, not slivers."""


class PlanSettings(BaseSettings):
    """``ONEMAP_PLANS_*``: rule and scheme files, sliver filter, subdivision, site tolerance.

    Attributes
    ----------
    rules_file
        Conflict rules (class in A × class in B → type, severity), YAML.
    schemes_file
        Classification schemes: mapping tables to the 2023 用地用海分类 and coarse categories.
    min_area_m2
        A conflict piece under this area (planar, EPSG:4549) is a sliver; by the sliver class
        of its conflict type (``construction``, ``farmland``, ``other``).
    min_width_m
        A piece nowhere wider than this is a sliver (``ST_Buffer(piece, -w/2)`` is empty).
    noise_m2
        Pieces under this area are numerical noise of CRS round trips, not slivers; counted.
    subdivide_vertices
        Polygons with more vertices are cut by ``ST_Subdivide`` (at import, into the metric
        parts that conflict runs pair).
    site_tolerance_m2
        Overlaps of a project site with a control layer under this area are not findings.
    densify_m
        Edges of projected sources longer than this are split before the transform to
        EPSG:4490: a straight Gauss-Krüger edge is curved in longitude/latitude (≈ 12 cm off
        the chord over 3 km at 34.6°N), so without it holes and neighbours that touch a long
        edge cross it once transformed. 200 m keeps the chord within ≈ 0.5 mm; 0 disables.
    conflict_workers
        Worker processes that cut a conflict run's county chunks (1: in the calling process,
        no pool). By default the cores of this machine.
    """

    model_config = SettingsConfigDict(env_prefix="ONEMAP_PLANS_", extra="ignore")

    rules_file: Path = CONFIG / "conflict_rules.yaml"
    schemes_file: Path = CONFIG / "classification" / "schemes.yaml"
    min_area_m2: dict[str, float] = Field(default_factory=lambda: dict(MIN_AREA_M2))
    min_width_m: float = Field(default=MIN_WIDTH_M, ge=0)
    noise_m2: float = Field(default=NOISE_M2, ge=0)
    subdivide_vertices: int = Field(default=256, ge=8)
    site_tolerance_m2: float = Field(default=1.0, ge=0)
    densify_m: float = Field(default=200.0, ge=0)
    conflict_workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
