"""Reports of a conflict run: GeoPackage of patches and slivers, CSV summaries, offline map.

The HTML map is made with folium and works without a network: Leaflet's JavaScript and CSS
(``layers/static/leaflet``, Leaflet 1.9.4 from its npm package, BSD-2-Clause) are inlined,
folium's CDN links (jQuery, Bootstrap, Font Awesome) are left out, and no tile layer is used.
Conflicts are coloured by type over the run's plan layers (coloured by category).
"""

from __future__ import annotations

import base64
import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final, NamedTuple

import shapely
from sqlalchemy import Connection

from gis.crs import STORAGE_SRID
from gis.io import Record, write_vector
from gis.sql_files import sql
from layers.conflict_summaries import (
    MU_M2,
    StoredRun,
    run_info,
    summary_by_county,
    summary_by_type,
)

__all__ = ["ReportFiles", "write_report"]

STATIC: Final = Path(__file__).resolve().parent / "static" / "leaflet"
TYPE_COLOURS: Final = ("#d7191c", "#7b3294", "#2166ac", "#e66101", "#c51b7d", "#8c510a", "#01665e")
CATEGORY_COLOURS: Final = {
    "建设": "#f4a582",
    "农用": "#d9f0a3",
    "生态": "#78c679",
    "水域": "#9ecae1",
    "其他": "#e0e0e0",
}
CONTROL_COLOURS: Final = {
    "basic_farmland": "#1a9850",
    "eco_redline": "#c51b7d",
    "dev_boundary": "#5e3c99",
}
_PATCH_FIELDS: Final = (
    "type",
    "label",
    "severity",
    "a_layer",
    "a_version",
    "a_fid",
    "a_code",
    "a_code_2023",
    "b_layer",
    "b_version",
    "b_fid",
    "b_code",
    "b_code_2023",
    "county_code",
    "street_code",
    "community_code",
    "pieces",
    "area_m2",
    "area_mu",
    "area_ha",
)


class ReportFiles(NamedTuple):
    """The files written for one run."""

    directory: Path
    geopackage: Path
    summary_csv: Path
    county_csv: Path
    html: Path


