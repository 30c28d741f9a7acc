"""Multi-plan integration (多规合一): plan layers, classification, conflicts, site checks.

Modules by kind of operation: ``registry`` (layers and versions), ``classification``
(source codes → 2023 用地用海分类 and categories), ``importer`` (files → a new version),
``rules`` (the conflict rule table), ``conflicts`` (conflict runs: cut in worker processes,
stored in PostGIS), ``sitecheck`` (project red lines), ``impact`` (counts on the grid),
``reports`` (GeoPackage, CSV, offline map), ``loader`` (a sample city's plan layers, through
the importer). Every error raised on purpose is a :class:`LayerError`.
"""

from layers.errors import (
    ClassificationError,
    LayerError,
    PlanImportError,
    RuleError,
    SiteError,
    UnknownLayerError,
    UnknownPlanTypeError,
)

__all__ = [
    "ClassificationError",
    "LayerError",
    "PlanImportError",
    "RuleError",
    "SiteError",
    "UnknownLayerError",
    "UnknownPlanTypeError",
]
