"""``coverage-check``: gaps, overlaps, orphans and duplicate IDs of the grid, as
``onemap grid check --json`` prints them, for one community or the whole city.

Its outputs are the report's members, so the results document is the CLI's JSON (persons
appear masked, as in the CLI). Planners and admins check any community or the whole city;
a grid worker only the community their worker row belongs to (``grid.workers``).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import Connection, text

from grid.coverage import KINDS, check
from services.auth.keys import Principal
from services.processes.base import (
    JobContext,
    JsonDict,
    Port,
    Process,
    ProcessForbiddenError,
    ProcessInputError,
)

_COMMUNITY: Final = {"type": "string", "pattern": "^[0-9]{12}$"}
_FINDING: Final = {
    "type": "object",
    "required": ["kind", "key", "community", "detail", "area_m2", "lon", "lat", "refs"],
    "properties": {
        "kind": {"type": "string", "enum": list(KINDS)},
        "key": {"type": "string"},
        "community": {"type": ["string", "null"]},
        "detail": {"type": "string"},
        "area_m2": {"type": ["number", "null"]},
        "lon": {"type": ["number", "null"]},
        "lat": {"type": ["number", "null"]},
        "refs": {"type": "object"},
    },
}

INPUTS: Final = {
    "community": Port(
        "Community",
        _COMMUNITY,
        "The 12-digit code of the community to check; left out, the whole city (its records "
        "without a location too). A grid worker names their own community.",
        min_occurs=0,
    ),
}
OUTPUTS: Final = {
    "community": Port("Community", {"type": ["string", "null"]}, "The community checked."),
    "tolerance_m2": Port(
        "Tolerance", {"type": "number"}, "Pieces smaller than this (m²) are not findings."
    ),
    "counts": Port(
        "Counts",
        {"type": "object", "properties": {k: {"type": "integer"} for k in KINDS}},
        "Findings per kind.",
    ),
    "notes": Port(
        "Notes",
        {"type": "object", "additionalProperties": {"type": "integer"}},
        "Straddling buildings and communities without cells (not errors).",
    ),
    "findings": Port(
        "Findings",
        {"type": "array", "items": _FINDING},
        "Each inconsistency: kind, key, community, detail, area (m²), location, row ids.",
    ),
}


_EXISTS: Final = text(
    "SELECT EXISTS (SELECT 1 FROM grid.admin_areas WHERE code = :c AND level = 'community')"
)


def allowed(caller: Principal) -> bool:
    return caller.role in ("planner", "admin", "grid_worker")


def _check(inputs: JsonDict, caller: Principal) -> None:
    if caller.role == "grid_worker" and inputs.get("community") is None:
        raise ProcessForbiddenError(
            "a grid worker checks their own community only: name it in the input community"
        )


def authorise(conn: Connection, inputs: JsonDict, caller: Principal) -> None:
    """The community exists; a grid worker's is their own."""
    community = inputs.get("community")
    if community is None:
        return
    exists = conn.execute(_EXISTS, {"c": community}).scalar_one()
    if not exists:
        raise ProcessInputError("community", f"no community with code {community}")
    if caller.role == "grid_worker":
        own = conn.execute(
            text("SELECT community_code FROM grid.workers WHERE id = :w"),
            {"w": caller.worker_id if caller.worker_id is not None else -1},
        ).scalar_one_or_none()
        if own != community:
            raise ProcessForbiddenError(
                f"a grid worker checks their own community only ({own or 'none'}), not {community}"
            )


def run(inputs: JsonDict, ctx: JobContext) -> JsonDict:
    with ctx.engine.connect() as conn:
        report = check(conn, inputs.get("community"), settings=ctx.settings.grid)
    return report.as_dict()


PROCESS: Final = Process(
    id="coverage-check",
    title="Grid coverage check",
    description="Gaps and overlaps between the cells of a community, cells outside their "
    "community, buildings outside every cell or not linked, houses, households and persons "
    "without their parent, duplicate citizen IDs (masked); the same report as "
    "`onemap grid check --json`.",
    inputs=INPUTS,
    outputs=OUTPUTS,
    run=run,
    allowed=allowed,
    check=_check,
    authorise=authorise,
    example={"inputs": {"community": "320706001001"}},
    keywords=("grid", "coverage", "quality", "网格", "检查"),
)
