"""Site compliance (项目选址合规性审查): a project red line against every control layer.

The red line comes from a polygon file (GeoJSON, Shapefile, GeoPackage), a GeoJSON text, or
a 界址点 list (CSV/XLSX of boundary points in order, in any registered CRS: CGCS2000
Gauss-Krüger zone 40, a configured local system ...; a ring column such as 圈号 separates
rings, inner rings become holes). Chinese survey tables often write X = northing: with
``axes="auto"`` a pair that only lands inside the CRS's area of use when swapped is read
as (northing, easting), and the result says so.

Each check of the rule file (``site_checks``) runs against the current version of every layer
of its plan types: overlap area, share of the site, the features (图斑) involved, and a
verdict (pass, warn, fail); the worst is the site's. Everything is stored with the layer
versions used.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, Literal, NamedTuple

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from gis.crs import STORAGE_SRID, resolve, transform_xy
from gis.errors import GisError
from gis.geometry import repair, transform_geometry
from gis.io import open_vector
from gis.sql_files import sql, statement
from layers.classification import Schemes
from layers.conflict_summaries import MU_M2
from layers.errors import SiteError
from layers.registry import LayerInfo, list_layers, version
from layers.rules import Rules, SiteRule, class_matches, class_sql
from layers.settings import PlanSettings

__all__ = [
    "RING_FIELDS",
    "Site",
    "SiteItem",
    "SiteReport",
    "check_site",
    "site_from_file",
    "site_from_geojson",
    "site_from_points",
    "use_class",
]

RING_FIELDS: Final = ("圈号", "环号", "ring", "part", "地块号", "parcel")
"""Columns of a 界址点 list that say which ring a point belongs to."""
_TABULAR: Final = (".csv", ".tsv", ".xlsx")
_ORDER: Final = {"pass": 0, "warn": 1, "fail": 2}
CHINA_BOUNDS: Final = (73.0, 3.0, 136.0, 54.0)
"""Lon/lat box a red line must fall in (catches swapped X/Y where no area of use is known)."""
Axes = Literal["auto", "xy", "yx"]


class Site(NamedTuple):
    """A red line in EPSG:4490, where it came from, and notes on how it was read."""

    geometry: BaseGeometry
    source: str
    notes: list[str]


class SiteItem(NamedTuple):
    """One check against one layer version."""

    check: str
    label: str
    layer_id: str
    layer_version: int
    layer_version_id: int
    verdict: str
    overlap_m2: float
    share: float
    message: str
    features: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, the overlap also in 亩 and ha (see :meth:`SiteReport.as_dict`)."""
        return {
            "check": self.check,
            "label": self.label,
            "layer_id": self.layer_id,
            "layer_version": self.layer_version,
            "layer_version_id": self.layer_version_id,
            "verdict": self.verdict,
            "overlap_m2": self.overlap_m2,
            "overlap_mu": self.overlap_m2 / MU_M2,
            "overlap_ha": self.overlap_m2 / 1e4,
            "share": self.share,
            "message": self.message,
            "features": self.features,
        }


class SiteReport(NamedTuple):
    """The stored site check: its id, overall verdict, area and the items."""

    id: int
    name: str
    verdict: str
    area_m2: float
    use: str | None
    notes: list[str]
    items: list[SiteItem]

    def as_dict(self) -> dict[str, Any]:
        """The report as ``onemap plans sitecheck --json`` prints it and the ``site-check``
        process returns it (one shape for both): JSON-ready, areas also in 亩 and ha."""
        return {
            "id": self.id,
            "name": self.name,
            "verdict": self.verdict,
            "area_m2": self.area_m2,
            "area_mu": self.area_m2 / MU_M2,
            "area_ha": self.area_m2 / 1e4,
            "use": self.use,
            "notes": list(self.notes),
            "items": [i.as_dict() for i in self.items],
        }


def _polygonal(geom: BaseGeometry, source: str, notes: list[str]) -> Site:
    if geom.is_empty:
        raise SiteError(f"{source}: no polygon in the red line")
    fixed, repaired = repair(geom)
    notes += [f"red line repaired: {n}" for n in repaired]
    parts = [
        g for g in getattr(fixed, "geoms", [fixed]) if g.geom_type in ("Polygon", "MultiPolygon")
    ]
    if not parts:
        raise SiteError(f"{source}: the red line is not a polygon ({geom.geom_type})")
    merged = shapely.union_all(parts)
    if merged.geom_type == "Polygon":
        merged = shapely.MultiPolygon([merged])
    return Site(merged, source, notes)