def write_report(
    conn: Connection, run_id: int, out_dir: Path, *, max_background: int = 20_000
) -> ReportFiles:
    """Write ``run-<id>.gpkg``, ``run-<id>-summary.csv``, ``run-<id>-counties.csv`` and
    ``run-<id>.html`` into ``out_dir``; plan layers with more than ``max_background``
    features are left off the map (the GeoPackage has every patch)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    info = run_info(conn, run_id)
    labels = {k: v["label"] for k, v in info.parameters["types"].items()}
    stem = out / f"run-{run_id}"
    gpkg = stem.with_suffix(".gpkg")
    gpkg.unlink(missing_ok=True)
    patches = list(_patches(conn, run_id, labels))
    if patches:
        write_vector(gpkg, iter(patches), crs=f"EPSG:{STORAGE_SRID}", layer="patches")
    slivers = list(_slivers(conn, run_id, labels))
    if slivers:
        write_vector(gpkg, iter(slivers), crs=f"EPSG:{STORAGE_SRID}", layer="slivers")
    if not patches and not slivers:
        write_vector(gpkg, iter([_empty_record()]), crs=f"EPSG:{STORAGE_SRID}", layer="patches")
    summary = Path(f"{stem}-summary.csv")
    with summary.open("w", newline="", encoding="utf-8-sig") as handle:  # BOM: Excel reads UTF-8
        writer = csv.writer(handle)
        writer.writerow(
            [
                "type",
                "label",
                "severity",
                "patches",
                "area_m2",
                "area_mu",
                "area_ha",
                "slivers",
                "sliver_area_m2",
                "noise_pieces",
            ]
        )
        for s in summary_by_type(conn, run_id):
            writer.writerow(
                [
                    s.type,
                    s.label,
                    s.severity,
                    s.patches,
                    f"{s.area_m2:.2f}",
                    f"{s.area_mu:.4f}",
                    f"{s.area_ha:.6f}",
                    s.slivers,
                    f"{s.sliver_m2:.2f}",
                    s.noise,
                ]
            )
    counties = Path(f"{stem}-counties.csv")
    with counties.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["county_code", "county_name", "type", "patches", "area_m2", "area_mu", "area_ha"]
        )
        for c in summary_by_county(conn, run_id):
            writer.writerow(
                [
                    c.county_code or "",
                    c.county_name or "",
                    c.type,
                    c.patches,
                    f"{c.area_m2:.2f}",
                    f"{c.area_mu:.4f}",
                    f"{c.area_ha:.6f}",
                ]
            )
    html = stem.with_suffix(".html")
    html.write_text(_html(conn, run_id, info, patches, max_background), encoding="utf-8")
    return ReportFiles(out, gpkg, summary, counties, html)


def _empty_record() -> Record:
    return Record("0", {f: None for f in _PATCH_FIELDS}, shapely.MultiPolygon())


def _patches(conn: Connection, run_id: int, labels: dict[str, str]) -> Iterator[Record]:
    for row in conn.execute(sql(__name__, "patches"), {"run": run_id}).mappings():
        props = {k: row[k] for k in _PATCH_FIELDS if k in row}
        props["label"] = labels.get(row["type"], row["type"])
        yield Record(str(row["id"]), props, shapely.from_wkb(bytes(row["wkb"])))


def _slivers(conn: Connection, run_id: int, labels: dict[str, str]) -> Iterator[Record]:
    for row in conn.execute(sql(__name__, "slivers"), {"run": run_id}).mappings():
        props = {k: row[k] for k in row if k not in ("wkb", "id")}
        props["label"] = labels.get(row["type"], row["type"])
        yield Record(str(row["id"]), props, shapely.from_wkb(bytes(row["wkb"])))


def _leaflet() -> tuple[str, str]:
    """Leaflet's JS and CSS, the layer-control icons inlined as data URIs."""
    css = (STATIC / "leaflet.css").read_text(encoding="utf-8")
    for name in ("layers-2x.png", "layers.png"):
        data = base64.b64encode((STATIC / name).read_bytes()).decode("ascii")
        css = css.replace(f"url(images/{name})", f"url(data:image/png;base64,{data})")
    return (STATIC / "leaflet.js").read_text(encoding="utf-8"), css


