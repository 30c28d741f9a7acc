"""Pure helpers of ``bench tiles``: which tiles, their URLs on each server, the peer's view of
a collection, an MVT feature count, and the ratios against the targets of issue 17.

No database and no network here (tests/bench/test_tiles_plan.py).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote as url_quote

SET = "WebMercatorQuad"
UNCACHED_VS_TIPG = 1.5
"""Target: our uncached tiles/s at least 1.5x tipg's."""
HTTP_VS_BARE = 1.25
"""Target: our HTTP time per tile at most 1.25x the bare statement's (pgbench)."""
CACHED_VS_UNCACHED = 5.0
"""Target: cached tiles/s at least 5x uncached."""


@dataclass(frozen=True, order=True)
class XYZ:
    """A WebMercatorQuad tile: ``x`` is the column (OGC ``tileCol``), ``y`` the row from the
    top (``tileRow``)."""

    z: int
    x: int
    y: int


def mercator_tile(lon: float, lat: float, z: int) -> XYZ:
    """The WebMercatorQuad tile holding a lon/lat point (the usual slippy-map formula)."""
    import math

    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    lat_r = math.radians(lat)
    y = int((1.0 - math.asinh(math.tan(lat_r)) / math.pi) / 2.0 * n)
    return XYZ(z, min(max(x, 0), n - 1), min(max(y, 0), n - 1))


def pick_tiles(points: Iterable[tuple[float, float]], z: int, n: int, seed: int) -> list[XYZ]:
    """Up to ``n`` distinct tiles of level ``z`` holding some of ``points``, chosen at random
    (reproducibly, ``seed``) among all such tiles, sorted."""
    found = sorted({mercator_tile(lon, lat, z) for lon, lat in points})
    if len(found) > n:
        found = sorted(random.Random(seed).sample(found, n))
    return found


def ours_path(collection: str, tile: XYZ) -> str:
    """Our tile, relative to ``/ogc/``: ``{tileMatrix}/{tileRow}/{tileCol}`` (row = y)."""
    return f"collections/{collection}/tiles/{SET}/{tile.z}/{tile.y}/{tile.x}"


def tipg_path(collection: str, tile: XYZ, properties: Sequence[str]) -> str:
    """tipg's tile, relative to its root: ``{z}/{x}/{y}`` (x = column first), with the same
    properties as ours."""
    query = f"?properties={url_quote(','.join(properties))}" if properties else ""
    return f"collections/{collection}/tiles/{SET}/{tile.z}/{tile.x}/{tile.y}{query}"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: object) -> str:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"no literal for {value!r}")
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def view_sql(
    schema: str,
    name: str,
    table: str,
    columns: Sequence[tuple[str, str]],
    geometry: str,
    fixed: Sequence[tuple[str, Any]] = (),
) -> str:
    """``CREATE VIEW`` of ``table`` (``schema.table``, already qualified) showing
    ``columns`` (column, name) and the geometry as ``geom``, restricted to the rows a
    collection's ``fixed`` conditions keep: what the peer serves as the collection. ``table``
    is SQL already (``CollectionSpec.qualified_table``: quoted and qualified)."""
    shown = [f"{_ident(c)} AS {_ident(n)}" for c, n in columns]
    shown.append(f"{_ident(geometry)} AS geom")
    where = " AND ".join(f"{_ident(c)} = {_literal(v)}" for c, v in fixed)
    source = table
    head = f"CREATE OR REPLACE VIEW {_ident(schema)}.{_ident(name)} AS SELECT "
    # identifiers quoted, values as literals
    return head + ", ".join(shown) + " FROM " + source + (" WHERE " + where if where else "")


# --- MVT: count the features of each layer -------------------------------------------------


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(data):
            raise ValueError("truncated varint")
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i
        shift += 7


def _fields(data: bytes) -> Iterable[tuple[int, int, bytes | int]]:
    """(field number, wire type, value) of a protobuf message, length-delimited values as
    bytes, varints as int; 32/64-bit values skipped."""
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
            yield number, wire, value
        elif wire == 2:
            size, i = _varint(data, i)
            if i + size > len(data):
                raise ValueError("truncated field")
            yield number, wire, data[i : i + size]
            i += size
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            raise ValueError(f"wire type {wire}")


def mvt_features(data: bytes) -> dict[str, int]:
    """Features per layer name of a Mapbox vector tile (Tile.layers = 3, Layer.name = 1,
    Layer.features = 2); several layers of one name add up."""
    found: dict[str, int] = {}
    for number, wire, value in _fields(data):
        if number != 3 or wire != 2 or not isinstance(value, bytes):
            continue
        name, count = "", 0
        for n, w, v in _fields(value):
            if n == 1 and w == 2 and isinstance(v, bytes):
                name = v.decode("utf-8")
            elif n == 2 and w == 2:
                count += 1
        found[name] = found.get(name, 0) + count
    return found


# --- ratios -----------------------------------------------------------------------------


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 2)


def verdict(value: float | None, target: float, at_least: bool) -> str:
    """``met``/``missed`` with the figure and the target, or ``not measured``."""
    if value is None:
        return "not measured"
    ok = value >= target if at_least else value <= target
    sign = "≥" if at_least else "≤"
    return f"{'met' if ok else 'missed'} ({value:.2f}× vs {sign} {target}×)"
