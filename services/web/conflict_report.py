"""``GET /map/api/conflicts/{run}``: what a stored conflict run found, per type and per county,
as JSON for the page's report table, read by :mod:`layers.conflict_summaries` (the summaries
``onemap plans report`` writes as CSV) and linked to what the platform serves of the run.

Over HTTP the run's patches are the OGC API collection ``conflicts.run{N}`` (GeoJSON, and
the HTML items page); the GeoPackage and the CSV files of a report are made by the CLI
(``onemap plans report``) and are not served, so the links name only what is.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from layers.conflict_summaries import run_info, summary_by_county, summary_by_type
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


def links(registry: Registry, run_id: int, ogc_path: str, limit: int) -> list[dict[str, str]]:
    """What the platform serves of the run: its patches as GeoJSON (``limit`` a page: the
    API's ceiling) and as the API's page (none when the run is not, or not yet, a published
    collection)."""
    collection = f"conflicts.run{run_id}"
    if collection not in registry.specs:
        return []
    items = f"{ogc_path}/collections/{collection}/items"
    return [
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
