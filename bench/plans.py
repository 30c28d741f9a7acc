"""Multi-plan integration: the conflict analysis 城规 × 土规 and the import of both plan layers,
against fair baselines, on the sample city and on the ``large`` city.

Data: the ``small`` sample city's plans (data/samples/small/plans, 571 + ≈ 480 polygons, where
fixed costs dominate) and the ``large`` synthetic plans (≈ 210 000 土规 and 260 000 城规
polygons, seed 20261123, written once to ``.onemap/bench/plans-large``; several minutes).
Databases: bench/_plans_setup.py (a fresh copy of a migrated base for every timed import).

Measured per city, in one round, each figure the median of ``ONEMAP_BENCH_REPEATS`` runs
(default 3); ours with one process and with all cores (``os.cpu_count()``), the order of
the two alternating from run to run:

1. **From files.** Ours: import of both layers into a fresh database (``import_layer``, each
   committed) and the conflict run, back to back. geopandas: read + ``to_crs(4549)`` +
   ``make_valid`` + the filtered overlays + classification + area, a new process each run.
2. **Analysis only.** Both sides start from layers already projected and valid. Ours: the
   conflict run on the metric parts made at import (after ``VACUUM (ANALYZE)`` and a
   ``CHECKPOINT``). geopandas: the same analysis on GeoDataFrames read, projected and made
   valid before its timer starts, in one process.
3. **Import** beside ``ogr2ogr`` into PostGIS (``-t_srs EPSG:4490``, COPY, GiST index) of the
   same files, both after reading every file once (same warm page cache): features/s.

The geopandas baseline (bench/_plans_geopandas.py) is filtered to the class pairs the rules
use, runs on one core, and its patches per type and areas are checked against ours (equal,
within 0.1 %). Memory (bench/_memory.py) is the peak of the summed PSS of everything working
on a run, read every 100 ms; CPU s the CPU time of the same processes over the run (on a
shared machine it moves less than wall time). Targets, on the large city: analysis only ≥ 5×
geopandas with all cores and ≥ 2.5× with one process; import ≥ 0.33× ogr2ogr's features/s.
From files has no target. The process count goes to the engine through ``PlanSettings``
(bench/_plans_setup.py).

``python -m bench plans [--cities small,large] [--parts all|analysis] [--json]``. Results:
``.onemap/bench/plans-results.{json,md}``. ``ONEMAP_BENCH_PLANS_SKIP`` (comma list of
``ogr2ogr``, ``geopandas``) leaves baselines out.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import text

from bench import _plans_baselines as baselines
from bench import _plans_ours as ours
from bench import _plans_report as report
from bench import _plans_setup as setup
from bench._memory import Sampler

WORK = setup.WORK


def _options(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench plans",
        description="Conflict analysis and plan import against filtered geopandas and "
        "ogr2ogr, on the sample city and the large city.",
    )
    parser.add_argument(
        "--cities", default="small,large", help="comma list of small, large (default both)"
    )
    parser.add_argument(
        "--parts",
        choices=["all", "analysis"],
        default="all",
        help="analysis: one import (all cores) and the analysis-only figures, no from-files "
        "repeats, ogr2ogr or geopandas from files (a quicker look; cannot pass)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    options = parser.parse_args(list(argv))
    cities = [c for c in options.cities.split(",") if c]
    unknown = set(cities) - {"small", "large"}
    if unknown or not cities:
        parser.error(f"--cities: unknown {', '.join(sorted(unknown)) or 'empty list'}")
    options.cities = cities
    return options


def _repeats() -> int:
    return max(int(os.environ.get("ONEMAP_BENCH_REPEATS", "3")), 1)


def _load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def _orders(cores: int, repeats: int) -> list[list[int]]:
    counts = sorted({1, cores})
    return [counts if r % 2 == 0 else counts[::-1] for r in range(repeats)]


def _city(
    local: Any, city: setup.City, skip: set[str], progress: Progress, task: Any, parts: str
) -> dict[str, Any]:
    cores, repeats = os.cpu_count() or 1, _repeats()
    name = f"plans_bench_{city.name}"
    found: dict[str, Any] = {
        "cores": cores,
        "data": f"{city.landuse.name}, {city.urban.name} in {city.landuse.parent}",
    }
    mine: dict[str, Any] = {"from_files": {}, "analysis": {}}
    found["ours"] = mine

    def step(what: str) -> None:
        progress.update(task, description=f"{city.name}: {what}")

    with Sampler() as sampler:
        engine = None
        for order in _orders(cores, repeats) if parts == "all" else [[cores]]:
            for n in order:
                step(f"from files, {n} process(es)")
                if engine is not None:
                    engine.dispose()
                engine, _ = setup.fresh(local, name)
                mine["from_files"].setdefault(str(n), []).append(
                    ours.from_files(engine, name, city, n, sampler)
                )
                progress.advance(task)
        assert engine is not None
        step("VACUUM (ANALYZE), CHECKPOINT")
        setup.settle(engine)
        with engine.connect() as conn:
            found["features_loaded"] = ours.features(conn)
        for order in _orders(cores, repeats):
            for n in order:
                step(f"analysis only, {n} process(es)")
                mine["analysis"].setdefault(str(n), []).append(
                    ours.analysis(engine, name, n, sampler)
                )
                progress.advance(task)
    if parts == "analysis":
        skip = skip | {"ogr2ogr", "geopandas files"}
    if "ogr2ogr" not in skip:
        found["ogr2ogr"] = []
        url = local.url(name)
        for _ in range(repeats):
            step("ogr2ogr")
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("DROP TABLE IF EXISTS ogr_landuse, ogr_urban"))
                conn.execute(text("CHECKPOINT"))
            found["ogr2ogr"].append(baselines.ogr2ogr(url, city))
            progress.advance(task)
    engine.dispose()
    setup.drop(local, name)
    if "geopandas" not in skip:
        step("geopandas, analysis only")
        found["geopandas"] = {"analysis": baselines.geopandas("analysis", city, repeats)}
        progress.advance(task, repeats)
        found["geopandas"]["files"] = []
        for _ in range(repeats if "geopandas files" not in skip else 0):
            step("geopandas, from files")
            setup.warm(city)
            found["geopandas"]["files"].append(baselines.geopandas("files", city))
            progress.advance(task)
    found["summary"] = report.summary(found, targets=city.name == "large")
    return found


def measure(options: argparse.Namespace, console: Console) -> dict[str, Any]:
    skip = set(filter(None, os.environ.get("ONEMAP_BENCH_PLANS_SKIP", "").split(",")))
    WORK.mkdir(parents=True, exist_ok=True)
    cores, repeats = os.cpu_count() or 1, _repeats()
    results: dict[str, Any] = {
        "machine": {"cpus": cores, "python": sys.version.split()[0], "load_average_start": _load()},
        "options": {
            "repeats": repeats,
            "processes": sorted({1, cores}),
            "cities": options.cities,
            "parts": options.parts,
            "skip": sorted(skip),
        },
        "cities": {},
    }
    per_city = 2 * len(results["options"]["processes"]) * repeats + 3 * repeats
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("data and base database", total=per_city * len(options.cities))
        make = {"small": setup.small_city, "large": setup.large_city}
        cities = [make[c]() for c in options.cities]
        local = setup.server()
        setup.make_base(local)
        for city in cities:
            results["cities"][city.name] = _city(local, city, skip, progress, task, options.parts)
            _write(results)
    results["machine"]["load_average_end"] = _load()
    return results


def _write(results: dict[str, Any]) -> None:
    (WORK / "plans-results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))
    (WORK / "plans-results.md").write_text(report.markdown(results))


def run() -> dict[str, object]:
    """``python -m bench plans`` with the default options: the flat figures."""
    results = measure(_options([]), Console(stderr=True))
    _write(results)
    return report.flat(results)


def main(argv: Sequence[str]) -> int:
    options = _options(argv)
    started = time.monotonic()
    results = measure(options, Console(stderr=True))
    results["seconds"] = round(time.monotonic() - started, 1)
    _write(results)
    figures = report.flat(results)
    if options.json:
        print(json.dumps(results | {"figures": figures}, indent=1, ensure_ascii=False))
    else:
        from bench.__main__ import _table

        Console().print(_table("plans", figures))
    return 0 if figures["passed"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
