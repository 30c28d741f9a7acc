"""Polygon inputs of the analyses (a red line, an area): their JSON schemas, and turning them
into a :class:`layers.sitecheck.Site` in EPSG:4490 or a :class:`ProcessInputError`.

The CLI repairs what it reads (``onemap plans sitecheck`` notes the repair); over HTTP the
issue asks for a refusal instead, so a polygon that is not valid where it was drawn (a ring
that crosses itself, a spike) is an error naming the input and the place. Coordinates are
read x first (easting or longitude), as GeoJSON, the CLI and GDAL read them, whatever the
CRS's authority axis order; a red line that then falls outside the CRS's area of use or
outside China is refused, which catches swapped axes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeGuard

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from gis.crs import CRS84, resolve
from gis.errors import GisError
from layers.errors import SiteError
from layers.sitecheck import CHINA_BOUNDS, Axes, Site, site_from_geojson, site_from_points
from services.processes.base import JsonDict, ProcessInputError

__all__ = [
    "AXES_SCHEMA",
    "CRS_SCHEMA",
    "POINTS_SCHEMA",
    "POLYGON_SCHEMA",
    "geojson_site",
    "points_site",
]

_POLYGONAL: Final = ("Polygon", "MultiPolygon")
_COORDINATES: Final = {"type": "array", "items": {"type": "array"}}

POLYGON_SCHEMA: Final[JsonDict] = {
    "type": "object",
    "title": "GeoJSON polygon",
    "description": "A GeoJSON Polygon or MultiPolygon, or a Feature or FeatureCollection of "
    "them (their union is taken). Coordinates x first (easting or longitude), in the CRS of "
    "the `crs` input, else of the object's own `crs` member (GeoJSON 2008 style: "
    '`{"type": "name", "properties": {"name": "EPSG:4528"}}`), else CRS84. It must be a '
    "valid polygon: rings closed and not crossing themselves or each other.",
    "required": ["type"],
    "properties": {
        "type": {"type": "string", "enum": [*_POLYGONAL, "Feature", "FeatureCollection"]},
        "coordinates": _COORDINATES,
        "geometry": {"type": "object"},
        "features": {"type": "array", "items": {"type": "object"}},
        "crs": {
            "type": "object",
            "description": "The CRS of the coordinates, by name (any spelling `crs` takes).",
            "required": ["type", "properties"],
            "properties": {
                "type": {"type": "string", "enum": ["name"]},
                "properties": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {"name": {"type": "string"}},
                },
            },
        },
    },
}

CRS_SCHEMA: Final[JsonDict] = {
    "type": "string",
    "title": "CRS",
    "description": "The CRS of the coordinates: an EPSG code (`EPSG:4528`), an OGC URI or URN "
    "(`http://www.opengis.net/def/crs/EPSG/0/4549`), `OGC:CRS84`, `GCJ02`, `BD09`, or the "
    "name of a local system configured on the server (城市独立坐标系). Coordinates are "
    "always x first (easting or longitude).",
    "minLength": 1,
    "maxLength": 2000,
}

_NUMBER: Final = {"type": "number"}
POINTS_SCHEMA: Final[JsonDict] = {
    "type": "array",
    "title": "界址点 (boundary points)",
    "description": "The red line's boundary points in order, as `[x, y]` pairs or "
    "`{x, y, ring}` objects; `ring` (圈号) separates rings, and rings inside others become "
    "holes. Needs `crs`; see `axes` for tables that write X = northing.",
    "minItems": 3,
    "maxItems": 100_000,
    "items": {
        "oneOf": [
            {"type": "array", "items": _NUMBER, "minItems": 2, "maxItems": 2},
            {
                "type": "object",
                "required": ["x", "y"],
                "properties": {
                    "x": _NUMBER,
                    "y": _NUMBER,
                    "ring": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                },
            },
        ]
    },
}

AXES_SCHEMA: Final[JsonDict] = {
    "type": "string",
    "title": "Axis order of the points",
    "description": "`xy` (x = easting), `yx` (X = northing, the survey convention) or `auto`: "
    "read as (northing, easting) only when that alone lands in the CRS's area (the answer's "
    "notes say so), as `onemap plans sitecheck --axes`.",
    "enum": ["auto", "xy", "yx"],
    "default": "auto",
}


def _crs(given: Any, carried: Any) -> str:
    """The CRS's canonical name: ``crs`` input, else the object's own ``crs``, else CRS84."""
    names = []
    for spelled in (given, carried):
        if spelled is None:
            continue
        if not isinstance(spelled, str) or not spelled.strip():
            raise ProcessInputError("crs", f"a CRS is named by a non-empty text, not {spelled!r}")
        try:
            names.append(resolve(spelled).name)
        except GisError as exc:
            raise ProcessInputError("crs", str(exc)) from None
    if len(set(names)) > 1:
        raise ProcessInputError(
            "crs", f"{names[0]} differs from the CRS the GeoJSON carries ({names[1]})"
        )
    return names[0] if names else CRS84


def _carried_crs(value: Mapping[str, Any], name: str) -> Any:
    crs = value.get("crs")
    if crs is None:
        return None
    props = crs.get("properties") if isinstance(crs, Mapping) else None
    if not isinstance(props, Mapping) or "name" not in props:
        raise ProcessInputError(
            name, 'its crs member must be {"type": "name", "properties": {"name": "EPSG:…"}}'
        )
    return props["name"]


def _geometries(value: Any, name: str) -> list[BaseGeometry]:
    if not isinstance(value, Mapping):
        raise ProcessInputError(
            name, "give a GeoJSON Polygon, MultiPolygon, Feature or FeatureCollection"
        )
    try:
        if value.get("type") == "FeatureCollection":
            found = [f["geometry"] for f in value["features"]]
        elif value.get("type") == "Feature":
            found = [value["geometry"]]
        else:
            found = [value]
        geoms = [shape(g) if g is not None else None for g in found]
    except (ValueError, KeyError, TypeError, AttributeError, shapely.errors.GEOSException) as exc:
        raise ProcessInputError(name, f"not a GeoJSON polygon: {exc}") from None
    if not geoms or any(g is None for g in geoms):
        raise ProcessInputError(name, "a feature without a geometry")
    return [g for g in geoms if g is not None]


def _check_polygons(geoms: Sequence[BaseGeometry], name: str) -> None:
    for geom in geoms:
        if geom.geom_type not in _POLYGONAL:
            raise ProcessInputError(name, f"a {geom.geom_type} is not a polygon")
        if geom.is_empty:
            raise ProcessInputError(name, "the polygon is empty")
        if not np.isfinite(shapely.get_coordinates(geom)).all():
            raise ProcessInputError(name, "coordinates must be finite numbers")
        if not geom.is_valid:
            raise ProcessInputError(
                name,
                f"not a valid polygon ({shapely.is_valid_reason(geom)}): rings must be "
                "closed and must not cross themselves or each other",
            )


def _in_china(site: Site, crs: str, name: str) -> Site:
    west, south, east, north = CHINA_BOUNDS
    x0, y0, x1, y1 = site.geometry.bounds
    if not (west <= x0 and x1 <= east and south <= y0 and y1 <= north):
        raise ProcessInputError(
            name,
            f"outside China once read in {crs} (x = easting or longitude first): "
            "is the CRS right, are the axes swapped?",
        )
    return site


def geojson_site(value: Any, crs: Any, name: str) -> Site:
    """A GeoJSON input (``name``) in the CRS of ``crs`` (or its own) as a red line, read by
    the function ``onemap plans sitecheck --geojson`` uses; :class:`ProcessInputError`
    for anything that is not one valid polygon in the CRS's area."""
    geoms = _geometries(value, name)
    _check_polygons(geoms, name)
    src = _crs(crs, _carried_crs(value, name))
    try:
        site = site_from_geojson(value, src)
    except GisError as exc:
        raise ProcessInputError(name, f"outside the area of {src}: {exc}") from None
    except SiteError as exc:
        raise ProcessInputError(name, str(exc)) from None
    return _in_china(site, src, name)


