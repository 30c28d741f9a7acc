"""What the one-map page draws, as one JSON document: the layers the caller may see with
their vector tiles in ``TiandituC`` and their symbols, the legend, and the coordinate systems.

Nothing here is drawn by hand per layer: the layers come from the collection registry as the
caller sees it (services/ogcapi/access.py), the colours from the same data the MapLibre
styles use (the 2023 用地用海 colours of ``config/styles/landuse-2023-colours.csv`` through
:mod:`layers.colours`; control lines, conflict patches and grid layers from
``config/styles/map-styles.yaml``), the conflict types and the site checks from the rule
file, and the tile levels from the tile routes' own zoom limits
(:func:`services.ogcapi.tiles.zooms`).

Tile URLs follow OGC API – Tiles' ``{tileMatrix}/{tileRow}/{tileCol}``, written here as
TileJSON's ``{z}/{y}/{x}``; levels are Tianditu's (``TiandituC`` level 1 is Leaflet's zoom 0
with ``L.CRS.EPSG4326``, so the page adds one, as Tianditu clients do with ``zoomOffset``).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping
from typing import Any, Final

from gis.crs import (
    BD09,
    GCJ02,
    GK_CM120_SRID,
    GK_ZONE40_SRID,
    STORAGE_SRID,
    WGS84_SRID,
    resolve,
)
from layers.colours import load_colours
from layers.rules import Rules, SiteRule, TypeRule
from services.ogcapi import styles, tiles
from services.ogcapi.sources import Registry
from services.ogcapi.specs import Audience, CollectionSpec
from services.ogcapi.validators import stamp_key

TMS: Final = "TiandituC"
"""The tile matrix set of the page: the grid of the Tianditu ``c`` base maps."""
SEVERITY_NAMES: Final = {"hard": "严重", "major": "较重", "minor": "一般"}

Json = dict[str, Any]


def _tiles(spec: CollectionSpec, ogc_path: str) -> Json:
    first, last = tiles.zooms(spec, TMS)
    return {
        "tiles": f"{ogc_path}/collections/{spec.id}/tiles/{TMS}/{{z}}/{{y}}/{{x}}",
        "minzoom": first,
        "maxzoom": last,
        "bbox": list(spec.extent.bbox) if spec.extent.bbox is not None else None,
    }


def _control_symbol(look: Mapping[str, Any]) -> Json:
    return {
        "color": look["line"],
        "weight": look["width"],
        "dashArray": " ".join(str(d * look["width"]) for d in look.get("dash") or ()) or None,
        "fill": look.get("fill_opacity", 0) > 0,
        "fillColor": look.get("fill", look["line"]),
        "fillOpacity": look.get("fill_opacity", 0),
    }


def _polygon_symbol(look: Mapping[str, Any]) -> Json:
    return {
        "color": look.get("line", look.get("outline", look.get("fill"))),
        "weight": look.get("width", 1),
        "dashArray": " ".join(str(d * look.get("width", 1)) for d in look.get("dash") or ())
        or None,
        "fill": "fill" in look,
        "fillColor": look.get("fill"),
        "fillOpacity": look.get("fill_opacity", 0),
    }


def _layer(spec: CollectionSpec, ogc_path: str, latest_run: str | None) -> Json | None:
    """One entry of the layer list, or None for what the page does not draw (older plan
    versions and conflict runs, keyed collections)."""
    data = styles.map_styles()
    table = stamp_key(spec)
    entry: Json = {"id": spec.id, "title": spec.title, **_tiles(spec, ogc_path)}
    if table == "plans.features":
        if spec.id.count(".") != 1:  # plans.{layer}.v{n}: a version, not the latest
            return None
        kind = styles.plan_type(spec)
        control = data["control_lines"].get(kind or "")
        if control is not None:
            return {
                **entry,
                "kind": "control",
                "planType": kind,
                "visible": True,
                "symbol": _control_symbol(control),
            }
        plans = data["plans"]
        return {
            **entry,
            "kind": "plan",
            "planType": kind,
            "visible": False,
            "symbol": {
                "fillOpacity": plans["fill_opacity"],
                "color": plans["outline"],
                "weight": plans["outline_width"],
                "outlineFrom": plans["outline_minzoom"],
                "unknown": plans["unknown"],
            },
        }
    if table == "plans.conflict_patches":
        if spec.id != latest_run:
            return None
        run = int(dict(spec.fixed)["run_id"])
        return {**entry, "kind": "conflicts", "run": run, "visible": True}
    if spec.audience is not Audience.PUBLIC or spec.table not in data:
        return None
    shown = spec.table in ("cells", "buildings")
    return {
        **entry,
        "kind": "grid",
        "table": spec.table,
        "visible": shown,
        "symbol": _polygon_symbol(data[spec.table]),
    }


def layer_list(registry: Registry, ogc_path: str) -> list[Json]:
    """The layers, bottom first: plans, conflicts, grid layers, control lines on top."""
    latest = styles.latest_conflicts(registry)
    found = [
        entry
        for spec in registry.specs.values()
        if (entry := _layer(spec, ogc_path, latest.id if latest else None)) is not None
    ]
    order = {"plan": 0, "conflicts": 1, "grid": 2, "control": 3}
    return sorted(found, key=lambda e: order[e["kind"]])  # stable: registry order inside


def legend(rules: Mapping[str, TypeRule]) -> Json:
    """The land-use classes (first level, for the legend; every code with a colour of its
    own, for the symbols), conflict severities and types."""
    colours = load_colours()
    data = styles.map_styles()["conflicts"]
    palette = data["type_palette"]
    return {
        "landuse": [
            {"code": code, "name": colours.names.get(code, code), "colour": colour}
            for code, colour in sorted(colours.first_level().items())
        ],
        "colours": {code: c.hex for code, c in sorted(colours.own.items())},
        "names": dict(sorted(colours.names.items())),
        "severity": {
            name: {"colour": colour, "label": SEVERITY_NAMES.get(name, name)}
            for name, colour in data["severity"].items()
        },
        "conflictTypes": {
            name: {
                "label": rule.label,
                "severity": rule.severity,
                "colour": palette[i % len(palette)],
            }
            for i, (name, rule) in enumerate(rules.items())
        },
        "conflictFill": data["fill_opacity"],
        "conflictOutline": data["outline_width"],
        "unknown": data["unknown"],
    }


@functools.cache
def _proj4(code: int) -> str:
    crs = resolve(f"EPSG:{code}").crs
    assert crs is not None
    with warnings.catch_warnings():  # PROJ strings drop the datum's name: fine for display
        warnings.simplefilter("ignore", UserWarning)
        return str(crs.to_proj4()).replace("+type=crs", "").strip()


def _system(name: str, label: str, *, geographic: bool = False) -> Json:
    """A system of the search and the site check; ``proj4`` when PROJ can write it as a
    string (EPSG systems: the page draws a red line given in them), else None (GCJ-02 and
    BD-09 are offsets, not projections: their points are converted on the server)."""
    proj4 = _proj4(int(name.removeprefix("EPSG:"))) if name.startswith("EPSG:") else None
    return {"id": name, "label": label, "geographic": geographic, "proj4": proj4}


def coordinate_systems() -> Json:
    """The systems the search and the site check take (converted on the server, any
    spelling ``gis.crs`` resolves is accepted there) and the proj4 definitions the mouse
    position is shown in."""
    return {
        "search": [
            _system(f"EPSG:{STORAGE_SRID}", "CGCS2000 经纬度", geographic=True),
            _system(GCJ02, "GCJ-02 火星坐标（高德、腾讯）", geographic=True),
            _system(BD09, "BD-09（百度）", geographic=True),
            _system(f"EPSG:{WGS84_SRID}", "WGS 84 经纬度（GPS）", geographic=True),
            _system(f"EPSG:{GK_ZONE40_SRID}", "CGCS2000 高斯-克吕格 3°带 第40带"),
            _system(f"EPSG:{GK_CM120_SRID}", "CGCS2000 高斯-克吕格 3°带 中央经线120°"),
        ],
        "display": {
            "geographic": {"id": f"EPSG:{STORAGE_SRID}", "proj4": _proj4(STORAGE_SRID)},
            "projected": {
                "id": f"EPSG:{GK_ZONE40_SRID}",
                "proj4": _proj4(GK_ZONE40_SRID),
                "label": "CGCS2000 / 3° GK 第40带",
            },
        },
    }


def site_check(checks: Mapping[str, SiteRule], public: bool) -> Json:
    """What the page's site check needs: whether callers without a key may run the process
    (``ONEMAP_PROCESSES_PUBLIC_SITE_CHECK``), and the checks of the rule file's
    ``site_checks`` with their label, kind (``overlap``; ``outside``: the part of the site
    outside the features; ``planned_use``) and the verdict when hit."""
    return {
        "public": public,
        "checks": {
            key: {"label": rule.label, "check": rule.check, "verdict": rule.verdict}
            for key, rule in checks.items()
        },
    }


def catalogue(
    registry: Registry,
    ogc_path: str,
    api_path: str,
    rules: Rules,
    *,
    site_check_public: bool = False,
) -> Json:
    """The page's document: ``registry`` as the caller sees it; ``ogc_path`` and
    ``api_path`` are the paths (no host) of the OGC API and of the page's JSON routes;
    ``site_check_public``: the ``site-check`` process is open to callers without a key."""
    return {
        "tileMatrixSet": TMS,
        "zoomOffset": 1,
        "ogc": ogc_path,
        "api": api_path,
        "center": _center(registry),
        "layers": layer_list(registry, ogc_path),
        "legend": legend(rules.types),
        "crs": coordinate_systems(),
        "siteCheck": site_check(rules.site_checks, site_check_public),
    }


def _center(registry: Registry) -> list[float]:
    """The middle of the administrative areas (lat, lon), else of every collection."""
    specs = [s for s in registry.specs.values() if s.extent.bbox is not None]
    chosen = [s for s in specs if s.id == "admin_areas"] or specs
    if not chosen:
        return [34.6, 119.2]
    boxes = [s.extent.bbox for s in chosen if s.extent.bbox is not None]
    west, south = min(b[0] for b in boxes), min(b[1] for b in boxes)
    east, north = max(b[2] for b in boxes), max(b[3] for b in boxes)
    return [round((south + north) / 2, 6), round((west + east) / 2, 6)]
