"""Raster I/O with real rasterio: a COG near Haizhou written, described, read by window and
warped onto Web Mercator and Gauss-Krüger grids with values checked against pyproj."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import rasterio
from pyproj import Transformer
from rasterio.transform import from_origin

from gis.errors import RasterError
from gis.io import open_raster, read_window, warp_window, write_cog

WEST, NORTH, CELL, SIZE = 119.15, 34.65, 1e-4, 1024  # about 10 m pixels over Haizhou
NODATA = -9999.0


def _value(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """A plane over the raster: bilinear resampling reproduces it exactly."""
    return (lon - 119.0) * 1000.0 + (lat - 34.0) * 100.0


@pytest.fixture(scope="module")
def cog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cols, rows = np.meshgrid(np.arange(SIZE), np.arange(SIZE))
    lon = WEST + (cols + 0.5) * CELL
    lat = NORTH - (rows + 0.5) * CELL
    array = _value(lon, lat).astype("float32")
    path = tmp_path_factory.mktemp("raster") / "plane.tif"
    write_cog(path, array, from_origin(WEST, NORTH, CELL, CELL), "EPSG:4490", NODATA, blocksize=256)
    return path


def test_cog_description(cog: Path) -> None:
    info = open_raster(cog)
    assert (info.driver, info.layout, info.compression) == ("GTiff", "COG", "DEFLATE")
    assert info.tiled and info.block_size == (256, 256)
    assert info.overviews == (2, 4)
    assert (info.width, info.height, info.bands, info.dtype) == (SIZE, SIZE, 1, "float32")
    assert info.crs == "EPSG:4490" and info.nodata == NODATA
    assert info.bounds.minx == pytest.approx(WEST) and info.bounds.maxy == pytest.approx(NORTH)
    assert info.bounds.maxx == pytest.approx(WEST + SIZE * CELL)
    assert info.resolution == pytest.approx((CELL, CELL))


def test_read_window_snaps_to_pixels(cog: Path) -> None:
    window = read_window(cog, (119.18, 34.60, 119.19, 34.61))
    assert window.array.shape == (1, 100, 100)
    assert window.bounds.minx == pytest.approx(119.18) and window.bounds.maxy == pytest.approx(
        34.61
    )
    a, _, c, _, e, f = window.transform
    lon = np.array(c + a * 0.5)
    lat = np.array(f + e * 0.5)
    assert window.array[0, 0, 0] == pytest.approx(float(_value(lon, lat)), abs=1e-3)
    with pytest.raises(RasterError, match="do not overlap"):
        read_window(cog, (120.0, 35.0, 120.1, 35.1))


@pytest.mark.parametrize("crs", ["EPSG:3857", "EPSG:4549"])
def test_warp_window_matches_pyproj(cog: Path, crs: str) -> None:
    to_target = Transformer.from_crs("EPSG:4490", crs, always_xy=True)
    # a box inside the raster on the west, running 0.01 degree past its east edge
    left, bottom = to_target.transform(119.20, 34.57)
    right, top = to_target.transform(119.2624, 34.62)
    width, height = 200, 160
    array = warp_window(cog, crs, (left, bottom, right, top), width, height)
    assert array.shape == (1, height, width) and array.dtype == np.float32

    xres, yres = (right - left) / width, (top - bottom) / height
    cols, rows = np.meshgrid(np.arange(width), np.arange(height))
    x, y = left + (cols + 0.5) * xres, top - (rows + 0.5) * yres
    lon, lat = Transformer.from_crs(crs, "EPSG:4490", always_xy=True).transform(x, y)
    inside = (lon > WEST + 2 * CELL) & (lon < WEST + (SIZE - 2) * CELL)
    expected = _value(lon, lat)
    # GDAL's approximate transformer may misplace a sample by 0.125 target pixel; the plane
    # rises 1000 per degree of longitude, so that bounds the error (mean: no bias)
    step = 1000.0 * (119.2624 - 119.20) / width
    error = array[0][inside] - expected[inside]
    assert np.abs(error).max() < 0.125 * step and abs(error.mean()) < 0.01 * step
    outside = lon > WEST + (SIZE + 2) * CELL
    assert outside.any() and (array[0][outside] == NODATA).all()


def test_warp_window_from_an_overview(cog: Path) -> None:
    """A coarse grid over the whole raster reads an overview; a plane averages to itself."""
    to_mercator = Transformer.from_crs("EPSG:4490", "EPSG:3857", always_xy=True)
    left, bottom = to_mercator.transform(WEST + 0.01, NORTH - SIZE * CELL + 0.01)
    right, top = to_mercator.transform(WEST + SIZE * CELL - 0.01, NORTH - 0.01)
    array = warp_window(cog, "EPSG:3857", (left, bottom, right, top), 32, 32, "average")
    lon, lat = Transformer.from_crs("EPSG:3857", "EPSG:4490", always_xy=True).transform(
        (left + right) / 2, (bottom + top) / 2
    )
    centre = array[0, 15:17, 15:17].mean()
    assert centre == pytest.approx(float(_value(np.array(lon), np.array(lat))), abs=0.5)
    assert np.isfinite(array).all() and (array != NODATA).all()


def test_warp_window_masked_and_errors(cog: Path) -> None:
    masked = warp_window(cog, "EPSG:4490", (119.24, 34.60, 119.26, 34.62), 20, 20, masked=True)
    assert isinstance(masked, np.ma.MaskedArray)
    assert masked.mask[0, :, -1].all() and not masked.mask[0, :, 0].any()
    with pytest.raises(RasterError, match="unknown resampling"):
        warp_window(cog, "EPSG:3857", (0, 0, 1, 1), 4, 4, "sharpen")
    with pytest.raises(RasterError, match="no such file"):
        open_raster(cog.with_name("absent.tif"))


def test_write_cog_refuses_bad_input(tmp_path: Path) -> None:
    transform = from_origin(WEST, NORTH, CELL, CELL)
    with pytest.raises(RasterError, match="2-D or 3-D"):
        write_cog(tmp_path / "a.tif", np.zeros(5), transform, "EPSG:4490")
    with pytest.raises(RasterError, match="NaN nodata needs a floating-point"):
        write_cog(tmp_path / "b.tif", np.zeros((4, 4), "uint8"), transform, "EPSG:4490", math.nan)
    info = write_cog(tmp_path / "c.tif", np.ones((3, 300, 300), "uint8"), transform, "EPSG:4528")
    assert (info.bands, info.crs, info.overviews) == (3, "EPSG:4528", ())
    assert not list(tmp_path.glob(".*partial"))


def test_write_cog_jpeg_for_imagery_only(tmp_path: Path) -> None:
    """JPEG: smaller than DEFLATE on a textured RGB image, close to it, and refused where
    it would blur values that mean something (floats, nodata, 2 or 4 bands)."""
    transform = from_origin(WEST, NORTH, CELL, CELL)
    rng = np.random.default_rng(1)
    smooth = np.repeat(np.linspace(0, 200, 600, dtype="uint8")[np.newaxis, :], 600, axis=0)
    rgb = np.stack([smooth, smooth.T, smooth // 2]) + rng.integers(0, 40, (3, 600, 600), "uint8")
    jpeg = write_cog(tmp_path / "j.tif", rgb, transform, "EPSG:4549", compress="jpeg")
    flate = write_cog(tmp_path / "d.tif", rgb, transform, "EPSG:4549")
    assert (jpeg.compression, flate.compression) == ("JPEG", "DEFLATE")
    assert (tmp_path / "j.tif").stat().st_size < (tmp_path / "d.tif").stat().st_size / 2
    assert jpeg.overviews == flate.overviews and jpeg.overviews
    with rasterio.open(tmp_path / "j.tif") as src:
        assert src.photometric is not None and src.photometric.name == "ycbcr"
        assert np.abs(src.read().astype(int) - rgb).mean() < 12
    for array, nodata, match in (
        (rgb.astype("float32"), None, "1 or 3 uint8 bands"),
        (rgb[:2], None, "1 or 3 uint8 bands"),
        (rgb, 0.0, "without nodata"),
    ):
        with pytest.raises(RasterError, match=match):
            write_cog(tmp_path / "x.tif", array, transform, "EPSG:4549", nodata, compress="jpeg")
    with pytest.raises(RasterError, match="deflate or jpeg"):
        write_cog(tmp_path / "x.tif", rgb, transform, "EPSG:4549", compress="lzw")
    with pytest.raises(RasterError, match="quality must be 1-100"):
        write_cog(tmp_path / "x.tif", rgb, transform, "EPSG:4549", compress="jpeg", quality=0)
    assert not (tmp_path / "x.tif").exists()