def _point(item: Any) -> tuple[float, float, str]:
    if isinstance(item, Mapping):
        x, y, ring = item.get("x"), item.get("y"), item.get("ring", "1")
    elif isinstance(item, Sequence) and not isinstance(item, str) and len(item) == 2:
        (x, y), ring = item, "1"
    else:
        raise TypeError(item)
    if not (_is_number(x) and _is_number(y)):
        raise TypeError(item)
    return float(x), float(y), str(ring)


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def points_site(points: Any, crs: Any, axes: Any, name: str = "points") -> Site:
    """A 界址点 list (``[x, y]`` or ``{x, y, ring}``) in ``crs`` as a red line, read by the
    function ``onemap plans sitecheck`` uses for a point table."""
    if crs is None:
        raise ProcessInputError("crs", "name the CRS of the boundary points")
    if axes not in ("auto", "xy", "yx"):
        raise ProcessInputError("axes", f"auto, xy or yx, not {axes!r}")
    if not isinstance(points, Sequence) or isinstance(points, str):
        raise ProcessInputError(name, "a list of [x, y] pairs or {x, y, ring} objects")
    try:
        rows = [_point(p) for p in points]
    except (TypeError, ValueError) as exc:
        raise ProcessInputError(name, f"not a point ([x, y] or {{x, y}}): {exc}") from None
    xy = np.array([(x, y) for x, y, _ in rows], dtype=float).reshape(-1, 2)
    if not np.isfinite(xy).all():
        raise ProcessInputError(name, "coordinates must be finite numbers")
    rings = [r for _, _, r in rows]
    for label in dict.fromkeys(rings):
        ring = xy[[i for i, r in enumerate(rings) if r == label]]
        polygon = shapely.Polygon(ring) if len(ring) >= 3 else None
        if polygon is not None and not polygon.is_valid:
            reason = shapely.is_valid_reason(polygon)
            raise ProcessInputError(name, f"ring {label!r} is not a valid polygon ({reason})")
    src = _crs(crs, None)
    order: Axes = axes
    try:
        site = site_from_points([tuple(p) for p in xy], src, rings=rings, axes=order)
    except (GisError, SiteError) as exc:
        raise ProcessInputError(name, str(exc)) from None
    return _in_china(site, src, name)
