"""The Tianditu-compatible WMTS over real HTTP: capabilities, tiles on the three URL kinds,
caching validators and every malformed request answered with an OWS ExceptionReport."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyproj
import pytest
import rasterio
from pydantic import SecretStr
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile

from gis.settings import DatabaseSettings
from grid.settings import PrivacySettings
from services.settings import BasemapSettings, Settings
from tests.services.conftest import serve
from tests.services.test_basemaps_terrain import DEM, decode

NS = {
    "wmts": "http://www.opengis.net/wmts/1.0",
    "ows": "http://www.opengis.net/ows/1.1",
}
HAIZHOU = (119.1788, 34.6015)
KVP = (
    "/ter_c/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=ter&STYLE=default"
    "&TILEMATRIXSET=c&FORMAT=tiles&TILEMATRIX=10&TILEROW=157&TILECOL=850&tk="
)


@pytest.fixture(scope="module")
def wmts_base(url_env: str) -> Iterator[str]:
    settings = Settings(
        database=DatabaseSettings(database_url=url_env),
        privacy=PrivacySettings(secret_key=SecretStr("k" * 40)),
        basemap=BasemapSettings(dem=DEM),
    )
    yield from serve(settings)


@pytest.fixture(scope="module")
def wmts(wmts_base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=wmts_base, timeout=30) as http:
        yield http


@pytest.fixture(scope="module")
def capabilities(wmts: httpx.Client) -> ET.Element:
    answer = wmts.get("/wmts/1.0.0/WMTSCapabilities.xml")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/xml")
    return ET.fromstring(answer.content)


def matrix(caps: ET.Element, tileset: str, level: int) -> dict[str, str]:
    for tms in caps.iterfind("wmts:Contents/wmts:TileMatrixSet", NS):
        if tms.findtext("ows:Identifier", namespaces=NS) == tileset:
            for m in tms.iterfind("wmts:TileMatrix", NS):
                if m.findtext("ows:Identifier", namespaces=NS) == str(level):
                    return {child.tag.split("}")[1]: child.text or "" for child in m}
    raise AssertionError(f"no level {level} of {tileset}")


def rgba(png: bytes) -> np.ndarray:
    """A PNG's pixels as 4 bands, whatever its kind (grey + alpha, or paletted PNG8)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile(png) as memory, memory.open() as dataset:
            bands = dataset.read()
            if dataset.count == 1:  # paletted: expand the colour table
                table = dataset.colormap(1)
                lut = np.array([table.get(i, (0, 0, 0, 0)) for i in range(256)], np.uint8)
                return np.moveaxis(lut[bands[0]], -1, 0)
    if len(bands) == 2:
        return np.stack([bands[0], bands[0], bands[0], bands[1]])
    return bands


def exception_code(answer: httpx.Response) -> str:
    report = ET.fromstring(answer.content)
    assert report.tag == "{http://www.opengis.net/ows/1.1}ExceptionReport"
    found = report.find("ows:Exception", NS)
    assert found is not None
    return found.attrib["exceptionCode"]


def test_capabilities_list_every_layer_on_both_sets(capabilities: ET.Element) -> None:
    layers = capabilities.findall("wmts:Contents/wmts:Layer", NS)
    assert [la.findtext("ows:Identifier", namespaces=NS) for la in layers] == [
        "vec", "cva", "img", "cia", "ter",
    ]  # fmt: skip
    for layer in layers:
        links = [t.text for t in layer.iterfind("wmts:TileMatrixSetLink/wmts:TileMatrixSet", NS)]
        assert links == ["c", "w"]
        template = layer.find("wmts:ResourceURL", NS)
        assert (
            template is not None
            and "{TileMatrix}/{TileRow}/{TileCol}" in template.attrib["template"]
        )
    crs = [e.text for e in capabilities.iterfind(".//ows:SupportedCRS", NS)]
    assert crs == ["urn:ogc:def:crs:EPSG::4490", "urn:ogc:def:crs:EPSG::3857"]


