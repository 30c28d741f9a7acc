"""Conflict analysis on the sample city against the manifest's designed conflicts, and against
an independent computation (fiona + pyproj + shapely + pyproj.Geod on the source files).

The three runs (城规 × 土规, 土规 × every control line, 城规 × every control line) are made
once for the module inside a transaction that is rolled back at its end.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fiona
import numpy as np
import pyproj
import pytest
import shapely
from shapely.geometry import shape
from sqlalchemy import Connection, Engine, text

from layers.conflict_summaries import MU_M2, summary_by_county
from layers.conflicts import RunResult, run_conflicts
from layers.errors import LayerError, RuleError
from layers.importer import ImportReport
from layers.rules import Rules
from layers.settings import PlanSettings

TOLERANCE = 1e-3  # 0.1 %
GEOD = pyproj.Geod(a=6378137.0, rf=298.257222101)  # CGCS2000


@pytest.fixture(scope="module")
def runs(
    engine: Engine, plans: dict[str, ImportReport], rules: Rules, plan_settings: PlanSettings
) -> Iterator[tuple[Connection, dict[str, RunResult]]]:
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            done = {
                "urban×landuse": run_conflicts(
                    conn, "urban_plan", ["landuse_plan"], rules=rules, settings=plan_settings
                ),
                "landuse×control": run_conflicts(
                    conn, "landuse_plan", rules=rules, settings=plan_settings, control_lines=True
                ),
                "urban×control": run_conflicts(
                    conn, "urban_plan", rules=rules, settings=plan_settings, control_lines=True
                ),
            }
            yield conn, done
        finally:
            transaction.rollback()


def _totals(done: dict[str, RunResult]) -> dict[str, list[float]]:
    totals: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0, 0.0])
    for result in done.values():
        for s in result.by_type:
            t = totals[s.type]
            t[0] += s.patches
            t[1] += s.area_m2
            t[2] += s.slivers
            t[3] += s.sliver_m2
    return totals


def test_every_designed_type_is_found_with_its_area(
    runs: tuple[Connection, dict[str, RunResult]], manifest: dict[str, Any]
) -> None:
    totals = _totals(runs[1])
    for key, spec in manifest["plans"]["conflicts"]["types"].items():
        patches, area, _, _ = totals[key]
        assert patches == spec["count"], key
        assert area == pytest.approx(spec["area_m2"], rel=TOLERANCE), key
        assert area / MU_M2 == pytest.approx(spec["area_mu"], rel=TOLERANCE), key
        assert area / 1e4 == pytest.approx(spec["area_ha"], rel=TOLERANCE), key


def _patches(conn: Connection) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in conn.execute(
            text(
                "SELECT p.id, p.run_id, p.type, p.severity, va.layer_id AS a_layer,"
                " fa.source_fid AS a_fid, p.a_code, vb.layer_id AS b_layer,"
                " fb.source_fid AS b_fid, p.b_code, p.area_m2, p.area_mu, p.area_ha,"
                " p.county_code, p.street_code, p.community_code, ST_AsBinary(p.geom) AS wkb"
                " FROM plans.conflict_patches p"
                " JOIN plans.layer_versions va ON va.id = p.a_layer_version_id"
                " JOIN plans.layer_versions vb ON vb.id = p.b_layer_version_id"
                " JOIN plans.features fa ON fa.id = p.a_feature_id"
                " LEFT JOIN plans.features fb ON fb.id = p.b_feature_id"
            )
        ).mappings()
    ]


def _fid(manifest: dict[str, Any], layer: str, row: int | None) -> str | None:
    if row is None:
        return None
    driver = manifest["plans"]["layers"][layer]["driver"]
    return str(row + 1 if driver == "GPKG" else row)


def test_every_designed_patch_is_found_with_its_codes_and_area(
    runs: tuple[Connection, dict[str, RunResult]], manifest: dict[str, Any]
) -> None:
    ours = {
        (p["type"], p["a_layer"], p["a_fid"], p["b_layer"], p["b_fid"]): p
        for p in _patches(runs[0])
    }
    expected = 0
    for key, spec in manifest["plans"]["conflicts"]["types"].items():
        for m in spec["patches"]:
            found = ours[
                (
                    key,
                    m["a_layer"],
                    _fid(manifest, m["a_layer"], m["a_row"]),
                    m["b_layer"],
                    _fid(manifest, m["b_layer"], m["b_row"]),
                )
            ]
            assert found["a_code"] == m["a_code"]
            assert found["b_code"] == m["b_code"] or m["b_code"] is None
            assert found["severity"] == spec["severity"]
            assert found["area_m2"] == pytest.approx(m["area_m2"], rel=TOLERANCE)
            expected += 1
    assert len(ours) == expected


def test_ellipsoidal_areas_are_cgcs2000_geodesic(
    runs: tuple[Connection, dict[str, RunResult]],
) -> None:
    """ST_Area(geography) on EPSG:4490 is the CGCS2000 ellipsoid (GRS80 ≈ CGCS2000)."""
    for p in _patches(runs[0]):
        geom = shapely.from_wkb(bytes(p["wkb"]))
        geodesic = sum(abs(GEOD.geometry_area_perimeter(g)[0]) for g in geom.geoms)
        assert p["area_m2"] == pytest.approx(geodesic, rel=1e-7)
        assert p["area_mu"] == pytest.approx(p["area_m2"] * 15 / 10000)
        assert p["area_ha"] == pytest.approx(p["area_m2"] / 10000)


# --- the independent route: source files → pyproj → shapely → pyproj.Geod -----------------


def _moved(geom: Any, transformer: pyproj.Transformer) -> Any:
    def xy(coords: Any) -> Any:
        return np.column_stack(transformer.transform(coords[:, 0], coords[:, 1]))

    return shapely.transform(geom, xy)


def _source(sample_dir: Path, manifest: dict[str, Any], layer: str) -> dict[str, Any]:
    spec = manifest["plans"]["layers"][layer]
    path = sample_dir / spec["file"]
    with fiona.open(path) as src:
        crs = pyproj.CRS.from_user_input(src.crs_wkt) if src.crs_wkt else pyproj.CRS("OGC:CRS84")
        to_metres = pyproj.Transformer.from_crs(crs, "EPSG:4549", always_xy=True)
        out = {}
        for f in src:
            geom = _moved(shape(f.geometry), to_metres)
            if not geom.is_valid:
                fixed = shapely.make_valid(geom)
                geom = shapely.MultiPolygon(
                    [g for g in shapely.get_parts(fixed) if g.geom_type == "Polygon"]
                )
            out[str(f.id)] = geom
    return out


def _geodesic(pieces: list[Any]) -> float:
    to_lonlat = pyproj.Transformer.from_crs("EPSG:4549", "EPSG:4490", always_xy=True)
    return sum(abs(GEOD.geometry_area_perimeter(_moved(g, to_lonlat))[0]) for g in pieces)


def _kept(geom: Any) -> list[Any]:
    parts = [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon"]
    return [g for g in parts if g.area >= 200 and not g.buffer(-1.0).is_empty]


def test_areas_agree_with_an_independent_computation(
    runs: tuple[Connection, dict[str, RunResult]], manifest: dict[str, Any], sample_dir: Path
) -> None:
    sources = {
        k: _source(sample_dir, manifest, k)
        for k in manifest["plans"]["layers"]
        if k != "current_use"
    }
    boundary = shapely.union_all(list(sources["dev_boundary"].values()))
    for p in _patches(runs[0]):
        a = sources[p["a_layer"]][p["a_fid"]]
        cut = (
            a.difference(boundary)
            if p["b_fid"] is None
            else a.intersection(sources[p["b_layer"]][p["b_fid"]])
        )
        assert p["area_m2"] == pytest.approx(_geodesic(_kept(cut)), rel=TOLERANCE), p["type"]


def test_slivers_are_filtered_and_kept(
    runs: tuple[Connection, dict[str, RunResult]], manifest: dict[str, Any]
) -> None:
    conn, done = runs
    totals = _totals(done)
    for key, spec in manifest["plans"]["conflicts"]["types"].items():
        assert totals[key][2] == spec["slivers"]["count"], key
        # slivers are strips under 1 m wide and up to 2.7 km long: whether a long edge runs
        # straight in Gauss-Krüger, in lon/lat or along the geodesic moves their area by ~1 %
        assert totals[key][3] == pytest.approx(spec["slivers"]["area_m2"], rel=0.02, abs=10), key
    rows = conn.execute(
        text("SELECT by_area, by_width, planar_area_m2 FROM plans.conflict_slivers")
    ).all()
    assert len(rows) == manifest["plans"]["conflicts"]["slivers"]["count"]
    assert all(width for _, width, _ in rows)  # every designed sliver is under 1 m wide
    assert sorted(r[0] for r in rows) == sorted(
        p["caught_by_area"] for p in manifest["plans"]["conflicts"]["slivers"]["pieces"]
    )


def test_runs_are_stored_with_parameters_and_versions(
    runs: tuple[Connection, dict[str, RunResult]], plan_settings: PlanSettings, rules: Rules
) -> None:
    conn, done = runs
    result = done["urban×control"]
    row = conn.execute(
        text("SELECT rules_sha256, parameters, stats FROM plans.conflict_runs WHERE id = :r"),
        {"r": result.run_id},
    ).one()
    assert row.rules_sha256 == rules.sha256
    assert row.parameters["sliver_filter"]["min_width_m"] == plan_settings.min_width_m
    assert row.parameters["sliver_filter"]["min_area_m2"] == plan_settings.min_area_m2
    layers = conn.execute(
        text(
            "SELECT v.layer_id, r.role FROM plans.conflict_run_layers r"
            " JOIN plans.layer_versions v ON v.id = r.layer_version_id WHERE r.run_id = :r"
        ),
        {"r": result.run_id},
    ).all()
    assert set(layers) == {
        ("urban_plan", "a"),
        ("basic_farmland", "b"),
        ("eco_redline", "b"),
        ("dev_boundary", "b"),
    }
    counties = conn.execute(text("SELECT count(*) FROM grid.admin_areas WHERE level = 'county'"))
    assert len(result.chunks) == counties.scalar_one() + 1  # one chunk per county, one outside
    assert len(row.stats["chunks"]) == len(result.chunks)


def test_patches_are_located_and_summed_by_county(
    runs: tuple[Connection, dict[str, RunResult]],
) -> None:
    conn, done = runs
    for p in _patches(conn):
        assert p["county_code"] is not None and p["community_code"] is not None
        assert p["community_code"].startswith(p["county_code"][:6])
        assert p["street_code"] == p["community_code"][:9] + "000"
    for result in done.values():
        by_county: dict[str, float] = defaultdict(float)
        for c in summary_by_county(conn, result.run_id):
            by_county[c.type] += c.area_m2
        for s in result.by_type:
            assert by_county.get(s.type, 0.0) == pytest.approx(s.area_m2)


def test_without_the_filter_slivers_become_patches(
    runs: tuple[Connection, dict[str, RunResult]],
    rules: Rules,
    plan_settings: PlanSettings,
    manifest: dict[str, Any],
) -> None:
    conn, _ = runs
    with conn.begin_nested() as nested:
        loose = run_conflicts(
            conn,
            "urban_plan",
            ["dev_boundary"],
            rules=rules,
            settings=plan_settings.model_copy(
                update={"min_width_m": 0.0, "min_area_m2": {"construction": 0.0}}
            ),
        )
        nested.rollback()
    spec = manifest["plans"]["conflicts"]["types"]["urban_build_outside_dev_boundary"]
    (summary,) = loose.by_type
    assert summary.slivers == 0
    assert summary.patches == spec["count"] + spec["slivers"]["count"]  # features with slivers only
    assert summary.area_m2 == pytest.approx(
        spec["area_m2"] + spec["slivers"]["area_m2"], rel=TOLERANCE
    )


def test_nonsense_comparisons_are_refused(
    runs: tuple[Connection, dict[str, RunResult]], rules: Rules, plan_settings: PlanSettings
) -> None:
    conn, _ = runs
    with pytest.raises(RuleError, match="no conflict type applies"):
        run_conflicts(conn, "eco_redline", ["dev_boundary"], rules=rules, settings=plan_settings)
    with pytest.raises(LayerError, match="compared with itself"):
        run_conflicts(conn, "urban_plan", ["urban_plan"], rules=rules, settings=plan_settings)
    with pytest.raises(LayerError, match="no plan layer"):
        run_conflicts(conn, "urban_plan", ["nowhere"], rules=rules, settings=plan_settings)
