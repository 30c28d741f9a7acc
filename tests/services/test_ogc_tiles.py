"""Vector tiles (OGC API – Tiles) over real HTTP against the real app and PostGIS: a tile,
decoded by GDAL's MVT driver, holds exactly the features meeting it (the same envelope in
SQL), with their properties, in each set; a feature across a tile edge is in both tiles,
clipped with the buffer; TiandituC tiles have the `c` base map's bounds; bad input is a 4xx
OGC body; keyed collections are not tiled for anonymous callers; ETag and 304; a truncated
tile says so; the tile query's envelope is answered by the GiST index."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Engine, text

from gis.tms import Tile, get_tms, tile_bounds, tile_for_point
from layers.conflicts import run_conflicts
from layers.loader import load_plans
from layers.rules import load_rules
from layers.settings import PlanSettings
from services.ogcapi import tile_documents, tiles
from services.settings import OgcSettings
from tests.conftest import SAMPLE
from tests.services.conftest import city_settings, serve

SETS = ("WebMercatorQuad", "WorldCRS84Quad", "TiandituC")
LEVEL = {"WebMercatorQuad": 16, "WorldCRS84Quad": 15, "TiandituC": 16}
"""The same scale (Web Mercator level 16) in each set."""
LAYER = "tiles-test"
PLANS = f"plans.{LAYER}"


def _geographic_bounds(tms: str, tile: Tile) -> tuple[float, float, float, float]:
    """The tile in lon/lat on CGCS2000: what the server's envelope is."""
    found = tile_bounds(tms, tile, geographic=tms == "WebMercatorQuad")
    return found.left, found.bottom, found.right, found.top


def _edge_points() -> list[tuple[float, float]]:
    """For each set, a point on a vertical tile edge at level 16's scale near Haizhou."""
    points = []
    for tms in SETS:
        tile = tile_for_point(tms, 119.2, 34.6, LEVEL[tms], geographic=True)
        _west, south, east, north = _geographic_bounds(tms, tile)
        points.append((east, (south + north) / 2))
    return points


@pytest.fixture(scope="module")
def plan_layer(city: Engine) -> list[tuple[float, float]]:
    """A plan layer whose features straddle a tile edge of each set; returns the edges."""
    edges = _edge_points()
    with city.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO plans.layers (id, title, department, plan_type, scheme) VALUES"
                " (:layer, 'Tiles test land use', 'test bureau', 'landuse_plan', 'landuse_2023')"
            ),
            {"layer": LAYER},
        )
        version = conn.execute(
            text(
                "INSERT INTO plans.layer_versions (layer_id, version, snapshot_date, source_name,"
                " source_sha256, source_crs, feature_count, imported_by) VALUES (:layer, 1,"
                " DATE '2024-01-01', 'tiles.shp', repeat('b', 64), 'EPSG:4490', 3, 'tests')"
                " RETURNING id"
            ),
            {"layer": LAYER},
        ).scalar_one()
        for i, (x, y) in enumerate(edges):
            conn.execute(
                text(
                    "INSERT INTO plans.features (layer_version_id, source_fid, source_code,"
                    " code_2023, category, properties, geom) VALUES (:v, :fid, '0101', '0101',"
                    " '农用', '{}', ST_Multi(ST_MakeEnvelope(:x - 0.0005, :y - 0.0002,"
                    " :x + 0.0005, :y + 0.0002, 4490)))"
                ),
                {"v": version, "fid": str(i), "x": x, "y": y},
            )
    return edges


@pytest.fixture(scope="module")
def conflict_run(city: Engine) -> int:
    """The sample's plans imported and a conflict run (城规 × 土规), before the app starts."""
    settings = PlanSettings()
    load_plans(city, SAMPLE, settings=settings)
    with city.begin() as conn:
        rules = load_rules(settings.rules_file)
        run = run_conflicts(conn, "urban_plan", ["landuse_plan"], rules=rules, settings=settings,
                            created_by="tests")  # fmt: skip
    return run.run_id


@pytest.fixture(scope="module")
def base(plan_layer: object, conflict_run: int, city_base: str) -> str:
    return f"{city_base}/ogc"


@pytest.fixture(scope="module")
def http(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{base}/", timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def building(city: Engine) -> tuple[float, float]:
    """A point inside the first building."""
    with city.connect() as conn:
        x, y = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p"
                " FROM grid.buildings ORDER BY id LIMIT 1) AS s"
            )
        ).one()
    return float(x), float(y)


# --- decoding ----------------------------------------------------------------------------------


