"""``GET /map/api/coordinates``: one coordinate pair converted by the platform's
:mod:`gis.crs`, for the page's search (a GCJ-02 point from a phone map, a Gauss-Krüger
pair from a survey) and any other client.

Parameters: ``crs`` (any spelling :func:`gis.crs.resolve` takes: ``EPSG:4528``, an OGC URI,
``GCJ02``, ``BD09``, a configured local system), ``x`` and ``y`` (x = longitude or easting,
as everywhere in the platform), ``to`` (default CGCS2000 longitude/latitude). The answer is
the JSON of ``onemap crs convert --json``: ``{"from", "to", "x", "y"}``. Bad input is a 400
with the OGC exception body, never a 500: a missing or unknown parameter, a number that is
not finite, an unknown CRS, a point outside the CRS's area of use.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

from gis.crs import GK_ZONE40_SRID, STORAGE_SRID, CrsRef, resolve, transform_xy
from gis.errors import GisError, UnknownCrsError

PARAMETERS: Final = frozenset({"crs", "x", "y", "to"})
DEFAULT_TARGET: Final = f"EPSG:{STORAGE_SRID}"


class CoordinateRequestError(ValueError):
    """A request the client can fix; the message says what is wrong."""


def _number(name: str, text: str | None) -> float:
    if text is None or not text.strip():
        raise CoordinateRequestError(f"{name} is missing: give x and y as decimal numbers")
    try:
        value = float(text)
    except ValueError:
        raise CoordinateRequestError(f"{name}={text[:40]!r} is not a number") from None
    if not math.isfinite(value):
        raise CoordinateRequestError(f"{name}={text[:40]!r} is not a finite number")
    return value


def _crs(spelled: str) -> CrsRef:
    try:
        return resolve(spelled)
    except UnknownCrsError:  # its message names the server's configuration file
        raise CoordinateRequestError(
            f"unknown CRS {spelled[:100]!r}: give an EPSG code (EPSG:{GK_ZONE40_SRID}), an OGC "
            "URI, GCJ02, BD09 or the name of a configured local system"
        ) from None


def convert(query: Sequence[tuple[str, str]]) -> dict[str, object]:
    """The converted point of a query string's pairs; :class:`CoordinateRequestError` for a
    request the client can fix (a :class:`gis.errors.GisError` among them).

    >>> convert([("crs", "EPSG:4490"), ("x", "119.2"), ("y", "34.6")])["to"]
    'EPSG:4490'
    """
    names = [name for name, _ in query]
    unknown = sorted(set(names) - PARAMETERS)
    if unknown:
        raise CoordinateRequestError(
            f"unknown parameter(s) {', '.join(unknown)}: use crs, x, y and to"
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise CoordinateRequestError(f"give {', '.join(repeated)} once")
    values = dict(query)
    if not values.get("crs", "").strip():
        raise CoordinateRequestError("crs is missing: e.g. crs=GCJ02 or crs=EPSG:4528")
    x, y = _number("x", values.get("x")), _number("y", values.get("y"))
    source = _crs(values["crs"])
    target = _crs(values.get("to") or DEFAULT_TARGET)
    try:
        xs, ys = transform_xy([x], [y], source, target)
    except GisError as exc:
        raise CoordinateRequestError(str(exc)) from exc
    return {"from": source.name, "to": target.name, "x": float(xs[0]), "y": float(ys[0])}