def site_from_geojson(data: str | dict[str, Any], crs: str = "OGC:CRS84") -> Site:
    """A red line from GeoJSON text or a parsed object (Feature, FeatureCollection, geometry)."""
    try:
        obj = json.loads(data) if isinstance(data, str) else data
        if obj.get("type") == "FeatureCollection":
            geoms = [shape(f["geometry"]) for f in obj["features"] if f.get("geometry")]
        elif obj.get("type") == "Feature":
            geoms = [shape(obj["geometry"])]
        else:
            geoms = [shape(obj)]
    except (ValueError, KeyError, TypeError, AttributeError, shapely.errors.GEOSException) as exc:
        raise SiteError(f"not a GeoJSON polygon: {exc}") from None
    geom = transform_geometry(shapely.union_all(geoms), crs, STORAGE_SRID)
    return _polygonal(geom, "GeoJSON", [])


def site_from_file(
    path: Path,
    *,
    crs: str | None = None,
    layer: str | None = None,
    encoding: str | None = None,
    x_field: str | None = None,
    y_field: str | None = None,
    axes: Axes = "auto",
) -> Site:
    """A red line from a polygon file, or from a 界址点 list (.csv/.xlsx: ``crs`` required)."""
    path = Path(path)
    if path.suffix.lower() in _TABULAR:
        with open_vector(
            path, layer, crs=crs, encoding=encoding, x_field=x_field, y_field=y_field
        ) as (source, records):
            rows = [(r.geometry, r.properties) for r in records]
        if source.crs is None:
            raise SiteError(f"{path}: name the CRS of the coordinates")
        points = [(g.x, g.y) for g, _ in rows if g is not None and not g.is_empty]
        ring_field = next((f for f in RING_FIELDS if rows and f in rows[0][1]), None)
        rings = [str(p[ring_field]) for g, p in rows if g is not None] if ring_field else None
        site = site_from_points(points, source.crs, rings=rings, axes=axes)
        return site._replace(source=str(path))
    with open_vector(path, layer, crs=crs, encoding=encoding) as (source, records):
        geoms = [r.geometry for r in records if r.geometry is not None]
        src = source.crs or source.crs_wkt
    if not geoms or src is None:
        raise SiteError(f"{path}: no geometry with a CRS")
    geom = transform_geometry(
        shapely.union_all(shapely.make_valid(np.asarray(geoms))), src, STORAGE_SRID
    )
    return _polygonal(geom, str(path), [])


def site_from_points(
    points: Sequence[tuple[float, float]],
    crs: str,
    *,
    rings: Sequence[str] | None = None,
    axes: Axes = "auto",
) -> Site:
    """A red line from 界址点 (boundary points in order) in ``crs``; ``rings`` labels each
    point's ring (rings inside others become holes)."""
    if len(points) < 3:
        raise SiteError(f"a red line needs at least 3 boundary points, got {len(points)}")
    xy = np.asarray(points, dtype=float)
    ref = resolve(crs)
    notes: list[str] = []
    order = _axes(xy, ref.name, axes)
    if order == "yx":
        xy = xy[:, ::-1]
        notes.append("coordinates read as X = northing, Y = easting (survey convention)")
    try:
        lon, lat = transform_xy(xy[:, 0], xy[:, 1], ref, STORAGE_SRID)
    except GisError as exc:
        raise SiteError(f"the points are outside {ref.name} ({exc}); X/Y swapped?") from None
    labels = list(rings) if rings is not None else ["1"] * len(xy)
    polygons = []
    for label in dict.fromkeys(labels):
        idx = [i for i, r in enumerate(labels) if r == label]
        if len(idx) < 3:
            raise SiteError(f"ring {label!r} has {len(idx)} point(s); a ring needs at least 3")
        polygons.append(shapely.Polygon(np.column_stack([lon[idx], lat[idx]])))
    geom = polygons[0]
    for other in polygons[1:]:  # nested rings are holes, disjoint ones more parcels
        geom = geom.symmetric_difference(other)
    notes.append(f"{len(xy)} boundary points in {len(polygons)} ring(s), {ref.name}")
    return _polygonal(geom, f"{len(xy)} boundary points ({ref.name})", notes)


def _axes(xy: np.ndarray[Any, Any], crs: str, axes: Axes) -> Literal["xy", "yx"]:
    """The axis order that puts the points in China (and in the CRS's area where it has one)."""
    if axes != "auto":
        return axes
    fits = {order: _lands(xy if order == "xy" else xy[:, ::-1], crs) for order in ("xy", "yx")}
    if fits["xy"] or not fits["yx"]:
        if not fits["xy"]:
            raise SiteError(f"the boundary points are outside {crs} either way round")
        return "xy"
    return "yx"


def _lands(xy: np.ndarray[Any, Any], crs: str) -> bool:
    try:
        lon, lat = transform_xy(xy[:, 0], xy[:, 1], crs, STORAGE_SRID, check_area=True)
    except GisError:
        return False
    west, south, east, north = CHINA_BOUNDS
    inside = (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)
    return bool(np.all(np.isfinite(lon)) and np.all(inside))


