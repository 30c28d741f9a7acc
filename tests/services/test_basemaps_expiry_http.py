"""A running server's base-map tiles follow the data: a building moved by an edit is drawn
where it now is at the next request after the server's watcher has looked (no restart, no
manual expire), through the triggers, the changed boxes and the cache."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
import shapely.wkb
from shapely import affinity
from sqlalchemy import Engine, text

from gis.settings import DatabaseSettings
from gis.tms import tile_for_point
from grid.edits import Actor, update
from grid.settings import GridSettings
from services.settings import BasemapCacheSettings, Settings
from tests.services.conftest import serve


@pytest.fixture(scope="module")
def base(url_env: str) -> Iterator[str]:
    settings = Settings(
        database=DatabaseSettings(database_url=url_env),
        basemap_cache=BasemapCacheSettings(expire_interval=0.2),
    )
    yield from serve(settings)


def _move(engine: Engine, building: int, dx: float) -> None:
    with engine.begin() as conn:
        version, wkb = conn.execute(
            text("SELECT version, ST_AsBinary(geom) FROM grid.buildings WHERE id = :i"),
            {"i": building},
        ).one()
        moved = affinity.translate(shapely.wkb.loads(bytes(wkb)), dx, 0)
        update(conn, "buildings", building, version, {"geom": moved}, Actor("operator"),
               settings=GridSettings())  # fmt: skip


def test_an_edited_building_is_redrawn_without_a_restart(base: str, engine: Engine) -> None:
    with engine.connect() as conn:
        building, lon, lat = conn.execute(
            text(
                "SELECT id, ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom))"
                " FROM grid.buildings ORDER BY code LIMIT 1"
            )
        ).one()
    tile = tile_for_point("c", lon, lat, 17, geographic=True)
    url = f"{base}/wmts/1.0.0/vec/default/c/17/{tile.y}/{tile.x}.png"
    before = httpx.get(url, timeout=30)
    assert before.status_code == 200
    assert httpx.get(url, timeout=30).content == before.content  # cached, stable
    _move(engine, building, 0.0003)  # about 27 m east: several pixels at level 17
    try:
        deadline = time.monotonic() + 30
        while True:
            after = httpx.get(url, timeout=30)
            if after.content != before.content or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert after.content != before.content, "the tile over the moved building stayed"
        assert after.headers["etag"] != before.headers["etag"]
    finally:
        _move(engine, building, -0.0003)
