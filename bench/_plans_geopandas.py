"""The geopandas baseline of ``bench/plans.py``, run by the bench-only virtualenv's Python.

Usage: ``python _plans_geopandas.py LANDUSE.shp URBAN.shp CLASSIFICATION_DIR [REPEAT]`` →
JSON on stdout (the analysis after the read runs REPEAT times; ``overlay_area_s`` is the
median). It does what a GIS analyst would script: read both layers, bring them to EPSG:4549,
``geopandas.overlay(how="intersection")``, classify the pieces with the same mapping tables
(layers/data/classification), measure them (planar area in EPSG:4549: cheaper than ellipsoidal,
its best case), drop noise (< 1 m²) and slivers (< 200 m², or nowhere 2 m wide) and count
the patches per conflict type. Imports nothing from the platform.
"""

from __future__ import annotations

import csv
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely


def _table(path: Path) -> dict[str, tuple[bool, str]]:
    with path.open(encoding="utf-8") as handle:
        return {
            r["code"]: (r["construction"] == "1", (r["code_2023"] or "")[:2])
            for r in csv.DictReader(handle)
        }


def main(
    landuse_path: str, urban_path: str, classification: str, repeat: str = "1"
) -> dict[str, object]:
    tables = Path(classification)
    land_codes = _table(tables / "gbt21010-2017.csv")
    urban_codes = _table(tables / "gb50137-2011.csv")
    started = time.perf_counter()
    land = gpd.read_file(landuse_path, encoding="gb18030")[["DLBM", "geometry"]]
    urban = gpd.read_file(urban_path)[["YDDM", "geometry"]]
    read_s = time.perf_counter() - started
    runs = [_analyse(land, urban, land_codes, urban_codes) for _ in range(int(repeat))]
    times = [seconds for seconds, _ in runs]
    return {
        **runs[-1][1],
        "read_s": round(read_s, 2),
        "overlay_area_s": statistics.median(times),
        "runs_s": times,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _analyse(
    land: gpd.GeoDataFrame,
    urban: gpd.GeoDataFrame,
    land_codes: dict[str, tuple[bool, str]],
    urban_codes: dict[str, tuple[bool, str]],
) -> tuple[float, dict[str, object]]:
    """One analysis after the read: its time (overlay + classification + area), its figures."""
    started = time.perf_counter()
    land = land[land["DLBM"].isin(land_codes)].to_crs(4549)  # unknown codes left out
    urban = urban.to_crs(4549)
    land["geometry"] = land.geometry.make_valid()
    urban["geometry"] = urban.geometry.make_valid()
    land["l_id"], urban["u_id"] = np.arange(len(land)), np.arange(len(urban))
    pieces = gpd.overlay(urban, land, how="intersection", keep_geom_type=True)
    overlay_s = time.perf_counter() - started
    started = time.perf_counter()
    lb = pieces["DLBM"].map(lambda c: land_codes[c][0])
    lu = pieces["DLBM"].map(lambda c: land_codes[c][1])
    ub = pieces["YDDM"].map(lambda c: urban_codes.get(c, (False, ""))[0])
    uu = pieces["YDDM"].map(lambda c: urban_codes.get(c, (False, ""))[1])
    kinds = {
        "urbanplan_build_on_landuse_nonbuild": ub & ~lb,
        "landuse_build_on_urbanplan_nonbuild": lb & ~ub,
        "build_use_mismatch": lb & ub & (lu != uu) & (lu != "") & (uu != ""),
    }
    result: dict[str, object] = {}
    for name, mask in kinds.items():
        parts = pieces[mask.to_numpy()].explode(index_parts=False)
        area = parts.geometry.area
        real = parts[area >= 1.0]
        thin = shapely.is_empty(shapely.buffer(real.geometry.to_numpy(), -1.0))
        ok = (real.geometry.area >= 200.0).to_numpy() & ~thin
        kept = real[ok]
        patches = kept.groupby(["u_id", "l_id"]).geometry.apply(lambda g: g.area.sum())
        result[name] = {"patches": len(patches), "area_m2": float(pd.Series(patches).sum())}
    classify_s = time.perf_counter() - started
    seconds = round(overlay_s + classify_s, 2)
    return seconds, {
        "features": [len(land), len(urban)],
        "pieces": len(pieces),
        "overlay_s": round(overlay_s, 2),
        "classify_area_s": round(classify_s, 2),
        "types": result,
        "geopandas": gpd.__version__,
    }


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:5])))
