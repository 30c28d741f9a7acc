"""What a WMTS request asks for, read from KVP, Tianditu's DataServer or the RESTful path.

Every reader returns a checked :class:`TileJob` or raises :class:`WmtsError` with the code
OGC WMTS 1.0.0 gives the fault (missing, invalid, out of range), never anything else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, cast

from gis.errors import TileRangeError
from gis.tms import Tile, check_tile, levels
from services.basemaps.exceptions import WmtsError
from services.basemaps.jobs import LAYERS, SETS, TileJob, TileSet

FORMATS: Final = {"tiles", "image/png", "image/jpeg", "image/jpg", "png", "jpeg", "jpg"}
"""FORMAT values accepted: Tianditu's ``tiles`` and the real media types (each layer answers
in its own format: JPEG for ``img``, PNG otherwise)."""


def lower_keys(params: Mapping[str, str]) -> dict[str, str]:
    """The query's parameters by lower-cased name (OGC KVP names are case-insensitive);
    the first value wins when a name comes twice."""
    found: dict[str, str] = {}
    for key, value in params.items():
        found.setdefault(key.lower(), value)
    return found


def required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name.lower(), "").strip()
    if not value:
        raise WmtsError("MissingParameterValue", f"{name} is required", name)
    return value


def layer_and_set(layer: str, tileset: str, locator: str = "LAYER") -> tuple[str, TileSet]:
    if layer not in LAYERS:
        known = ", ".join(LAYERS)
        raise WmtsError(
            "InvalidParameterValue", f"unknown layer {layer!r}; known: {known}", locator
        )
    if tileset not in SETS:
        raise WmtsError(
            "InvalidParameterValue",
            f"unknown tile matrix set {tileset!r}; known: c, w",
            "TILEMATRIXSET" if locator == "LAYER" else locator,
        )
    return layer, cast(TileSet, tileset)


def split_name(name: str, locator: str) -> tuple[str, TileSet]:
    """``vec_c`` → (``vec``, ``c``)."""
    layer, sep, tileset = name.partition("_")
    if not sep:
        raise WmtsError("InvalidParameterValue", f"{name!r} is not layer_set (vec_c)", locator)
    return layer_and_set(layer, tileset, locator)


def _integer(value: str, name: str) -> int:
    """A whole number in decimal digits, maybe negative: -1 or 10**20 is an index out of range
    (``TileOutOfRange`` for a row or column), ``1e3`` or ``x`` is not an index at all."""
    text = value.strip()
    digits = text.removeprefix("-")
    if not digits.isascii() or not digits.isdigit() or len(digits) > 30:
        raise WmtsError(
            "InvalidParameterValue", f"{name} must be a whole number, not {value!r}", name
        )
    return int(text)


def tile_job(
    layer: str, tileset: TileSet, matrix: str, row: str, col: str, names: tuple[str, str, str]
) -> TileJob:
    """The job for textual indices; ``names`` are the parameters' names for the locator."""
    level = _integer(matrix, names[0])
    if level not in levels(tileset):
        raise WmtsError(
            "InvalidParameterValue",
            f"{names[0]} {level} is not a level of {tileset!r} (1-18)",
            names[0],
        )
    r, c = _integer(row, names[1]), _integer(col, names[2])
    try:
        check_tile(tileset, Tile(c, r, level))
    except TileRangeError as exc:
        locator = names[2] if str(exc).startswith("column") else names[1]
        raise WmtsError("TileOutOfRange", str(exc), locator) from None
    return TileJob(layer, tileset, level, r, c)


def kvp_tile(params: Mapping[str, str], path_layer: str | None, path_set: str | None) -> TileJob:
    """A KVP GetTile (``params`` with lower-cased names; the path may fix layer and set)."""
    for name in ("SERVICE", "VERSION"):
        value = params.get(name.lower())
        expected = "WMTS" if name == "SERVICE" else "1.0.0"
        if value is not None and value.strip().upper() != expected:
            raise WmtsError("InvalidParameterValue", f"{name} must be {expected}", name)
    layer = params.get("layer", "").strip() or path_layer or required(params, "LAYER")
    tileset = (
        params.get("tilematrixset", "").strip() or path_set or required(params, "TILEMATRIXSET")
    )
    if path_layer is not None and layer != path_layer:
        raise WmtsError("InvalidParameterValue", f"this endpoint serves {path_layer}", "LAYER")
    if path_set is not None and tileset != path_set:
        raise WmtsError(
            "InvalidParameterValue", f"this endpoint serves set {path_set}", "TILEMATRIXSET"
        )
    checked_layer, checked_set = layer_and_set(layer, tileset)
    style = params.get("style", "").strip()
    if style not in ("", "default"):
        raise WmtsError(
            "InvalidParameterValue", f"unknown style {style!r}; known: default", "STYLE"
        )
    fmt = required(params, "FORMAT")
    if fmt.lower() not in FORMATS:
        raise WmtsError(
            "InvalidParameterValue",
            f"FORMAT {fmt!r} is not tiles, image/png or image/jpeg",
            "FORMAT",
        )
    return tile_job(
        checked_layer,
        checked_set,
        required(params, "TILEMATRIX"),
        required(params, "TILEROW"),
        required(params, "TILECOL"),
        ("TILEMATRIX", "TILEROW", "TILECOL"),
    )


def dataserver_tile(params: Mapping[str, str]) -> TileJob:
    """Tianditu's ``/DataServer?T=vec_c&x=col&y=row&l=level``."""
    layer, tileset = split_name(required(params, "T"), "T")
    x, y, level = (required(params, n) for n in ("x", "y", "l"))
    return tile_job(layer, tileset, level, y, x, ("l", "y", "x"))


def rest_tile(layer: str, style: str, tileset: str, matrix: str, row: str, last: str) -> TileJob:
    """``/wmts/1.0.0/{layer}/{style}/{set}/{matrix}/{row}/{col}.{ext}``."""
    checked_layer, checked_set = layer_and_set(layer, tileset)
    if style != "default":
        raise WmtsError(
            "InvalidParameterValue", f"unknown style {style!r}; known: default", "Style"
        )
    col, dot, ext = last.rpartition(".")
    if not dot or ext.lower() not in ("png", "jpg", "jpeg"):
        raise WmtsError("InvalidParameterValue", "the tile must end in .png or .jpg", "Format")
    return tile_job(
        checked_layer, checked_set, matrix, row, col, ("TileMatrix", "TileRow", "TileCol")
    )