def decode(content: bytes, tms: str, tile: Tile, layer: str, tmp: Path) -> list[dict[str, Any]]:
    """The layer's features as GeoJSON in lon/lat, read by GDAL's MVT driver (not clipped).

    Web Mercator tiles are georeferenced by GDAL itself (``X``, ``Y``, ``Z``); the driver
    reads other grids in tile units (x east, y north from the bottom edge), which are mapped
    here onto the tile's bounds."""
    path = tmp / f"{tms}-{tile.z}-{tile.y}-{tile.x}.mvt"
    path.write_bytes(content)
    command = ["ogr2ogr", "-f", "GeoJSON", "/vsistdout/", str(path), "-oo", "CLIP=NO"]
    if tms == "WebMercatorQuad":
        command += ["-oo", f"X={tile.x}", "-oo", f"Y={tile.y}", "-oo", f"Z={tile.z}"]
        command += ["-t_srs", "EPSG:4326"]
    command.append(layer)
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60)
    features: list[dict[str, Any]] = json.loads(done.stdout)["features"]
    if tms != "WebMercatorQuad":
        west, south, east, north = _geographic_bounds(tms, tile)

        def place(node: Any) -> Any:
            if isinstance(node[0], (int, float)):
                return [west + node[0] / 4096 * (east - west),
                        south + node[1] / 4096 * (north - south)]  # fmt: skip
            return [place(n) for n in node]

        for feature in features:
            geometry = feature["geometry"]
            geometry["coordinates"] = place(geometry["coordinates"])
    return features


def _get_tile(http: httpx.Client, path: str, tile: Tile) -> httpx.Response:
    return http.get(f"{path}/{tile.z}/{tile.y}/{tile.x}")


def _meeting(city: Engine, table: str, tms: str, tile: Tile, where: str = "TRUE") -> dict[int, Any]:
    west, south, east, north = _geographic_bounds(tms, tile)
    with city.connect() as conn:
        rows = conn.execute(
            text(
                f"SELECT id, ST_AsGeoJSON(geom) FROM {table} WHERE {where} AND ST_Intersects("
                "geom, ST_MakeEnvelope(:w, :s, :e, :n, 4490))"
            ),
            {"w": west, "s": south, "e": east, "n": north},
        )
        return {int(i): shape(json.loads(g)) for i, g in rows}


# --- metadata ----------------------------------------------------------------------------------


def test_tile_matrix_sets_are_listed_and_described(http: httpx.Client) -> None:
    listed = http.get("tileMatrixSets").json()
    assert [s["id"] for s in listed["tileMatrixSets"]] == list(SETS)
    for entry in listed["tileMatrixSets"]:
        document = http.get(entry["links"][0]["href"]).json()
        assert document["id"] == entry["id"]
        assert document["crs"] == entry["crs"]
    served = http.get("tileMatrixSets/TiandituC").json()
    assert served == json.loads(get_tms("c").model_dump_json(exclude_none=True))
    assert http.get("tileMatrixSets/WebMercatorQuad").json()["uri"].endswith("WebMercatorQuad")


def test_conformance_and_links_name_the_tiles(http: httpx.Client) -> None:
    conformance = http.get("conformance").json()["conformsTo"]
    assert set(tile_documents.CONFORMANCE) <= set(conformance)
    landing = {
        link["rel"]: link["href"] for link in http.get("", follow_redirects=True).json()["links"]
    }
    assert landing[f"{tile_documents.REL}/tiling-schemes"].endswith("/ogc/tileMatrixSets")
    assert http.get(landing[f"{tile_documents.REL}/tilesets-vector"]).status_code == 200
    collection = http.get("collections/buildings").json()
    href = next(x["href"] for x in collection["links"] if x["rel"].endswith("tilesets-vector"))
    listed = http.get(href).json()["tilesets"]
    assert [t["tileMatrixSetId"] for t in listed] == list(SETS)


@pytest.mark.parametrize(("tms", "first"), [("WebMercatorQuad", 14), ("WorldCRS84Quad", 13),
                                            ("TiandituC", 14)])  # fmt: skip
