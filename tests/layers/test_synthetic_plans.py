"""The synthetic city's plan layers and rasters: files as declared, conflicts as measured.

The conflict areas are recomputed here by a route independent of the generator: files read
with fiona, coordinates moved with pyproj directly, GEOS ``make_valid``, Gauss-Krüger planar
areas divided by the projection's areal scale at each piece (pyproj ``get_factors``) instead
of geodesic areas; the rules come from the manifest's classification tables alone.
"""

from __future__ import annotations

import json
import struct
from collections import defaultdict
from pathlib import Path
from typing import Any

import fiona
import numpy as np
import pyproj
import pytest
import rasterio
import shapely
from shapely.geometry import shape

from samples.plans import generate_plans

SEED = 20261123
TOLERANCE = 1e-3  # 0.1 %


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("small")
    return out, generate_plans(out, SEED, "small", None)


def _layer(out: Path, manifest: dict[str, Any], key: str) -> dict[str, Any]:
    return manifest["plans"]["layers"][key]


def _read(out: Path, entry: dict[str, Any]) -> tuple[list[Any], list[dict[str, Any]], Any]:
    with fiona.open(out / entry["file"]) as src:
        feats = list(src)
        crs = src.crs
    geoms = [shape(f.geometry) if f.geometry else None for f in feats]
    return geoms, [dict(f.properties) for f in feats], crs


