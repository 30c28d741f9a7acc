"""``grid-impact``: what an area holds on the grid — buildings, houses, households and
persons per community, counts only — the process form of ``onemap plans impact --json``.

The area is a GeoJSON polygon (``area``, any supported CRS), the patches of a conflict run
(``run``, optionally of some ``types``) or the red line of a stored site check
(``site_check``); the answer is :meth:`layers.impact.Impact.as_dict`, the dict the CLI
prints. Nothing is written (the area lives in a temporary table of the transaction).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from layers import impact as im
from layers.conflict_summaries import run_info
from layers.errors import UnknownLayerError
from services.processes.base import JobContext, JsonDict, Port, Process, ProcessInputError
from services.processes.definitions._polygon_inputs import CRS_SCHEMA, POLYGON_SCHEMA, geojson_site
from services.settings import ProcessSettings

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from services.auth.keys import Principal

__all__ = ["PROCESS"]

_SOURCES: Final = ("area", "run", "site_check")
_MODES: Final = ("intersects", "inside")


def _id(inputs: JsonDict, name: str) -> int | None:
    value = inputs.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ProcessInputError(name, f"an id (a positive integer), not {value!r}")
    return value


def _types(inputs: JsonDict) -> list[str] | None:
    types = inputs.get("types")
    if types is None:
        return None
    if inputs.get("run") is None:
        raise ProcessInputError("types", "only with `run` (the types of its patches)")
    if not isinstance(types, list) or not all(isinstance(t, str) and t for t in types):
        raise ProcessInputError("types", "a list of conflict type keys")
    return types or None


def check(inputs: JsonDict, caller: Principal) -> None:
    """One source of the area, a known mode, and a readable polygon when one is given."""
    given = [name for name in _SOURCES if inputs.get(name) is not None]
    if len(given) != 1:
        raise ProcessInputError(
            "area", f"give one of `area`, `run` or `site_check` (got {len(given)})"
        )
    if inputs.get("mode", "intersects") not in _MODES:
        raise ProcessInputError("mode", f"intersects or inside, not {inputs.get('mode')!r}")
    if inputs.get("crs") is not None and inputs.get("area") is None:
        raise ProcessInputError("crs", "only with `area`")
    _id(inputs, "run")
    _id(inputs, "site_check")
    _types(inputs)
    if inputs.get("area") is not None:
        geojson_site(inputs["area"], inputs.get("crs"), "area")


def _known_types(conn: Connection, run: int, types: list[str]) -> None:
    stored = run_info(conn, run).parameters.get("types", {})
    unknown = sorted(set(types) - set(stored))
    if unknown:
        raise ProcessInputError(
            "types", f"run {run} has no type {', '.join(unknown)}; it has {', '.join(stored)}"
        )


def run(inputs: JsonDict, ctx: JobContext) -> JsonDict:
    """Count in one transaction (read only), as the CLI does."""
    check(inputs, ctx.caller)
    mode = inputs.get("mode", "intersects")
    run_id, site_id, types = _id(inputs, "run"), _id(inputs, "site_check"), _types(inputs)
    ctx.progress(10, "counting buildings, houses, households and persons")
    with ctx.engine.begin() as conn:
        try:
            if run_id is not None:
                if types:
                    _known_types(conn, run_id, types)
                result = im.impact_of_run(conn, run_id, types, mode)
            elif site_id is not None:
                result = im.impact_of_site(conn, site_id, mode)
            else:
                area = geojson_site(inputs["area"], inputs.get("crs"), "area").geometry
                result = im.impact_of_geometry(conn, area, mode)
        except UnknownLayerError as exc:
            name = "run" if run_id is not None else "site_check"
            raise ProcessInputError(name, str(exc)) from None
    return result.as_dict()


def allowed(caller: Principal) -> bool:
    """Planners and admins; everyone when ``ONEMAP_PROCESSES_PUBLIC_GRID_IMPACT`` is on (read
    per call: the contract hands ``allowed`` no settings)."""
    return caller.role in ("planner", "admin") or ProcessSettings().public_grid_impact


_COUNT: Final = {"type": "integer", "minimum": 0}
_COMMUNITY: Final[JsonDict] = {
    "type": "object",
    "description": "Counts in one community (code null: buildings outside every community).",
    "properties": {
        "community_code": {"type": "string", "nullable": True},
        "community_name": {"type": "string", "nullable": True},
        "street_code": {"type": "string", "nullable": True},
        "buildings": _COUNT,
        "houses": _COUNT,
        "households": _COUNT,
        "persons": _COUNT,
    },
}
_EXAMPLE_AREA: Final[dict[str, Any]] = {
    "type": "Polygon",
    "coordinates": [
        [
            [119.122077, 34.522452],
            [119.128611, 34.522499],
            [119.128555, 34.527907],
            [119.12202, 34.52786],
            [119.122077, 34.522452],
        ]
    ],
}
"""A 600 m square of the sample city around a few hundred buildings."""

PROCESS: Final = Process(
    id="grid-impact",
    title="Impact on the grid (网格影响)",
    description="Buildings, houses (户室), households and persons inside an area, in total and "
    "per community: a polygon (e.g. a planned road corridor), the patches of a conflict run, "
    "or the red line of a stored site check. Counts only, never a person, name or address.",
    inputs={
        "area": Port(
            "Area (GeoJSON)",
            POLYGON_SCHEMA,
            "A polygon; give this, `run` or `site_check`.",
            min_occurs=0,
        ),
        "crs": Port("CRS", CRS_SCHEMA, "Of `area`; default its own, else CRS84.", min_occurs=0),
        "run": Port(
            "Conflict run",
            {"type": "integer", "minimum": 1},
            "The id of a conflict run: the area is its patches.",
            min_occurs=0,
        ),
        "types": Port(
            "Conflict types",
            {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
            "With `run`: only the patches of these conflict types.",
            min_occurs=0,
        ),
        "site_check": Port(
            "Site check",
            {"type": "integer", "minimum": 1},
            "The id of a stored site check (`site-check`'s `id`): the area is its red line.",
            min_occurs=0,
        ),
        "mode": Port(
            "Counting mode",
            {"type": "string", "enum": list(_MODES), "default": "intersects"},
            "`intersects`: buildings that meet the area; `inside`: buildings whose point on "
            "surface lies in it.",
            min_occurs=0,
        ),
    },
    outputs={
        "mode": Port("Counting mode", {"type": "string", "enum": list(_MODES)}),
        "buildings": Port("Buildings", _COUNT),
        "houses": Port("Houses (户室)", _COUNT),
        "households": Port("Households", _COUNT),
        "persons": Port("Persons", _COUNT),
        "by_community": Port(
            "By community", {"type": "array", "items": _COMMUNITY}, "The counts per community."
        ),
    },
    run=run,
    allowed=allowed,
    check=check,
    example={"inputs": {"area": _EXAMPLE_AREA, "mode": "intersects"}},
    keywords=("网格", "影响", "impact", "多规合一"),
)
