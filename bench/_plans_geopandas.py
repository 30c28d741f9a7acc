"""The geopandas baseline of ``bench plans``, run by the bench-only virtualenv's Python.

Usage: ``python _plans_geopandas.py MODE LANDUSE.shp URBAN.shp CLASSIFICATION_DIR [REPEAT]``
→ JSON on stdout. Imports nothing from the platform. It is what a GIS analyst would script,
filtered first to the class pairs some conflict type uses (the rules of
layers/data/conflict_rules.yaml for 城规 × 土规):

- 城规 construction × every 土规 feature → 城规建设 ∩ 土规非建设, and construction ∩
  construction of different 2023 first-level use;
- 城规 non-construction × 土规 construction → 土规建设 ∩ 城规非建设;

each one ``geopandas.overlay(how="intersection")``; the pieces are classified with the same
mapping tables (layers/data/classification), measured (planar area in EPSG:4549: cheaper than
ellipsoidal, its best case), cleared of noise (< 1 m²) and slivers (< 200 m², or nowhere 2 m
wide), and counted as patches per feature pair and type. Features of unknown codes are left
out on both sides, as the platform's classes do.

Modes:

- ``analysis``: read both files, ``to_crs(4549)`` and ``make_valid`` *untimed*, then REPEAT
  timed analyses (class lookup, filtered overlays, classification, area);
- ``files``: one timed run of all of it: read + ``to_crs`` + ``make_valid`` + analysis.

Each timed run reports its ``time.monotonic()`` start and end (the bench samples this
process's memory over that window) and its CPU time (one core: CPU ≈ wall).
"""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

GK = 4549  # CGCS2000 / 3-degree Gauss-Kruger CM 120E, the platform's metric CRS
TYPES = (
    "urbanplan_build_on_landuse_nonbuild",
    "landuse_build_on_urbanplan_nonbuild",
    "build_use_mismatch",
)
Codes = dict[str, tuple[bool, str]]


def _table(path: Path) -> Codes:
    """Code → (construction, 2023 first-level class)."""
    with path.open(encoding="utf-8") as handle:
        return {
            r["code"]: (r["construction"] == "1", (r["code_2023"] or "")[:2])
            for r in csv.DictReader(handle)
        }


def read(landuse: str, urban: str) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    land = gpd.read_file(landuse, columns=["DLBM"], encoding="gb18030")
    return land, gpd.read_file(urban, columns=["YDDM"])


def prepare(
    land: gpd.GeoDataFrame, urban: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Both layers in EPSG:4549, valid."""
    land, urban = land.to_crs(GK), urban.to_crs(GK)
    land["geometry"] = land.geometry.make_valid()
    urban["geometry"] = urban.geometry.make_valid()
    return land, urban


def _classify(frame: gpd.GeoDataFrame, field: str, codes: Codes, side: str) -> gpd.GeoDataFrame:
    known = frame[frame[field].isin(codes)].copy()
    known[f"{side}_id"] = np.arange(len(known))
    known[f"{side}b"] = known[field].map({c: v[0] for c, v in codes.items()}).astype(bool)
    known[f"{side}u"] = known[field].map({c: v[1] for c, v in codes.items()})
    return known


def _patches(pieces: gpd.GeoDataFrame) -> dict[str, float]:
    parts = pieces.explode(index_parts=False)
    area = parts.geometry.area
    real = parts[area >= 1.0]
    thin = shapely.is_empty(shapely.buffer(real.geometry.to_numpy(), -1.0))
    kept = real[(real.geometry.area >= 200.0).to_numpy() & ~thin]
    patches = kept.groupby(["u_id", "l_id"]).geometry.apply(lambda g: g.area.sum())
    return {"patches": len(patches), "area_m2": float(pd.Series(patches).sum())}


def analyse(
    land: gpd.GeoDataFrame, urban: gpd.GeoDataFrame, land_codes: Codes, urban_codes: Codes
) -> dict[str, object]:
    """Filtered overlays, classification, area: the figures per conflict type."""
    land = _classify(land, "DLBM", land_codes, "l")
    urban = _classify(urban, "YDDM", urban_codes, "u")
    builds = gpd.overlay(urban[urban["ub"]], land, how="intersection", keep_geom_type=True)
    others = gpd.overlay(
        urban[~urban["ub"]], land[land["lb"]], how="intersection", keep_geom_type=True
    )
    lu, uu = builds["lu"], builds["uu"]
    mismatch = builds["lb"] & (lu != uu) & (lu != "") & (uu != "")
    kinds = {
        TYPES[0]: builds[~builds["lb"].to_numpy()],
        TYPES[1]: others,
        TYPES[2]: builds[mismatch.to_numpy()],
    }
    return {
        "features": [len(land), len(urban)],
        "pieces": len(builds) + len(others),
        "types": {name: _patches(pieces) for name, pieces in kinds.items()},
    }


def _timed(
    run: Callable[..., dict[str, object]], *args: object
) -> tuple[dict[str, object], dict[str, float]]:
    started, cpu = time.monotonic(), time.process_time()
    found = run(*args)
    ended = time.monotonic()
    seconds = ended - started
    return found, {
        "seconds": round(seconds, 3),
        "cpu_s": round(time.process_time() - cpu, 3),
        "t0": started,
        "t1": ended,
    }


def main(mode: str, landuse: str, urban: str, classification: str, repeat: str = "1") -> object:
    tables = Path(classification)
    land_codes = _table(tables / "gbt21010-2017.csv")
    urban_codes = _table(tables / "gb50137-2011.csv")
    if mode == "files":

        def everything() -> dict[str, object]:
            land, urb = prepare(*read(landuse, urban))
            return analyse(land, urb, land_codes, urban_codes)

        found, timing = _timed(everything)
        return {**found, "runs": [timing], "geopandas": gpd.__version__}
    if mode != "analysis":
        raise SystemExit(f"unknown mode {mode!r}: analysis or files")
    started = time.monotonic()
    land, urb = prepare(*read(landuse, urban))
    prepared_s = time.monotonic() - started
    runs = [_timed(analyse, land, urb, land_codes, urban_codes) for _ in range(int(repeat))]
    return {
        **runs[-1][0],
        "read_prepare_s": round(prepared_s, 3),
        "runs": [timing for _, timing in runs],
        "geopandas": gpd.__version__,
        "shapely": shapely.__version__,
        "geos": shapely.geos_version_string,
    }


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:6])))
