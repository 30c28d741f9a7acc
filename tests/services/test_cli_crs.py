"""``onemap crs`` as a user runs it: pairs, whole files, file descriptions, parameter fits."""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Callable
from pathlib import Path

import pyproj

Run = Callable[..., subprocess.CompletedProcess[str]]
BUILDINGS = Path(__file__).resolve().parents[1] / "data" / "buildings_minimal.geojson"


def test_gcj02_pair_matches_the_published_vector(onemap: Run) -> None:
    # docs/domain.md: WGS (116.404, 39.915) → GCJ (116.41024449916938, 39.91640428150164)
    result = onemap("crs", "convert", "--from", "GCJ02", "--to", "EPSG:4326", "--json",
                    "116.41024449916938", "39.91640428150164")  # fmt: skip
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert math.isclose(body["x"], 116.404, abs_tol=1e-9)
    assert math.isclose(body["y"], 39.915, abs_tol=1e-9)


def test_zone40_pair_agrees_with_pyproj(onemap: Run) -> None:
    result = onemap("crs", "convert", "--from", "4490", "--to", "EPSG:4528", "--json",
                    "119.1788", "34.6015")  # fmt: skip
    body = json.loads(result.stdout)
    x, y = pyproj.Transformer.from_crs(4490, 4528, always_xy=True).transform(119.1788, 34.6015)
    assert abs(body["x"] - x) < 1e-3 and abs(body["y"] - y) < 1e-3
    assert 40_000_000 < body["x"] < 41_000_000


def test_beijing54_without_parameters_is_refused_in_one_sentence(onemap: Run) -> None:
    result = onemap("crs", "convert", "--from", "EPSG:4214", "--to", "EPSG:4490", "119", "34")
    assert result.returncode == 1
    assert result.stderr.startswith("error: no real transformation")
    assert "Traceback" not in result.stderr


def test_file_round_trip_through_a_gbk_zone40_shapefile(onemap: Run, tmp_path: Path) -> None:
    shp = tmp_path / "buildings_4528.shp"
    there = onemap("crs", "convert", "--from", "EPSG:4490", "--to", "EPSG:4528",
                   "--input", str(BUILDINGS), "--output", str(shp),
                   "--encoding", "GBK")  # fmt: skip
    assert there.returncode == 0, there.stderr
    info = json.loads(onemap("crs", "info", str(shp), "--json").stdout)
    assert info["crs"] == "EPSG:4528" and info["feature_count"] == 24
    assert info["encoding_source"] == "cpg" and info["encoding"] in ("gbk", "gb18030")
    back = tmp_path / "back.geojson"
    result = onemap("crs", "convert", "--from", "EPSG:4528", "--to", "EPSG:4490",
                    "--input", str(shp), "--output", str(back))  # fmt: skip
    assert result.returncode == 0, result.stderr
    original = json.loads(BUILDINGS.read_text(encoding="utf-8"))
    returned = json.loads(back.read_text(encoding="utf-8"))
    first, again = original["features"][0], returned["features"][0]
    assert again["properties"]["address"] == first["properties"]["address"]  # Chinese survives
    for (x0, y0), (x1, y1) in zip(
        first["geometry"]["coordinates"][0], again["geometry"]["coordinates"][0], strict=True
    ):
        assert abs(x0 - x1) < 1e-9 and abs(y0 - y1) < 1e-9  # < 0.1 mm


def test_fit_4param_recovers_parameters_and_refuses_a_bad_point(
    onemap: Run, tmp_path: Path
) -> None:
    de, dn, scale, theta = 12.5, -30.25, 1.0000066, 1.5  # theta in arc seconds
    t = math.radians(theta / 3600)
    rows = ["src_e,src_n,dst_e,dst_n"]
    for e, n in [(500000, 3830000), (510000, 3831000), (505000, 3840000), (498000, 3835000)]:
        x = de + scale * (e * math.cos(t) + n * math.sin(t))
        y = dn + scale * (-e * math.sin(t) + n * math.cos(t))
        rows.append(f"{e},{n},{x!r},{y!r}")
    points = tmp_path / "points.csv"
    points.write_text("\n".join(rows) + "\n")
    result = onemap("crs", "fit", str(points), "--json")
    assert result.returncode == 0, result.stderr
    fit = json.loads(result.stdout)
    assert abs(fit["parameters"]["dE"] - de) < 1e-3 and abs(fit["parameters"]["dN"] - dn) < 1e-3
    assert abs(fit["parameters"]["rotation_arcsec"] - theta) < 1e-4 and fit["rms_m"] < 1e-6
    rows[2] = rows[2].rsplit(",", 1)[0] + ",3831500"  # one point 0.5 km off
    points.write_text("\n".join(rows) + "\n")
    refused = onemap("crs", "fit", str(points))
    assert refused.returncode == 1 and "RMS residual" in refused.stderr


def test_crs_help(onemap: Run) -> None:
    for command in (["crs"], ["crs", "convert"], ["crs", "info"], ["crs", "fit"]):
        result = onemap(*command, "--help")
        assert result.returncode == 0 and "Usage" in result.stdout
