"""A real client: GDAL/OGR's OAPIF driver (ogrinfo, ogr2ogr from gdal-bin) reads every
collection; counts, bbox subsets and coordinates are checked against the database, and the
``crs`` output against pyproj where the GDAL version can ask for it (3.7+)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import numpy as np
import pytest
from sqlalchemy import Engine, text

from gis.crs import transform_xy

pytestmark = pytest.mark.skipif(
    shutil.which("ogrinfo") is None, reason="gdal-bin is not installed (make os-deps)"
)


def _run(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def _gdal_version() -> tuple[int, int]:
    found = re.search(r"GDAL (\d+)\.(\d+)", _run("ogrinfo", "--version"))
    assert found is not None
    return int(found.group(1)), int(found.group(2))


def _collections(ogc: httpx.Client) -> list[str]:
    return [c["id"] for c in ogc.get("collections").json()["collections"]]


def test_ogrinfo_lists_every_collection(ogc: httpx.Client, ogc_base: str) -> None:
    listing = _run("ogrinfo", "-ro", "-q", f"OAPIF:{ogc_base}")
    for collection in _collections(ogc):
        assert f": {collection} " in listing or listing.rstrip().endswith(f": {collection}")


def test_every_collection_reads_completely(
    ogc: httpx.Client, ogc_base: str, tmp_path: Path
) -> None:
    for collection in _collections(ogc):
        expected = ogc.get(f"collections/{collection}/items", params={"limit": 1}).json()
        summary = _run("ogrinfo", "-ro", "-so", f"OAPIF:{ogc_base}", collection)
        assert f"Feature Count: {expected['numberMatched']}" in summary, collection
        out = tmp_path / f"{collection}.geojson"
        _run("ogr2ogr", "-f", "GeoJSON", str(out), f"OAPIF:{ogc_base}", collection,
             "-oo", "PAGE_SIZE=7")  # fmt: skip
        written = json.loads(out.read_text())
        assert len(written["features"]) == expected["numberMatched"], collection


def test_ogr2ogr_coordinates_and_bbox_subset(ogc_base: str, engine: Engine, tmp_path: Path) -> None:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT code, ST_AsGeoJSON(geom, 15) FROM grid.buildings ORDER BY id")
        ).all()
        x0, y0, x1, y1 = conn.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom)"
                " e FROM (SELECT geom FROM grid.buildings ORDER BY id LIMIT 6) s) s"
            )
        ).one()
        inside = set(
            conn.execute(
                text("SELECT code FROM grid.buildings WHERE ST_Intersects(geom,"
                     " ST_MakeEnvelope(:a, :b, :c, :d, 4490))"),
                {"a": x0, "b": y0, "c": x1, "d": y1},
            ).scalars()
        )  # fmt: skip
    out = tmp_path / "all.geojson"
    _run("ogr2ogr", "-f", "GeoJSON", str(out), f"OAPIF:{ogc_base}", "buildings")
    read = {f["properties"]["code"]: f["geometry"] for f in json.loads(out.read_text())["features"]}
    for code, stored in rows:
        got = np.array(read[code]["coordinates"][0])
        np.testing.assert_allclose(got, np.array(json.loads(stored)["coordinates"][0]), atol=1e-7)
    subset = tmp_path / "subset.geojson"
    _run("ogr2ogr", "-f", "GeoJSON", str(subset), f"OAPIF:{ogc_base}", "buildings",
         "-spat", str(x0), str(y0), str(x1), str(y1))  # fmt: skip
    codes = {f["properties"]["code"] for f in json.loads(subset.read_text())["features"]}
    assert codes == inside


@pytest.mark.parametrize("code", [4490, 4549])
def test_gdal_reads_our_crs_output_as_pyproj(
    ogc_base: str, engine: Engine, tmp_path: Path, code: int
) -> None:
    if _gdal_version() < (3, 7):
        pytest.skip("the OAPIF driver asks for a crs only from GDAL 3.7 (open option CRS)")
    with engine.connect() as conn:
        stored_code, stored = conn.execute(
            text("SELECT code, ST_AsGeoJSON(geom, 15) FROM grid.buildings ORDER BY id LIMIT 1")
        ).one()
    out = tmp_path / f"crs{code}.geojson"
    _run("ogr2ogr", "-f", "GeoJSON", "-lco", "RFC7946=NO", str(out), f"OAPIF:{ogc_base}",
         "buildings", "-oo", f"CRS=EPSG:{code}", "-where", f"code = '{stored_code}'")  # fmt: skip
    ring = np.array(json.loads(out.read_text())["features"][0]["geometry"]["coordinates"][0])
    lonlat = np.array(json.loads(stored)["coordinates"][0])
    x, y = transform_xy(lonlat[:, 0], lonlat[:, 1], "EPSG:4490", f"EPSG:{code}")
    np.testing.assert_allclose(ring[:, 0], x, atol=1e-3 if code != 4490 else 1e-8)
    np.testing.assert_allclose(ring[:, 1], y, atol=1e-3 if code != 4490 else 1e-8)