def test_every_layer_opens_as_declared(city: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = city
    layers = manifest["plans"]["layers"]
    assert set(layers) == {
        "landuse_plan",
        "urban_plan",
        "eco_redline",
        "basic_farmland",
        "dev_boundary",
        "current_use",
    }
    for entry in layers.values():
        with fiona.open(out / entry["file"]) as src:
            assert src.driver == entry["driver"]
            assert src.crs.to_epsg() == entry["epsg"]
            assert len(src) == entry["features"] > 0
            assert entry["code_field"] is None or entry["code_field"] in src.schema["properties"]


def test_landuse_plan_has_zone_prefix_and_prj(city: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = city
    entry = _layer(out, manifest, "landuse_plan")
    with fiona.open(out / entry["file"]) as src:
        minx, _, maxx, _ = src.bounds
    assert 40_300_000 < minx < maxx < 40_700_000
    prj = (out / entry["file"]).with_suffix(".prj").read_text()
    assert "40500000" in prj and "Gauss_Kruger" in prj
    urban = _layer(out, manifest, "urban_plan")
    with fiona.open(out / urban["file"]) as src:
        assert 300_000 < src.bounds[0] < src.bounds[2] < 700_000


def _dbf_text(dbf: Path, field: str) -> list[bytes]:
    """Raw bytes of a text field of every record (dBASE III layout)."""
    data = dbf.read_bytes()
    records, header, size = struct.unpack("<IHH", data[4:12])
    offset, fields = 1, {}
    for start in range(32, header - 1, 32):
        if data[start] == 0x0D:
            break
        name = data[start : start + 11].split(b"\0")[0]
        length = data[start + 16]
        fields[name] = (offset, length)
        offset += length
    at, length = fields[field.encode("ascii")]
    return [
        data[header + r * size + at : header + r * size + at + length].rstrip(b" ")
        for r in range(records)
    ]


def test_shapefile_encodings(city: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = city
    landuse, urban = _layer(out, manifest, "landuse_plan"), _layer(out, manifest, "urban_plan")
    assert (out / landuse["file"]).with_suffix(".cpg").read_text().strip() == "GBK"
    assert (out / urban["file"]).with_suffix(".cpg").read_text().strip() == "UTF-8"
    gbk = [
        v for v in _dbf_text((out / landuse["file"]).with_suffix(".dbf"), "DLMC") if not v.isascii()
    ]
    assert gbk
    for value in gbk:
        value.decode("gbk")
    assert any(_fails(v, "utf-8") for v in gbk)
    assert "备注".encode("gbk") in (out / landuse["file"]).with_suffix(".dbf").read_bytes()[:400]
    utf8 = [
        v for v in _dbf_text((out / urban["file"]).with_suffix(".dbf"), "YDMC") if not v.isascii()
    ]
    assert utf8 and all(v.decode("utf-8") for v in utf8)
    _, rows, _ = _read(out, landuse)
    names = {r["DLBM"]: r["DLMC"] for r in rows}
    assert names["0701"] == "城镇住宅用地" and names["0103"] == "旱地"
    _, rows, _ = _read(out, urban)
    assert {r["YDDM"]: r["YDMC"] for r in rows}["R2"] == "二类居住用地"


def _fails(value: bytes, codec: str) -> bool:
    try:
        value.decode(codec)
    except UnicodeDecodeError:
        return True
    return False


def test_defects_are_listed(city: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = city
    entry = _layer(out, manifest, "landuse_plan")
    geoms, rows, _ = _read(out, entry)
    invalid = {d["fid"] for d in entry["invalid_geometries"]}
    assert {d["defect"] for d in entry["invalid_geometries"]} == {"bowtie", "spike"}
    assert {i for i, g in enumerate(geoms) if not g.is_valid} == invalid
    known = set(manifest["plans"]["conflicts"]["classification"]["landuse_plan"]["codes"])
    unknown = {d["fid"] for d in entry["unknown_codes"]}
    assert len(unknown) >= 3
    assert {i for i, r in enumerate(rows) if r["DLBM"] not in known} == unknown
    for d in entry["unknown_codes"] + entry["invalid_geometries"]:
        assert rows[d["fid"]]["BSM"] == d["id"]


# --- independent recomputation of the designed conflicts ------------------------------------


def _metric(out: Path, entry: dict[str, Any]) -> tuple[np.ndarray, list[dict[str, Any]]]:
    geoms, rows, crs = _read(out, entry)
    to_gk = pyproj.Transformer.from_crs(crs.to_wkt(), "EPSG:4549", always_xy=True)
    arr = shapely.transform(
        np.array(geoms, dtype=object),
        lambda xy: np.column_stack(to_gk.transform(xy[:, 0], xy[:, 1])),
    )
    return shapely.make_valid(arr), rows


def _ellipsoidal(pieces: np.ndarray) -> np.ndarray:
    """GK planar area divided by the projection's areal scale at each piece's centroid."""
    if pieces.size == 0:
        return np.zeros(0)
    c = shapely.centroid(pieces)
    lon, lat = pyproj.Transformer.from_crs("EPSG:4549", "EPSG:4490", always_xy=True).transform(
        shapely.get_x(c), shapely.get_y(c)
    )
    factors = pyproj.Proj("EPSG:4549").get_factors(lon, lat)
    return shapely.area(pieces) / np.asarray(factors.areal_scale)


def _polygons(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Polygon parts of each geometry (collections and multi-polygons flattened), owners."""
    parts, owner = shapely.get_parts(geoms, return_index=True)
    while (multi := np.isin(shapely.get_type_id(parts), (4, 5, 6, 7))).any():
        sub, sub_owner = shapely.get_parts(parts[multi], return_index=True)
        parts = np.concatenate([parts[~multi], sub])
        owner = np.concatenate([owner[~multi], owner[multi][sub_owner]])
    keep = shapely.get_type_id(parts) == 3
    return parts[keep], owner[keep]


def _real(pieces: np.ndarray) -> np.ndarray:
    """Pieces that survive the sliver filter: ≥ 200 m² and somewhere ≥ 2 m wide."""
    if pieces.size == 0:
        return np.zeros(0, dtype=bool)
    return (shapely.area(pieces) >= 200) & ~shapely.is_empty(shapely.buffer(pieces, -1.0))


def test_conflicts_agree_with_an_independent_computation(
    city: tuple[Path, dict[str, Any]],
) -> None:
    out, manifest = city
    conflicts = manifest["plans"]["conflicts"]
    classes = conflicts["classification"]
    layers = {
        k: _metric(out, e) for k, e in manifest["plans"]["layers"].items() if k != "current_use"
    }
    unknown = {d["fid"] for d in manifest["plans"]["layers"]["landuse_plan"]["unknown_codes"]}
    field = {"landuse_plan": "DLBM", "urban_plan": "YDDM"}

    def rows(layer: str, want: str) -> np.ndarray:
        geoms, props = layers[layer]
        if layer not in field:
            return np.arange(len(geoms))
        table = classes[layer]["codes"]
        keep = []
        for i, p in enumerate(props):
            code = p[field[layer]]
            if layer == "landuse_plan" and i in unknown:
                continue
            info = table[code]
            ok = {
                "build": info["construction"],
                "open": not info["construction"],
                "urban": info.get("urban_construction", False),
            }[want]
            if ok:
                keep.append(i)
        return np.array(keep, dtype=int)

    def use(layer: str, i: int) -> str:
        return str(classes[layer]["codes"][layers[layer][1][i][field[layer]]]["use_class_2023"])

    spec = {
        "urbanplan_build_on_landuse_nonbuild": [("urban_plan", "build", "landuse_plan", "open")],
        "landuse_build_on_urbanplan_nonbuild": [("landuse_plan", "build", "urban_plan", "open")],
        "build_on_basic_farmland": [
            ("landuse_plan", "build", "basic_farmland", "all"),
            ("urban_plan", "build", "basic_farmland", "all"),
        ],
        "build_on_eco_redline": [
            ("landuse_plan", "build", "eco_redline", "all"),
            ("urban_plan", "build", "eco_redline", "all"),
        ],
        "build_use_mismatch": [("landuse_plan", "build", "urban_plan", "build")],
    }
    found: dict[str, tuple[int, float]] = {}
    for key, pairs in spec.items():
        count, area = 0, 0.0
        for la, wa, lb, wb in pairs:
            ga, gb = layers[la][0], layers[lb][0]
            ra, rb = rows(la, wa), rows(lb, wb) if wb != "all" else np.arange(len(gb))
            qa, qb = shapely.STRtree(gb[rb]).query(ga[ra], predicate="intersects")
            ia, ib = ra[qa], rb[qb]
            if key == "build_use_mismatch":
                ok = np.array([use(la, a) != use(lb, b) for a, b in zip(ia, ib, strict=True)])
                ia, ib = ia[ok], ib[ok]
            parts, k = _polygons(shapely.intersection(ga[ia], gb[ib]))
            real = _real(parts)
            pairs_found: dict[tuple[int, int], float] = defaultdict(float)
            for j, a in zip(np.flatnonzero(real), _ellipsoidal(parts[real]), strict=True):
                pairs_found[(int(ia[k[j]]), int(ib[k[j]]))] += float(a)
            count, area = count + len(pairs_found), area + sum(pairs_found.values())
        found[key] = (count, area)
    udb = shapely.union_all(layers["dev_boundary"][0])
    urban = layers["urban_plan"][0][rows("urban_plan", "urban")]
    parts, k = _polygons(shapely.difference(urban, udb))
    real = _real(parts)
    found["urban_build_outside_dev_boundary"] = (
        len(set(k[real].tolist())),
        float(_ellipsoidal(parts[real]).sum()),
    )

    assert set(found) == set(conflicts["types"])
    for key, (count, area) in found.items():
        expected = conflicts["types"][key]
        assert count == expected["count"] > 0, key
        assert abs(area - expected["area_m2"]) <= TOLERANCE * expected["area_m2"], key
        assert expected["area_mu"] == pytest.approx(expected["area_m2"] * 15 / 10000, abs=1e-3)
        assert expected["area_ha"] == pytest.approx(expected["area_m2"] / 10000, abs=1e-5)


def test_slivers_are_designed_and_unambiguous(city: tuple[Path, dict[str, Any]]) -> None:
    _, manifest = city
    conflicts = manifest["plans"]["conflicts"]
    filt = conflicts["sliver_filter"]
    assert filt["designed_patch_min_area_m2"] > 5 * max(filt["min_area_m2"].values())
    assert filt["designed_patch_min_inscribed_width_m"] > 10 * filt["min_width_m"]
    assert 0 < filt["sliver_max_inscribed_width_m"] < filt["min_width_m"]
    slivers = conflicts["slivers"]
    assert slivers["count"] == len(slivers["pieces"]) > 0
    assert all(0.3 <= s["width_m"] <= 1.0 for s in slivers["shifted_edges"])
    assert any(not p["caught_by_area"] for p in slivers["pieces"])  # only the width catches it
    assert any(p["caught_by_area"] for p in slivers["pieces"])
    for ctype in conflicts["types"].values():
        assert ctype["definition"] and ctype["label"] and ctype["patches"]


def test_rasters_are_cloud_optimized(city: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = city
    expected = {"dem": "DEFLATE", "imagery": "JPEG"}  # lossless heights, photographic imagery
    assert {k: e["compression"] for k, e in manifest["rasters"].items()} == expected
    for key, entry in manifest["rasters"].items():
        with rasterio.open(out / entry["file"]) as src:
            assert src.profile["tiled"] and src.compression.value == expected[key], key
            assert src.overviews(1) == entry["overviews"] and entry["overviews"], key
            assert f"EPSG:{src.crs.to_epsg()}" == entry["crs"]
            assert [src.width, src.height] == [entry["width"], entry["height"]]
    with rasterio.open(out / manifest["rasters"]["dem"]["file"]) as dem:
        window = dem.window(119.22, 34.62, 119.40, 34.76)
        assert dem.read(1, window=window).max() > 300  # 云台山
        row, col = dem.index(119.70, 34.95)
        assert dem.read(1)[row, col] <= 0  # the sea east of the coast
        assert dem.read(1).max() < 800
    with rasterio.open(out / manifest["rasters"]["imagery"]["file"]) as img:
        assert img.count == 3 and img.dtypes[0] == "uint8"
        assert img.compression.name == "jpeg" and img.photometric.name == "ycbcr"
        assert img.read(1, out_shape=(64, 64)).std() > 10  # texture survives compression


def test_small_city_fits_in_the_repository(city: tuple[Path, dict[str, Any]]) -> None:
    out, _ = city
    size = sum(p.stat().st_size for d in ("plans", "rasters") for p in (out / d).iterdir())
    assert size < 2.5e6


def test_same_seed_same_city(city: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    out, first = city
    first = json.loads(json.dumps(first))
    second = generate_plans(tmp_path / "b", SEED, "small", None)
    for m in (first, second):
        m.pop("timings_s")
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    for name in ("plans/landuse_plan.shp", "plans/landuse_plan.dbf", "plans/urban_plan.shp"):
        assert (out / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    other = generate_plans(tmp_path / "c", SEED + 1, "small", None)
    assert other["plans"]["conflicts"]["types"] != first["plans"]["conflicts"]["types"]
