"""bench/tiles.py's pure helpers: tiles, both servers' URLs, the peer's view, MVT counts."""

from bench import _tiles_plan as plan


def test_mercator_tile_and_both_url_orders() -> None:
    # Lianyungang (119.22, 34.6): WebMercatorQuad z14 column 13617, row 6511 (as morecantile).
    tile = plan.mercator_tile(119.22, 34.6, 14)
    assert tile == plan.XYZ(14, 13617, 6511)
    assert plan.mercator_tile(-180.0, 89.9, 2) == plan.XYZ(2, 0, 0)
    assert plan.mercator_tile(180.0, -89.9, 2) == plan.XYZ(2, 3, 3)
    assert plan.ours_path("buildings", tile) == (
        "collections/buildings/tiles/WebMercatorQuad/14/6511/13617"
    )
    assert plan.tipg_path("bench_tiles.buildings", tile, ["name", "id"]) == (
        "collections/bench_tiles.buildings/tiles/WebMercatorQuad/14/13617/6511?properties=name%2Cid"
    )


def test_pick_tiles_distinct_reproducible_and_bounded() -> None:
    points = [(119.0 + i * 0.001, 34.5 + i * 0.0007) for i in range(2000)]
    first = plan.pick_tiles(points, 14, 10, seed=1)
    assert first == plan.pick_tiles(points, 14, 10, seed=1)
    assert len(first) == len(set(first)) == 10
    assert first == sorted(first)
    few = plan.pick_tiles(points[:3], 10, 10, seed=1)
    assert few == [plan.mercator_tile(119.0, 34.5, 10)]


def test_view_sql_quotes_and_restricts() -> None:
    sql = plan.view_sql(
        "bench_tiles", "plans_x", '"plans"."features"', [("code", "source_code"), ("id", "id")],
        "geom", [("layer_version_id", 3)],
    )  # fmt: skip
    assert sql == (
        'CREATE OR REPLACE VIEW "bench_tiles"."plans_x" AS SELECT "code" AS "source_code", '
        '"id" AS "id", "geom" AS geom FROM "plans"."features" WHERE "layer_version_id" = 3'
    )
    assert plan.view_sql("s", "v", "t", [], "g").endswith("FROM t")
    assert "= 'a''b'" in plan.view_sql("s", "v", "t", [], "g", [("c", "a'b")])


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def test_mvt_features_counts_per_layer() -> None:
    feature = _varint(1 << 3) + _varint(300) + _field(4, bytes([9, 2, 2]))  # id, geometry
    layer_a = _field(1, b"buildings") + _field(2, feature) * 3 + _varint(15 << 3) + _varint(2)
    layer_b = _field(1, "规划".encode()) + _field(2, feature)
    tile = _field(3, layer_a) + _field(3, layer_b) + _field(3, _field(1, b"buildings"))
    assert plan.mvt_features(tile) == {"buildings": 3, "规划": 1}
    assert plan.mvt_features(b"") == {}


def test_ratio_and_verdict() -> None:
    assert plan.ratio(300.0, 200.0) == 1.5
    assert plan.ratio(None, 2.0) is None
    assert plan.ratio(3.0, 0.0) is None
    assert plan.verdict(1.5, 1.5, True) == "met (1.50× vs ≥ 1.5×)"
    assert plan.verdict(1.3, 1.25, False) == "missed (1.30× vs ≤ 1.25×)"
    assert plan.verdict(None, 5.0, True) == "not measured"


def test_one_line_drops_comments_but_not_quoted_dashes() -> None:
    from bench.tiles import one_line

    sql = "WITH -- a comment\n x AS (SELECT '--not' AS a -- gone\n)\nSELECT 1;"
    assert one_line(sql) == "WITH x AS (SELECT '--not' AS a ) SELECT 1"
