"""``generate()``: the synthetic Lianyungang at one scale, deterministic for a seed.

Writes into ``out``: ``grid.gpkg`` (admin_areas, cells, buildings; EPSG:4490),
``workers.csv``, ``houses.csv``, ``households.csv``, ``persons.csv`` (UTF-8),
``inputs/events_gcj02.csv``, ``inputs/collection_<cell code>.xlsx`` and ``manifest.json``;
then, when the caller passes a plan generator (the CLI passes
``samples.plans.generate_plans``: this package does not import it), the plan layers and
rasters, whose manifest sections are merged in.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import numpy as np
from rich.progress import Progress, TaskID

from grid.errors import GridError
from samples.grid import inputs
from samples.grid.admin import build_admin
from samples.grid.assembly import ROW_TOLERANCE, assemble
from samples.grid.detail import CELL_HOUSEHOLDS, CELL_MAX_KM2, detail_community
from samples.grid.records import build_tables
from samples.grid.scales import SCALES, select
from samples.grid.tiling import GRID_DEG
from samples.grid.writing import CRS, write_csv, write_grid_layers, write_sheet

GENERATOR_VERSION: Final = "1.0.0"
AS_OF: Final = dt.date(2025, 11, 1)
"""Reference date of ages and events (fixed, so output does not depend on the clock)."""


class UnknownScaleError(GridError):
    """A scale that the generator does not know."""


class _Steps:
    """Rich progress tasks, or nothing when no progress display is given."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.totals: dict[TaskID, float] = {}

    def add(self, description: str, total: float | None) -> TaskID | None:
        if self.progress is None:
            return None
        task = self.progress.add_task(description, total=total)
        self.totals[task] = total or 1
        return task

    def advance(self, task: TaskID | None, amount: float = 1) -> None:
        if self.progress is not None and task is not None:
            self.progress.advance(task, amount)

    def done(self, task: TaskID | None) -> None:
        if self.progress is not None and task is not None:
            total = self.totals[task]
            self.progress.update(task, total=total, completed=total)


PlanGenerator = Callable[[Path, int, str, Progress | None], dict[str, Any]]
"""``(out, seed, scale, progress) -> manifest sections``, e.g. samples.plans.generate_plans."""


def generate(
    scale: str,
    seed: int,
    out: Path,
    progress: Progress | None = None,
    *,
    plans: PlanGenerator | None = None,
) -> dict[str, Any]:
    """Generate the city at ``scale`` into ``out``; return (and write) its manifest.

    ``plans`` writes the plan layers and rasters; without it only the grid part is made.
    """
    if scale not in SCALES:
        raise UnknownScaleError(f"unknown scale {scale!r}: choose one of {', '.join(SCALES)}")
    spec = SCALES[scale]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    steps = _Steps(progress)

    task = steps.add("admin areas", None)
    plan = build_admin(seed)
    steps.done(task)

    task = steps.add("communities, blocks, buildings", spec.persons)
    details = []
    for detail in select(plan, spec, lambda a: detail_community(seed, a, plan.centres[a.code[:6]])):
        details.append(detail)
        steps.advance(task, detail.persons)
    steps.done(task)

    task = steps.add("exact tiling, cells, codes", None)
    city = assemble(plan, details, seed)
    steps.done(task)

    task = steps.add("households and persons", None)
    tables = build_tables(city, seed, AS_OF)
    event_rows, truth = inputs.events(city, tables, seed, spec.events, AS_OF)
    cell, sheet_rows, rejections = inputs.collection(city, tables, seed, spec.collection_households)
    steps.done(task)

    task = steps.add("writing grid.gpkg and tables", None)
    files: dict[str, Any] = {"grid.gpkg": write_grid_layers(out, city, tables.cell_worker)}
    files["workers.csv"] = write_csv(out / "workers.csv", tables.workers)
    files["houses.csv"] = write_csv(out / "houses.csv", tables.houses)
    files["households.csv"] = write_csv(out / "households.csv", tables.households)
    files["persons.csv"] = write_csv(out / "persons.csv", tables.persons)
    events_name = "inputs/events_gcj02.csv"
    files[events_name] = write_csv(out / events_name, event_rows)
    files[events_name].update({"crs": "GCJ02", "coordinates": ["lon", "lat"]})
    sheet_name = f"inputs/collection_{cell}.xlsx"
    for old in (out / "inputs").glob("collection_*.xlsx"):
        old.unlink()
    files[sheet_name] = write_sheet(out / sheet_name, sheet_rows, "采集表")
    steps.done(task)

    manifest = _manifest(scale, seed, plan, details, city, tables, files)
    manifest["events"] = {"file": events_name, "rows": spec.events, "crs": "GCJ02",
                          "truth_crs": CRS, "truth": truth}  # fmt: skip
    manifest["collection"] = {"file": sheet_name, "cell": cell, "rows": len(sheet_rows),
                              "valid_rows": len(sheet_rows) - len(rejections),
                              "rejections": rejections}  # fmt: skip
    _write_manifest(out, manifest)
    extra = plans(out, seed, scale, progress) if plans is not None else {}
    if extra:
        manifest.update({k: v for k, v in extra.items() if k not in manifest})
        _write_manifest(out, manifest)
    return manifest


