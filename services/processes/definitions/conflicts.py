"""``conflicts``: the conflict analysis (差异图斑) of plan layers, the process form of
``onemap plans conflicts --json``.

Layer A against one or more others, or against every control line, with the server's rule
file (its version may be pinned by checksum: a rule file on the server is not a path a
client may name) and the CLI's options (``--version LAYER=N``, ``--min-width``). The run is
stored in one transaction as the CLI stores it; the answer is
:meth:`layers.conflicts.RunResult.as_dict`, the dict the CLI prints, and a link to the run's
patches, the collection ``conflicts.run{N}``. Progress is reported per county chunk.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from layers.conflicts import run_conflicts
from layers.errors import LayerError, UnknownLayerError
from layers.registry import get_layer, version
from layers.rules import Rules, load_rules
from layers.settings import PlanSettings
from services.processes.base import JobContext, JsonDict, Port, Process, ProcessInputError

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from services.auth.keys import Principal

__all__ = ["PROCESS"]

_LOADED: Final = 10
"""Percent reported once the layers are loaded and paired; the county chunks share the rest."""


def _layers(inputs: JsonDict) -> list[str]:
    layers = inputs.get("layers")
    if not isinstance(layers, list) or not layers:
        raise ProcessInputError("layers", "name layer A (and B, or set control_lines)")
    if not all(isinstance(name, str) and name for name in layers):
        raise ProcessInputError("layers", "layer ids are non-empty texts")
    if len(set(layers)) != len(layers):
        raise ProcessInputError("layers", f"a layer is compared with itself: {layers}")
    if len(layers) < 2 and not inputs.get("control_lines", False):
        raise ProcessInputError("layers", "name layer B too, or set control_lines")
    return layers


def _versions(inputs: JsonDict) -> dict[str, int]:
    versions = inputs.get("versions") or {}
    if not isinstance(versions, Mapping) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in versions.values()
    ):
        raise ProcessInputError("versions", 'layer id → version number, e.g. {"urban_plan": 1}')
    return dict(versions)


def _settings(inputs: JsonDict) -> tuple[PlanSettings, Rules]:
    """The plan settings with ``min_width``, and the rule file, checked against its pin."""
    config = PlanSettings()
    width = inputs.get("min_width")
    if width is not None:
        if isinstance(width, bool) or not isinstance(width, int | float) or width < 0:
            raise ProcessInputError("min_width", f"metres, 0 or more, not {width!r}")
        config = config.model_copy(update={"min_width_m": float(width)})
    rules = load_rules(config.rules_file)
    pinned = inputs.get("rules_sha256")
    if pinned is not None and pinned != rules.sha256:
        raise ProcessInputError(
            "rules_sha256", f"the server's rule file is {rules.sha256}, not {pinned!r}"
        )
    return config, rules


def check(inputs: JsonDict, caller: Principal) -> None:
    """The layers named sensibly, versions and width well-formed, the rule file pinned right."""
    if not isinstance(inputs.get("control_lines", False), bool):
        raise ProcessInputError("control_lines", "true or false")
    _layers(inputs)
    _versions(inputs)
    _settings(inputs)


def _known(conn: Connection, layers: list[str], versions: dict[str, int]) -> None:
    """Unknown layers and versions as input errors naming the input (the run would refuse
    them too, with the same message, but not say which input)."""
    for name, known in (("layers", {n: None for n in layers}), ("versions", versions)):
        for layer, number in known.items():
            try:
                get_layer(conn, layer)
                version(conn, layer, number)
            except UnknownLayerError as exc:
                raise ProcessInputError(name, str(exc)) from None


def run(inputs: JsonDict, ctx: JobContext) -> JsonDict:
    """Run and store the analysis in one transaction, as the CLI does; its summary."""
    check(inputs, ctx.caller)
    layers, versions = _layers(inputs), _versions(inputs)
    config, rules = _settings(inputs)
    ctx.progress(0, "loading and pairing the layers' features")

    def chunks(done: int, total: int) -> None:
        ctx.progress(
            _LOADED + (100 - _LOADED) * done // max(total, 1),
            f"{done} of {total} county chunks cut",
        )

    with ctx.engine.begin() as conn:
        _known(conn, layers, versions)
        try:
            result = run_conflicts(
                conn,
                layers[0],
                layers[1:],
                rules=rules,
                settings=config,
                control_lines=bool(inputs.get("control_lines", False)),
                versions=versions,
                created_by=ctx.caller.label,
                on_progress=chunks,
            )
        except LayerError as exc:  # no conflict type for these plan types, no control line
            raise ProcessInputError("layers", str(exc)) from None
    collection = f"conflicts.run{result.run_id}"
    base = (ctx.settings.ogc.public_url or "/ogc").rstrip("/")  # the job's results are
    return {  # read at /ogc/jobs/{id}/results: a relative link would resolve below it
        **result.as_dict(),
        "collection": {
            "href": f"{base}/collections/{collection}",
            "rel": "related",
            "type": "application/json",
            "title": f"冲突图斑 Conflict patches: {result.title}",
        },
    }


def allowed(caller: Principal) -> bool:
    """Planners and admins: a run writes a new collection of patches."""
    return caller.role in ("planner", "admin")


_AREAS: Final[JsonDict] = {
    "area_m2": {"type": "number"},
    "area_mu": {"type": "number"},
    "area_ha": {"type": "number"},
}
_BY_TYPE: Final[JsonDict] = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "label": {"type": "string"},
        "severity": {"type": "string"},
        "patches": {"type": "integer"},
        **_AREAS,
        "slivers": {"type": "integer"},
        "sliver_m2": {"type": "number"},
        "noise": {"type": "integer"},
    },
}
_BY_COUNTY: Final[JsonDict] = {
    "type": "object",
    "properties": {
        "county_code": {"type": "string", "nullable": True},
        "county_name": {"type": "string", "nullable": True},
        "type": {"type": "string"},
        "patches": {"type": "integer"},
        **_AREAS,
    },
}

PROCESS: Final = Process(
    id="conflicts",
    writes=True,
    title="Conflict analysis (差异图斑)",
    description="Conflict patches between plan layers (多规合一): layer A against one or "
    "more others, or against every control line (三区三线), with the rule file's conflict "
    "types and the sliver filter. The run is stored; the answer summarises it by type and by "
    "county and links to its patches, the collection `conflicts.run{N}`. Long: run it "
    "asynchronously and follow the job's progress (per county).",
    inputs={
        "layers": Port(
            "Plan layers",
            {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "minItems": 1,
                "maxItems": 20,
                "uniqueItems": True,
            },
            "Layer A, then layer B (or several); A alone with `control_lines`. Ids as "
            "`onemap plans list` shows them (`urban_plan`, `landuse_plan` ...).",
        ),
        "control_lines": Port(
            "Against the control lines",
            {"type": "boolean", "default": False},
            "Compare A with every control line layer (永久基本农田, 生态保护红线, 城镇开发边界).",
            min_occurs=0,
        ),
        "versions": Port(
            "Layer versions",
            {
                "type": "object",
                "additionalProperties": {"type": "integer", "minimum": 1},
                "description": 'Layer id → version number, e.g. {"urban_plan": 1}.',
            },
            "Versions to use instead of the current ones (the CLI's `--version LAYER=N`).",
            min_occurs=0,
        ),
        "min_width": Port(
            "Sliver width (m)",
            {"type": "number", "minimum": 0},
            "A piece nowhere wider than this is a sliver (the CLI's `--min-width`; default "
            "the server's `ONEMAP_PLANS_MIN_WIDTH_M`, 2 m).",
            min_occurs=0,
        ),
        "rules_sha256": Port(
            "Rule file version",
            {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "The SHA-256 of the rule file the run must use (as stored runs record it): "
            "refused when the server's rule file differs.",
            min_occurs=0,
        ),
    },
    outputs={
        "run_id": Port("Run id", {"type": "integer"}),
        "title": Port("Title", {"type": "string"}, "Layer A × the others."),
        "seconds": Port("Duration (s)", {"type": "number"}),
        "by_type": Port(
            "By conflict type",
            {"type": "array", "items": _BY_TYPE},
            "Patches, area (m², 亩, ha), slivers and noise pieces per conflict type.",
        ),
        "by_county": Port(
            "By county",
            {"type": "array", "items": _BY_COUNTY},
            "Patches and area per county and type (by the patch's point on surface).",
        ),
        "collection": Port(
            "Patches",
            {
                "type": "object",
                "required": ["href"],
                "properties": {
                    "href": {"type": "string"},
                    "rel": {"type": "string"},
                    "type": {"type": "string"},
                    "title": {"type": "string"},
                },
            },
            "A link to the run's patches, the collection `conflicts.run{N}`.",
        ),
    },
    run=run,
    allowed=allowed,
    check=check,
    sync=False,
    example={"inputs": {"layers": ["urban_plan", "landuse_plan"]}},
    keywords=("差异图斑", "conflicts", "多规合一"),
)
