"""The OpenAPI description of the edit routes (OGC API – Features Part 4), history, revert
and OPTIONS: what each takes, answers and refuses (edit_routes.py, history_routes.py).

Write operations carry ``security`` (a key as ``Authorization: Bearer`` or ``X-API-Key``);
their request bodies are schemas of what grid/edits.py accepts for the collection's table
(edit_bodies.py), so a client can build a valid body from the document alone.
"""

from __future__ import annotations

from typing import Any, Final

from grid.edit_values import PROTECTED
from grid.edits import table_of
from services.ogcapi.access import SPLIT_AND_MERGED
from services.ogcapi.columns import prop_type
from services.ogcapi.edit_bodies import writable
from services.ogcapi.openapi_schemas import Json, feature_name, ref, schema_ref
from services.ogcapi.specs import CollectionSpec

GEOJSON: Final = "application/geo+json"
JSON: Final = "application/json"
MERGE_PATCH: Final = "application/merge-patch+json"
SECURITY: Final[list[dict[str, list[str]]]] = [{"bearer": []}, {"apiKey": []}]
SECURITY_SCHEMES: Final = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "An API key made by `onemap keys create`."},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
               "description": "The same key in a header of its own."},
}  # fmt: skip

_PROBLEM: Final = {
    "type": "object",
    "required": ["field", "reason"],
    "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
}
EDIT_SCHEMAS: Final[dict[str, Json]] = {
    "EditException": {
        "type": "object",
        "description": "An exception of a write: each field's problem, the current version.",
        "required": ["code", "type", "description"],
        "properties": {
            "code": {"type": "string"},
            "type": {"type": "string"},
            "description": {"type": "string"},
            "problems": {"type": "array", "items": _PROBLEM},
            "currentVersion": {"type": "integer"},
        },
    },
    "History": {
        "type": "object",
        "required": ["collection", "id", "exists", "versions", "links"],
        "properties": {
            "collection": {"type": "string"},
            "id": {"type": "string"},
            "exists": {"type": "boolean"},
            "versions": {"type": "array", "items": {
                "type": "object",
                "required": ["version", "operation", "changedBy", "changedAt", "changed"],
                "properties": {
                    "version": {"type": "integer", "nullable": True},
                    "operation": {"type": "string"},
                    "changedBy": {"type": "string"},
                    "changedAt": {"type": "string", "format": "date-time"},
                    "changed": {"type": "array", "items": {"type": "string"}},
                    "geometryChanged": {"type": "boolean"},
                    "properties": {"type": "object", "nullable": True},
                },
            }},
            "links": {"type": "array", "items": schema_ref("Link")},
        },
    },
    "Revert": {
        "type": "object",
        "required": ["version"],
        "properties": {"version": {"type": "integer", "minimum": 1}},
    },
}  # fmt: skip

_STATUS_TEXT: Final = {
    "400": "A body, parameter or If-Match that cannot be used (each field's problem listed).",
    "401": "No API key, or one that is unknown, expired or revoked.",
    "403": "The key's role may not do this, or not to this row (a grid worker's cells).",
    "404": "No such collection or feature for this caller.",
    "405": "The collection does not take this method (Allow lists those it takes).",
    "409": "A concurrent edit got there first: read the feature again.",
    "412": "If-Match names a version that is no longer current (currentVersion says which).",
    "413": "The body is larger than the server takes.",
    "415": "The body is of a media type this route does not read.",
    "428": "If-Match is missing: send the ETag of the version being changed.",
    "429": "Too many bad keys from this address: try again after Retry-After seconds.",
    "503": "The database cannot answer now; try again later.",
}
_ERROR_CONTENT: Final = {JSON: {"schema": schema_ref("EditException")}}
_ETAG: Final = {"description": "The row's version, for If-Match.", "schema": {"type": "string"}}
_IF_MATCH: Final = {
    "name": "If-Match", "in": "header", "required": True, "schema": {"type": "string"},
    "description": "The ETag of the version being changed (from GET of the feature).",
}  # fmt: skip
_CONTENT_CRS: Final = {
    "name": "Content-Crs", "in": "header", "required": False, "schema": {"type": "string"},
    "description": "The CRS of the body's geometry as <URI> (default CRS84).",
}  # fmt: skip
_PREFER: Final = {
    "name": "Prefer", "in": "header", "required": False, "schema": {"type": "string"},
    "description": "return=minimal: answer 204 with the new ETag instead of the feature.",
}  # fmt: skip
_MINIMAL: Final = {
    "description": "Changed (Prefer: return=minimal): no body, the new version's ETag.",
    "headers": {"ETag": _ETAG, "Preference-Applied": {"schema": {"type": "string"}}},
}
_ALLOW: Final = {
    "204": {"description": "The methods this caller may use here.",
            "headers": {"Allow": {"schema": {"type": "string"}}}},
    "404": ref("responses", "NotFound"),
}  # fmt: skip


def _errors(*statuses: str) -> dict[str, Json]:
    """Refusals of a secured operation: these, and 429 for an address guessing keys."""
    return {s: {"description": _STATUS_TEXT[s], "content": _ERROR_CONTENT}
            for s in (*statuses, "429")}  # fmt: skip


def _value_schema(spec: CollectionSpec, name: str) -> Json:
    assert spec.edit_table is not None
    table = table_of(spec.edit_table)
    if name in PROTECTED.get(table.name, ()):
        about = "plain (stored encrypted); a masked value means unchanged"
        return {"type": "string", "nullable": True, "description": about}
    column = table.c[name]
    if type(column.type).__name__ == "Date":
        return {"type": "string", "format": "date", "nullable": True}
    return {**prop_type(column).json_schema(), "nullable": True}


