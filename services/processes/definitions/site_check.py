"""``site-check``: a project red line against every control layer (项目选址合规性审查), the
process form of ``onemap plans sitecheck --json``.

The red line is a GeoJSON polygon (``site``) or a 界址点 list (``points``); the answer is
:meth:`layers.sitecheck.SiteReport.as_dict`, the very dict the CLI prints. Like the CLI, the
check is stored (``plans.site_checks``, with the red line and the layer versions used) in
one transaction, so ``grid-impact`` can name it later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from layers.classification import load_schemes
from layers.errors import SiteError
from layers.rules import load_rules
from layers.settings import PlanSettings
from layers.sitecheck import Site, check_site, use_class
from services.processes.base import JobContext, JsonDict, Port, Process, ProcessInputError
from services.processes.definitions._polygon_inputs import (
    AXES_SCHEMA,
    CRS_SCHEMA,
    POINTS_SCHEMA,
    POLYGON_SCHEMA,
    geojson_site,
    points_site,
)
from services.settings import ProcessSettings

if TYPE_CHECKING:
    from services.auth.keys import Principal

__all__ = ["PROCESS"]

_NAME: Final = "site"
"""The check's name when none is given (the CLI's for ``--geojson``)."""


def _site(inputs: JsonDict) -> Site:
    has_site, has_points = inputs.get("site") is not None, inputs.get("points") is not None
    if has_site == has_points:
        raise ProcessInputError(
            "site", "give the red line as `site` (GeoJSON) or as `points` (界址点), one of them"
        )
    if has_site:
        if inputs.get("axes", "auto") != "auto":
            raise ProcessInputError("axes", "only for `points`: GeoJSON is read x first")
        return geojson_site(inputs["site"], inputs.get("crs"), "site")
    return points_site(inputs["points"], inputs.get("crs"), inputs.get("axes", "auto"))


def _text(inputs: JsonDict, name: str) -> str | None:
    value = inputs.get(name)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ProcessInputError(name, "a non-empty text")
    return value


def check(inputs: JsonDict, caller: Principal) -> None:
    """Read the red line and the planned use as the run will (no database needed)."""
    _site(inputs)
    _text(inputs, "name")
    use = _text(inputs, "use")
    if use is not None:
        try:
            use_class(load_schemes(PlanSettings().schemes_file), use)
        except SiteError as exc:
            raise ProcessInputError("use", str(exc)) from None


def run(inputs: JsonDict, ctx: JobContext) -> JsonDict:
    """Check and store the site in one transaction, as the CLI does; its report."""
    site = _site(inputs)
    config = PlanSettings()
    rules, schemes = load_rules(config.rules_file), load_schemes(config.schemes_file)
    ctx.progress(10, "checking the red line against the control layers")
    try:
        with ctx.engine.begin() as conn:
            report = check_site(
                conn,
                site,
                rules=rules,
                schemes=schemes,
                settings=config,
                name=_text(inputs, "name") or _NAME,
                use=_text(inputs, "use"),
                checked_by=ctx.caller.label,
            )
    except SiteError as exc:
        raise ProcessInputError("use", str(exc)) from None
    return report.as_dict()


def allowed(caller: Principal) -> bool:
    """Planners and admins; everyone when ``ONEMAP_PROCESSES_PUBLIC_SITE_CHECK`` is on (read
    per call: the contract hands ``allowed`` no settings)."""
    return caller.role in ("planner", "admin") or ProcessSettings().public_site_check


_AREA: Final = {"type": "number", "minimum": 0}
_FEATURE: Final[JsonDict] = {
    "type": "object",
    "description": "A feature (图斑) of the layer version that the site overlaps.",
    "properties": {
        "feature_id": {"type": "integer"},
        "fid": {"type": "string", "nullable": True},
        "code": {"type": "string", "nullable": True},
        "code_2023": {"type": "string", "nullable": True},
        "category": {"type": "string", "nullable": True},
        "overlap_m2": _AREA,
    },
}
_ITEM: Final[JsonDict] = {
    "type": "object",
    "description": "One check of the rule file against one control layer's current version.",
    "properties": {
        "check": {"type": "string", "description": "The check's key in the rule file."},
        "label": {"type": "string"},
        "layer_id": {"type": "string"},
        "layer_version": {"type": "integer", "description": "The version used."},
        "layer_version_id": {"type": "integer"},
        "verdict": {"type": "string", "enum": ["pass", "warn", "fail"]},
        "overlap_m2": _AREA,
        "overlap_mu": _AREA,
        "overlap_ha": _AREA,
        "share": {"type": "number", "minimum": 0, "maximum": 1},
        "message": {"type": "string"},
        "features": {"type": "array", "items": _FEATURE},
    },
}


_EXAMPLE_SITE: Final[dict[str, Any]] = {
    "type": "Polygon",
    "coordinates": [
        [
            [119.356675, 34.616404],
            [119.357329, 34.616407],
            [119.357325, 34.616948],
            [119.356671, 34.616944],
            [119.356675, 34.616404],
        ]
    ],
}
"""A 60 m square of the sample city on 永久基本农田 (the site check fails)."""

PROCESS: Final = Process(
    id="site-check",
    writes=True,
    title="Site compliance check (项目选址合规性审查)",
    description="A project red line against every control layer of the rule file's site "
    "checks (永久基本农田, 生态保护红线, 城镇开发边界, planned use ...): a verdict per layer "
    "(pass, warn, fail) and overall, the overlapping area in m², 亩 and ha, its share of the "
    "site, the features involved and the layer versions used. The check is stored, as "
    "`onemap plans sitecheck` stores it; its `id` names it to `grid-impact`.",
    inputs={
        "site": Port(
            "Red line (GeoJSON)",
            POLYGON_SCHEMA,
            "The project's red line as GeoJSON; give this or `points`.",
            min_occurs=0,
        ),
        "points": Port(
            "Red line (界址点)",
            POINTS_SCHEMA,
            "The red line as boundary points in order; give this or `site`.",
            min_occurs=0,
        ),
        "crs": Port("CRS", CRS_SCHEMA, "Default: the GeoJSON's own, else CRS84.", min_occurs=0),
        "axes": Port("Axis order", AXES_SCHEMA, "For `points` only.", min_occurs=0),
        "use": Port(
            "Planned use",
            {
                "type": "string",
                "title": "2023 用地用海分类 code",
                "description": "The project's planned use (`0701`, `0901`, `1001` ...); "
                "without it the site is taken as urban construction.",
                "pattern": "^[0-9A-Za-z]{2,8}$",
            },
            min_occurs=0,
        ),
        "name": Port(
            "Project name",
            {"type": "string", "minLength": 1, "maxLength": 200, "default": _NAME},
            "What the stored check is called (default `site`, as the CLI's).",
            min_occurs=0,
        ),
    },
    outputs={
        "id": Port("Site check id", {"type": "integer"}, "The stored check (`grid-impact`)."),
        "name": Port("Project name", {"type": "string"}),
        "verdict": Port(
            "Overall verdict", {"type": "string", "enum": ["pass", "warn", "fail"]}, "The worst."
        ),
        "area_m2": Port("Site area (m²)", _AREA, "Ellipsoidal (CGCS2000)."),
        "area_mu": Port("Site area (亩)", _AREA),
        "area_ha": Port("Site area (ha)", _AREA),
        "use": Port("Planned use", {"type": "string", "nullable": True}),
        "notes": Port(
            "Notes",
            {"type": "array", "items": {"type": "string"}},
            "How the red line was read (axes swapped, rings, repairs).",
        ),
        "items": Port(
            "Checks", {"type": "array", "items": _ITEM}, "A verdict per check and control layer."
        ),
    },
    run=run,
    allowed=allowed,
    check=check,
    example={"inputs": {"site": _EXAMPLE_SITE, "use": "0901", "name": "示例项目"}},
    keywords=("选址", "红线", "site check", "多规合一"),
)
