"""The plans part of the city's manifest: layers, classification, designed conflicts, slivers."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import shapely

from layers.conflict_summaries import MU_M2
from layers.settings import MIN_AREA_M2, MIN_WIDTH_M, NOISE_M2
from samples.plans.conflict_rules import TYPES, classification
from samples.plans.conflicts_expected import (
    METHOD,
    LayerInput,
    Pieces,
    inscribed_width,
    intersect,
    load,
    measure,
    outside,
)
from samples.plans.plans import PlanCity

ROW_NOTE = (
    "a_row/b_row: 0-based position of the feature in its file, which is the OGR/fiona FID "
    "for Shapefile and GeoJSON; GeoPackage FIDs are row + 1. Ids are the layer's id_field."
)


def _areas(m2: float) -> dict[str, float]:
    return {"area_m2": round(m2, 2), "area_mu": round(m2 / MU_M2, 4), "area_ha": round(m2 / 1e4, 6)}


def layer_inputs(city: PlanCity) -> dict[str, LayerInput]:
    """Every written layer back in EPSG:4549 as the conflict analysis would see it."""
    codes = {"landuse_plan": city.design.codes.landuse, "urban_plan": city.urban.codes}
    usable: dict[str, Any] = {}
    unknown = np.zeros(len(city.design.codes.landuse), dtype=bool)
    unknown[city.design.unknown] = True
    usable["landuse_plan"] = ~unknown
    return {
        key: load(w.geometries, w.delivery.epsg, codes.get(key), w.ids, usable.get(key))
        for key, w in city.written.items()
        if key != "current_use"
    }


def layers_section(city: PlanCity) -> dict[str, Any]:
    """Per layer: file, driver, CRS, encoding, counts, code field, scheme, defects."""
    out: dict[str, Any] = {}
    for key, w in city.written.items():
        d = w.delivery
        entry: dict[str, Any] = {
            "file": d.file,
            "driver": _driver(d.file),
            "crs": f"EPSG:{d.epsg}",
            "epsg": d.epsg,
            "encoding": d.encoding,
            "features": w.features,
            "id_field": d.id_field,
            "code_field": d.code_field,
            "name_field": d.name_field,
            "scheme": d.scheme,
            "plan_type": key,
            "title": d.title,
            "department": d.department,
            "invalid_geometries": [],
            "unknown_codes": [],
        }
        if key == "dev_boundary":
            entry["crs"] = "OGC:CRS84"
            entry["crs_note"] = "RFC 7946: WGS 84 lon/lat (EPSG:4326), counter-clockwise exteriors"
        if key == "landuse_plan":
            design, codes = city.design, city.design.codes.landuse
            for kind, rows in (("bowtie", design.bowtie), ("spike", design.spike)):
                entry["invalid_geometries"] += [
                    {
                        "fid": i,
                        "id": w.ids[i],
                        "defect": kind,
                        "reason": shapely.is_valid_reason(w.geometries[i]),
                    }
                    for i in rows.tolist()
                ]
            entry["unknown_codes"] = [
                {"fid": i, "id": w.ids[i], "code": str(codes[i])} for i in design.unknown.tolist()
            ]
        out[key] = entry
    return out


def _driver(file: str) -> str:
    return {"shp": "ESRI Shapefile", "gpkg": "GPKG", "geojson": "GeoJSON"}[file.rsplit(".", 1)[1]]


def conflicts_section(city: PlanCity) -> dict[str, Any]:
    """Designed conflicts per type, slivers, and the method and thresholds used."""
    layers = layer_inputs(city)
    types: dict[str, Any] = {}
    kept_all, sliver_all = [], []
    sliver_items: list[dict[str, Any]] = []
    for ctype in TYPES:
        by_pair: dict[str, Any] = {}
        patches: list[dict[str, Any]] = []
        kept_geoms = []
        total, count, s_count, s_area, noise = 0.0, 0, 0, 0.0, 0
        for rule in ctype.rules:
            a, b = layers[rule.a], layers[rule.b]
            pieces = (intersect if ctype.operation == "intersection" else outside)(a, b, rule)
            m = measure(pieces)
            groups = _group(pieces, m["kept"], m["area"])
            for (ra, rb), area in groups.items():
                patches.append(_patch(rule.a, rule.b, a, b, ra, rb, area))
            pair_area = float(sum(groups.values()))
            by_pair[f"{rule.a}/{rule.b}"] = {"count": len(groups), **_areas(pair_area)}
            total, count = total + pair_area, count + len(groups)
            s_count += int(m["sliver"].sum())
            s_area += float(m["area"][m["sliver"]].sum())
            noise += int(m["noise"].sum())
            kept_geoms.append(pieces.geoms[m["kept"]])
            kept_all.append(pieces.geoms[m["kept"]])
            sliver_all.append(pieces.geoms[m["sliver"]])
            for j in np.flatnonzero(m["sliver"]).tolist():
                sliver_items.append(
                    {
                        "type": ctype.key,
                        "pair": f"{rule.a}/{rule.b}",
                        "a_row": int(pieces.a[j]),
                        "b_row": int(pieces.b[j]) if pieces.b[j] >= 0 else None,
                        "area_m2": round(float(m["area"][j]), 2),
                        "caught_by_area": bool(m["planar"][j] < MIN_AREA_M2["construction"]),
                        "caught_by_width": bool(m["thin"][j]),
                    }
                )
        overlap = _overlap(kept_geoms)
        types[ctype.key] = {
            "label": ctype.label,
            "severity": ctype.severity,
            "operation": ctype.operation,
            "layers": [[r.a, r.b] for r in ctype.rules],
            "definition": ctype.definition,
            "count": count,
            **_areas(total),
            "overlap_between_pairs_m2": overlap,
            "by_pair": by_pair,
            "slivers": {"count": s_count, **_areas(s_area)},
            "noise_pieces": noise,
            "patches": sorted(patches, key=lambda p: (p["a_layer"], p["a_row"], p["b_row"] or 0)),
        }
    kept = np.concatenate(kept_all)
    slivers = np.concatenate(sliver_all)
    return {
        "method": METHOD,
        "row_note": ROW_NOTE,
        "units": {
            "m2_per_mu": MU_M2,
            "mu_note": "1 亩 = 10000/15 m² exactly (≈ 666.67 m²)",
            "m2_per_ha": 10000,
        },
        "sliver_filter": {
            "min_area_m2": MIN_AREA_M2,
            "min_width_m": MIN_WIDTH_M,
            "noise_below_m2": NOISE_M2,
            "rule": "a piece is a sliver when its area is under the minimum or it is nowhere "
            "wider than min_width_m (ST_Buffer(piece, -min_width_m/2) is empty)",
            "designed_patch_min_area_m2": round(float(shapely.area(kept).min()), 1),
            "designed_patch_min_inscribed_width_m": round(float(inscribed_width(kept).min()), 1),
            "sliver_max_inscribed_width_m": round(float(inscribed_width(slivers).max()), 3)
            if slivers.size
            else 0.0,
        },
        "types": types,
        "slivers": {
            "count": len(sliver_items),
            **_areas(sum(s["area_m2"] for s in sliver_items)),
            "shifted_edges": [
                {
                    "urban_plan_row_grown": s.gainer,
                    "urban_plan_row_shrunk": s.loser,
                    "width_m": round(s.width, 3),
                    "length_m": round(s.length, 1),
                    "long": s.long,
                }
                for s in city.slivers
            ],
            "pieces": sliver_items,
            "note": "each shifted 城规 edge yields one sliver per conflict type it creates "
            "(e.g. 城规建设 ∩ 土规非建设 and 建设占用永久基本农田 for the same strip); "
            "numerical noise pieces (< 1 m², from CRS round trips) are not counted",
        },
        "classification": classification(
            sorted({str(c) for c in city.design.codes.landuse.tolist()} - set(_unknown(city))),
            sorted({str(c) for c in city.urban.codes.tolist()}),
        ),
    }


def _overlap(kept: list[Any]) -> float | None:
    """Planar area (m²) where patches of a type's two layer pairs overlap (None: one pair)."""
    if len(kept) < 2 or not (kept[0].size and kept[1].size):
        return None if len(kept) < 2 else 0.0
    qa, qb = shapely.STRtree(kept[1]).query(kept[0], predicate="intersects")
    return round(float(shapely.area(shapely.intersection(kept[0][qa], kept[1][qb])).sum()), 3)


def _unknown(city: PlanCity) -> list[str]:
    return [str(city.design.codes.landuse[i]) for i in city.design.unknown.tolist()]


def _group(pieces: Pieces, kept: Any, area: Any) -> dict[tuple[int, int], float]:
    groups: dict[tuple[int, int], float] = defaultdict(float)
    for j in np.flatnonzero(kept).tolist():
        groups[(int(pieces.a[j]), int(pieces.b[j]))] += float(area[j])
    return dict(groups)


def _patch(
    la: str, lb: str, a: LayerInput, b: LayerInput, ra: int, rb: int, area: float
) -> dict[str, Any]:
    return {
        "a_layer": la,
        "a_row": ra,
        "a_id": a.ids[ra],
        "a_code": None if a.codes is None else str(a.codes[ra]),
        "b_layer": lb,
        "b_row": rb if rb >= 0 else None,
        "b_id": b.ids[rb] if rb >= 0 else None,
        "b_code": None if b.codes is None or rb < 0 else str(b.codes[rb]),
        "area_m2": round(area, 3),
    }