def _write_manifest(out: Path, manifest: dict[str, Any]) -> None:
    text = json.dumps(manifest, ensure_ascii=False, indent=2)
    (out / "manifest.json").write_text(text + "\n", encoding="utf-8")


def _manifest(
    scale: str,
    seed: int,
    plan: Any,
    details: list[Any],
    city: Any,
    tables: Any,
    files: dict[str, Any],
) -> dict[str, Any]:
    persons = tables.persons
    birth = persons["birth_date"].astype("datetime64[D]")
    age_days = (np.datetime64(AS_OF.isoformat(), "D") - birth).astype(np.int64)
    elderly = float(np.mean(age_days >= 60 * 365.2425))
    levels = {lvl: city.admin.level.count(lvl) for lvl in ("county", "street", "community")}
    sources = {s: city.admin.source.count(s) for s in sorted(set(city.admin.source))}
    kinds = {
        k: sum(1 for d in details if d.area.kind == k) for k in ("urban", "towncentre", "village")
    }
    return {
        "generator": {"name": "samples.grid", "version": GENERATOR_VERSION},
        "scale": scale,
        "seed": seed,
        "as_of": AS_OF.isoformat(),
        "crs": CRS,
        "tables": {
            "admin_areas": len(city.admin.code),
            "workers": len(tables.workers["key"]),
            "cells": len(city.cells.code),
            "buildings": len(city.buildings.code),
            "houses": len(tables.houses["key"]),
            "households": len(tables.households["household_no"]),
            "persons": len(persons["person_key"]),
        },
        "admin": {
            "levels": levels,
            "sources": sources,
            "detailed_communities": sorted(d.area.code for d in details),
            "detailed_by_kind": kinds,
        },
        "figures": {
            "elderly_share": round(elderly, 4),
            "buildings_dropped_at_snapping": city.dropped_buildings,
            "buildings_by_use": {
                str(u): int(n)
                for u, n in zip(*np.unique(city.buildings.use, return_counts=True), strict=True)
            },
        },
        "files": files,
        "broken": tables.broken,
        "straddling": city.straddling,
        "rules": {
            "snap_grid_deg": GRID_DEG,
            "cell_households": list(CELL_HOUSEHOLDS),
            "cell_max_km2": CELL_MAX_KM2,
            "cell_code": "12-digit community code + 3-digit sequence, row-major by centroid",
            "cell_row_tolerance": f"{ROW_TOLERANCE} × median cell bbox height",
            "building_code": "12-digit community code + 5-digit serial",
            "house_key": "<building code>/<unit>/<floor>/<room>; '' or an unknown building "
            "code in front when the house has no building",
            "household_no": "12-digit community code + 5-digit serial",
            "person_key": "P + 8 digits (persons.csv); in the database: citizen_id_hash of the "
            "row's citizen ID",
            "duplicate_key": "masked citizen ID",
            "straddling": "linked to the cell holding the larger part (ties: lower code)",
        },
    }
