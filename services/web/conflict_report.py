"""``GET /map/api/conflicts/{run}``: what a stored conflict run found, per type and per county,
as JSON for the page's report table, read by :mod:`layers.conflict_summaries` (the summaries
``onemap plans report`` writes as CSV) and linked to what the platform serves of the run.

Over HTTP the run's patches are the OGC API collection ``conflicts.run{N}`` (GeoJSON, and
the HTML items page), and the files of ``onemap plans report`` (the GeoPackage of patches
and slivers, the CSV summaries, the offline HTML map) are made by the same function,
:func:`layers.reports.write_report`, for ``/map/api/conflicts/{run}/files/{name}``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection

from layers.conflict_summaries import run_info, summary_by_county, summary_by_type
from layers.reports import write_report
from services.ogcapi.sources import Registry


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def report(conn: Connection, run_id: int) -> dict[str, Any]:
    """The run's record and its summaries (areas in m², 亩 and ha); ``UnknownLayerError``
    when there is no such run."""
    info = run_info(conn, run_id)
    types = summary_by_type(conn, run_id)
    labels = {t.type: t.label for t in types}
    return {
        "run": {
            "id": info.id,
            "title": info.title,
            "started_at": _iso(info.started_at),
            "finished_at": _iso(info.finished_at),
            "created_by": info.created_by,
            "layers": [
                {"layer": x["layer"], "version": x["version"]}
                for x in info.parameters.get("layers", [])
            ],
        },
        "types": [t._asdict() for t in types],
        "counties": [
            {**c._asdict(), "label": labels.get(c.type, c.type)}
            for c in summary_by_county(conn, run_id)
        ],
    }


FILES: Final = {
    "gpkg": ("application/geopackage+sqlite3", "冲突图斑 GeoPackage", "run-{run}.gpkg"),
    "summary.csv": ("text/csv; charset=utf-8", "按类型汇总 CSV", "run-{run}-summary.csv"),
    "counties.csv": ("text/csv; charset=utf-8", "按县区汇总 CSV", "run-{run}-counties.csv"),
    "html": ("text/html; charset=utf-8", "离线冲突地图 HTML", "run-{run}.html"),
}
"""The report's files by the name in the URL: media type, title, file name."""


def report_file(conn: Connection, run_id: int, name: str) -> tuple[bytes, str]:
    """One file of the run's report and its file name, made as ``onemap plans report``
    makes it (into a private temporary directory, removed afterwards); ``KeyError`` for a
    name not in :data:`FILES`, ``UnknownLayerError`` when there is no such run."""
    media_type, _, pattern = FILES[name]
    del media_type
    with tempfile.TemporaryDirectory(prefix="onemap-report-") as folder:
        write_report(conn, run_id, Path(folder))
        made = Path(folder) / pattern.format(run=run_id)
        body = made.read_bytes() if made.exists() else b""
    return body, pattern.format(run=run_id)


def links(
    registry: Registry, run_id: int, ogc_path: str, api_path: str, limit: int
) -> list[dict[str, str]]:
    """What the platform serves of the run: the report's files, and its patches as GeoJSON
    (``limit`` a page: the API's ceiling) and as the API's page (none of these when the
    run is not, or not yet, a published collection)."""
    collection = f"conflicts.run{run_id}"
    if collection not in registry.specs:
        return []
    items = f"{ogc_path}/collections/{collection}/items"
    files = [
        {
            "rel": "enclosure",
            "type": media_type,
            "title": title,
            "href": f"{api_path}/conflicts/{run_id}/files/{name}",
        }
        for name, (media_type, title, _) in FILES.items()
    ]
    return [
        *files,
        {
            "rel": "alternate",
            "type": "application/geo+json",
            "title": "冲突图斑 GeoJSON",
            "href": f"{items}?f=json&limit={limit}",
        },
        {
            "rel": "alternate",
            "type": "text/html",
            "title": "冲突图斑列表（网页）",
            "href": f"{items}?f=html",
        },
    ]
