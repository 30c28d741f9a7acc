"""The ``ter`` renderer on the sample DEM, and the hill-shade arithmetic, without HTTP."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile
from rasterio.transform import from_origin

from services.basemaps.jobs import TileJob
from services.basemaps.terrain import TerrainRenderer, hillshade
from services.settings import BasemapSettings
from tests.conftest import SAMPLE

DEM = SAMPLE / "rasters" / "dem.tif"


def decode(body: bytes) -> np.ndarray:
    """The bands of an encoded tile (PNG or JPEG)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile(body) as memory, memory.open() as dataset:
            return dataset.read()


def test_a_flat_plane_is_lit_by_the_sine_of_the_sun_altitude() -> None:
    shade = hillshade(np.zeros((5, 5)), np.full((5, 1), 30.0), 30.0)
    assert shade.shape == (3, 3)
    assert np.allclose(shade, math.sin(math.radians(45)))


def test_a_slope_facing_the_north_west_sun_is_brighter_than_one_facing_away() -> None:
    cols = np.arange(5, dtype=float)
    rising_east = np.tile(cols * 10, (5, 1))  # faces west, towards the sun's side
    facing_sun = hillshade(rising_east, np.full((5, 1), 30.0), 30.0)
    facing_away = hillshade(-rising_east, np.full((5, 1), 30.0), 30.0)
    assert facing_sun.mean() > math.sin(math.radians(45)) > facing_away.mean()


def test_exaggeration_deepens_the_shading() -> None:
    hill = np.add.outer(np.arange(6.0), np.arange(6.0)) * 3
    flat = hillshade(hill, np.full((6, 1), 30.0), 30.0)
    steep = hillshade(hill, np.full((6, 1), 30.0), 30.0, exaggeration=5)
    assert abs(steep.mean() - 0.707) > abs(flat.mean() - 0.707)


@pytest.mark.parametrize(
    "job", [TileJob("ter", "c", 10, 157, 850), TileJob("ter", "w", 10, 406, 850)], ids=str
)
def test_a_tile_over_the_city_is_shaded_grey_with_alpha(job: TileJob) -> None:
    body = TerrainRenderer(BasemapSettings(dem=DEM)).render(job)
    assert body is not None and body.startswith(b"\x89PNG")
    grey, alpha = decode(body)
    assert grey.shape == (256, 256)
    assert (alpha == 255).all()  # the DEM covers the whole tile
    assert grey.std() > 0


def test_a_tile_half_off_the_dem_is_transparent_where_there_is_no_data() -> None:
    # c level 7: tiles of 1.40625°; the DEM spans 118.35-119.85 E, 33.95-35.15 N.
    job = TileJob("ter", "c", 7, 19, 105)  # 115.3-116.7 E: west of the DEM
    renderer = TerrainRenderer(BasemapSettings(dem=DEM))
    assert renderer.render(job) is None
    body = renderer.render(TileJob("ter", "c", 7, 19, 106))  # 118.1-119.5 E, 33.7-35.2 N
    assert body is not None
    _, alpha = decode(body)
    assert 0 < (alpha == 255).mean() < 1
    assert (alpha[:, :10] == 0).all()  # 118.1-118.35 E lies west of the DEM


def test_far_from_the_city_or_without_a_dem_there_is_nothing(tmp_path: Path) -> None:
    assert (
        TerrainRenderer(BasemapSettings(dem=DEM)).render(TileJob("ter", "c", 10, 100, 100)) is None
    )
    missing = TerrainRenderer(BasemapSettings(dem=tmp_path / "none.tif"))
    assert missing.render(TileJob("ter", "c", 10, 157, 850)) is None


SLOPE = 0.5
"""Metres of rise per metre eastwards of the synthetic DEM below."""


@pytest.fixture(scope="module")
def east_slope(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CGCS2000 DEM rising ``SLOPE`` m per metre eastwards around Haizhou (its cell is
    degrees: the renderer must turn them into metres at the latitude)."""
    path = tmp_path_factory.mktemp("dem") / "east.tif"
    lon0, lat0, cell, size = 119.0, 34.8, 0.0005, 800
    lats = lat0 - (np.arange(size) + 0.5) * cell
    lons = lon0 + (np.arange(size) + 0.5) * cell
    metres_east = np.outer(np.cos(np.radians(lats)), lons - lon0) * math.pi / 180 * 6378137
    profile = {
        "driver": "GTiff", "width": size, "height": size, "count": 1, "dtype": "float32",
        "crs": "EPSG:4490", "transform": from_origin(lon0, lat0, cell, cell),
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write((metres_east * SLOPE).astype(np.float32), 1)
    return path


@pytest.mark.parametrize(
    "job", [TileJob("ter", "c", 12, 630, 3404), TileJob("ter", "w", 12, 1627, 3404)], ids=str
)
def test_slopes_are_measured_in_metres_on_both_sets(east_slope: Path, job: TileJob) -> None:
    body = TerrainRenderer(BasemapSettings(dem=east_slope, exaggeration=1)).render(job)
    assert body is not None
    grey, alpha = decode(body)
    assert (alpha == 255).all()
    # The normal (-SLOPE, 0, 1) against the sun (-cos45·sin45, cos45·cos45, sin45).
    sun = math.cos(math.radians(45))
    expected = (SLOPE * sun * sun + sun) / math.sqrt(1 + SLOPE**2) * 255
    assert np.median(grey) == pytest.approx(expected, abs=2)
