"""The Processes routes in the OpenAPI document (services/ogcapi/process_routes.py): the
process list and descriptions, execution, the jobs, their status, results and dismissal.

The process ids are not enumerated (which exist depends on the caller's key); each process's
inputs and outputs are described by ``/processes/{processId}``, as OGC API – Processes
intends. Operations a key changes carry an optional ``security`` (anonymous callers run only
the processes open to them, and see their own jobs by id only).
"""

from __future__ import annotations

from typing import Final

from services.ogcapi.openapi_schemas import Json, array, schema_ref
from services.ogcapi.openapi_writes import SECURITY

JSON: Final = "application/json"
PROCESSES_TAG: Final = "processes"
_OPTIONAL_KEY: Final = [{}, *SECURITY]
_NULLABLE_TIME: Final = {"type": "string", "format": "date-time", "nullable": True}
_STATUSES: Final = ["accepted", "running", "successful", "failed", "dismissed"]
_LINKS: Final = array(schema_ref("Link"))
_PORT: Final = {
    "type": "object",
    "required": ["schema"],
    "properties": {"title": {"type": "string"}, "description": {"type": "string"},
                   "schema": {"type": "object"}, "minOccurs": {"type": "integer"},
                   "maxOccurs": {"type": "integer"},
                   "keywords": array({"type": "string"})},
}  # fmt: skip
_SUMMARY: Final = {
    "id": {"type": "string"},
    "title": {"type": "string"},
    "description": {"type": "string"},
    "version": {"type": "string"},
    "keywords": array({"type": "string"}),
    "jobControlOptions": array(
        {"type": "string", "enum": ["sync-execute", "async-execute", "dismiss"]}
    ),
    "outputTransmission": array({"type": "string", "enum": ["value", "reference"]}),
    "links": _LINKS,
}

SCHEMAS: Final[dict[str, Json]] = {
    "ProcessList": {
        "type": "object",
        "required": ["processes", "links"],
        "properties": {
            "processes": array({"type": "object", "required": ["id", "version", "links"],
                                "properties": _SUMMARY}),
            "links": _LINKS,
        },
    },
    "Process": {
        "type": "object",
        "required": ["id", "version", "inputs", "outputs", "links"],
        "properties": {**_SUMMARY,
                       "inputs": {"type": "object", "additionalProperties": _PORT},
                       "outputs": {"type": "object", "additionalProperties": _PORT},
                       "example": {"type": "object",
                                   "description": "An execute request for the sample city."}},
    },
    "Execute": {
        "type": "object",
        "description": "Inputs by input id (values, or {\"value\": …} qualified values); the "
        "outputs wanted (by id, transmissionMode value); response document or raw.",
        "properties": {
            "inputs": {"type": "object"},
            "outputs": {"type": "object", "additionalProperties": {
                "type": "object",
                "properties": {"transmissionMode": {"type": "string", "enum": ["value"]}},
            }},
            "response": {"type": "string", "enum": ["document", "raw"], "default": "document"},
        },
    },
    "Results": {
        "description": "The outputs by output id (response document), or the one output's "
        "value (raw).",
    },
    "StatusInfo": {
        "type": "object",
        "required": ["jobID", "status", "type", "links"],
        "properties": {
            "jobID": {"type": "string", "format": "uuid"},
            "processID": {"type": "string"},
            "type": {"type": "string", "enum": ["process"]},
            "status": {"type": "string", "enum": _STATUSES},
            "message": {"type": "string"},
            "progress": {"type": "integer", "minimum": 0, "maximum": 100},
            "created": _NULLABLE_TIME,
            "started": _NULLABLE_TIME,
            "finished": _NULLABLE_TIME,
            "updated": _NULLABLE_TIME,
            "links": _LINKS,
        },
    },
    "JobList": {
        "type": "object",
        "required": ["jobs", "links"],
        "properties": {"jobs": array(schema_ref("StatusInfo")), "links": _LINKS},
    },
}  # fmt: skip

_ERROR: Final = {JSON: {"schema": schema_ref("Exception")}}
_TEXT: Final = {
    "400": "A parameter or body that cannot be used (what to fix is named).",
    "403": "The key's role may not run this process, or not on these inputs.",
    "404": "No such process or job for this caller (type no-such-process, no-such-job), or "
    "results not ready yet (result-not-ready).",
    "405": "The path does not take this method.",
    "409": "The job was dismissed: it has no results.",
    "413": "The body is larger than the server takes.",
    "414": "The URL is longer than the server takes.",
    "415": "The body is not application/json.",
    "429": "Too many bad keys from this address: try again after Retry-After seconds.",
    "431": "The request headers are too large.",
    "500": "The job failed (its reason; an internal error is logged on the server).",
    "503": "The database or the job workers cannot answer now; try again later.",
}


def _errors(*statuses: str) -> dict[str, Json]:
    return {s: {"description": _TEXT[s], "content": _ERROR} for s in statuses}


