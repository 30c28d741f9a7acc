"""``onemap basemap seed|expire|status`` as a user runs them, against the session database
and a cache directory of the test's own; and the server answering from what was seeded."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from gis.settings import DatabaseSettings
from gis.tms import tiles_for_bbox
from services.basemaps.cache.mbtiles import mbtiles_row
from services.settings import BasemapCacheSettings, Settings
from tests.services.conftest import serve

Run = Callable[..., subprocess.CompletedProcess[str]]
HAIZHOU = (119.15, 34.57, 119.21, 34.63)


def county_bbox(engine: Engine, code: str) -> tuple[float, float, float, float]:
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT"
                " ST_Extent(geom) AS e FROM grid.admin_areas WHERE code = :code) AS s"
            ),
            {"code": code},
        ).one()
    return float(row[0]), float(row[1]), float(row[2]), float(row[3])


def cached(cache: Path, layer: str, tileset: str, level: int) -> set[tuple[int, int]]:
    """(col, row from the top) of the tiles cached at one level."""
    with sqlite3.connect(cache / f"{layer}_{tileset}.mbtiles") as db:
        found = db.execute(
            "SELECT tile_column, tile_row FROM tiles WHERE zoom_level = ?", (level,)
        ).fetchall()
    return {(col, mbtiles_row(tileset, level, row)) for col, row in found}


@pytest.mark.parametrize("command", ["seed", "expire", "status"])
def test_help(onemap: Run, command: str) -> None:
    result = onemap("basemap", command, "--help")
    assert result.returncode == 0 and "Usage" in result.stdout, result.stderr


def test_seed_a_county_then_expire_a_box(onemap: Run, engine: Engine, tmp_path: Path) -> None:
    env = {"ONEMAP_BASEMAP_CACHE_DIR": str(tmp_path)}
    area = county_bbox(engine, "320706000000")
    expected = {
        level: {(t.x, t.y) for t in tiles_for_bbox("c", area, level, geographic=True)}
        for level in (10, 11)
    }
    args = ("basemap", "seed", "-l", "vec", "-l", "ter", "-s", "c", "--levels", "10-11")
    seeded = onemap(*args, "--county", "320706", "--json", env=env)
    assert seeded.returncode == 0, seeded.stderr
    report = json.loads(seeded.stdout)
    total = 2 * sum(len(tiles) for tiles in expected.values())
    assert report["tiles"] == report["rendered"] == total and report["skipped"] == 0
    for level, tiles in expected.items():
        assert cached(tmp_path, "vec", "c", level) == tiles
        assert cached(tmp_path, "ter", "c", level) == tiles

    again = json.loads(onemap(*args, "--county", "320706", "--json", env=env).stdout)
    assert again["skipped"] == total and again["rendered"] == 0

    status = json.loads(onemap("basemap", "status", "--json", env=env).stdout)
    counts = {(r["layer"], r["tileset"], r["level"]): r["tiles"] for r in status["levels"]}
    assert counts == {
        (layer, "c", level): len(tiles)
        for layer in ("vec", "ter")
        for level, tiles in expected.items()
    }

    box = ",".join(map(str, HAIZHOU))
    expire = ("basemap", "expire", "-l", "vec", "-s", "c", "--levels", "11", "--bbox", box)
    dropped = json.loads(onemap(*expire, "--json", env=env).stdout)["dropped"]
    gone = {(t.x, t.y) for t in tiles_for_bbox("c", HAIZHOU, 11, geographic=True)}
    assert gone and dropped == {"vec_c": len(gone & expected[11])}
    assert cached(tmp_path, "vec", "c", 11) == expected[11] - gone
    assert cached(tmp_path, "ter", "c", 11) == expected[11]  # another layer: untouched
    assert cached(tmp_path, "vec", "c", 10) == expected[10]  # another level: untouched


def test_the_server_answers_seeded_tiles_from_the_cache(
    onemap: Run, url_env: str, tmp_path: Path
) -> None:
    env = {"ONEMAP_BASEMAP_CACHE_DIR": str(tmp_path)}
    box = ",".join(map(str, HAIZHOU))
    seeded = onemap(
        "basemap", "seed", "-l", "cva", "-s", "w", "--levels", "12", "--bbox", box, env=env
    )
    assert seeded.returncode == 0, seeded.stderr
    (col, row), *_ = sorted(cached(tmp_path, "cva", "w", 12))
    with sqlite3.connect(tmp_path / "cva_w.mbtiles") as db:
        db.execute(  # a marker no renderer makes: served only if read from the cache
            "UPDATE tiles SET tile_data = ? WHERE zoom_level = 12 AND tile_column = ?"
            " AND tile_row = ?",
            (b"\x89PNG cached", col, mbtiles_row("w", 12, row)),
        )
    settings = Settings(
        database=DatabaseSettings(database_url=url_env),
        basemap_cache=BasemapCacheSettings(dir=tmp_path),
    )
    for base in serve(settings):
        answer = httpx.get(f"{base}/wmts/1.0.0/cva/default/w/12/{row}/{col}.png", timeout=30)
        assert answer.status_code == 200 and answer.content == b"\x89PNG cached"


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("--levels", "0-30"), "between 1 and 18"),
        (("--levels", "12-8"), "between 1 and 18"),
        (("--levels", "x"), "write one level"),
        (("-l", "roads"), "layer 'roads'"),
        (("-s", "utm"), "set 'utm'"),
        (("--county", "12"), "6-digit code"),
        (("--county", "999999"), "no county 999999"),
        (("--bbox", "1,2,3"), "west,south,east,north"),
        (("--bbox", "120,35,119,34"), "not west < east"),
        (("--bbox", "119,34,120,35", "--county", "320706"), "not both"),
    ],
)
def test_bad_requests_are_one_sentence(
    onemap: Run, tmp_path: Path, args: tuple[str, ...], problem: str
) -> None:
    result = onemap("basemap", "seed", *args, env={"ONEMAP_BASEMAP_CACHE_DIR": str(tmp_path)})
    assert result.returncode == 1, result.stdout
    assert problem in result.stderr and "Traceback" not in result.stderr
