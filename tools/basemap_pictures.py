"""Pictures of the five base-map layers for the README, fetched from a running server.

For each layer (``vec``, ``cva``, ``img``, ``cia``, ``ter``) the script asks the server for a
window of 768 × 512 pixels (3 × 2 tiles) at one level, centred on a point in the sample city
with Haizhou in view, cut from the tiles on Tianditu's RESTful URLs (set ``c`` by default),
lays it on a background so that what the layer draws can be seen (labels over a light
ground, ``cia`` over the imagery), and writes ``docs/images/basemap-{layer}.png`` as an
8-bit palette PNG (Mapnik's quantiser), so each file stays under 150 kB::

    .venv/bin/python -m tools.basemap_pictures http://127.0.0.1:8000

Run it from the repository root against ``make demo``'s server; ``--help`` for the options.
It only reads tiles over HTTP: any server with the WMTS routes will do.
"""

from __future__ import annotations

import argparse
import sys
import urllib.request
import warnings
from pathlib import Path

import numpy as np
from rasterio.enums import ColorInterp
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile

LAYERS = ("vec", "cva", "img", "cia", "ter")
CENTRE = (119.24, 34.655)
"""(lon, lat) of the pictures' middle: Haizhou (119.1788, 34.6015) and the Yuntai hills in
view, inside the sample imagery (119.10-119.46 E, 34.54-34.78 N)."""
TILE = 256
LIGHT = (244, 243, 240)
"""The ground under ``vec``, ``cva`` and ``ter``: where a layer draws nothing."""
UNDER = {"cia": "img"}
"""Layers shown over another layer rather than over the light ground."""
PHOTO_COLOURS = 96
"""Palette size of the pictures with imagery in them (keeps them under ~150 kB)."""


def tile_index(tileset: str, lon: float, lat: float, level: int) -> tuple[float, float]:
    """The point's (col, row) as fractions in the level's matrix, Tianditu's formulas:
    set ``c`` is 2ⁿ × 2ⁿ⁻¹ tiles of 360/2ⁿ degrees from (-180, 90); ``w`` is Web Mercator."""
    if tileset == "c":
        size = 360 / 2**level
        return (lon + 180) / size, (90 - lat) / size
    n = 2**level
    lat_rad = np.radians(lat)
    row = (1 - np.log(np.tan(lat_rad) + 1 / np.cos(lat_rad)) / np.pi) / 2 * n
    return (lon + 180) / 360 * n, float(row)


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=120) as answer:
        kind = answer.headers.get("Content-Type", "")
        if answer.status != 200 or not kind.startswith("image/"):
            raise SystemExit(f"{url}: {answer.status} {kind}")
        return bytes(answer.read())


def decode_rgba(body: bytes) -> np.ndarray:
    """A tile (PNG grey+alpha, RGBA, RGB; JPEG) as float RGBA in 0-1, shape (rows, cols, 4)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile(body) as memory, memory.open() as dataset:
            bands = dataset.read()
            if dataset.colorinterp[0] == ColorInterp.palette:  # Mapnik's PNG8 tiles
                lut = np.zeros((256, 4), np.uint8)
                for index, rgba in dataset.colormap(1).items():
                    lut[index] = rgba
                bands = np.moveaxis(lut[bands[0]], -1, 0)
    bands = bands.astype(np.float64) / 255
    if len(bands) in (1, 3):  # no alpha: opaque
        bands = np.concatenate([bands, np.ones_like(bands[:1])])
    if len(bands) == 2:  # grey + alpha
        bands = np.stack([bands[0], bands[0], bands[0], bands[1]])
    return np.moveaxis(bands, 0, -1)


def mosaic(
    server: str,
    layer: str,
    tileset: str,
    level: int,
    centre: tuple[float, float],
    size: tuple[int, int],
) -> np.ndarray:
    """A ``size`` (width, height) pixel window of the layer centred on the point, cut from the
    tiles that cover it, as float RGBA."""
    width, height = size
    x, y = tile_index(tileset, *centre, level)
    left, top = round(x * TILE - width / 2), round(y * TILE - height / 2)
    cols = range(left // TILE, -(-(left + width) // TILE))
    rows = range(top // TILE, -(-(top + height) // TILE))
    image = np.zeros((len(rows) * TILE, len(cols) * TILE, 4))
    for j, row in enumerate(rows):
        for i, col in enumerate(cols):
            url = (
                f"{server.rstrip('/')}/wmts/1.0.0/{layer}/default/{tileset}/{level}"
                f"/{row}/{col}.{'jpg' if layer == 'img' else 'png'}"
            )
            image[j * TILE : (j + 1) * TILE, i * TILE : (i + 1) * TILE] = decode_rgba(fetch(url))
    dx, dy = left - cols[0] * TILE, top - rows[0] * TILE
    return image[dy : dy + height, dx : dx + width]


def over(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """``top`` composited over an opaque ``bottom`` (straight alpha): opaque RGB."""
    alpha: np.ndarray = top[..., 3:]
    blended: np.ndarray = top[..., :3] * alpha + bottom[..., :3] * (1 - alpha)
    return blended


def save_png8(rgb: np.ndarray, path: Path, colours: int = 256) -> None:
    """Opaque RGB (0-1) as an 8-bit palette PNG of at most ``colours``, quantised by Mapnik."""
    from services.basemaps.vector.lib import mapnik

    pixels = np.round(rgb * 255).astype(np.uint8)
    rows, cols, _ = pixels.shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile() as memory:
            with memory.open(driver="PNG", width=cols, height=rows, count=3, dtype="uint8") as out:
                out.write(np.moveaxis(pixels, -1, 0))
            png = bytes(memory.read())
    mapnik().Image.from_string(png).save(str(path), f"png8:m=h:c={colours}:z=9")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("server", help="the server's root URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--set", dest="tileset", choices=("c", "w"), default="c")
    parser.add_argument("--level", type=int, default=12, help="Tianditu level (default 12)")
    parser.add_argument("--width", type=int, default=3 * TILE, help="pixels (default 768)")
    parser.add_argument("--height", type=int, default=2 * TILE, help="pixels (default 512)")
    parser.add_argument("--lon", type=float, default=CENTRE[0])
    parser.add_argument("--lat", type=float, default=CENTRE[1])
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument("--layers", nargs="+", choices=LAYERS, default=list(LAYERS))
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    centre, size = (args.lon, args.lat), (args.width, args.height)
    fetched: dict[str, np.ndarray] = {}

    def layer_image(layer: str) -> np.ndarray:
        if layer not in fetched:
            fetched[layer] = mosaic(args.server, layer, args.tileset, args.level, centre, size)
        return fetched[layer]

    for layer in args.layers:
        image = layer_image(layer)
        ground = np.empty_like(image)
        ground[...] = (*(v / 255 for v in LIGHT), 1.0)
        if layer in UNDER:
            ground = layer_image(UNDER[layer])
        path = args.out / f"basemap-{layer}.png"
        colours = PHOTO_COLOURS if "img" in (layer, UNDER.get(layer)) else 256
        picture = over(image, ground)
        save_png8(picture, path, colours)
        blank = " (blank: nothing drawn there)" if (picture == picture[0, 0]).all() else ""
        print(f"{path}: {path.stat().st_size / 1024:.0f} kB{blank}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