def _query(name: str, description: str, schema: Json) -> Json:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema, "style": "form", "explode": False}  # fmt: skip


_F: Final = _query("f", "Format: JSON only.", {"type": "string", "enum": ["json"]})
_PROCESS_ID: Final = {"name": "processId", "in": "path", "required": True,
                      "description": "A process id (GET /processes lists them).",
                      "schema": {"type": "string"}}  # fmt: skip
_JOB_ID: Final = {"name": "jobId", "in": "path", "required": True,
                  "description": "A job id (from Location, or GET /jobs).",
                  "schema": {"type": "string"}}  # fmt: skip
_PREFER: Final = {
    "name": "Prefer", "in": "header", "required": False, "schema": {"type": "string"},
    "description": "respond-async: queue the job and answer 201 at once; respond-sync: "
    "wait for the outputs. Without it, quick processes run synchronously.",
}  # fmt: skip
_JOB_PARAMETERS: Final = [
    _F,
    _query("limit", "Jobs per page (at most 1000).",
           {"type": "integer", "minimum": 1, "default": 20}),
    _query("offset", "Jobs to skip (next links page on).",
           {"type": "integer", "minimum": 0, "default": 0}),
    _query("processID", "Only jobs of this process.", {"type": "string"}),
    _query("status", "Only jobs in these statuses (comma-separated).",
           array({"type": "string", "enum": _STATUSES})),
]  # fmt: skip
_BASE: Final = ("400", "414", "431", "503")


def _ok(description: str, schema: str, headers: Json | None = None) -> Json:
    found: Json = {"description": description, "content": {JSON: {"schema": schema_ref(schema)}}}
    if headers:
        found["headers"] = headers
    return found


def _read(
    name: str, summary: str, parameters: list[Json], ok: Json, errors: tuple[str, ...], keyed: bool
) -> Json:
    """GET as described, and HEAD with the same statuses and no body."""
    responses = {"200": ok, **_errors(*errors)}
    head = {s: {"description": r["description"]} for s, r in responses.items()}
    common: Json = {"summary": summary, "tags": [PROCESSES_TAG], "parameters": parameters}
    if keyed:
        common["security"] = _OPTIONAL_KEY
    return {"get": {**common, "operationId": f"get{name}", "responses": responses},
            "head": {**common, "operationId": f"head{name}", "responses": head}}  # fmt: skip


def paths() -> dict[str, Json]:
    """Every path of the Processes routes with its operations."""
    job_errors = (*_BASE, "404")
    status = _ok("The job's status.", "StatusInfo")
    execute: Json = {
        "summary": "Execute a process (synchronously, or as a job with Prefer: respond-async)",
        "tags": [PROCESSES_TAG],
        "operationId": "execute",
        "security": _OPTIONAL_KEY,
        "parameters": [_PROCESS_ID, _PREFER],
        "requestBody": {"required": True, "content": {JSON: {"schema": schema_ref("Execute")}}},
        "responses": {
            "200": _ok("The outputs (the job is recorded: Link rel=monitor).", "Results",
                       {"Link": {"schema": {"type": "string"}},
                        "Preference-Applied": {"schema": {"type": "string"}}}),
            "201": _ok("Queued: the job's status (Location: the job).", "StatusInfo",
                       {"Location": {"schema": {"type": "string"}},
                        "Preference-Applied": {"schema": {"type": "string"}}}),
            **_errors("400", "403", "404", "409", "413", "414", "415", "429", "431", "500",
                      "503"),
        },
    }  # fmt: skip
    dismiss: Json = {
        "summary": "Dismiss a job: a queued one never runs, a running one is stopped, a "
        "finished one's results are removed",
        "tags": [PROCESSES_TAG],
        "operationId": "dismiss",
        "security": _OPTIONAL_KEY,
        "parameters": [_JOB_ID, _F],
        "responses": {"200": status, **_errors("400", "404", "414", "429", "431", "503")},
    }
    return {
        "/processes": _read("Processes", "The processes the caller may run", [_F],
                            _ok("The processes.", "ProcessList"), _BASE, keyed=False),
        "/processes/{processId}": _read(
            "ProcessDescription", "A process: its inputs and outputs, with JSON schemas",
            [_PROCESS_ID, _F], _ok("The process description.", "Process"),
            (*_BASE, "403", "404"), keyed=True),
        "/processes/{processId}/execution": {"post": execute},
        "/jobs": _read("Jobs", "The caller's jobs, newest first (an admin's: all)",
                       _JOB_PARAMETERS, _ok("A page of jobs.", "JobList"), _BASE, keyed=False),
        "/jobs/{jobId}": {
            **_read("Status", "A job's status and progress", [_JOB_ID, _F], status,
                    job_errors, keyed=True),
            "delete": dismiss,
        },
        "/jobs/{jobId}/results": _read(
            "Results", "A finished job's outputs, or its failure", [_JOB_ID, _F],
            _ok("The outputs.", "Results"), (*job_errors, "403", "409", "500"), keyed=True),
    }  # fmt: skip