def input_schema(spec: CollectionSpec, *, patch: bool) -> Json:
    """A body POST or PUT (``patch=False``), or PATCH (a merge patch), takes."""
    assert spec.edit_table is not None
    names = writable(table_of(spec.edit_table))
    properties: Json = {
        "type": "object",
        "properties": {n: _value_schema(spec, n) for n in names},
    }
    schema: Json = {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": spec.key_prop().type.json_schema(),
            "geometry": {"oneOf": [schema_ref("Geometry"), {"type": "object", "nullable": True}]},
            "properties": properties,
        },
    }
    if not patch:
        schema["required"] = ["type", "properties"]
    return schema


def input_name(spec: CollectionSpec, patch: bool) -> str:
    return f"{spec.id}.{'Patch' if patch else 'FeatureInput'}"


def write_schemas(spec: CollectionSpec) -> dict[str, Json]:
    if spec.edit_table is None:
        return {}
    return {input_name(spec, p): input_schema(spec, patch=p) for p in (False, True)}


def _body(spec: CollectionSpec, patch: bool) -> Json:
    types = (MERGE_PATCH, GEOJSON, JSON) if patch else (GEOJSON, JSON)
    schema = schema_ref(input_name(spec, patch))
    return {"required": True, "content": {t: {"schema": schema} for t in types}}


def _feature_ok(spec: CollectionSpec, status: str, description: str, **headers: Json) -> Json:
    return {status: {"description": description, "headers": {"ETag": _ETAG, **headers},
                     "content": {GEOJSON: {"schema": schema_ref(feature_name(spec))}}}}  # fmt: skip


def _operation(spec: CollectionSpec, name: str, summary: str, **parts: Any) -> Json:
    return {"summary": summary, "tags": [spec.id], "operationId": f"{name}.{spec.id}",
            "security": SECURITY, **parts}  # fmt: skip


def _feature_id(spec: CollectionSpec) -> Json:
    return {"name": "featureId", "in": "path", "required": True,
            "description": f"The feature's {spec.id_column}.",
            "schema": spec.key_prop().type.json_schema()}  # fmt: skip


def write_paths(spec: CollectionSpec) -> dict[str, Json]:
    """Operations to add to the paths of ``spec`` (merged into the GET/HEAD ones)."""
    base = f"/collections/{spec.id}/items"
    item = f"{base}/{{featureId}}"
    found = _write_paths(spec, base, item)
    for path, operations in found.items():
        if path != base:
            for operation in operations.values():
                operation["parameters"] = [_feature_id(spec), *operation.get("parameters", [])]
    return found


def _write_paths(spec: CollectionSpec, base: str, item: str) -> dict[str, Json]:
    found: dict[str, Json] = {
        base: {"options": {"summary": "Methods allowed here", "tags": [spec.id],
                           "operationId": f"optionsFeatures.{spec.id}", "responses": _ALLOW}},
        item: {"options": {"summary": "Methods allowed on this feature", "tags": [spec.id],
                           "operationId": f"optionsFeature.{spec.id}", "responses": _ALLOW}},
    }  # fmt: skip
    if spec.edit_table is None:
        return found
    change = ("400", "401", "403", "404", "409", "412", "413", "415", "428", "503")
    made = spec.edit_table not in SPLIT_AND_MERGED
    if made:
        found[base]["post"] = _operation(
            spec, "createFeature", f"{spec.title}: add a feature",
            parameters=[_CONTENT_CRS], requestBody=_body(spec, False),
            responses={**_feature_ok(spec, "201", "Created.", Location={
                "description": "The new feature's URL.", "schema": {"type": "string"}}),
                **_errors("400", "401", "403", "404", "405", "413", "415", "503")},
        )  # fmt: skip
        found[item]["delete"] = _operation(
            spec, "deleteFeature", f"{spec.title}: delete a feature", parameters=[_IF_MATCH],
            responses={"204": {"description": "Deleted (its history stays)."},
                       **_errors("400", "401", "403", "404", "405", "409", "412", "428", "503")},
        )  # fmt: skip
    for method, patch, what in (("put", False, "replace"), ("patch", True, "update")):
        found[item][method] = _operation(
            spec, f"{what}Feature", f"{spec.title}: {what} a feature",
            parameters=[_IF_MATCH, _CONTENT_CRS, _PREFER], requestBody=_body(spec, patch),
            responses={**_feature_ok(spec, "200", "The feature as it now is."),
                       "204": _MINIMAL, **_errors(*change)},
        )  # fmt: skip
    history: Json = {
        "summary": f"{spec.title}: a feature's versions", "tags": [spec.id],
        "operationId": f"getHistory.{spec.id}", "security": SECURITY,
        "responses": {"200": {"description": "Every recorded change, oldest first (masked).",
                              "content": {JSON: {"schema": schema_ref("History")}}},
                      **_errors("400", "401", "404", "503")},
    }  # fmt: skip
    found[f"{item}/history"] = {
        "get": history,
        "head": {**history, "operationId": f"headHistory.{spec.id}", "parameters": [],
                 "responses": {k: {"description": v["description"]}
                               for k, v in history["responses"].items()}},
    }  # fmt: skip
    found[f"{item}/revert"] = {
        "post": _operation(
            spec, "revertFeature", f"{spec.title}: revert a feature to a version",
            parameters=[{**_IF_MATCH, "required": False}],
            requestBody={"required": True,
                         "content": {JSON: {"schema": schema_ref("Revert")}}},
            responses={**_feature_ok(spec, "200", "The feature as it now is."),
                       **_errors(*change)},
        )
    }  # fmt: skip
    return found
