"""bench basemap's pure parts: tile choice, MapProxy's configuration, figures, verdicts, the
command line (the servers and the database are exercised by running the bench)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import __main__ as bench_main
from bench import _basemap_load as load
from bench import _basemap_render as render
from bench import _basemap_servers as servers
from bench import basemap
from gis.tms import Tile, tile_bounds

BOX = (119.23, 34.62, 119.33, 34.70)


def test_sample_is_fixed_and_keeps_order() -> None:
    items = list(range(100))
    chosen = render.sample(items, 10)
    assert chosen == render.sample(items, 10)
    assert chosen == sorted(chosen)
    assert len(chosen) == 10
    assert render.sample(items[:5], 10) == items[:5]


def test_box_tiles_meet_the_box() -> None:
    tiles = render.box_tiles("w", BOX, [14])
    assert tiles
    for level, row, col in tiles:
        b = tile_bounds("w", Tile(col, row, level), geographic=True)
        assert b.left <= BOX[2] and BOX[0] <= b.right
        assert b.bottom <= BOX[3] and BOX[1] <= b.top
    points = render.box_points_tiles("w", 14, BOX, 50)
    assert set(points) <= {(row, col) for _, row, col in tiles}


def test_interior_tiles_lie_inside_the_imagery() -> None:
    cells = render.box_tiles("w", BOX, [15])
    inner = basemap._interior(BOX, cells, 2)
    assert len(inner) == 2
    for level, row, col in inner:
        b = tile_bounds("w", Tile(col, row, level), geographic=True)
        assert BOX[0] < b.left and b.right < BOX[2] and BOX[1] < b.bottom and b.top < BOX[3]


def test_mapproxy_reads_the_mbtiles_on_a_grid_counted_from_the_south(tmp_path: Path) -> None:
    files = {"vec": (tmp_path / "vec_w.mbtiles", "png"), "img": (tmp_path / "img_w.mbtiles", "jpg")}
    config = servers.mapproxy_config(files)
    assert config["grids"] == {"w": {"base": "GLOBAL_WEBMERCATOR", "origin": "sw"}}
    caches = config["caches"]
    assert isinstance(caches, dict)
    assert caches["vec_cache"]["sources"] == []
    assert caches["img_cache"]["format"] == "image/jpeg"
    assert caches["vec_cache"]["cache"] == {"type": "mbtiles", "filename": str(files["vec"][0])}
    assert servers.mapproxy_path("img", 9, 3, 4, "jpg") == "wmts/img/w/09/3/4.jpeg"


def test_titiler_is_asked_the_same_tile_and_resampling() -> None:
    path = servers.titiler_path(Path("/c.tif"), 14, 13562, 6518, "bilinear")
    assert path.startswith("tiles/WebMercatorQuad/14/13562/6518.jpg?url=/c.tif")
    assert "resampling=bilinear&reproject=bilinear" in path and "tilesize=256" in path


def test_figures_and_errors() -> None:
    run = load.Load(tiles=100, seconds=4.0, bytes=1000, latencies_ms=[1.0, 2.0, 3.0])
    run.error("x")
    found = run.figures()
    assert found["tiles_per_s"] == 25.0
    assert found["p50_ms"] == 2.0
    assert found["errors"] == 1 and found["error_examples"] == ["x"]


def test_ratios_and_verdicts() -> None:
    rounds = [
        {"onemap": {"tiles_per_s": 100.0}, "mapproxy": {"tiles_per_s": 50.0}},
        {"onemap": {"tiles_per_s": 90.0}, "mapproxy": {"tiles_per_s": 100.0}},
        {"onemap": {"tiles_per_s": 120.0}, "mapproxy": {"tiles_per_s": 60.0}},
    ]
    ratio = basemap._ratio(rounds, "onemap", "mapproxy")
    assert ratio == {"of_medians": round(100 / 60, 3), "range": [0.9, 2.0]}
    verdict = basemap._verdicts({"cached": {"ratios": {"mapproxy": ratio}}})
    assert verdict["cached × mapproxy ≥ 1.0"].startswith("met")
    low = {"of_medians": 0.4, "range": [0.3, 0.5]}
    verdict = basemap._verdicts({"cached": {"ratios": {"static": low}}})
    assert verdict["cached × static ≥ 0.5"].startswith("missed")


def test_options_reach_the_benchmark(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        bench_main.main(["basemap", "--help"])
    assert stop.value.code == 0
    assert "TiTiler" in capsys.readouterr().out