def use_class(schemes: Schemes, use: str | None) -> tuple[str | None, str]:
    """2023 code and category of the project's intended use (None: urban construction);
    :class:`SiteError` for a code the 2023 用地用海分类 does not have."""
    if use is None:
        return None, "建设"
    scheme = schemes.find("用地用海分类 2023")
    found = schemes.classifier(scheme, "project_redline").classify(use)
    if found is None:
        raise SiteError(f"unknown 2023 用地用海分类 code {use!r} for the planned use")
    return found.code_2023, found.category


def check_site(
    conn: Connection,
    site: Site,
    *,
    rules: Rules,
    schemes: Schemes,
    settings: PlanSettings,
    name: str = "site",
    use: str | None = None,
    checked_by: str = "system",
) -> SiteReport:
    """Check ``site`` against the current version of every layer a site check names."""
    use_code, use_category = use_class(schemes, use)
    ewkb = shapely.to_wkb(shapely.set_srid(site.geometry, STORAGE_SRID), include_srid=True)
    area = float(conn.execute(sql(__name__, "site_area"), {"site": ewkb}).scalar_one())
    layers = [layer for layer in list_layers(conn) if layer.current_version]
    items: list[SiteItem] = []
    for key, rule in rules.site_checks.items():
        if rule.when_use is not None and not class_matches(
            rules, rule.when_use, category=use_category, code_2023=use_code
        ):
            continue
        for layer in (lay for lay in layers if lay.plan_type in rule.plan_types):
            items.append(_check(conn, rules, key, rule, layer, ewkb, area, use_code, settings))
    verdict = max((i.verdict for i in items), key=_ORDER.__getitem__, default="pass")
    with conn.begin_nested():
        check_id = conn.execute(
            sql(__name__, "insert_check"),
            {
                "name": name,
                "source": site.source,
                "use": use,
                "verdict": verdict,
                "area": area,
                "checked_by": checked_by,
                "site": ewkb,
            },
        ).scalar_one()
        for item in items:
            conn.execute(
                sql(__name__, "insert_item"),
                {
                    "check_id": check_id,
                    "kind": item.check,
                    "lv": item.layer_version_id,
                    "verdict": item.verdict,
                    "overlap": item.overlap_m2,
                    "share": item.share,
                    "message": item.message,
                    "features": json.dumps(item.features, ensure_ascii=False),
                },
            )
    return SiteReport(check_id, name, verdict, area, use, site.notes, items)


def _check(
    conn: Connection,
    rules: Rules,
    key: str,
    rule: SiteRule,
    layer: LayerInfo,
    ewkb: bytes,
    area: float,
    use_code: str | None,
    settings: PlanSettings,
) -> SiteItem:
    lv = version(conn, layer.id)
    params: dict[str, Any] = {"site": ewkb, "lv": lv.id}
    cls = class_sql(rules, rule.class_, layer.scheme, params)
    rows = conn.execute(text(statement(__name__, "overlaps").replace("/*cls*/", cls)), params).all()
    features = [
        {
            "feature_id": r.id,
            "fid": r.source_fid,
            "code": r.source_code,
            "code_2023": r.code_2023,
            "category": r.category,
            "overlap_m2": round(float(r.m2), 2),
        }
        for r in rows
        if float(r.m2) >= settings.site_tolerance_m2
    ]
    tolerance = settings.site_tolerance_m2
    if rule.check == "outside":
        measured = float(
            conn.execute(sql(__name__, "outside"), {"site": ewkb, "lv": lv.id}).scalar_one()
        )
        hit = measured >= tolerance
        message = (
            f"{measured:,.1f} m² ({measured / area:.1%}) outside {layer.title}"
            if hit
            else f"inside {layer.title}"
        )
    elif not features and rule.check == "planned_use":
        measured, hit, message = 0.0, False, f"{layer.title} does not cover the site"
    elif rule.check == "planned_use":
        bad = [f for f in features if not _compatible(f, use_code)]
        measured = sum(f["overlap_m2"] for f in bad)
        hit = measured >= tolerance
        codes = sorted({str(f["code"]) for f in bad})
        message = (
            f"{measured:,.1f} m² ({measured / area:.1%}) planned for other uses "
            f"({', '.join(codes)})"
            if hit
            else "compatible with the planned use"
        )
        features = bad if hit else features
    else:
        measured = sum(f["overlap_m2"] for f in features)
        hit = measured >= tolerance
        message = (
            f"overlaps {len(features)} feature(s): {measured:,.1f} m² ({measured / area:.1%})"
            if hit
            else "no overlap"
        )
    return SiteItem(
        key,
        rule.label,
        layer.id,
        lv.version,
        lv.id,
        rule.verdict if hit else "pass",
        measured if hit else 0.0,
        min(measured / area, 1.0) if hit and area else 0.0,
        message,
        features,
    )


def _compatible(feature: dict[str, Any], use_code: str | None) -> bool:
    """Planned land fits the project: construction land, of the same first-level class when
    the project's use is known."""
    if feature["category"] != "建设":
        return False
    code = feature["code_2023"]
    return use_code is None or code is None or str(code)[:2] == use_code[:2]