def test_a_tileset_describes_its_layer_and_limits(http: httpx.Client, tms: str, first: int) -> None:
    document = http.get(f"collections/buildings/tiles/{tms}").json()
    assert document["tileMatrixSetId"] == tms and document["dataType"] == "vector"
    (layer,) = document["layers"]
    assert layer["id"] == "buildings" and layer["minTileMatrix"] == str(first)
    assert {"id", "code", "name", "floors", "use"} <= set(layer["propertiesSchema"]["properties"])
    assert "address_parts" not in layer["propertiesSchema"]["properties"]  # an object
    links = {link["rel"]: link for link in document["links"]}
    assert links["item"]["templated"] is True
    assert links["item"]["href"].endswith(
        f"/buildings/tiles/{tms}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"
    )
    assert http.get(links[f"{tile_documents.REL}/tiling-scheme"]["href"]).json()["id"] == tms
    limits = {lim["tileMatrix"]: lim for lim in document["tileMatrixSetLimits"]}
    assert min(int(z) for z in limits) == first
    tilejson = http.get(links["alternate"]["href"]).json()
    assert tilejson["tilejson"] == "3.0.0" and tilejson["minzoom"] == first
    assert tilejson["tiles"] == [links["item"]["href"].replace(
        "{tileMatrix}/{tileRow}/{tileCol}", "{z}/{y}/{x}")]  # fmt: skip
    assert tilejson["vector_layers"][0]["fields"]["floors"] == "Number"


def test_the_dataset_tileset_has_the_plans_cells_and_buildings(http: httpx.Client) -> None:
    document = http.get("tiles/WebMercatorQuad").json()
    ids = [layer["id"] for layer in document["layers"]]
    assert {"cells", "buildings", PLANS} <= set(ids)
    controls = {"plans.eco_redline", "plans.basic_farmland", "plans.dev_boundary"}
    assert controls | {"plans.urban_plan", "plans.landuse_plan"} <= set(ids)  # control lines too
    assert not [i for i in ids if i.startswith("plans.") and i.count(".") > 1]  # latest only
    assert http.get("tiles/TiandituC", params={"f": "tilejson"}).json()["crs"].endswith("4490")


# --- tiles -------------------------------------------------------------------------------------


@pytest.mark.parametrize("tms", SETS)
def test_a_tile_holds_exactly_the_features_meeting_it(
    http: httpx.Client, city: Engine, building: tuple[float, float], tms: str, tmp_path: Path
) -> None:
    tile = tile_for_point(tms, *building, LEVEL[tms], geographic=True)
    answer = _get_tile(http, f"collections/buildings/tiles/{tms}", tile)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == tiles.MVT
    expected = _meeting(city, "grid.buildings", tms, tile)
    assert answer.headers["OGC-Tile-Truncated"] == "false"
    assert answer.headers["OGC-Tile-Features"] == f"buildings={len(expected)}/{len(expected)}"
    features = decode(answer.content, tms, tile, "buildings", tmp_path)
    assert sorted(f["properties"]["mvt_id"] for f in features) == sorted(expected)
    with city.connect() as conn:
        rows = conn.execute(
            text("SELECT id, code, name, floors, use, cell_id FROM grid.buildings"
                 " WHERE id = ANY(:ids)"), {"ids": list(expected)}
        ).mappings()  # fmt: skip
        stored = {row["id"]: dict(row) for row in rows}
    west, south, east, north = _geographic_bounds(tms, tile)
    clip = box(west, south, east, north)
    unit = max(east - west, north - south) / 4096
    for feature in features:
        fid = feature["properties"]["mvt_id"]
        for name in ("code", "name", "floors", "use", "cell_id"):
            assert feature["properties"].get(name) == stored[fid][name], (fid, name)
        decoded: BaseGeometry = shape(feature["geometry"]).intersection(clip)
        truth = expected[fid].intersection(clip)
        # quantised to tile units and simplified by a quarter pixel (4 units)
        assert decoded.hausdorff_distance(truth) < 8 * unit, fid


