"""Tile matrix sets: Tianditu 'c'/'w' against docs/domain.md, morecantile and the OGC quads."""

from __future__ import annotations

import json
import math
import warnings

import morecantile
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gis.errors import GisError, TileRangeError, UnknownTileMatrixSetError
from gis.tms import (
    TMS_DIR,
    BoundingBox,
    MatrixSize,
    Tile,
    capabilities_matrices,
    check_tile,
    get_tms,
    is_valid_tile,
    levels,
    matrix_size,
    tile_bounds,
    tile_for_point,
    tiles_for_bbox,
    tms_names,
)

HAIZHOU = (119.1788, 34.6015)
LIANYUNGANG = (118.4, 34.0, 119.8, 35.1)
MERCATOR_HALF = 20037508.342789244
MERCATOR_MAX_LAT = 85.0511287798066
METRES_PER_DEGREE = math.pi * 6378137 / 180
WMQ = morecantile.tms.get("WebMercatorQuad")
common = settings(deadline=None, max_examples=300)


def _file(name: str) -> list[dict[str, object]]:
    matrices: list[dict[str, object]] = json.loads((TMS_DIR / name).read_text("utf-8"))[
        "tileMatrices"
    ]
    return matrices


# --- registry -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alias", "expected"),
    [
        ("c", "TiandituC"),
        ("C", "TiandituC"),
        ("tiandituc", "TiandituC"),
        ("w", "TiandituW"),
        (" TiandituW ", "TiandituW"),
        ("WEBMERCATORQUAD", "WebMercatorQuad"),
        ("WorldCRS84Quad", "WorldCRS84Quad"),
    ],
)
def test_get_tms_accepts_aliases_in_any_case(alias: str, expected: str) -> None:
    assert get_tms(alias).id == expected


def test_unknown_set_raises_a_gis_error_listing_the_known_ones() -> None:
    with pytest.raises(UnknownTileMatrixSetError, match="TiandituC") as info:
        get_tms("EPSG:4326")
    assert isinstance(info.value, GisError)
    assert set(tms_names()) == {"TiandituC", "TiandituW", "WebMercatorQuad", "WorldCRS84Quad"}


def test_tianditu_c_is_cgcs2000_lat_lon_from_the_config_file() -> None:
    tms = get_tms("c")
    assert tms.crs.to_epsg() == 4490
    assert tms.orderedAxes == ["Lat", "Lon"]
    assert [m.id for m in tms.tileMatrices] == [str(n) for n in range(1, 19)]


# --- matrices -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["c", "w"])
def test_tianditu_sets_have_levels_1_to_18(name: str) -> None:
    assert levels(name) == range(1, 19)


@pytest.mark.parametrize("level", range(1, 19))
def test_matrix_sizes_per_level(level: int) -> None:
    assert matrix_size("c", level) == MatrixSize(2**level, 2 ** (level - 1))
    assert matrix_size("w", level) == MatrixSize(2**level, 2**level)
    assert get_tms("c").matrix(level).cellSize == 0.703125 / 2 ** (level - 1)


