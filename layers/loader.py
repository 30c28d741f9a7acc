"""Loading the plan layers of a sample city (``onemap samples load``) through the importer.

The sample's ``manifest.json`` lists every plan layer under ``plans.layers``: its file, plan
type, scheme, code field, title and department. Each becomes a layer of the same id.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from layers.classification import load_schemes
from layers.errors import PlanImportError
from layers.importer import ImportReport, import_layer
from layers.registry import LayerSpec
from layers.settings import PlanSettings

__all__ = ["load_plans", "plan_layers"]

Progress = Callable[[str, int], None]
"""Called with a layer id and the number of records just imported."""


def plan_layers(sample_dir: Path) -> dict[str, dict[str, Any]]:
    """The ``plans.layers`` section of the sample's manifest ({} when it has none)."""
    manifest = Path(sample_dir) / "manifest.json"
    if not manifest.is_file():
        raise PlanImportError(f"{sample_dir}: no manifest.json")
    data = json.loads(manifest.read_text(encoding="utf-8"))
    layers: dict[str, dict[str, Any]] = data.get("plans", {}).get("layers", {})
    return layers


def load_plans(
    target: Connection | Engine,
    sample_dir: Path,
    *,
    settings: PlanSettings,
    imported_by: str = "samples",
    progress: Progress | None = None,
) -> list[ImportReport]:
    """Import every plan layer of the sample at ``sample_dir``; one transaction.

    With an :class:`~sqlalchemy.Engine` the imports commit together; with a
    :class:`~sqlalchemy.Connection` they run in the caller's transaction. A layer whose file
    is unchanged since its current version is reported ``unchanged`` and not imported again.
    ``settings`` (scheme tables, densification, subdivision) are the caller's, built once.
    """
    if isinstance(target, Engine):
        with target.begin() as conn:
            return load_plans(
                conn, sample_dir, settings=settings, imported_by=imported_by, progress=progress
            )
    schemes = load_schemes(settings.schemes_file)
    reports = []
    for key, layer in plan_layers(sample_dir).items():
        spec = LayerSpec(
            id=key,
            title=layer.get("title") or key,
            plan_type=layer.get("plan_type") or key,
            scheme=layer.get("scheme"),
            department=layer.get("department"),
        )

        def advance(n: int, key: str = key) -> None:
            if progress is not None:
                progress(key, n)

        reports.append(
            import_layer(
                target,
                Path(sample_dir) / layer["file"],
                spec,
                schemes,
                code_field=layer.get("code_field"),
                imported_by=imported_by,
                densify_m=settings.densify_m,
                subdivide_vertices=settings.subdivide_vertices,
                progress=advance,
            )
        )
    return reports
