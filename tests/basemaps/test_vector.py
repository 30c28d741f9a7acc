"""The vec, cva and cia layers rendered by Mapnik from the sample city in PostGIS: a building
lands on its pixels in both tile matrix sets, labels are drawn on transparent tiles, and
tiles away from the city are blank (None)."""

from __future__ import annotations

import pickle
from collections.abc import Iterator

import pyproj
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from gis.tms import tile_for_point
from layers.loader import load_plans
from layers.settings import PlanSettings
from services.basemaps.jobs import TileJob
from services.basemaps.vector import VECTOR_LAYERS, VectorRenderer, vector_renderers
from services.basemaps.vector.lib import mapnik, register_fonts
from services.basemaps.vector.renderer import FONT_DIRS
from tests.conftest import SAMPLE

BUILDING_FILL = (0xDD, 0xD4, 0xCA)
"""config/basemap/vec.xml's building fill."""
HAIZHOU = (119.1788, 34.6015)

Pixel = tuple[int, int, int, int]


@pytest.fixture(scope="module")
def renderers(engine: Engine, server_url: URL) -> Iterator[dict[str, VectorRenderer]]:
    """The three renderers, connected as the server connects, over the sample city with its
    plan layers (the current-use layer among them)."""
    load_plans(engine, SAMPLE, settings=PlanSettings())
    yield {layer: VectorRenderer(layer, server_url) for layer in VECTOR_LAYERS}


class Tile:
    def __init__(self, png: bytes) -> None:
        assert png.startswith(b"\x89PNG")
        self.image = mapnik().Image.from_string(png)
        assert (self.image.width(), self.image.height()) == (256, 256)

    def __getitem__(self, xy: tuple[int, int]) -> Pixel:
        packed = int(self.image.get_pixel(*xy))
        return (packed & 0xFF, packed >> 8 & 0xFF, packed >> 16 & 0xFF, packed >> 24 & 0xFF)

    def pixels(self) -> list[Pixel]:
        return [self[x, y] for y in range(0, 256, 2) for x in range(0, 256, 2)]


def _near(pixel: Pixel, rgb: tuple[int, int, int], tolerance: int = 6) -> bool:
    return pixel[3] == 255 and all(
        abs(a - b) <= tolerance for a, b in zip(pixel, rgb, strict=False)
    )


def _job(layer: str, tileset: str, level: int, lon: float, lat: float) -> TileJob:
    tile = tile_for_point(tileset, lon, lat, level, geographic=True)
    return TileJob(layer, tileset, level, tile.y, tile.x)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def building(engine: Engine) -> tuple[float, float, float, float]:
    """An isolated building away from boundaries: a point inside it (lon, lat) and where the
    parallel through that point enters and leaves it (west and east longitudes)."""
    sql = """
        SELECT ST_X(p), ST_Y(p),
               ST_XMin(ST_Intersection(geom, row_line)), ST_XMax(ST_Intersection(geom, row_line))
        FROM (
            SELECT b.geom, ST_PointOnSurface(b.geom) AS p,
                   ST_SetSRID(ST_MakeLine(
                       ST_MakePoint(ST_XMin(b.geom) - 1e-3, ST_Y(ST_PointOnSurface(b.geom))),
                       ST_MakePoint(ST_XMax(b.geom) + 1e-3, ST_Y(ST_PointOnSurface(b.geom)))),
                   4490) AS row_line
            FROM grid.buildings b
            WHERE ST_Area(b.geom::geography) > 300
              AND NOT EXISTS (SELECT 1 FROM grid.buildings o WHERE o.id <> b.id
                              AND ST_DWithin(o.geom, b.geom, 0.0003))
              AND NOT EXISTS (SELECT 1 FROM grid.admin_areas a
                              WHERE a.geom && ST_Expand(b.geom, 0.0005)
                                AND ST_DWithin(ST_Boundary(a.geom), b.geom, 0.0005))
            ORDER BY b.code LIMIT 1
        ) AS s
    """
    with engine.connect() as conn:
        row = conn.execute(text(sql)).one()
    return (row[0], row[1], row[2], row[3])


@pytest.mark.parametrize("tileset", ["c", "w"])
def test_a_building_lands_where_its_coordinates_say(
    renderers: dict[str, VectorRenderer],
    building: tuple[float, float, float, float],
    tileset: str,
) -> None:
    lon, lat, west, east = building
    job = _job("vec", tileset, 18, lon, lat)
    png = renderers["vec"].render(job)
    assert png is not None
    tile = Tile(png)
    to_set = pyproj.Transformer.from_crs(4490, job.srid, always_xy=True)
    left, bottom, right, top = job.bounds

    def pixel(x_lon: float) -> tuple[float, float]:
        x, y = to_set.transform(x_lon, lat)
        return (x - left) / (right - left) * 256, (top - y) / (top - bottom) * 256

    px, py = pixel(lon)
    assert _near(tile[int(px), int(py)], BUILDING_FILL), tile[int(px), int(py)]
    # Along the parallel through that point the building (its outline, then its fill)
    # starts and ends within a pixel of where the footprint does: the first pixel that
    # differs from the ground outside it is the one the edge falls in (or the next).
    row = int(py)
    x_west, _ = pixel(west)
    x_east, _ = pixel(east)

    def differs(x: int, ground: Pixel) -> bool:
        return not _near(tile[x, row], ground[:3])

    checked = 0
    if x_west >= 4:  # the footprint's edges that fall inside the tile
        ground = tile[int(x_west) - 4, row]
        first = next(x for x in range(int(x_west) - 4, int(px)) if differs(x, ground))
        assert abs(first - x_west) <= 1, (first, x_west)
        checked += 1
    if x_east <= 252:
        ground = tile[int(x_east) + 4, row]
        last = next(x for x in range(int(x_east) + 4, int(px), -1) if differs(x, ground))
        assert abs(last + 1 - x_east) <= 1, (last + 1, x_east)
        checked += 1
    assert checked


