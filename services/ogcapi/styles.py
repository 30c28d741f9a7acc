"""MapLibre styles (style spec v8) of the collections and of the plan map, generated from the
data files and the collection registry: nothing here is hand-written per collection.

* the 2023 用地用海 colours: config/styles/landuse-2023-colours.csv (layers/colours.py);
* control lines, conflict patches, grid layers: config/styles/map-styles.yaml;
* which plan layers are control lines: layers/data/classification/plan-types.csv;
* conflict types (outline colours, in the rules' order): the conflict rules file.

A collection's style (style id = collection id) draws its own tileset; the ``plan-map``
style draws the dataset tileset (every plan layer's latest version, control lines, cells,
buildings) and the latest conflict run's patches. Sources are the WebMercatorQuad TileJSON
of our own tile routes, with absolute URLs on the caller's base URL (the public URL setting);
no URL leads to another host. Plan features are coloured by one flat ``match`` on
``code_2023`` listing every 2023 code of the classification with its colour (its own, else
its parent's), which MapLibre and QGIS's style converter both read. No text labels: a text
layer needs glyph PBFs, and none are served (docs/tiles.md#styles).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import yaml

from gis.io import read_table
from layers.colours import STYLES_DIR, LanduseColours, load_colours
from layers.rules import load_rules
from layers.settings import CONFIG, PlanSettings
from services.ogcapi import tiles
from services.ogcapi.errors import NotFoundError
from services.ogcapi.sources import Registry
from services.ogcapi.specs import CollectionSpec
from services.ogcapi.validators import stamp_key

STYLE_VERSION: Final = 8
MAPBOX_STYLE: Final = "application/vnd.mapbox.style+json"
PLAN_MAP: Final = "plan-map"
PLAN_MAP_TITLE: Final = "连云港一张图 规划图 Plan map"
TMS: Final = "WebMercatorQuad"
"""The set styles draw: MapLibre and QGIS read vector tiles in Web Mercator."""
MAP_STYLES_FILE: Final = STYLES_DIR / "map-styles.yaml"
PLAN_TYPES_FILE: Final = CONFIG / "classification" / "plan-types.csv"
CODE: Final = "code_2023"

Json = dict[str, Any]


@functools.cache
def map_styles(path: Path = MAP_STYLES_FILE) -> Mapping[str, Any]:
    found: Mapping[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return found


@functools.cache
def plan_types() -> Mapping[str, bool]:
    """Plan type code → whether its layers are control lines."""
    return {r["code"]: r["control_line"] == "true" for r in read_table(PLAN_TYPES_FILE)}


@functools.cache
def conflict_types() -> tuple[str, ...]:
    """The conflict types of the rules file, in its order."""
    return tuple(load_rules(PlanSettings().rules_file).types)


def plan_type(spec: CollectionSpec) -> str | None:
    """The plan type of a plan layer (its keywords carry it: services/ogcapi/sources.py)."""
    known = plan_types()
    return next((k for k in spec.keywords if k in known), None)


# --- expressions -------------------------------------------------------------------------------


def _match(value: Json | list[Any], cases: Mapping[str, str], fallback: str) -> list[Any]:
    """``["match", value, [labels], colour, ..., fallback]``: labels grouped by colour."""
    by_colour: dict[str, list[str]] = defaultdict(list)
    for label, colour in cases.items():
        by_colour[colour].append(label)
    expression: list[Any] = ["match", value]
    for colour, labels in by_colour.items():
        expression += [sorted(labels) if len(labels) > 1 else labels[0], colour]
    return [*expression, fallback]


def landuse_colour(colours: LanduseColours, fallback: str) -> list[Any]:
    """The fill colour of a plan feature: every 2023 code → its colour (its own, else its
    parent's); a feature without a code, or with one the classification lacks, ``fallback``."""
    cases = {code: colour for code in colours.names if (colour := colours.colour_of(code))}
    return _match(["to-string", ["get", CODE]], cases, fallback)


# --- layers ------------------------------------------------------------------------------------


def _minzoom(spec: CollectionSpec) -> int:
    return tiles.zooms(spec, TMS)[0]


def _base(spec: CollectionSpec, source: str, kind: str, suffix: str) -> Json:
    return {"id": f"{spec.id}:{suffix}", "type": kind, "source": source,
            "source-layer": spec.id, "minzoom": _minzoom(spec),
            "metadata": {"onemap:collection": spec.id}}  # fmt: skip


def _line_paint(colour: str, width: float, dash: Sequence[float] | None = None) -> Json:
    paint: Json = {"line-color": colour, "line-width": width}
    if dash:
        paint["line-dasharray"] = list(dash)
    return paint


def plan_layers(spec: CollectionSpec, source: str) -> list[Json]:
    """A plan layer: by 2023 class, or a control line by its convention."""
    data = map_styles()
    kind = plan_type(spec)
    control = data["control_lines"].get(kind) if kind is not None else None
    if control is not None:
        found = []
        if control.get("fill_opacity", 0) > 0:
            fill = _base(spec, source, "fill", "fill")
            fill["paint"] = {"fill-color": control["fill"],
                             "fill-opacity": control["fill_opacity"]}  # fmt: skip
            found.append(fill)
        line = _base(spec, source, "line", "line")
        line["paint"] = _line_paint(control["line"], control["width"], control.get("dash"))
        found.append(line)
        return found
    plans = data["plans"]
    fill = _base(spec, source, "fill", "fill")
    fill["paint"] = {"fill-color": landuse_colour(load_colours(), plans["unknown"]),
                     "fill-opacity": plans["fill_opacity"]}  # fmt: skip
    outline = _base(spec, source, "line", "outline")
    outline["minzoom"] = max(outline["minzoom"], plans["outline_minzoom"])
    outline["paint"] = _line_paint(plans["outline"], plans["outline_width"])
    return [fill, outline]


def conflict_layers(spec: CollectionSpec, source: str) -> list[Json]:
    """Conflict patches: fill by severity, outline by type."""
    data = map_styles()["conflicts"]
    palette = data["type_palette"]
    types = {t: palette[i % len(palette)] for i, t in enumerate(conflict_types())}
    fill = _base(spec, source, "fill", "fill")
    fill["paint"] = {"fill-color": _match(["get", "severity"], data["severity"], data["unknown"]),
                     "fill-opacity": data["fill_opacity"]}  # fmt: skip
    line = _base(spec, source, "line", "line")
    line["paint"] = {"line-color": _match(["get", "type"], types, palette[-1]),
                     "line-width": data["outline_width"]}  # fmt: skip
    return [fill, line]


def _polygon(spec: CollectionSpec, source: str, look: Mapping[str, Any]) -> list[Json]:
    found = []
    if "fill" in look:
        fill = _base(spec, source, "fill", "fill")
        fill["paint"] = {"fill-color": look["fill"], "fill-opacity": look.get("fill_opacity", 1)}
        if "outline" in look:
            fill["paint"]["fill-outline-color"] = look["outline"]
        found.append(fill)
    if "line" in look:
        line = _base(spec, source, "line", "line")
        line["paint"] = _line_paint(look["line"], look.get("width", 1), look.get("dash"))
        found.append(line)
    return found


def collection_layers(spec: CollectionSpec, source: str) -> list[Json]:
    """The style layers of one collection drawn from ``source`` (its layer: the id)."""
    table = stamp_key(spec)
    if table == "plans.features":
        return plan_layers(spec, source)
    if table == "plans.conflict_patches":
        return conflict_layers(spec, source)
    data = map_styles()
    if spec.table in data and spec.table != "default":
        return _polygon(spec, source, data[spec.table])
    look = data["default"]
    if "Point" in spec.geometry_type:
        circle = _base(spec, source, "circle", "circle")
        circle["paint"] = {"circle-color": look["circle"], "circle-radius": 4}
        return [circle]
    if "LineString" in spec.geometry_type:
        return _polygon(spec, source, {"line": look["line"]})
    return _polygon(spec, source, look)


# --- styles ------------------------------------------------------------------------------------


def tilejson_url(base_url: str, spec: CollectionSpec | None) -> str:
    """The WebMercatorQuad TileJSON of a collection, or of the dataset (``None``)."""
    if spec is None:
        return f"{base_url}/tiles/{TMS}?f=tilejson"
    return f"{base_url}/collections/{spec.id}/tiles/{TMS}?f=tilejson"


def style_url(base_url: str, style_id: str) -> str:
    return f"{base_url}/styles/{style_id}?f=mapbox"


def _view(specs: Sequence[CollectionSpec]) -> Json:
    boxes = [s.extent.bbox for s in specs if s.extent.bbox is not None]
    if not boxes:
        return {}
    west, south = min(b[0] for b in boxes), min(b[1] for b in boxes)
    east, north = max(b[2] for b in boxes), max(b[3] for b in boxes)
    return {"center": [round((west + east) / 2, 6), round((south + north) / 2, 6)], "zoom": 11}


def _style(style_id: str, name: str, base_url: str, sources: Json, layers: list[Json],
           specs: Sequence[CollectionSpec]) -> Json:  # fmt: skip
    return {
        "version": STYLE_VERSION,
        "name": name,
        "metadata": {
            "onemap:style": style_id,
            "onemap:self": style_url(base_url, style_id),
            "onemap:colours": "config/styles/landuse-2023-colours.csv (docs/tiles.md#styles)",
        },
        **_view(specs),
        "sources": sources,
        "layers": layers,
    }


def collection_style(spec: CollectionSpec, base_url: str) -> Json:
    """The style of one collection: its WebMercatorQuad tileset, drawn by its kind."""
    source = spec.id
    sources = {source: {"type": "vector", "url": tilejson_url(base_url, spec)}}
    layers = collection_layers(spec, source)
    return _style(spec.id, spec.title, base_url, sources, layers, [spec])


def latest_conflicts(registry: Registry) -> CollectionSpec | None:
    """The latest conflict run's patches (the highest run id), if any."""
    runs = [s for s in registry.specs.values() if stamp_key(s) == "plans.conflict_patches"]
    return max(runs, key=lambda s: int(dict(s.fixed)["run_id"]), default=None)


def plan_map_style(registry: Registry, base_url: str) -> Json:
    """The plan map: the dataset tileset's plan layers by 2023 class, the latest conflict
    run's patches, buildings and cells at their zooms, control lines on top."""
    dataset = tiles.dataset_layers(registry)
    source = "onemap"
    sources: Json = {source: {"type": "vector", "url": tilejson_url(base_url, None)}}
    plans = [s for s in dataset if stamp_key(s) == "plans.features"]
    controls = [s for s in plans if map_styles()["control_lines"].get(plan_type(s) or "")]
    layers: list[Json] = []
    for spec in plans:
        if spec not in controls:
            layers += collection_layers(spec, source)
    conflicts = latest_conflicts(registry)
    if conflicts is not None:
        sources[conflicts.id] = {"type": "vector", "url": tilejson_url(base_url, conflicts)}
        layers += collection_layers(conflicts, conflicts.id)
    for spec in dataset:
        if stamp_key(spec) != "plans.features":
            layers += collection_layers(spec, source)
    for spec in controls:
        layers += collection_layers(spec, source)
    return _style(PLAN_MAP, PLAN_MAP_TITLE, base_url, sources, layers, dataset)


def style_ids(registry: Registry) -> list[tuple[str, str]]:
    """(id, title) of every style: the plan map, then one per collection."""
    return [(PLAN_MAP, PLAN_MAP_TITLE), *((s.id, s.title) for s in registry.specs.values())]


def style(registry: Registry, style_id: str, base_url: str) -> Json:
    """A style by id; 404 when there is none (for this caller's registry)."""
    if style_id == PLAN_MAP:
        return plan_map_style(registry, base_url)
    spec = registry.specs.get(style_id)
    if spec is None:
        raise NotFoundError(f"no style {style_id[:200]!r}; the list is at /styles")
    return collection_style(spec, base_url)


# --- documents about styles (OGC API – Styles paths) ---------------------------------------------


def _entry(style_id: str, title: str, href: str) -> Json:
    return {
        "id": style_id,
        "title": title,
        "links": [
            {"rel": "stylesheet", "type": MAPBOX_STYLE, "title": f"{title}: MapLibre style",
             "href": href},
        ],
    }  # fmt: skip


def styles_list(registry: Registry, base_url: str) -> Json:
    """``/styles``."""
    url = f"{base_url}/styles"
    return {
        "styles": [_entry(i, t, style_url(base_url, i)) for i, t in style_ids(registry)],
        "links": [{"rel": "self", "type": "application/json", "title": "this list",
                   "href": url}],
    }  # fmt: skip


def collection_styles(spec: CollectionSpec, base_url: str) -> Json:
    """``/collections/{id}/styles``: the collection's one style (the ``/styles`` one)."""
    url = f"{base_url}/collections/{spec.id}/styles"
    return {
        "styles": [_entry(spec.id, spec.title, style_url(base_url, spec.id))],
        "default": spec.id,
        "links": [{"rel": "self", "type": "application/json", "title": "this list",
                   "href": url}],
    }  # fmt: skip