def _feature_collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def _html(
    conn: Connection,
    run_id: int,
    info: StoredRun,
    patches: list[Record],
    max_background: int,
) -> str:
    import folium  # heavy: only when a map is made

    types = list(info.parameters.get("type_order") or info.parameters["types"])
    colours = {t: TYPE_COLOURS[i % len(TYPE_COLOURS)] for i, t in enumerate(types)}
    bounds = shapely.total_bounds([r.geometry for r in patches]) if patches else None
    fmap = folium.Map(
        tiles=None, control_scale=True, prefer_canvas=True, zoom_start=9, location=[34.6, 119.2]
    )
    fmap.default_js = []
    fmap.default_css = []
    js, css = _leaflet()
    root: Any = fmap.get_root()
    root.header.add_child(folium.Element(f"<style>{css}</style>"), name="leaflet_css_inline")
    root.header.add_child(folium.Element(f"<script>{js}</script>"), name="leaflet_js_inline")
    root.header.add_child(folium.Element(_STYLE), name="report_style")
    skipped = []
    for layer in info.parameters["layers"]:
        rows = conn.execute(
            sql(__name__, "background"),
            {"lv": layer["layer_version_id"], "limit": max_background + 1},
        ).all()
        if len(rows) > max_background:
            skipped.append(layer["layer"])
            continue
        control = CONTROL_COLOURS.get(layer["plan_type"])
        feats = [
            {
                "type": "Feature",
                "geometry": json.loads(r.geojson),
                "properties": {
                    "fid": r.source_fid,
                    "code": r.source_code or "",
                    "category": r.category or "",
                },
            }
            for r in rows
        ]
        folium.GeoJson(
            _feature_collection(feats),
            name=f"{layer['layer']} v{layer['version']}",
            style_function=(
                (
                    lambda _f, c=control: {
                        "color": c,
                        "weight": 1.2,
                        "fillColor": c,
                        "fillOpacity": 0.08,
                        "dashArray": "4 3",
                    }
                )
                if control
                else (
                    lambda f: {
                        "color": "#999999",
                        "weight": 0.4,
                        "fillOpacity": 0.45,
                        "fillColor": CATEGORY_COLOURS.get(f["properties"]["category"], "#eeeeee"),
                    }
                )
            ),
            tooltip=folium.GeoJsonTooltip(
                ["fid", "code", "category"], aliases=["图斑", "代码", "类别"]
            ),
        ).add_to(fmap)
    severity = {t: v["severity"] for t, v in info.parameters["types"].items()}
    for t in sorted(types, key=lambda t: _DRAW_ORDER.get(severity.get(t, ""), 0)):  # hard on top
        feats = [
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(r.geometry),
                "properties": _tooltip(r.properties),
            }
            for r in patches
            if r.properties["type"] == t
        ]
        if not feats:
            continue
        folium.GeoJson(
            _feature_collection(feats),
            name=info.parameters["types"][t]["label"],
            style_function=lambda _f, c=colours[t]: {
                "color": c,
                "weight": 2.5,
                "fillColor": c,
                "fillOpacity": 0.65,
            },
            tooltip=folium.GeoJsonTooltip(
                ["label", "a", "b", "area"], aliases=["类型", "A", "B", "面积"]
            ),
        ).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    if bounds is not None:
        fmap.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    root.html.add_child(folium.Element(_legend(conn, run_id, info, colours, skipped)))
    return str(root.render())


_DRAW_ORDER: Final = {"minor": 0, "major": 1, "hard": 2}


def _tooltip(p: dict[str, Any]) -> dict[str, str]:
    return {
        "label": p["label"],
        "a": f"{p['a_layer']} {p['a_fid']} {p['a_code'] or ''}",
        "b": f"{p['b_layer']} {p['b_fid'] or ''} {p['b_code'] or ''}",
        "area": f"{p['area_m2']:,.0f} m² / {p['area_mu']:,.1f} 亩",
    }


_STYLE: Final = """<style>
.onemap-legend {position: absolute; bottom: 26px; right: 10px; z-index: 1000; background: #fff;
  padding: 8px 10px; border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,.35);
  font: 12px/1.4 "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; max-width: 520px}
.onemap-legend table {border-collapse: collapse} .onemap-legend td {padding: 1px 6px}
.onemap-legend .sw {display: inline-block; width: 14px; height: 10px; margin-right: 4px}
.leaflet-container {background: #f7f7f2}
</style>"""


def _legend(
    conn: Connection, run_id: int, info: StoredRun, colours: dict[str, str], skipped: list[str]
) -> str:
    from html import escape

    rows = []
    for s in summary_by_type(conn, run_id):
        rows.append(
            f'<tr><td><span class="sw" style="background:{colours.get(s.type, "#000")}"></span>'
            f"{escape(s.label)}</td><td>{escape(s.severity)}</td><td>{s.patches}</td>"
            f"<td>{s.area_m2 / 1e4:,.2f} ha</td><td>{s.area_m2 / MU_M2:,.1f} 亩</td>"
            f"<td>{s.slivers}</td></tr>"
        )
    note = (
        f"<div>not drawn (too many features): {escape(', '.join(skipped))}</div>" if skipped else ""
    )
    versions = ", ".join(f"{escape(x['layer'])} v{x['version']}" for x in info.parameters["layers"])
    return (
        f'<div class="onemap-legend"><b>冲突分析 run {run_id}</b>: {escape(info.title)}'
        f"<div>{versions}</div><table><tr><td>类型</td><td>级别</td><td>图斑</td><td>面积</td>"
        f"<td></td><td>碎片</td></tr>{''.join(rows)}</table>{note}</div>"
    )