def test_scales_use_the_ogc_pixel_and_corners_the_crs_axis_order(capabilities: ET.Element) -> None:
    c1 = matrix(capabilities, "c", 1)
    assert c1["TopLeftCorner"].split() == ["90.0", "-180.0"]  # EPSG:4490 is (lat, lon)
    metres_per_degree = 2 * math.pi * 6378137 / 360
    cell_degrees = float(c1["ScaleDenominator"]) * 0.00028 / metres_per_degree
    assert cell_degrees == pytest.approx(0.703125, rel=1e-9)
    assert (c1["MatrixWidth"], c1["MatrixHeight"]) == ("2", "1")
    c18 = matrix(capabilities, "c", 18)
    assert (c18["MatrixWidth"], c18["MatrixHeight"]) == (str(2**18), str(2**17))
    w1 = matrix(capabilities, "w", 1)
    assert [float(v) for v in w1["TopLeftCorner"].split()] == pytest.approx(
        [-20037508.3427892, 20037508.3427892]
    )
    assert float(w1["ScaleDenominator"]) * 0.00028 * 256 == pytest.approx(20037508.3427892)


def test_haizhou_falls_in_the_tianditu_tiles_the_capabilities_describe(
    capabilities: ET.Element,
) -> None:
    lon, lat = HAIZHOU
    c10 = matrix(capabilities, "c", 10)
    top, left = (float(v) for v in c10["TopLeftCorner"].split())
    span = float(c10["ScaleDenominator"]) * 0.00028 / (2 * math.pi * 6378137 / 360) * 256
    assert (math.floor((lon - left) / span), math.floor((top - lat) / span)) == (850, 157)
    w10 = matrix(capabilities, "w", 10)
    x0, y0 = (float(v) for v in w10["TopLeftCorner"].split())
    x, y = pyproj.Transformer.from_crs(4490, 3857, always_xy=True).transform(lon, lat)
    span = float(w10["ScaleDenominator"]) * 0.00028 * 256
    assert (math.floor((x - x0) / span), math.floor((y0 - y) / span)) == (850, 406)


def test_per_layer_capabilities_describe_that_layer_and_set(wmts: httpx.Client) -> None:
    answer = wmts.get("/vec_w/wmts", params={"service": "wmts", "request": "GetCapabilities"})
    assert answer.status_code == 200
    caps = ET.fromstring(answer.content)
    assert [e.text for e in caps.iterfind("wmts:Contents/wmts:Layer/ows:Identifier", NS)] == ["vec"]
    sets = caps.iterfind("wmts:Contents/wmts:TileMatrixSet/ows:Identifier", NS)
    assert [e.text for e in sets] == ["w"]


def test_a_ter_tile_over_the_city_is_shaded(wmts: httpx.Client) -> None:
    answer = wmts.get(KVP)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/png"
    grey, alpha = decode(answer.content)
    assert grey.shape == (256, 256) and (alpha == 255).all() and grey.std() > 0


def test_kvp_names_are_case_insensitive(wmts: httpx.Client) -> None:
    lower = wmts.get(KVP.lower().replace("tiles", "image/png"))
    mixed = wmts.get(KVP.replace("TILEROW", "TileRow").replace("REQUEST", "Request"))
    reference = wmts.get(KVP)
    assert lower.status_code == mixed.status_code == 200
    assert lower.content == mixed.content == reference.content


def test_a_tile_far_from_the_city_is_blank(wmts: httpx.Client) -> None:
    answer = wmts.get("/DataServer?T=ter_c&x=100&y=100&l=10")
    assert answer.status_code == 200
    _, alpha = decode(answer.content)
    assert (alpha == 0).all()


def test_every_layer_draws_the_city_and_nothing_far_away(wmts: httpx.Client) -> None:
    """Each layer has its renderer: over Haizhou its tile has something drawn (several
    colours, opaque pixels for PNG); far from the city it is blank (transparent PNG)."""
    for layer in ("vec", "cva", "cia", "ter"):
        near = wmts.get(f"/wmts/1.0.0/{layer}/default/c/12/630/3403.png")
        assert near.status_code == 200 and near.headers["content-type"] == "image/png"
        bands = rgba(near.content)
        assert bands[3].any() and len(np.unique(bands[:3].reshape(3, -1), axis=1)) > 1, layer
        far = wmts.get(f"/wmts/1.0.0/{layer}/default/c/12/300/300.png")
        assert far.status_code == 200 and not rgba(far.content)[3].any(), layer
    img = wmts.get("/wmts/1.0.0/img/default/w/12/1627/3403.jpg")
    assert img.status_code == 200 and img.headers["content-type"] == "image/jpeg"
    assert decode(img.content).std() > 5  # imagery, not a uniform background


