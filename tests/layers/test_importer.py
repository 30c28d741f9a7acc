"""The import pipeline on the sample city: every row is loaded, repaired or rejected with a
reason (nothing dropped silently); versions follow the file's checksum; a failed import
leaves the previous version as it was."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text

from layers.classification import Schemes
from layers.errors import LayerError, PlanImportError
from layers.importer import ImportReport, file_sha256, import_layer
from layers.registry import LayerSpec, get_layer, version, versions


def _ids(manifest: dict[str, Any], key: str) -> tuple[set[str], set[str]]:
    layer = manifest["plans"]["layers"][key]
    offset = 1 if layer["driver"] == "GPKG" else 0  # GeoPackage fids are row + 1
    invalid = {str(r["fid"] + offset) for r in layer["invalid_geometries"]}
    unknown = {str(r["fid"] + offset) for r in layer["unknown_codes"]}
    return invalid, unknown


def test_every_layer_is_loaded_repaired_or_rejected(
    conn: Connection, plans: dict[str, ImportReport], manifest: dict[str, Any]
) -> None:
    for key, spec in manifest["plans"]["layers"].items():
        current = version(conn, key)
        invalid, unknown = _ids(manifest, key)
        rejects = dict(
            conn.execute(
                text("SELECT source_fid, reason FROM plans.rejects WHERE layer_version_id = :v"),
                {"v": current.id},
            ).all()
        )
        repaired = set(
            conn.execute(
                text(
                    "SELECT source_fid FROM plans.repairs WHERE layer_version_id = :v"
                    " AND stage = 'source'"
                ),
                {"v": current.id},
            ).scalars()
        )
        assert set(rejects) == unknown, key
        assert repaired == invalid, key  # repaired and kept, not rejected
        assert all("unknown GB/T 21010-2017 code" in r for r in rejects.values())
        assert current.feature_count + len(rejects) == spec["features"], key
        loaded = conn.execute(
            text("SELECT count(*) FROM plans.features WHERE layer_version_id = :v"),
            {"v": current.id},
        ).scalar_one()
        assert loaded == current.feature_count
        assert (current.repairs, current.rejects) == (
            conn.execute(
                text("SELECT count(*) FROM plans.repairs WHERE layer_version_id = :v"),
                {"v": current.id},
            ).scalar_one(),
            len(rejects),
        )


def test_sources_are_traced(
    conn: Connection, plans: dict[str, ImportReport], sample_dir: Path
) -> None:
    landuse = version(conn, "landuse_plan")
    assert landuse.source_crs == "EPSG:4528" and landuse.source_encoding == "gb18030"
    assert landuse.source_sha256 == file_sha256(sample_dir / "plans" / "landuse_plan.shp")
    assert version(conn, "urban_plan").source_crs == "EPSG:4549"
    assert version(conn, "dev_boundary").source_crs in ("EPSG:4326", "OGC:CRS84")
    layer = get_layer(conn, "landuse_plan")
    assert (layer.plan_type, layer.scheme, layer.control_line) == (
        "landuse_plan",
        "GB/T 21010-2017",
        False,
    )
    assert get_layer(conn, "basic_farmland").control_line
    names = conn.execute(
        text(
            "SELECT properties ->> 'DLMC' FROM plans.features f"
            " WHERE f.layer_version_id = :v AND source_code = '0101' LIMIT 1"
        ),
        {"v": landuse.id},
    ).scalar_one()
    assert names == "水田"  # GBK text read right


def test_codes_are_harmonised(conn: Connection, plans: dict[str, ImportReport]) -> None:
    rows = conn.execute(
        text(
            "SELECT v.layer_id, f.source_code, f.code_2023, f.category FROM plans.features f"
            " JOIN plans.layer_versions v ON v.id = f.layer_version_id"
            " WHERE (v.layer_id, f.source_code) IN (('urban_plan', 'R2'), ('urban_plan', 'E2'),"
            " ('landuse_plan', '0602'), ('current_use', '0101')) GROUP BY 1, 2, 3, 4"
        )
    ).all()
    assert set(rows) >= {
        ("urban_plan", "R2", "070102", "建设"),
        ("urban_plan", "E2", None, "农用"),
        ("landuse_plan", "0602", "1002", "建设"),
    }
    eco = version(conn, "eco_redline")
    categories = (
        conn.execute(
            text("SELECT DISTINCT category FROM plans.features WHERE layer_version_id = :v"),
            {"v": eco.id},
        )
        .scalars()
        .all()
    )
    assert categories == ["生态"]


def test_unchanged_file_makes_no_version(
    conn: Connection, plans: dict[str, ImportReport], schemes: Schemes, sample_dir: Path
) -> None:
    before = versions(conn, "dev_boundary")
    report = import_layer(
        conn,
        sample_dir / "plans" / "dev_boundary.geojson",
        LayerSpec("dev_boundary", "城镇开发边界", "dev_boundary"),
        schemes,
    )
    assert report.status == "unchanged" and report.version == before[-1].version
    assert versions(conn, "dev_boundary") == before


def _boundary_copy(sample_dir: Path, tmp_path: Path, change: bool) -> Path:
    data = json.loads((sample_dir / "plans" / "dev_boundary.geojson").read_text(encoding="utf-8"))
    if change:
        data["features"] = data["features"][:-1]
        data["features"][0]["properties"]["BJBH"] = "changed"
    path = tmp_path / "dev_boundary.geojson"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_changed_file_makes_a_new_version_and_old_ones_stay(
    conn: Connection,
    plans: dict[str, ImportReport],
    schemes: Schemes,
    sample_dir: Path,
    tmp_path: Path,
) -> None:
    spec = LayerSpec("test-boundary", "test", "dev_boundary")
    first = import_layer(conn, _boundary_copy(sample_dir, tmp_path, False), spec, schemes)
    second = import_layer(conn, _boundary_copy(sample_dir, tmp_path, True), spec, schemes)
    assert (first.status, first.version, second.status, second.version) == (
        "imported",
        1,
        "imported",
        2,
    )
    assert first.sha256 != second.sha256
    counts = {v.version: v.feature_count for v in versions(conn, "test-boundary")}
    assert counts == {1: first.loaded, 2: first.loaded - 1}
    old = conn.execute(
        text("SELECT count(*) FROM plans.features WHERE layer_version_id = :v"),
        {"v": first.version_id},
    ).scalar_one()
    assert old == first.loaded  # the old version is still there, queryable
    assert get_layer(conn, "test-boundary").current_version == 2


def test_failed_import_leaves_the_previous_version(
    conn: Connection,
    plans: dict[str, ImportReport],
    schemes: Schemes,
    sample_dir: Path,
    tmp_path: Path,
) -> None:
    spec = LayerSpec("test-boundary", "test", "dev_boundary")
    import_layer(conn, _boundary_copy(sample_dir, tmp_path, False), spec, schemes)
    bad = tmp_path / "bad.geojson"
    bad.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"DLBM": "9999"},
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [
                                [[119.2, 34.6], [119.21, 34.6], [119.21, 34.61], [119.2, 34.6]]
                            ],
                        },
                    },
                    {
                        "type": "Feature",
                        "properties": {"DLBM": "0101"},
                        "geometry": {
                            "type": "LineString",
                            "coordinates": [[119.2, 34.6], [119.21, 34.6]],
                        },
                    },
                ],
            }
        ),
        encoding="utf-8",
    )
    before = versions(conn, "test-boundary")
    landuse_spec = LayerSpec("test-boundary", "test", "dev_boundary")
    with pytest.raises(PlanImportError, match="no usable feature"):
        import_layer(
            conn,
            bad,
            landuse_spec._replace(
                id="test-landuse", plan_type="current_use", scheme="用地用海分类 2023"
            ),
            schemes,
        )
    assert versions(conn, "test-boundary") == before
    assert (
        conn.execute(
            text("SELECT count(*) FROM plans.layer_versions WHERE layer_id = 'test-landuse'")
        ).scalar_one()
        == 0
    )
    with pytest.raises(LayerError, match="registered as dev_boundary"):
        import_layer(conn, bad, spec._replace(plan_type="eco_redline"), schemes)
    assert versions(conn, "test-boundary") == before


def test_unusable_rows_are_kept_with_reasons(
    conn: Connection, plans: dict[str, ImportReport], schemes: Schemes, tmp_path: Path
) -> None:
    x, y = 40_518_000.0, 3_830_000.0  # Gauss-Krüger zone 40 (EPSG:4528), near Haizhou
    square = [[[x, y], [x + 900, y], [x + 900, y + 900], [x, y + 900], [x, y]]]
    bowtie = [[[x, y], [x + 900, y + 900], [x + 900, y], [x, y + 900], [x, y]]]
    far = [[[x + 5e6, y], [x + 5e6 + 900, y], [x + 5e6, y + 900], [x + 5e6, y]]]  # zone 45
    features = [
        ("0101", {"type": "Polygon", "coordinates": square}),
        ("9999", {"type": "Polygon", "coordinates": square}),
        ("0101", {"type": "LineString", "coordinates": square[0]}),
        (None, {"type": "Polygon", "coordinates": square}),
        ("0701", {"type": "Polygon", "coordinates": bowtie}),
        ("0101", {"type": "Polygon", "coordinates": far}),
    ]
    path = tmp_path / "rows.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "properties": {"DLBM": c}, "geometry": g}
                    for c, g in features
                ],
            }
        ),
        encoding="utf-8",
    )
    report = import_layer(
        conn,
        path,
        LayerSpec("test-rows", "rows", "current_use", "用地用海分类 2023"),
        schemes,
        crs="EPSG:4528",
    )
    reasons = {r.fid: r.reason for r in report.rejected}
    assert report.loaded == 2 and report.read == 6
    assert set(reasons) == {"1", "2", "3", "5"}
    assert "unknown" in reasons["1"] and "not a polygon" in reasons["2"]
    assert "no code" in reasons["3"] and "transformed" in reasons["5"]
    assert [(r.fid, r.stage) for r in report.repaired] == [("4", "source")]
    stored = conn.execute(
        text("SELECT count(*), count(geom) FROM plans.rejects WHERE layer_version_id = :v"),
        {"v": report.version_id},
    ).one()
    assert tuple(stored) == (4, 3)  # the row outside the CRS has no EPSG:4490 geometry


def test_a_shapefile_checksum_covers_its_sidecars(sample_dir: Path, tmp_path: Path) -> None:
    for part in sample_dir.joinpath("plans").glob("urban_plan.*"):
        shutil.copy(part, tmp_path / part.name)
    before = file_sha256(tmp_path / "urban_plan.shp")
    (tmp_path / "urban_plan.cpg").write_text("GBK", encoding="ascii")
    assert file_sha256(tmp_path / "urban_plan.shp") != before


def test_metric_parts_cover_every_feature(
    conn: Connection, plans: dict[str, ImportReport], plan_settings: Any
) -> None:
    """Each imported feature has metric parts (EPSG:4549, valid, under the vertex limit)
    whose area is the feature's: what conflict runs cut and measure."""
    limit = plan_settings.subdivide_vertices
    report = plans["eco_redline"]
    stats = conn.execute(
        text(
            "SELECT count(DISTINCT f.id) AS features, count(p.feature_id) AS with_parts,"
            " bool_and(ST_SRID(p.geom) = 4549 AND ST_IsValid(p.geom)) AS valid,"
            " max(ST_NPoints(p.geom)) AS most, max(p.parts) AS most_parts"
            " FROM plans.features f LEFT JOIN plans.feature_parts p ON p.feature_id = f.id"
            " WHERE f.layer_version_id = :v"
        ),
        {"v": report.version_id},
    ).one()
    # the version's own count: another module may have imported these files first
    # (the report then says "unchanged" and loaded nothing)
    expected = conn.execute(
        text("SELECT feature_count FROM plans.layer_versions WHERE id = :v"),
        {"v": report.version_id},
    ).scalar_one()
    assert stats.features == expected > 0 and stats.with_parts >= stats.features
    assert stats.valid and stats.most <= limit
    worst = conn.execute(
        text(
            "SELECT max(abs(p.area - ST_Area(ST_Transform(f.geom, 4549))) / p.area)"
            " FROM plans.features f JOIN (SELECT feature_id, sum(ST_Area(geom)) AS area"
            " FROM plans.feature_parts GROUP BY feature_id) p ON p.feature_id = f.id"
            " WHERE f.layer_version_id = :v"
        ),
        {"v": report.version_id},
    ).scalar_one()
    assert worst < 1e-7  # the 1 µm snapping grid
    big = conn.execute(
        text(
            "SELECT count(*) FROM plans.features WHERE ST_NPoints(geom) > :n"
            " AND layer_version_id = :v"
        ),
        {"n": limit, "v": report.version_id},
    ).scalar_one()
    assert (stats.most_parts > 1) == (big > 0)