@pytest.mark.parametrize("tms", SETS)
def test_a_feature_across_a_tile_edge_is_in_both_tiles_clipped_with_the_buffer(
    http: httpx.Client, city: Engine, plan_layer: list[tuple[float, float]], tms: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    x, y = plan_layer[SETS.index(tms)]
    west_tile = tile_for_point(tms, x - 0.0001, y, LEVEL[tms], geographic=True)
    east_tile = Tile(west_tile.x + 1, west_tile.y, west_tile.z)
    assert tile_for_point(tms, x + 0.0001, y, LEVEL[tms], geographic=True) == east_tile
    where = "layer_version_id = (SELECT id FROM plans.layer_versions WHERE layer_id = :layer)"
    found = []
    for tile in (west_tile, east_tile):
        answer = _get_tile(http, f"collections/{PLANS}/tiles/{tms}", tile)
        assert answer.status_code == 200, answer.text
        features = decode(answer.content, tms, tile, PLANS, tmp_path)
        with city.connect() as conn:
            expected = conn.execute(
                text(f"SELECT id FROM plans.features WHERE {where} AND ST_Intersects(geom,"
                     " ST_MakeEnvelope(:w, :s, :e, :n, 4490))"),
                {"layer": LAYER, **dict(zip("wsen", _geographic_bounds(tms, tile), strict=True))},
            ).scalars().all()  # fmt: skip
        assert sorted(f["properties"]["mvt_id"] for f in features) == sorted(expected)
        (straddling,) = [
            f for f in features if f["properties"]["source_fid"] == str(SETS.index(tms))
        ]
        assert straddling["properties"]["code_2023"] == "0101"
        assert straddling["properties"]["category"] == "农用"
        west, _south, east, _north = _geographic_bounds(tms, tile)
        span = (east - west) / 4096 * tiles.BUFFER
        xs = [p[0] for p in shape(straddling["geometry"]).exterior.coords]
        assert west - span * 1.01 <= min(xs) and max(xs) <= east + span * 1.01  # clipped
        found.append(straddling["properties"]["mvt_id"])
    assert found[0] == found[1]


def test_tianditu_c_tiles_have_the_base_maps_bounds(
    http: httpx.Client, building: tuple[float, float]
) -> None:
    """The served TiandituC matrix puts tile (row, col) where gis.tms's `c` (the WMTS base
    map's grid) does, at every level the buildings are tiled at."""
    document = http.get("tileMatrixSets/TiandituC").json()
    for matrix in document["tileMatrices"][13:]:
        z = int(matrix["id"])
        tile = tile_for_point("c", *building, z)
        top, left = matrix["pointOfOrigin"]  # lat, lon: the CRS's axis order
        size = matrix["cellSize"] * matrix["tileWidth"]
        served = (left + tile.x * size, top - (tile.y + 1) * size,
                  left + (tile.x + 1) * size, top - tile.y * size)  # fmt: skip
        assert served == pytest.approx(tuple(tile_bounds("c", tile)), abs=1e-12)
    tileset = http.get("collections/buildings/tiles/TiandituC").json()
    assert tileset["crs"] == "http://www.opengis.net/def/crs/EPSG/0/4490"


def test_the_dataset_tile_has_a_layer_per_collection(
    http: httpx.Client, plan_layer: list[tuple[float, float]], tmp_path: Path
) -> None:
    x, y = plan_layer[0]
    tile = tile_for_point("WebMercatorQuad", x - 0.0001, y, 16, geographic=True)
    answer = _get_tile(http, "tiles/WebMercatorQuad", tile)
    assert answer.status_code == 200
    counts = dict(part.split("=") for part in answer.headers["OGC-Tile-Features"].split(", "))
    assert {"cells", "buildings", PLANS} <= set(counts)
    assert len(decode(answer.content, "WebMercatorQuad", tile, PLANS, tmp_path)) >= 1
    low = tile_for_point("WebMercatorQuad", x, y, 10, geographic=True)  # cells from 11
    counts = _get_tile(http, "tiles/WebMercatorQuad", low).headers["OGC-Tile-Features"]
    assert "buildings" not in counts and "cells" not in counts and PLANS in counts


def test_an_empty_tile_is_204(http: httpx.Client) -> None:
    far = tile_for_point("WebMercatorQuad", 10.0, 10.0, 15, geographic=True)
    answer = _get_tile(http, "collections/buildings/tiles/WebMercatorQuad", far)
    assert answer.status_code == 204 and answer.content == b""
    assert answer.headers["OGC-Tile-Features"] == "buildings=0/0"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("collections/buildings/tiles/WebMercatorQuad/x/1/1", 400),
        ("collections/buildings/tiles/WebMercatorQuad/16/-1/1", 400),
        ("collections/buildings/tiles/WebMercatorQuad/16/1/1e3", 400),
        ("collections/buildings/tiles/WebMercatorQuad/16/1/99999999999", 400),
        ("collections/buildings/tiles/WebMercatorQuad/16/65536/0", 404),
        ("collections/buildings/tiles/WebMercatorQuad/25/0/0", 404),
        ("collections/buildings/tiles/WebMercatorQuad/3/0/0", 404),  # below the buildings
        ("collections/buildings/tiles/TiandituC/0/0/0", 404),  # Tianditu starts at 1
        ("collections/buildings/tiles/TiandituC/16/32768/0", 404),  # 2^15 rows at 16
        ("collections/buildings/tiles/WebMercatorQuad/16/1/1?f=png", 400),
        ("collections/buildings/tiles/Nope/16/1/1", 404),
        ("collections/buildings/tiles/Nope", 404),
        ("collections/nope/tiles/WebMercatorQuad/16/1/1", 404),
        ("collections/nope/tiles", 404),
        ("collections/buildings/tiles/WebMercatorQuad?f=xml", 400),
        ("tileMatrixSets/Nope", 404),
        ("tiles/Nope/16/1/1", 404),
        ("tiles/WebMercatorQuad/2/0/0", 404),
    ],
)
def test_bad_tile_requests_are_4xx_with_an_ogc_body(
    http: httpx.Client, path: str, status: int
) -> None:
    answer = http.get(path)
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) >= {"code", "description"} and body["description"]


