"""The ``plan-import`` process: ``onemap plans import`` over HTTP.

A plan layer file is uploaded (zipped Shapefile, GeoPackage or GeoJSON, base64 in the
request) and becomes the next version of a layer through the importer the CLI calls
(:func:`layers.importer.import_plan`, one transaction), answered with the same report as
``onemap plans import --json``. Everything the upload could be refused for is checked before
anything is written: in :func:`check` on the server, and again at the start of :func:`run`
in the worker, which also unpacks the file and opens it as the importer will
(services/processes/uploads.py; GDAL never reads an upload in the server process).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from gis.crs import resolve
from gis.errors import (
    EncodingError,
    GisError,
    LayerChoiceError,
    NoTransformationError,
    UnknownCrsError,
)
from gis.io.encoding import codec_for
from layers.classification import Schemes, load_schemes
from layers.errors import ClassificationError, LayerError, UnknownPlanTypeError
from layers.importer import check_file, import_plan
from layers.registry import LayerSpec, check_spec
from layers.settings import PlanSettings
from services.processes import uploads
from services.processes.base import JobContext, JsonDict, Port, Process, ProcessInputError
from services.settings import ProcessSettings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from services.auth.keys import Principal

__all__ = ["PROCESS", "check", "run"]

_LAYER_ID: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
"""What ``plans.layers.id`` accepts."""
_TEXT: Final = {"type": "string", "minLength": 1, "maxLength": 200}
_BASE64: Final = {"type": "string", "contentEncoding": "base64"}

INPUTS: Final = {
    "file": Port(
        "Plan file",
        {
            "anyOf": [
                {**_BASE64, "contentMediaType": uploads.ZIP},
                {**_BASE64, "contentMediaType": uploads.GPKG},
                {**_BASE64, "contentMediaType": uploads.GEOJSON},
                {"type": "object", "contentMediaType": uploads.GEOJSON, "required": ["type"]},
            ]
        },
        "The file as a qualified value: "
        '{"value": "<base64>", "mediaType": "application/zip", "encoding": "base64"}. '
        "A zip holds exactly one layer (a .shp with its .shx and .dbf, .prj and .cpg if any; "
        "a .gpkg; or a .geojson); a GeoJSON may also be sent as an object. Links are not "
        "fetched. Limits: ONEMAP_PROCESSES_MAX_UPLOAD_MB decoded, "
        "ONEMAP_PROCESSES_MAX_UNPACKED_MB unpacked (docs/processes-plan-import.md).",
        qualified=True,
    ),
    "layer": Port(
        "Layer id",
        {"type": "string", "pattern": f"^{_LAYER_ID.pattern}$"},
        "The layer the file becomes the next version of (a new id is registered).",
    ),
    "plan_type": Port(
        "Plan type",
        _TEXT,
        "landuse_plan, urban_plan, eco_redline, basic_farmland, dev_boundary, current_use, "
        "regulatory_plan, project_redline or other (plans.plan_types).",
    ),
    "scheme": Port(
        "Classification scheme",
        _TEXT,
        "Scheme of the codes: GB/T 21010-2017, GB 50137-2011, 三调, 用地用海分类 2023; none "
        "for control lines.",
        min_occurs=0,
    ),
    "title": Port("Title of a new layer", _TEXT, "Default: the layer id.", min_occurs=0),
    "department": Port("Department of a new layer", _TEXT, min_occurs=0),
    "crs": Port(
        "CRS of the file",
        _TEXT,
        "Overrides the file's own (required when it has none), e.g. EPSG:4528.",
        min_occurs=0,
    ),
    "encoding": Port(
        "Text encoding",
        _TEXT,
        "Of a Shapefile's .dbf (GBK, UTF-8 ...); by default its .cpg if the bytes agree, "
        "else detected.",
        min_occurs=0,
    ),
    "code_field": Port(
        "Code field", _TEXT, "Default: the scheme's usual names (DLBM, YDDM ...).", min_occurs=0
    ),
    "source_layer": Port(
        "GeoPackage layer", _TEXT, "Required when the GeoPackage holds several.", min_occurs=0
    ),
    "snapshot_date": Port(
        "Data date", {"type": "string", "format": "date"}, "YYYY-MM-DD.", min_occurs=0
    ),
    "file_name": Port(
        "File name",
        {"type": "string", "minLength": 1, "maxLength": 120},
        "The name the version records as its source (default: the zip entry's name, else "
        "<layer>.gpkg or <layer>.geojson).",
        min_occurs=0,
    ),
}

_NOTE: Final = {"type": "object", "additionalProperties": False}
OUTPUTS: Final = {
    "layer_id": Port("Layer id", {"type": "string"}),
    "status": Port(
        "Status",
        {"type": "string", "enum": ["imported", "unchanged"]},
        "unchanged: the file has the current version's SHA-256, nothing was written.",
    ),
    "version": Port(
        "Version", {"type": "integer"}, "The new version (when unchanged, the current one)."
    ),
    "version_id": Port("Version id", {"type": "integer"}, "Its id (plans.layer_versions.id)."),
    "source_name": Port("Source file", {"type": "string"}),
    "sha256": Port("SHA-256 of the file", {"type": "string"}, "With a Shapefile's sidecars."),
    "crs": Port("Source CRS", {"type": "string"}),
    "encoding": Port("Text encoding read", {"type": ["string", "null"]}),
    "code_field": Port("Code field", {"type": ["string", "null"]}),
    "read": Port("Features read", {"type": "integer"}),
    "loaded": Port("Features imported", {"type": "integer"}),
    "repaired": Port(
        "Repaired geometries",
        {
            "type": "array",
            "items": {
                **_NOTE,
                "properties": {
                    "fid": {"type": "string"},
                    "notes": {"type": "string"},
                    "stage": {"enum": ["source", "transform"]},
                },
            },
        },
        "Kept after repair: what was done, and whether the geometry was invalid as delivered "
        "(source) or once transformed to EPSG:4490 (transform).",
    ),
    "rejected": Port(
        "Rejected rows",
        {
            "type": "array",
            "items": {
                **_NOTE,
                "properties": {
                    "fid": {"type": "string"},
                    "code": {"type": ["string", "null"]},
                    "reason": {"type": "string"},
                },
            },
        },
        "Left out of the version with the reason (kept in plans.rejects).",
    ),
    "seconds": Port("Seconds", {"type": "number"}),
}

EXAMPLE: Final = {
    "inputs": {
        "file": {
            "mediaType": uploads.GEOJSON,
            "value": {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"XMMC": "示例项目"},
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [
                                [
                                    [119.20, 34.60],
                                    [119.21, 34.60],
                                    [119.21, 34.61],
                                    [119.20, 34.61],
                                    [119.20, 34.60],
                                ]
                            ],
                        },
                    }
                ],
            },
        },
        "layer": "example-redline",
        "plan_type": "project_redline",
        "file_name": "example-redline.geojson",
    }
}


class _Request(NamedTuple):
    """The inputs other than the file, checked."""

    spec: LayerSpec
    crs: str | None
    encoding: str | None
    code_field: str | None
    source_layer: str | None
    snapshot_date: dt.date | None
    file_name: str | None


def allowed(caller: Principal) -> bool:
    """Planners and admins: an import makes a new current version of a plan layer."""
    return caller.role in ("planner", "admin")


def check(inputs: JsonDict, caller: Principal) -> None:
    """The refusals the server can make before queueing, in memory: the inputs, the file
    decoded and examined (size, magic bytes, a zip's directory and layer). Reading the file
    with GDAL is left to the worker (:func:`run`): a damaged file can crash GDAL, which must
    cost a worker process, never the server."""
    _request(inputs, load_schemes(PlanSettings().schemes_file))
    limits = _limits()
    uploads.examine(uploads.decode(inputs.get("file"), limits), limits)


def run(inputs: JsonDict, ctx: JobContext) -> JsonDict:
    """Check everything again (the worker trusts nothing), unpack the file and open it as the
    importer will, then import in one transaction: the previous version stays current until
    it commits."""
    plan = PlanSettings()
    schemes = load_schemes(plan.schemes_file)
    request = _request(inputs, schemes)
    _check_layer(ctx.engine, request.spec)
    with _checked_file(inputs, request, schemes) as path:
        ctx.progress(5, "file checked")
        progress = _Progress(ctx)
        try:
            report = import_plan(
                ctx.engine,
                path,
                request.spec,
                plan,
                crs=request.crs,
                encoding=request.encoding,
                code_field=request.code_field,
                source_layer=request.source_layer,
                snapshot_date=request.snapshot_date,
                imported_by=ctx.caller.label,
                progress=progress.advance,
                total=progress.expect,
            )
        except (GisError, LayerError) as exc:  # a record the file could not give: rolled back
            raise _input_error(exc, request, path.parent) from None
    ctx.progress(100, f"{request.spec.id} version {report.version}: {report.status}")
    return report.as_json()


class _Progress:
    """The import's progress as the job's percentage: 5 once the file is checked, 95 at its
    last feature (the rest is the metric parts and the commit)."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.total: int | None = None
        self.done = 0

    def expect(self, total: int | None) -> None:
        self.total = total

    def advance(self, n: int) -> None:
        self.done += n
        percent = 5 + 90 * self.done // self.total if self.total else 5
        self.ctx.progress(min(percent, 95), f"{self.done} features imported")


def _limits() -> uploads.Limits:
    """The upload limits of the settings, read at call time (never at import)."""
    config = ProcessSettings()
    return uploads.Limits(
        max_bytes=int(config.max_upload_mb * (1 << 20)),
        max_unpacked=int(config.max_unpacked_mb * (1 << 20)),
    )


def _text(inputs: JsonDict, name: str, *, required: bool = False) -> str | None:
    value: Any = inputs.get(name)
    if isinstance(value, dict) and set(value) <= {"value", "mediaType"}:
        value = value.get("value")  # a literal given as a qualified value
    if value is None or value == "":
        if required:
            raise ProcessInputError(name, "is required")
        return None
    if not isinstance(value, str):
        raise ProcessInputError(name, "must be text")
    return value.strip()


def _request(inputs: JsonDict, schemes: Schemes) -> _Request:
    """The inputs besides the file, each refused with its own name."""
    layer = _text(inputs, "layer", required=True) or ""
    if not _LAYER_ID.fullmatch(layer):
        raise ProcessInputError(
            "layer", "use 1-63 lower-case letters, digits, _ and -, starting with a letter or digit"
        )
    plan_type = _text(inputs, "plan_type", required=True) or ""
    scheme = _text(inputs, "scheme")
    if scheme is not None:
        try:
            scheme = schemes.find(scheme).name
        except ClassificationError as exc:
            raise ProcessInputError("scheme", str(exc)) from None
    crs = _text(inputs, "crs")
    if crs is not None:
        try:
            resolve(crs)
        except GisError as exc:
            raise ProcessInputError("crs", str(exc)) from None
    encoding = _text(inputs, "encoding")
    if encoding is not None and codec_for(encoding) is None:
        raise ProcessInputError("encoding", f"unknown encoding {encoding!r} (GBK, UTF-8 ...)")
    snapshot = _text(inputs, "snapshot_date")
    try:
        date = dt.date.fromisoformat(snapshot) if snapshot else None
    except ValueError:
        raise ProcessInputError("snapshot_date", f"{snapshot!r} is not a date YYYY-MM-DD") from None
    spec = LayerSpec(
        layer,
        _text(inputs, "title") or layer,
        plan_type,
        scheme,
        _text(inputs, "department"),
    )
    return _Request(
        spec,
        crs,
        encoding,
        _text(inputs, "code_field"),
        _text(inputs, "source_layer"),
        date,
        _text(inputs, "file_name"),
    )


def _check_layer(engine: Engine, spec: LayerSpec) -> None:
    """The plan type known and the layer, if registered, of that type and scheme (read only)."""
    with engine.connect() as conn:
        try:
            check_spec(conn, spec)
        except UnknownPlanTypeError as exc:
            raise ProcessInputError("plan_type", str(exc)) from None
        except LayerError as exc:
            raise ProcessInputError("layer", str(exc)) from None


@contextmanager
def _checked_file(inputs: JsonDict, request: _Request, schemes: Schemes) -> Iterator[Path]:
    """The uploaded file checked and unpacked in a private directory, opened once as the
    importer will open it (layer, encoding, CRS, code field); the directory is removed on
    leaving."""
    limits = _limits()
    checked = uploads.examine(uploads.decode(inputs.get("file"), limits), limits)
    name = uploads.file_name(request.file_name, checked.upload, request.spec.id)
    with uploads.unpacked(checked, limits, name) as path:
        try:
            check_file(
                path,
                request.spec,
                schemes,
                crs=request.crs,
                encoding=request.encoding,
                code_field=request.code_field,
                source_layer=request.source_layer,
            )
        except (GisError, LayerError) as exc:
            raise _input_error(exc, request, path.parent) from None
        yield path


def _input_error(exc: Exception, request: _Request, directory: Path) -> ProcessInputError:
    """The domain's refusal as the input it is about, without our temporary directory."""
    message = str(exc).replace(f"{directory}/", "")
    name = "file"
    if isinstance(exc, LayerChoiceError):
        name = "source_layer"
    elif isinstance(exc, EncodingError) and request.encoding:
        name = "encoding"
    elif isinstance(exc, UnknownCrsError | NoTransformationError) and request.crs:
        name = "crs"
    elif isinstance(exc, ClassificationError):
        name = "code_field"
    return ProcessInputError(name, message)


PROCESS: Final = Process(
    id="plan-import",
    writes=True,
    title="Import a plan layer",
    description=(
        "A plan layer file (zipped Shapefile, GeoPackage or GeoJSON; encoding and CRS "
        "detected or given) becomes the next version of a layer, with its repaired "
        "geometries and rejected rows listed: `onemap plans import --json` over HTTP. "
        "An unchanged file (same SHA-256 as the current version) makes no version."
    ),
    inputs=INPUTS,
    outputs=OUTPUTS,
    run=run,
    allowed=allowed,
    check=check,
    sync=False,
    example=EXAMPLE,
    keywords=("plans", "import", "upload"),
)
