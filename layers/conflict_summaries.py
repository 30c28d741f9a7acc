"""What a stored conflict run found: per type, per county, and the run record itself.

Read back from the database (not from the run in memory), so a report or the CLI can
summarise any earlier run. Areas are ellipsoidal (``ST_Area(geography)`` on EPSG:4490),
given in m², 亩 and ha.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, NamedTuple

from sqlalchemy import Connection

from gis.sql_files import sql
from layers.errors import UnknownLayerError

__all__ = [
    "MU_M2",
    "CountySummary",
    "RunInfo",
    "StoredRun",
    "TypeSummary",
    "list_runs",
    "run_info",
    "summary_by_county",
    "summary_by_type",
]

MU_M2: Final = 10000 / 15
"""One 亩 in m², exactly (≈ 666.67)."""


class TypeSummary(NamedTuple):
    """Patches, their ellipsoidal area (m², 亩, ha), slivers and noise of one type."""

    type: str
    label: str
    severity: str
    patches: int
    area_m2: float
    area_mu: float
    area_ha: float
    slivers: int
    sliver_m2: float
    noise: int


class CountySummary(NamedTuple):
    """Patches of one type whose point on surface lies in one county (None: outside all)."""

    county_code: str | None
    county_name: str | None
    type: str
    patches: int
    area_m2: float
    area_mu: float
    area_ha: float


class RunInfo(NamedTuple):
    """A stored run as listed."""

    id: int
    title: str
    started_at: Any
    finished_at: Any
    created_by: str
    patches: int


class StoredRun(NamedTuple):
    """A stored run in full. ``parameters`` and ``stats`` are the JSON documents the run
    wrote (layers, types with labels and severities, ``type_order``, filters; seconds, noise
    pieces, chunks), kept as JSON because reports only read parts of them."""

    id: int
    title: str
    rules_file: str
    rules_sha256: str
    parameters: dict[str, Any]
    stats: dict[str, Any] | None
    started_at: datetime
    finished_at: datetime | None
    created_by: str


def summary_by_type(conn: Connection, run_id: int) -> list[TypeSummary]:
    """Per conflict type of the run: patches, areas, slivers, noise pieces."""
    info = run_info(conn, run_id)
    noise = (info.stats or {}).get("noise_pieces", {})
    labels = {k: v["label"] for k, v in info.parameters["types"].items()}
    order = {t: i for i, t in enumerate(info.parameters.get("type_order", []))}
    rows = sorted(
        conn.execute(sql(__name__, "summary_by_type"), {"run": run_id}),
        key=lambda r: order.get(r.type, len(order)),
    )
    return [
        TypeSummary(
            r.type,
            labels.get(r.type, r.type),
            r.severity,
            r.patches,
            r.area_m2,
            r.area_m2 / MU_M2,
            r.area_m2 / 1e4,
            r.slivers,
            r.sliver_m2,
            int(noise.get(r.type, 0)),
        )
        for r in rows
    ]


def summary_by_county(conn: Connection, run_id: int) -> list[CountySummary]:
    """Per county and type: patches and their area (the county holds the point on surface)."""
    return [
        CountySummary(
            r.county_code,
            r.county_name,
            r.type,
            r.patches,
            r.area_m2,
            r.area_m2 / MU_M2,
            r.area_m2 / 1e4,
        )
        for r in conn.execute(sql(__name__, "summary_by_county"), {"run": run_id})
    ]


def run_info(conn: Connection, run_id: int) -> StoredRun:
    """The stored run: title, rule file and checksum, parameters, stats, times."""
    row = conn.execute(sql(__name__, "run"), {"run": run_id}).one_or_none()
    if row is None:
        raise UnknownLayerError(f"no conflict run {run_id}: see `onemap plans conflicts --list`")
    return StoredRun(*row)


def list_runs(conn: Connection) -> list[RunInfo]:
    """Every stored run, oldest first."""
    return [RunInfo(*r) for r in conn.execute(sql(__name__, "runs"))]