def test_keyed_collections_are_tiled_for_keyed_callers_only(
    http: httpx.Client, city_key: Callable[..., str], building: tuple[float, float]
) -> None:
    tile = tile_for_point("WebMercatorQuad", *building, 16, geographic=True)
    for cid in ("houses", "households", "persons"):
        for path in (f"collections/{cid}/tiles", f"collections/{cid}/tiles/WebMercatorQuad",
                     f"collections/{cid}/tiles/WebMercatorQuad/16/{tile.y}/{tile.x}"):  # fmt: skip
            answer = http.get(path)
            assert answer.status_code == 404, path
            assert answer.json()["code"] == "NotFound"
    key = {"Authorization": f"Bearer {city_key('planner')}"}
    answer = http.get(
        f"collections/persons/tiles/WebMercatorQuad/16/{tile.y}/{tile.x}", headers=key
    )
    assert answer.status_code == 200
    assert answer.headers["OGC-Tile-Features"].startswith("persons=")
    names = {
        layer["id"] for layer in http.get("tiles/WebMercatorQuad", headers=key).json()["layers"]
    }
    assert "persons" not in names  # the dataset is the public map


def test_tiles_revalidate_and_change_with_the_data(
    http: httpx.Client, city: Engine, building: tuple[float, float]
) -> None:
    tile = tile_for_point("WebMercatorQuad", *building, 16, geographic=True)
    path = f"collections/buildings/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}"
    first = http.get(path)
    etag = first.headers["ETag"]
    assert not etag.startswith("W/")
    again = http.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    other = http.get(f"collections/cells/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}")
    assert other.headers["ETag"] != etag
    with city.begin() as conn:
        conn.execute(text("UPDATE grid.buildings SET floors = floors + 1 WHERE id ="
                          " (SELECT min(id) FROM grid.buildings)"))  # fmt: skip
    changed = http.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.content != first.content


def test_a_truncated_tile_says_so_and_keeps_the_largest(
    city: Engine, tmp_path: Path, building: tuple[float, float]
) -> None:
    settings = city_settings(city, tmp_path)
    settings = dataclasses.replace(settings, ogc=OgcSettings(tile_feature_limit=3))
    tile = tile_for_point("WebMercatorQuad", *building, 16, geographic=True)
    expected = _meeting(city, "grid.buildings", "WebMercatorQuad", tile)
    largest = sorted(expected, key=lambda i: (-expected[i].area, i))[:3]
    for url in serve(settings):
        answer = httpx.get(f"{url}/ogc/collections/buildings/tiles/WebMercatorQuad/"
                           f"{tile.z}/{tile.y}/{tile.x}", timeout=60)  # fmt: skip
        assert answer.headers["OGC-Tile-Truncated"] == "true"
        assert answer.headers["OGC-Tile-Features"] == f"buildings=3/{len(expected)}"
        features = decode(answer.content, "WebMercatorQuad", tile, "buildings", tmp_path)
        assert sorted(f["properties"]["mvt_id"] for f in features) == sorted(largest)


def test_the_tile_envelope_is_answered_by_the_spatial_index(city: Engine) -> None:
    """EXPLAIN of a real tile statement: the bounding box is an index condition (the small
    sample would be read sequentially otherwise, so sequential scans are discouraged)."""
    from services.ogcapi.sources import build_registry

    registry = build_registry(city)
    spec = registry.get("buildings")
    tms = get_tms("WebMercatorQuad")
    tile = tile_for_point("WebMercatorQuad", 119.2, 34.6, 16, geographic=True)
    statement = tiles.tile_statement([spec], tms, tile, 100)
    url = city.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + statement.sql, statement.values))
    assert "Index Cond: (geom && " in plan, plan
    assert "ST_Transform" not in plan.split("Index Cond")[1].splitlines()[0]