def test_dataserver_rest_and_kvp_give_the_same_bytes(wmts: httpx.Client) -> None:
    kvp = wmts.get(KVP)
    dataserver = wmts.get("/DataServer?T=ter_c&x=850&y=157&l=10&tk=")
    rest = wmts.get("/wmts/1.0.0/ter/default/c/10/157/850.png")
    generic = wmts.get(KVP.replace("/ter_c/wmts", "/wmts"))
    assert kvp.content == dataserver.content == rest.content == generic.content
    assert kvp.headers["etag"] == rest.headers["etag"]


def test_if_none_match_is_answered_304(wmts: httpx.Client) -> None:
    first = wmts.get(KVP)
    assert first.headers["cache-control"].startswith("max-age=")
    again = wmts.get(KVP, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    other = wmts.get(KVP, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200


TILE = "SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&STYLE=default&FORMAT=tiles"


@pytest.mark.parametrize(
    ("url", "code", "status"),
    [
        (
            f"/wmts?{TILE}&LAYER=xyz&TILEMATRIXSET=c&TILEMATRIX=3&TILEROW=0&TILECOL=0",
            "InvalidParameterValue",
            400,
        ),
        (
            f"/wmts?{TILE}&LAYER=ter&TILEMATRIXSET=q&TILEMATRIX=3&TILEROW=0&TILECOL=0",
            "InvalidParameterValue",
            400,
        ),
        (f"/ter_c/wmts?{TILE}&TILEMATRIX=3&TILEROW=4&TILECOL=0", "TileOutOfRange", 400),
        (f"/ter_c/wmts?{TILE}&TILEMATRIX=3&TILEROW=0&TILECOL=16", "TileOutOfRange", 400),
        (f"/ter_c/wmts?{TILE}&TILEMATRIX=19&TILEROW=0&TILECOL=0", "InvalidParameterValue", 400),
        (f"/ter_c/wmts?{TILE}&TILEMATRIX=0&TILEROW=0&TILECOL=0", "InvalidParameterValue", 400),
        (f"/ter_c/wmts?{TILE}&TILEMATRIX=3&TILEROW=x&TILECOL=0", "InvalidParameterValue", 400),
        (f"/ter_c/wmts?{TILE}&TILEMATRIX=3&TILEROW=-1&TILECOL=0", "TileOutOfRange", 400),
        (f"/ter_c/wmts?{TILE}&TILEMATRIX=3&TILEROW=1e3&TILECOL=0", "InvalidParameterValue", 400),
        (f"/ter_c/wmts?{TILE}&TILEMATRIX=-3&TILEROW=0&TILECOL=0", "InvalidParameterValue", 400),
        (f"/ter_c/wmts?{TILE}&TILEMATRIX=3.5&TILEROW=0&TILECOL=0", "InvalidParameterValue", 400),
        (
            f"/ter_c/wmts?{TILE}&TILEMATRIX=3&TILEROW=0&TILECOL=99999999999999999999",
            "TileOutOfRange",
            400,
        ),
        (f"/ter_c/wmts?{TILE}&TILEMATRIX=3&TILECOL=0", "MissingParameterValue", 400),
        (f"/ter_c/wmts?{TILE}&TILEROW=0&TILECOL=0", "MissingParameterValue", 400),
        ("/ter_c/wmts?SERVICE=WMTS&TILEMATRIX=3&TILEROW=0&TILECOL=0", "MissingParameterValue", 400),
        (f"/wmts?{TILE}&TILEMATRIX=3&TILEROW=0&TILECOL=0", "MissingParameterValue", 400),
        (
            "/ter_c/wmts?REQUEST=GetTile&TILEMATRIX=3&TILEROW=0&TILECOL=0",
            "MissingParameterValue",
            400,
        ),
        (
            f"/ter_c/wmts?{TILE.replace('tiles', 'image/gif')}&TILEMATRIX=3&TILEROW=0&TILECOL=0",
            "InvalidParameterValue",
            400,
        ),
        (
            f"/ter_c/wmts?{TILE}&LAYER=vec&TILEMATRIX=3&TILEROW=0&TILECOL=0",
            "InvalidParameterValue",
            400,
        ),
        (
            f"/ter_c/wmts?{TILE.replace('default', 'fancy')}&TILEMATRIX=3&TILEROW=0&TILECOL=0",
            "InvalidParameterValue",
            400,
        ),
        (
            f"/ter_c/wmts?{TILE.replace('1.0.0', '2.0')}&TILEMATRIX=3&TILEROW=0&TILECOL=0",
            "InvalidParameterValue",
            400,
        ),
        ("/ter_c/wmts?SERVICE=WMTS&REQUEST=GetFeatureInfo", "OperationNotSupported", 501),
        ("/DataServer?T=ter&x=0&y=0&l=3", "InvalidParameterValue", 400),
        ("/DataServer?T=foo_c&x=0&y=0&l=3", "InvalidParameterValue", 400),
        ("/DataServer?T=ter_c&x=0&l=3", "MissingParameterValue", 400),
        ("/DataServer?T=ter_c&x=0&y=9&l=3", "TileOutOfRange", 400),
        ("/DataServer?T=ter_c&x=a&y=0&l=3", "InvalidParameterValue", 400),
        ("/DataServer?T=ter_c&x=-1&y=0&l=3", "TileOutOfRange", 400),
        ("/DataServer?T=ter_c&x=0&y=0&l=" + "9" * 40, "InvalidParameterValue", 400),
        ("/wmts/1.0.0/ter/default/c/3/0/16.png", "TileOutOfRange", 400),
        ("/wmts/1.0.0/ter/default/c/3/0/0.gif", "InvalidParameterValue", 400),
        ("/wmts/1.0.0/ter/default/c/3/0/0", "InvalidParameterValue", 400),
        ("/wmts/1.0.0/ter/other/c/3/0/0.png", "InvalidParameterValue", 400),
        ("/wmts/1.0.0/nope/default/c/3/0/0.png", "InvalidParameterValue", 400),
        ("/wmts/1.0.0/ter/default/x/3/0/0.png", "InvalidParameterValue", 400),
        ("/wmts/1.0.0/ter/default/c/z/0/0.png", "InvalidParameterValue", 400),
        (f"{KVP}lyg_not-a-key", "NotAuthorised", 401),
        (f"{KVP}a-tianditu-key", "NotAuthorised", 401),
    ],
)
def test_malformed_requests_get_the_right_exception_report(
    wmts: httpx.Client, url: str, code: str, status: int
) -> None:
    answer = wmts.get(url)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/xml")
    assert exception_code(answer) == code


def test_tile_indices_are_decimal_numbers_only(wmts: httpx.Client) -> None:
    for value in ("１", "+3", " 3e0", "0x3"):
        answer = wmts.get("/DataServer", params={"T": "ter_c", "x": "0", "y": "0", "l": value})
        assert answer.status_code == 400, value
        assert exception_code(answer) == "InvalidParameterValue"


GDAL_MISSING = shutil.which("gdal_translate") is None
"""GDAL's WMTS driver caches tiles in ``./gdalwmscache``: the commands run in a temporary folder."""


@pytest.mark.skipif(GDAL_MISSING, reason="gdal-bin is not installed (make os-deps)")
def test_gdal_wmts_driver_lists_every_layer_and_set(wmts_base: str, tmp_path: Path) -> None:
    done = subprocess.run(
        ["gdalinfo", f"WMTS:{wmts_base}/wmts/1.0.0/WMTSCapabilities.xml"],
        capture_output=True, text=True, timeout=120, check=True, cwd=tmp_path,
    )  # fmt: skip
    named = {line.split("layer=")[1] for line in done.stdout.splitlines() if "_NAME=" in line}
    assert named == {
        f"{la},tilematrixset={s}" for la in ("vec", "cva", "img", "cia", "ter") for s in "cw"
    }


@pytest.mark.skipif(GDAL_MISSING, reason="gdal-bin is not installed (make os-deps)")
def test_gdal_translate_of_ter_on_c_gives_shaded_pixels_where_asked(
    wmts_base: str, tmp_path: Path
) -> None:
    source = f"WMTS:{wmts_base}/wmts/1.0.0/WMTSCapabilities.xml,layer=ter,tilematrixset=c"
    out = tmp_path / "ter.tif"
    subprocess.run(
        ["gdal_translate", "-q", "-projwin", "119.0", "34.8", "119.4", "34.5",
         "-outsize", "256", "0", source, str(out)],
        capture_output=True, text=True, timeout=120, check=True, cwd=tmp_path,
    )  # fmt: skip
    with rasterio.open(out) as result:
        assert result.crs.to_epsg() == 4490
        left, bottom, right, top = result.bounds
        assert (left, top, right, bottom) == pytest.approx((119.0, 34.8, 119.4, 34.5), abs=1e-4)
        grey, alpha = result.read(1), result.read(4)
    assert (alpha == 255).all()
    assert grey.std() > 0


def test_a_valid_api_key_as_tk_is_accepted(wmts: httpx.Client, onemap: Callable[..., Any]) -> None:
    done = onemap("keys", "create", "--role", "planner", "--name", "wmts-tk", "--json")
    assert done.returncode == 0, done.stderr
    key = json.loads(done.stdout)["key"]
    answer = wmts.get(f"{KVP}{key}")
    assert answer.status_code == 200, answer.text
    assert answer.content == wmts.get(KVP).content


def _shifted_correlation(a: np.ndarray, b: np.ndarray, dx: int, dy: int) -> float:
    """Correlation of ``a`` with ``b`` moved by (dx, dy) pixels, over their common part."""
    m = 4
    h, w = a.shape
    part_a = a[m : h - m, m : w - m]
    part_b = b[m + dy : h - m + dy, m + dx : w - m + dx]
    return float(np.corrcoef(part_a.ravel(), part_b.ravel())[0, 1])


@pytest.mark.skipif(GDAL_MISSING, reason="gdal-bin is not installed (make os-deps)")
def test_gdal_translate_of_img_matches_the_cog_warped_by_gdal(
    wmts_base: str, tmp_path: Path
) -> None:
    """A window of ``img`` read through GDAL's WMTS driver is the imagery COG warped by
    gdalwarp to the same window: same georeferencing, and the pixels agree best with no
    shift at all (0.995 here; a pixel's shift either way drops it to about 0.974)."""
    window = ("119.20", "34.68", "119.30", "34.60")  # ulx uly lrx lry, inside the imagery
    source = f"WMTS:{wmts_base}/wmts/1.0.0/WMTSCapabilities.xml,layer=img,tilematrixset=c"
    ours, reference = tmp_path / "img.tif", tmp_path / "ref.tif"
    subprocess.run(
        ["gdal_translate", "-q", "-projwin", *window, "-outsize", "400", "0", source, str(ours)],
        capture_output=True, text=True, timeout=120, check=True, cwd=tmp_path,
    )  # fmt: skip
    with rasterio.open(ours) as result:
        assert result.crs.to_epsg() == 4490
        left, bottom, right, top = result.bounds
        assert (left, top, right, bottom) == pytest.approx(tuple(map(float, window)), abs=1e-4)
        width, height = result.width, result.height
        got = result.read([1, 2, 3]).astype(float).mean(axis=0)
    subprocess.run(
        ["gdalwarp", "-q", "-t_srs", "EPSG:4490", "-te", window[0], window[3], window[2],
         window[1], "-ts", str(width), str(height), "-r", "bilinear",
         str(Path("data/samples/small/rasters/imagery.tif").absolute()), str(reference)],
        capture_output=True, text=True, timeout=120, check=True, cwd=tmp_path,
    )  # fmt: skip
    with rasterio.open(reference) as warped:
        want = warped.read([1, 2, 3]).astype(float).mean(axis=0)
    assert abs(got.mean() - want.mean()) < 6
    peak = _shifted_correlation(got, want, 0, 0)
    assert peak > 0.98
    for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        assert _shifted_correlation(got, want, dx, dy) < peak - 0.01, (dx, dy)