@pytest.mark.parametrize("level", range(1, 19))
def test_tianditu_c_level_n_is_world_crs84_quad_level_n_minus_1(level: int) -> None:
    width, height = matrix_size("c", level)
    assert matrix_size("WorldCRS84Quad", level - 1) == (width, height)
    for col, row in [(0, 0), (width - 1, height - 1), (width // 3, height // 2)]:
        ours = tile_bounds("c", Tile(col, row, level))
        ogc = tile_bounds("WorldCRS84Quad", Tile(col, row, level - 1))
        # morecantile's WorldCRS84Quad rounds cellSize to 15 digits from level 14 on.
        assert ours == pytest.approx(ogc, rel=0, abs=1e-12)
        assert tile_bounds("c", Tile(col, row, level), geographic=True) == pytest.approx(ours)


def test_w_is_web_mercator_quad_restricted_to_1_18() -> None:
    wmq = get_tms("WebMercatorQuad")
    for level in range(1, 19):
        assert get_tms("w").matrix(level) == wmq.matrix(level)
    assert tile_bounds("w", Tile(0, 0, 1)) == BoundingBox(-MERCATOR_HALF, 0.0, 0.0, MERCATOR_HALF)
    lonlat = tile_bounds("w", Tile(0, 0, 1), geographic=True)
    assert lonlat == pytest.approx((-180.0, 0.0, 0.0, MERCATOR_MAX_LAT), abs=1e-9)


# --- scales and capabilities ---------------------------------------------------------------


def test_config_scales_are_ogc_0_28_mm_pixels() -> None:
    for m in _file("TiandituC.json"):
        cell = float(m["cellSize"])  # type: ignore[arg-type]
        expected = cell * METRES_PER_DEGREE / 0.00028
        assert m["scaleDenominator"] == pytest.approx(expected, rel=1e-12)


def test_96dpi_file_carries_tianditus_published_scales() -> None:
    ogc, published = _file("TiandituC.json"), _file("TiandituC-96dpi.json")
    assert published[0]["scaleDenominator"] == pytest.approx(2.958293554545656e8, rel=1e-15)
    for o, p in zip(ogc, published, strict=True):
        ratio = float(p["scaleDenominator"]) / float(o["scaleDenominator"])  # type: ignore[arg-type]
        assert ratio == pytest.approx(0.28 / (25.4 / 96), rel=1e-12)  # ≈ 1.0583
        assert {k: v for k, v in o.items() if k != "scaleDenominator"} == {
            k: v for k, v in p.items() if k != "scaleDenominator"
        }


def test_capabilities_matrices_are_ogc_correct() -> None:
    c = capabilities_matrices("c")
    assert [e["identifier"] for e in c] == [str(n) for n in range(1, 19)]
    assert c[0] == {
        "identifier": "1",
        "scaleDenominator": 279541132.0143589,
        "topLeftCorner": (90.0, -180.0),  # EPSG:4490 is (lat, lon)
        "tileWidth": 256,
        "tileHeight": 256,
        "matrixWidth": 2,
        "matrixHeight": 1,
    }
    w = capabilities_matrices("w")
    assert [e["identifier"] for e in w] == [str(n) for n in range(1, 19)]
    assert w[0]["topLeftCorner"] == (-MERCATOR_HALF, MERCATOR_HALF)
    assert w[0]["scaleDenominator"] == pytest.approx(c[0]["scaleDenominator"], rel=1e-12)
    assert capabilities_matrices("WorldCRS84Quad")[0]["topLeftCorner"] == (-180.0, 90.0)


def test_capabilities_96dpi_variant_for_tianditu_only() -> None:
    c96 = capabilities_matrices("c", scales="tianditu-96dpi")
    w96 = capabilities_matrices("w", scales="tianditu-96dpi")
    assert c96[0]["scaleDenominator"] == pytest.approx(2.958293554545656e8, rel=1e-15)
    for a, b in zip(c96, w96, strict=True):
        assert a["scaleDenominator"] == pytest.approx(b["scaleDenominator"], rel=1e-12)
    assert [e["topLeftCorner"] for e in c96] == [
        e["topLeftCorner"] for e in capabilities_matrices("c")
    ]
    with pytest.raises(UnknownTileMatrixSetError):
        capabilities_matrices("WebMercatorQuad", scales="tianditu-96dpi")


# --- point to tile ------------------------------------------------------------------------


def test_haizhou_is_col_850_row_157_at_level_10() -> None:
    lon, lat = HAIZHOU
    cell = 0.703125 / 2**9
    expected = Tile(
        math.floor((lon + 180) / (256 * cell)), math.floor((90 - lat) / (256 * cell)), 10
    )
    assert expected == Tile(850, 157, 10)
    assert tile_for_point("c", lon, lat, 10) == expected
    assert tile_for_point("c", lon, lat, 10, geographic=True) == expected
    assert get_tms("c").tile(lon, lat, 10) == expected  # morecantile reads the axis order right


@common
@given(
    lon=st.floats(-180, 180),
    lat=st.floats(-MERCATOR_MAX_LAT + 1e-9, MERCATOR_MAX_LAT - 1e-9),
    level=st.integers(1, 18),
)
def test_w_tile_equals_web_mercator_quad(lon: float, lat: float, level: int) -> None:
    ours = tile_for_point("w", lon, lat, level, geographic=True)
    assert ours == tile_for_point("WebMercatorQuad", lon, lat, level, geographic=True)
    x, y = get_tms("w").xy(lon, lat)
    box = tile_bounds("w", ours)
    margin = 1e-9 * (box.right - box.left)
    if box.left + margin < x < box.right - margin and box.bottom + margin < y < box.top - margin:
        # Off the edges morecantile agrees; on them its unguarded floor() can land a tile off.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert WMQ.tile(lon, lat, level) == ours


def _points(
    name: str, limit_x: float, limit_y: float, top: int
) -> st.SearchStrategy[tuple[str, float, float, int]]:
    return st.tuples(
        st.just(name),
        st.floats(-limit_x, limit_x),
        st.floats(-limit_y, limit_y),
        st.integers(levels(name).start, top),
    )


@common
@given(
    st.one_of(
        _points("c", 180, 90, 18),
        _points("w", MERCATOR_HALF, MERCATOR_HALF, 18),
        _points("WorldCRS84Quad", 180, 90, 23),
        _points("WebMercatorQuad", MERCATOR_HALF, MERCATOR_HALF, 24),
    )
)
def test_point_lies_in_its_tiles_bounds(case: tuple[str, float, float, int]) -> None:
    name, x, y, level = case
    tile = tile_for_point(name, x, y, level)
    assert check_tile(name, tile) == tile
    box = tile_bounds(name, tile)
    eps = 1e-9  # morecantile's rounded deep cell sizes (degrees or metres)
    assert box.left - eps <= x <= box.right + eps
    assert box.bottom - eps <= y <= box.top + eps
    width, height = matrix_size(name, level)
    # Half-open: the west and north edges belong to the tile, except at the set's far edges.
    assert x < box.right or tile.x == width - 1
    assert y > box.bottom or tile.y == height - 1
    centre = ((box.left + box.right) / 2, (box.bottom + box.top) / 2)
    assert tile_for_point(name, *centre, level) == tile


@common
@given(
    lon=st.floats(-180, 180),
    lat=st.floats(-85, 85),
    level=st.integers(1, 18),
)
def test_w_lonlat_point_lies_in_its_tiles_lonlat_bounds(lon: float, lat: float, level: int) -> None:
    box = tile_bounds("w", tile_for_point("w", lon, lat, level, geographic=True), geographic=True)
    assert box.left - 1e-9 <= lon <= box.right + 1e-9
    assert box.bottom - 1e-9 <= lat <= box.top + 1e-9


# --- validity -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "tile", "message"),
    [
        ("c", Tile(0, 0, 0), "level 0 is outside TiandituC levels 1-18"),
        ("c", Tile(0, 0, 19), "level 19"),
        ("w", Tile(0, 0, 0), "level 0 is outside TiandituW levels 1-18"),
        ("w", Tile(0, 0, 19), "level 19"),
        ("WebMercatorQuad", Tile(0, 0, -1), "level -1"),
        ("c", Tile(1024, 0, 10), "column 1024 is outside 0-1023"),
        ("c", Tile(-1, 0, 10), "column -1"),
        ("c", Tile(0, 512, 10), "row 512 is outside 0-511"),
        ("w", Tile(0, 1024, 10), "row 1024 is outside 0-1023"),
    ],
)
def test_out_of_range_tiles_raise(name: str, tile: Tile, message: str) -> None:
    assert not is_valid_tile(name, tile)
    with pytest.raises(TileRangeError, match=message):
        check_tile(name, tile)
    with pytest.raises(TileRangeError):
        tile_bounds(name, tile)


@pytest.mark.parametrize(
    ("name", "x", "y", "level", "geographic"),
    [
        ("c", 180.5, 0.0, 5, False),
        ("c", 0.0, -90.1, 5, False),
        ("c", 0.0, 0.0, 19, False),
        ("c", math.nan, 0.0, 5, False),
        ("w", 0.0, 86.0, 5, True),
        ("w", MERCATOR_HALF * 1.01, 0.0, 5, False),
        ("w", 0.0, math.inf, 5, False),
    ],
)
def test_points_outside_the_set_raise(
    name: str, x: float, y: float, level: int, geographic: bool
) -> None:
    with pytest.raises(TileRangeError):
        tile_for_point(name, x, y, level, geographic=geographic)


def test_far_edges_belong_to_the_last_tile() -> None:
    assert tile_for_point("c", 180.0, -90.0, 3) == Tile(7, 3, 3)
    assert tile_for_point("c", -180.0, 90.0, 3) == Tile(0, 0, 3)
    assert tile_for_point("c", 0.0, 0.0, 3) == Tile(4, 2, 3)  # edges go east and south


# --- bbox covering ------------------------------------------------------------------------


def test_lianyungang_at_level_12_is_17_by_14_tiles() -> None:
    tiles = list(tiles_for_bbox("c", LIANYUNGANG, 12))
    assert len(tiles) == 238
    assert {t.x for t in tiles} == set(range(3395, 3412))
    assert {t.y for t in tiles} == set(range(624, 638))
    assert tiles == list(get_tms("c").tiles(*LIANYUNGANG, [12]))
    assert tiles == list(tiles_for_bbox("c", LIANYUNGANG, 12, geographic=True))


def test_lianyungang_on_w_matches_morecantile() -> None:
    ours = list(tiles_for_bbox("w", LIANYUNGANG, 12, geographic=True))
    assert ours == list(WMQ.tiles(*LIANYUNGANG, [12]))
    assert len(ours) == 17 * 16  # Mercator rows span fewer degrees of latitude up here


def test_bbox_of_a_tile_covers_just_that_tile() -> None:
    tile = Tile(850, 157, 10)
    assert list(tiles_for_bbox("c", tile_bounds("c", tile), 10)) == [tile]
    assert list(tiles_for_bbox("c", (119.0, 34.5, 119.0, 34.5), 10)) == [
        tile_for_point("c", 119.0, 34.5, 10)
    ]


def test_bbox_is_clipped_to_the_set() -> None:
    assert len(list(tiles_for_bbox("c", (-200.0, -100.0, 200.0, 100.0), 2))) == 8
    assert len(list(tiles_for_bbox("w", (-180.0, -90.0, 180.0, 90.0), 2, geographic=True))) == 16
    assert list(tiles_for_bbox("c", (190.0, 0.0, 200.0, 10.0), 2)) == []


def test_bbox_covering_is_bounded_and_checked_up_front() -> None:
    with pytest.raises(TileRangeError, match="more than the limit"):
        tiles_for_bbox("c", (-180.0, -90.0, 180.0, 90.0), 18)
    with pytest.raises(TileRangeError, match="more than the limit of 100"):
        tiles_for_bbox("c", LIANYUNGANG, 12, max_tiles=100)
    with pytest.raises(TileRangeError, match="not"):
        tiles_for_bbox("c", (119.8, 34.0, 118.4, 35.1), 12)
    with pytest.raises(TileRangeError, match="level 0"):
        tiles_for_bbox("c", LIANYUNGANG, 0)


@common
@given(
    west=st.floats(110, 125),
    south=st.floats(25, 40),
    width=st.floats(1e-6, 3),
    height=st.floats(1e-6, 3),
    level=st.integers(1, 14),
)
def test_bbox_covering_matches_morecantile(
    west: float, south: float, width: float, height: float, level: int
) -> None:
    bbox = (west, south, west + width, south + height)
    ours = list(tiles_for_bbox("c", bbox, level))
    assert ours == list(get_tms("c").tiles(*bbox, [level]))
    for tile in (ours[0], ours[-1]):
        box = tile_bounds("c", tile)
        assert box.left < bbox[2] and box.right > bbox[0]
        assert box.bottom < bbox[3] and box.top > bbox[1]