def test_a_grid_workers_tiles_hold_their_cells_rows_only(
    http: httpx.Client, city: Engine, city_key: Callable[..., str]
) -> None:
    with city.connect() as conn:
        worker, x, y = conn.execute(
            text("SELECT worker_id, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))"
                 " FROM grid.persons_located WHERE worker_id IS NOT NULL ORDER BY id LIMIT 1")
        ).one()  # fmt: skip
    tile = tile_for_point("WebMercatorQuad", x, y, 14, geographic=True)
    theirs = _meeting(city, "grid.persons_located", "WebMercatorQuad", tile,
                      f"worker_id = {int(worker)}")  # fmt: skip
    everyone = _meeting(city, "grid.persons_located", "WebMercatorQuad", tile)
    assert theirs and len(everyone) > len(theirs), "pick a tile with other workers' persons"
    key = {"Authorization": f"Bearer {city_key('grid_worker', worker_id=int(worker))}"}
    path = f"collections/persons/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}"
    answer = http.get(path, headers=key)
    assert answer.headers["OGC-Tile-Features"] == f"persons={len(theirs)}/{len(theirs)}"
    planner = {"Authorization": f"Bearer {city_key('planner')}"}
    answer = http.get(path, headers=planner)
    assert answer.headers["OGC-Tile-Features"] == f"persons={len(everyone)}/{len(everyone)}"


def test_low_levels_are_simplified_into_valid_polygons(
    http: httpx.Client, city: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Admin areas at their first level: smaller than without simplification, and every
    polygon GDAL reads is valid."""
    from services.ogcapi.sources import build_registry

    tile = tile_for_point("WebMercatorQuad", 119.22, 34.6, 8, geographic=True)
    answer = _get_tile(http, "collections/admin_areas/tiles/WebMercatorQuad", tile)
    assert answer.status_code == 200
    features = decode(answer.content, "WebMercatorQuad", tile, "admin_areas", tmp_path)
    assert features and all(shape(f["geometry"]).is_valid for f in features)
    spec = build_registry(city).get("admin_areas")
    url = city.url.set(drivername="postgresql").render_as_string(hide_password=False)
    sizes = []
    for pixels in (0.0, tiles.SIMPLIFY_PIXELS):
        monkeypatch.setattr(tiles, "SIMPLIFY_PIXELS", pixels)
        statement = tiles.tile_statement([spec], get_tms("WebMercatorQuad"), tile, 100_000)
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute(statement.sql, statement.values).fetchone()
        assert row is not None
        sizes.append(len(row[0]))
    assert sizes[1] == len(answer.content) and sizes[1] < sizes[0] * 0.97, sizes


@pytest.mark.parametrize("tms", SETS)
def test_conflict_patches_carry_type_severity_and_area(
    http: httpx.Client, city: Engine, conflict_run: int, tms: str, tmp_path: Path
) -> None:
    with city.connect() as conn:
        x, y = conn.execute(
            text("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM"
                 " plans.conflict_patches WHERE run_id = :r ORDER BY area_m2 DESC LIMIT 1) AS s"),
            {"r": conflict_run},
        ).one()  # fmt: skip
    tile = tile_for_point(tms, x, y, {"WebMercatorQuad": 14, "WorldCRS84Quad": 13,
                                      "TiandituC": 14}[tms], geographic=True)  # fmt: skip
    cid = f"conflicts.run{conflict_run}"
    answer = _get_tile(http, f"collections/{cid}/tiles/{tms}", tile)
    assert answer.status_code == 200
    expected = _meeting(city, "plans.conflict_patches", tms, tile, f"run_id = {conflict_run}")
    features = decode(answer.content, tms, tile, cid, tmp_path)
    assert sorted(f["properties"]["mvt_id"] for f in features) == sorted(expected)
    with city.connect() as conn:
        rows = conn.execute(
            text("SELECT id, type, severity, area_m2, a_code_2023 FROM plans.conflict_patches"
                 " WHERE id = ANY(:ids)"), {"ids": list(expected)}
        ).mappings()  # fmt: skip
        stored = {row["id"]: row for row in rows}
    for feature in features:
        props, row = feature["properties"], stored[feature["properties"]["mvt_id"]]
        assert (props["type"], props["severity"]) == (row["type"], row["severity"])
        assert props["area_m2"] == pytest.approx(float(row["area_m2"]))
        assert props.get("a_code_2023") == row["a_code_2023"]
