"""``grid-stats``: the statistics roll-up per level, as ``onemap grid stats --json`` prints it.

Its outputs are the report's members, so the results document is the CLI's JSON.
Aggregate counts only (no person), for planners and admins as the grid checks are.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from grid.stats import LEVELS, stats
from services.auth.keys import Principal
from services.processes.base import JobContext, JsonDict, Port, Process, ProcessInputError

_COUNT: Final = {"type": "integer", "minimum": 0}
_COUNTS: Final = ("cells", "buildings", "houses", "households", "persons", "elderly")
_AREA: Final = {
    "type": "object",
    "required": ["code", "name", *_COUNTS],
    "properties": {"code": {"type": "string"}, "name": {"type": "string"},
                   **{c: _COUNT for c in _COUNTS}},
}  # fmt: skip

INPUTS: Final = {
    "level": Port(
        "Level",
        {"type": "string", "enum": list(LEVELS)},
        "The areas counted: every cell, community, street (街道/镇/乡) or county.",
    ),
    "reference_date": Port(
        "Reference date",
        {"type": "string", "format": "date"},
        "The day ages are taken at (elderly: 60 or more); default today.",
        min_occurs=0,
    ),
}
OUTPUTS: Final = {
    "level": Port("Level", {"type": "string", "enum": list(LEVELS)}),
    "reference_date": Port("Reference date", {"type": "string", "format": "date"}),
    "areas": Port(
        "Areas",
        {"type": "array", "items": _AREA},
        "Per area: its cells, buildings, houses, households, persons and elderly.",
    ),
    "totals": Port(
        "Totals",
        {"type": "object", "properties": {c: _COUNT for c in _COUNTS}},
        "The sums over the areas.",
    ),
    "unassigned": Port(
        "Not in any cell",
        {"type": "object", "additionalProperties": _COUNT},
        "Buildings and persons that reach no cell along the links.",
    ),
}


def allowed(caller: Principal) -> bool:
    return caller.role in ("planner", "admin")


def _reference(inputs: JsonDict) -> dt.date | None:
    value = inputs.get("reference_date")
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ProcessInputError("reference_date", f"{value!r} is not a date (YYYY-MM-DD)") from None


def check(inputs: JsonDict, caller: Principal) -> None:
    _reference(inputs)


def run(inputs: JsonDict, ctx: JobContext) -> JsonDict:
    with ctx.engine.connect() as conn:
        report = stats(conn, inputs["level"], _reference(inputs))
    return report.as_dict()


PROCESS: Final = Process(
    id="grid-stats",
    title="Grid statistics",
    description="Persons, households, houses, buildings and elderly (60 or more) per cell, "
    "community, street or county, counted along the links person → household → house → "
    "building → cell; the same report as `onemap grid stats --json`.",
    inputs=INPUTS,
    outputs=OUTPUTS,
    run=run,
    allowed=allowed,
    check=check,
    example={"inputs": {"level": "county", "reference_date": "2024-06-30"}},
    keywords=("grid", "statistics", "网格", "统计"),
)
