"""Rendering current land use (现状) as a plausible satellite-like RGB picture.

Each 2023 class gets a base colour and a texture in ground metres, turned to its parcel's
direction: farmland as a patchwork of strip fields from green to yellow, built-up land as
blocks and streets (roofs where pixels are small enough), ponds with dykes, salt pans as
a grid of evaporation pans, the sea darkening with depth; all land is hill-shaded from the
synthetic terrain. Patterns are never finer than three pixels, so nothing aliases.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

from samples.plans.terrain import value_noise

Floats = NDArray[np.float64]
Ints = NDArray[np.intp]

(
    OTHER,
    PADDY,
    IRRIGATED,
    DRY,
    ORCHARD,
    FOREST,
    TIDAL,
    GREENHOUSE,
    HOUSING,
    VILLAGE,
    PUBLIC,
    COMMERCE,
    INDUSTRY,
    QUARRY,
    SALT,
    STORAGE,
    ROAD,
    PORT,
    UTILITY,
    GREEN,
    WATER,
    POND,
    BARE,
    SEA,
) = range(24)

_STYLE_OF: Final = {
    "0101": PADDY,
    "0102": IRRIGATED,
    "0103": DRY,
    "0201": ORCHARD,
    "0202": ORCHARD,
    "0301": FOREST,
    "0303": FOREST,
    "0304": FOREST,
    "0505": TIDAL,
    "0602": GREENHOUSE,
    "0701": HOUSING,
    "0703": VILLAGE,
    "1001": INDUSTRY,
    "1002": QUARRY,
    "1003": SALT,
    "1101": STORAGE,
    "1202": ROAD,
    "1207": ROAD,
    "1204": PORT,
    "1208": ROAD,
    "1401": GREEN,
    "1402": GREEN,
    "1701": WATER,
    "1702": WATER,
    "1703": WATER,
    "1704": POND,
    "2301": BARE,
}

_BASE: Final = np.array(
    [
        (150, 155, 95),
        (86, 132, 76),
        (112, 144, 72),
        (160, 158, 92),
        (84, 122, 62),
        (44, 82, 44),
        (146, 136, 112),
        (208, 212, 214),
        (158, 154, 148),
        (146, 136, 118),
        (170, 164, 158),
        (178, 176, 182),
        (184, 186, 190),
        (192, 182, 162),
        (196, 208, 212),
        (180, 178, 170),
        (96, 96, 96),
        (168, 166, 158),
        (160, 160, 150),
        (78, 126, 68),
        (46, 86, 116),
        (70, 114, 122),
        (176, 162, 126),
        (26, 66, 96),
    ],
    dtype=np.float64,
)
_YELLOW: Final = np.array([196.0, 180.0, 108.0])
_GREEN: Final = np.array([70.0, 116.0, 62.0])

_FIELDS: Final = (OTHER, PADDY, IRRIGATED, DRY)
_BLOCKS: Final = (HOUSING, VILLAGE, PUBLIC, COMMERCE, INDUSTRY, STORAGE, UTILITY, PORT)


def style_of(code: str) -> int:
    """The rendering style of a 2023 code (by its first two digits where not listed)."""
    if code in _STYLE_OF:
        return _STYLE_OF[code]
    return {"08": PUBLIC, "09": COMMERCE, "12": ROAD, "13": UTILITY, "14": GREEN, "17": WATER}.get(
        code[:2], OTHER
    )


def _cell(u: Floats, v: Floats, du: float | Floats, dv: float | Floats, seed: int) -> Floats:
    """A random value in [0, 1) per ``du`` × ``dv`` cell of the (u, v) grid."""
    return value_noise(np.floor(u / du) + 0.5, np.floor(v / dv) + 0.5, 1.0, seed)


def _lines(
    u: Floats, v: Floats, du: float | Floats, dv: float | Floats, width: float
) -> NDArray[np.bool_]:
    return (np.mod(u, du) < width) | (np.mod(v, dv) < width)


def render(
    style: Ints,
    theta: Floats,
    tone: Floats,
    origin: tuple[Floats, Floats],
    x: Floats,
    y: Floats,
    shade: Floats,
    depth: Floats,
    res: float,
    seed: int,
) -> NDArray[np.uint8]:
    """RGB (3, rows, cols) for pixels of ``style`` (one per pixel), each with its parcel's
    direction ``theta``, tone in [0, 1] and ``origin`` (a point of the parcel, so pattern
    coordinates stay small), ground coordinates ``x``/``y`` (m), hill shade in [0, 1], sea
    depth (m, negative) and pixel size ``res`` (m)."""
    shape = style.shape
    s, t, k = style.ravel(), theta.ravel(), tone.ravel()
    rgb = _BASE[s].copy()
    line = max(res, 3.0)
    for group in np.unique(s).tolist():
        i = np.flatnonzero(s == group)
        xi, yi = x.ravel()[i], y.ravel()[i]
        dx, dy = xi - origin[0].ravel()[i], yi - origin[1].ravel()[i]
        u = dx * np.cos(t[i]) + dy * np.sin(t[i])
        v = -dx * np.sin(t[i]) + dy * np.cos(t[i])
        rgb[i] = _texture(group, rgb[i], u, v, k[i], xi, yi, res, line, depth.ravel()[i], seed)
    land = (s != SEA) & (s != WATER)
    rgb[land] *= (0.62 + 0.54 * shade.ravel()[land])[:, None]
    return np.clip(rgb, 0, 255).astype(np.uint8).T.reshape(3, *shape)


def _texture(
    group: int,
    rgb: Floats,
    u: Floats,
    v: Floats,
    tone: Floats,
    x: Floats,
    y: Floats,
    res: float,
    line: float,
    depth: Floats,
    seed: int,
) -> Floats:
    """The texture of one style on its pixels."""
    if group in _FIELDS:
        width = np.maximum(40.0 + 90.0 * tone, 6 * res)
        field = _cell(u, v, width, 4 * width, seed)
        ripe = 0.1 + 0.7 * field if group == DRY else 0.25 * field
        rgb = rgb * (1 - ripe[:, None]) + _YELLOW * ripe[:, None]
        rgb *= (0.84 + 0.3 * _cell(u, v, width, 4 * width, seed + 9))[:, None]
        rgb[_lines(u, v, width, 4 * width, line)] *= 0.93
    elif group in _BLOCKS:
        big = group in (INDUSTRY, STORAGE, PORT)
        block = (220.0 if big else 160.0) if group != VILLAGE else 70.0
        cell = _cell(u, v, block, block * 0.75, seed + group)
        rgb = rgb * (0.85 + 0.3 * cell[:, None])
        if group == INDUSTRY:
            rgb[cell > 0.72] = (98.0, 136.0, 174.0)
        if group == PORT:
            palette = np.array([[178.0, 72, 60], [62, 110, 168], [206, 168, 72], [150, 150, 146]])
            rgb = palette[np.minimum((_cell(u, v, 4 * line, 2 * line, seed) * 4).astype(int), 3)]
        if group in (HOUSING, VILLAGE) and res <= 5:
            yard = (np.mod(u, block / 4) > block / 8) | (np.mod(v, block / 5) > block / 9)
            rgb[yard] = rgb[yard] * 0.6 + _GREEN * 0.4
        elif group == VILLAGE:
            trees = _cell(u, v, 2 * line, 2 * line, seed + 1) > 0.55
            rgb[trees] = rgb[trees] * 0.4 + _GREEN * 0.6
        rgb[_lines(u, v, block, block * 0.75, max(line, 12.0 if not big else 15.0))] = 112.0
    elif group in (FOREST, GREEN, ORCHARD):
        rgb = rgb * (0.85 + 0.3 * value_noise(x, y, max(60.0, 3 * res), seed + 2))[:, None]
        if group == ORCHARD:
            rgb[np.mod(u, max(12.0, 3 * res)) < line] *= 0.82
    elif group == POND:
        rgb = rgb * (0.9 + 0.2 * _cell(u, v, 110.0, 80.0, seed + 4))[:, None]
        rgb[_lines(u, v, 110.0, 80.0, line)] = (138.0, 138.0, 112.0)
    elif group == SALT:
        rgb = rgb * (0.82 + 0.3 * _cell(u, v, 140.0, 90.0, seed + 3))[:, None]
        rgb[_lines(u, v, 140.0, 90.0, line)] = (122.0, 120.0, 100.0)
    elif group == GREENHOUSE:
        rgb[np.mod(u, max(15.0, 4 * res)) < max(5.0, 2 * res)] = (150.0, 160.0, 140.0)
    elif group in (TIDAL, BARE, QUARRY):
        rgb = rgb * (0.88 + 0.24 * value_noise(x, y, 400.0, seed + 6))[:, None]
    elif group == WATER:
        rgb = rgb * (0.95 + 0.1 * value_noise(x, y, 500.0, seed + 7))[:, None]
    elif group == SEA:
        rgb = rgb * (1.15 - 0.02 * np.clip(-depth, 0, 25))[:, None]
    return rgb