@pytest.mark.parametrize("tileset", ["c", "w"])
def test_a_city_wide_tile_has_water_farmland_and_built_up_areas(
    renderers: dict[str, VectorRenderer], tileset: str
) -> None:
    png = renderers["vec"].render(_job("vec", tileset, 10, *HAIZHOU))
    assert png is not None
    colours = {p for p in Tile(png).pixels() if p[3] == 255}
    assert len(colours) >= 5
    assert any(_near(p, (0xB5, 0xD3, 0xEC)) for p in colours)  # water
    assert any(_near(p, (0xF0, 0xEF, 0xDF)) for p in colours)  # farmland
    assert any(_near(p, (0xED, 0xE6, 0xDD)) for p in colours)  # built-up


@pytest.mark.parametrize("layer", VECTOR_LAYERS)
@pytest.mark.parametrize("tileset", ["c", "w"])
def test_far_from_the_city_a_tile_is_blank(
    renderers: dict[str, VectorRenderer], layer: str, tileset: str
) -> None:
    """Over the Pacific east of Japan, and inside the city's extent but off the land."""
    assert renderers[layer].render(_job(layer, tileset, 12, 150.0, 35.0)) is None


def test_a_tile_inside_the_extent_but_without_data_is_blank(
    renderers: dict[str, VectorRenderer], engine: Engine
) -> None:
    """Inside the admin areas' box but off every polygon (their box is not their land)."""
    extent = renderers["vec"].data_extent()
    assert extent is not None
    west, south, east, north = extent
    sql = """SELECT NOT EXISTS (SELECT 1 FROM grid.admin_areas WHERE ST_Intersects(geom, b))
                    AND NOT EXISTS (SELECT 1 FROM plans.features WHERE ST_Intersects(geom, b))
             FROM ST_MakeEnvelope(:w, :s, :e, :n, 4490) AS b"""
    with engine.connect() as conn:
        for i in range(21):
            for j in range(21):
                lon = west + (east - west) * i / 20
                lat = south + (north - south) * j / 20
                job = _job("vec", "c", 14, lon, lat)
                w, s, e, n = job.geographic_bounds
                if conn.execute(text(sql), {"w": w, "s": s, "e": e, "n": n}).scalar_one():
                    assert renderers["vec"].render(job) is None
                    assert (
                        renderers["cva"].render(TileJob("cva", "c", 14, job.row, job.col)) is None
                    )
                    return
    pytest.skip("the sample's admin areas fill their bounding box")


@pytest.mark.parametrize("tileset", ["c", "w"])
def test_street_names_are_labels_on_a_transparent_tile(
    renderers: dict[str, VectorRenderer], tileset: str
) -> None:
    png = renderers["cva"].render(_job("cva", tileset, 13, *HAIZHOU))
    assert png is not None
    pixels = Tile(png).pixels()
    opaque = [p for p in pixels if p[3] > 0]
    assert 0.002 * len(pixels) < len(opaque) < 0.25 * len(pixels)
    assert any(p[:3] == (255, 255, 255) and p[3] == 255 for p in opaque)  # the halo
    assert any(max(p[:3]) < 0x80 and p[3] == 255 for p in opaque)  # the dark text


def test_imagery_labels_are_light_with_boundaries(renderers: dict[str, VectorRenderer]) -> None:
    png = renderers["cia"].render(_job("cia", "c", 14, *HAIZHOU))
    assert png is not None
    opaque = [p for p in Tile(png).pixels() if p[3] > 0]
    assert opaque
    assert any(min(p[:3]) > 0xE0 and p[3] > 200 for p in opaque)  # light text or lines
    assert any(max(p[:3]) < 0x40 for p in opaque)  # the dark halo


def test_the_style_names_a_face_mapnik_has() -> None:
    faces = register_fonts(FONT_DIRS)
    assert {"Noto Sans CJK SC Regular", "Noto Sans CJK SC Bold"} <= faces


def test_the_renderers_come_from_the_settings(db_settings: object) -> None:
    made = vector_renderers(db_settings)  # type: ignore[arg-type]
    assert set(made) == set(VECTOR_LAYERS)
    assert "password" not in repr(made["vec"]).lower()


def test_a_tile_of_another_layer_is_refused(renderers: dict[str, VectorRenderer]) -> None:
    with pytest.raises(ValueError, match="cva tile"):
        renderers["vec"].render(_job("cva", "c", 10, *HAIZHOU))


def test_a_renderer_travels_to_a_worker_process(renderers: dict[str, VectorRenderer]) -> None:
    """Pickled (as a process pool sends it) it renders the same tile, loading its own map."""
    job = _job("cva", "c", 13, *HAIZHOU)
    first = renderers["cva"].render(job)
    copy = pickle.loads(pickle.dumps(renderers["cva"]))
    assert copy.render(job) == first


def test_mapnik_leaves_gdal_and_proj_to_fiona_and_rasterio() -> None:
    """The wheel's import points GDAL_DATA and PROJ_LIB at its own folders; ours puts them
    back, so fiona still reads the sample's CRS afterwards."""
    import os

    import fiona

    before = {key: os.environ.get(key) for key in ("GDAL_DATA", "PROJ_LIB", "PROJ_DATA")}
    assert mapnik().Projection("epsg:4490").geographic
    assert {key: os.environ.get(key) for key in before} == before
    with fiona.open(SAMPLE / "grid.gpkg", layer="admin_areas") as source:
        assert source.crs == "EPSG:4490"
