"""The ``img`` renderer against GDAL itself: a tile of each set, decoded, matches ``gdalwarp``
of the same COG to the same window and size (mean difference within JPEG loss, and clearly
below what a two-pixel shift would give); a tile that misses the imagery is None."""

from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from rasterio.io import MemoryFile

from gis.errors import RasterError
from gis.tms import tile_for_point
from services.basemaps.imagery import ImageryRenderer
from services.basemaps.jobs import TileJob
from tests.conftest import SAMPLE

IMAGERY = SAMPLE / "rasters" / "imagery.tif"
INSIDE = (119.28, 34.66)
"""Haizhou, well inside the sample's imagery (119.10-119.46 E, 34.54-34.78 N)."""
EDGE = (119.10, 34.66)
"""The imagery's west edge: part of such a tile is background."""

pytestmark = [
    pytest.mark.skipif(
        shutil.which("gdalwarp") is None, reason="gdal-bin is not installed (make os-deps)"
    ),
    # A decoded JPEG tile has no georeferencing of its own: that is the point of a tile.
    pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning"),
]


@pytest.fixture(scope="module")
def renderer() -> ImageryRenderer:
    return ImageryRenderer(IMAGERY, quality=90)


def _job(tileset: str, level: int, lon: float, lat: float) -> TileJob:
    tile = tile_for_point(tileset, lon, lat, level, geographic=True)
    return TileJob("img", tileset, level, tile.y, tile.x)  # type: ignore[arg-type]


def _decode(data: bytes) -> np.ndarray[Any, Any]:
    with MemoryFile(data) as memory, memory.open() as src:
        assert (src.driver, src.count, src.width, src.height) == ("JPEG", 3, 256, 256)
        pixels: np.ndarray[Any, Any] = src.read().astype(np.float64)
        return pixels


def _gdalwarp(job: TileJob, tmp_path: Path) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """GDAL's own warp of the COG to the tile's window: (RGB, alpha)."""
    out = tmp_path / f"gdal_{job.tileset}_{job.level}.tif"
    srs = f"EPSG:{job.srid}"
    left, bottom, right, top = job.bounds
    args = ["gdalwarp", "-q", "-overwrite", "-t_srs", srs, "-r", "bilinear", "-dstalpha"]
    args += ["-te", *(repr(v) for v in (left, bottom, right, top)), "-ts", "256", "256"]
    done = subprocess.run([*args, str(IMAGERY), str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with rasterio.open(out) as src:
        bands = src.read().astype(np.float64)
    return bands[:3], bands[3]


@pytest.mark.parametrize("tileset", ["c", "w"])
@pytest.mark.parametrize(("level", "where"), [(14, INSIDE), (11, INSIDE), (12, EDGE)])
def test_a_tile_matches_gdalwarp(
    renderer: ImageryRenderer, tmp_path: Path, tileset: str, level: int, where: tuple[float, float]
) -> None:
    job = _job(tileset, level, *where)
    data = renderer.render(job)
    assert data is not None and data[:3] == b"\xff\xd8\xff"  # a JPEG
    ours = _decode(data)
    gdal, alpha = _gdalwarp(job, tmp_path)
    covered = alpha == 255
    assert covered.sum() > 256 * 256 // 4
    difference = np.abs(ours - gdal)[:, covered].mean()
    assert difference < 4.0, difference
    # The same comparison two pixels off is clearly worse: the check sees misplacement.
    shifted = np.abs(ours[:, :, 2:] - gdal[:, :, :-2])[:, covered[:, :-2]].mean()
    assert shifted > 1.5 * difference, (difference, shifted)
    if where == EDGE:  # outside the imagery: the neutral background, not black
        outside = alpha == 0
        assert outside.sum() > 1000
        assert np.abs(ours[:, outside].mean(axis=1) - 236).max() < 6


@pytest.mark.parametrize("tileset", ["c", "w"])
def test_a_tile_away_from_the_imagery_is_none(renderer: ImageryRenderer, tileset: str) -> None:
    assert renderer.render(_job(tileset, 12, 118.5, 34.66)) is None
    assert renderer.render(_job(tileset, 3, -70.0, -30.0)) is None


@pytest.mark.parametrize("tileset", ["c", "w"])
def test_the_coarsest_levels_render_the_city_small(renderer: ImageryRenderer, tileset: str) -> None:
    for level in (1, 5, 8):
        data = renderer.render(_job(tileset, level, *INSIDE))
        assert data is not None
        assert _decode(data).std() > 1.0  # some imagery, not all background


def test_threads_share_the_renderer(renderer: ImageryRenderer) -> None:
    jobs = [_job(s, level, *INSIDE) for s in ("c", "w") for level in (10, 13, 16)]
    expected = [renderer.render(job) for job in jobs]
    results: dict[int, list[bytes | None]] = {}

    def work(n: int) -> None:
        results[n] = [renderer.render(job) for job in jobs]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(got == expected for got in results.values())


def test_bad_settings_and_files_are_raster_errors(tmp_path: Path) -> None:
    with pytest.raises(RasterError, match="quality"):
        ImageryRenderer(IMAGERY, quality=0)
    with pytest.raises(RasterError, match="resampling"):
        ImageryRenderer(IMAGERY, resampling="sharpest")
    with pytest.raises(RasterError, match="no such file"):
        ImageryRenderer(tmp_path / "missing.tif").render(_job("c", 12, *INSIDE))
