"""Generating the plans and rasters of one synthetic city: the package's entry point."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Final

import numpy as np
from rich.progress import Progress

from layers.errors import LayerError
from samples.plans import plans, rasters
from samples.plans.manifest import conflicts_section, layers_section
from samples.plans.scales import SCALES

SCALE_NAMES: Final = tuple(SCALES)
"""Scales :func:`generate_plans` accepts: small, medium, large."""

_STEPS: Final = ("plan layers", "designed conflicts", "DEM", "imagery")


def generate_plans(
    out: Path, seed: int, scale: str, progress: Progress | None = None
) -> dict[str, Any]:
    """Write ``out/plans/`` and ``out/rasters/`` for a city of ``scale``; deterministic for
    ``seed``. Returns ``{"plans": {...}, "rasters": {...}}`` for the city's manifest.json.

    Parameters
    ----------
    out
        The city's directory (created if missing); existing plan and raster files are
        replaced.
    seed
        Seed of the numpy Generators; every stage draws from its own stream.
    scale
        ``small`` (≈ 500 features per plan layer), ``medium`` (≈ 20 000), ``large``
        (≈ 200 000).
    progress
        A rich progress display to report the four stages on, if any.
    """
    if scale not in SCALES:
        raise LayerError(f"unknown scale {scale!r}: use one of {', '.join(SCALE_NAMES)}")
    params = SCALES[scale]
    out = Path(out)
    seeds = np.random.SeedSequence(seed).spawn(8)
    task = progress.add_task("plans and rasters", total=len(_STEPS)) if progress else None
    timings: dict[str, float] = {}

    def step(name: str, started: float) -> None:
        timings[name] = round(time.perf_counter() - started, 2)
        if progress is not None and task is not None:
            progress.update(task, advance=1, description=f"plans and rasters: {name} done")

    started = time.perf_counter()
    city = plans.build(out, seeds, params)
    step(_STEPS[0], started)
    started = time.perf_counter()
    conflicts = conflicts_section(city)
    step(_STEPS[1], started)
    noise_seed = int(seeds[5].generate_state(1)[0])
    started = time.perf_counter()
    dem = rasters.write_dem(out, params, noise_seed)
    step(_STEPS[2], started)
    started = time.perf_counter()
    imagery = rasters.write_imagery(out, params, city, noise_seed)
    step(_STEPS[3], started)
    return {
        "plans": {
            "seed": seed,
            "scale": scale,
            "atoms": len(city.fabric.atoms),
            "layers": layers_section(city),
            "conflicts": conflicts,
        },
        "rasters": {
            "dem": rasters.describe(
                dem,
                "elevation (m, CGCS2000 ellipsoidal heights treated as "
                "orthometric), sea negative; 云台山 ≈ 600 m near 119.3°E 34.7°N",
            ),
            "imagery": rasters.describe(
                imagery, "RGB rendering of 现状 (current use) with texture and hill shading"
            ),
        },
        "timings_s": timings,
    }
