"""Reading an execute request: the body against the process's ports, and ``Prefer``.

Inputs are checked against their ports' JSON schemas (Draft 2020-12, formats checked, with
the ``jsonschema`` that pygeoapi brings), so a run only ever sees values of the shapes it
declared; what a schema cannot say (a date that exists, a polygon that does not cross
itself) is the process's :attr:`~services.processes.base.Process.check`. Every refusal is a
:class:`RequestError` or a :class:`~services.processes.base.ProcessInputError` naming what
to fix, answered 400 before anything is written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final, Literal, NamedTuple

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from services.processes.base import JsonDict, Port, Process, ProcessInputError

MEMBERS: Final = frozenset({"inputs", "outputs", "response", "subscriber"})
QUALIFIED: Final = frozenset({"value", "mediaType", "encoding", "schema"})
"""Members of a qualified input value (``{"value": ..., "mediaType": ...}``), unwrapped."""
MAX_MESSAGE: Final = 300

Response = Literal["document", "raw"]


class RequestError(ValueError):
    """An execute request that cannot be read (400), with what to fix."""


class ExecuteRequest(NamedTuple):
    """What to run and what to answer: the checked inputs, the outputs wanted (all when
    the request names none) and how (``document``: an object by output id; ``raw``: the one
    output's value alone)."""

    inputs: JsonDict
    outputs: tuple[str, ...]
    response: Response


def read_body(body: bytes) -> JsonDict:
    """The body as a JSON object."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestError(f"the body is not JSON: {exc}") from None
    except RecursionError:
        raise RequestError("the body is nested too deeply") from None
    if not isinstance(document, dict):
        raise RequestError(f"the body must be a JSON object, not {type(document).__name__}")
    return document


def execute_request(document: Mapping[str, Any], process: Process) -> ExecuteRequest:
    """The request in ``document``, checked against ``process``."""
    unknown = sorted(set(document) - MEMBERS)
    if unknown:
        raise RequestError(
            f"unknown member(s) {', '.join(unknown)}: an execute request has inputs, "
            "outputs and response"
        )
    if document.get("subscriber") is not None:
        raise RequestError("subscriber (callbacks) is not supported: poll the job's status")
    inputs = document.get("inputs", {})
    if not isinstance(inputs, dict):
        raise RequestError("inputs must be an object of input values by input id")
    outputs = _outputs(document.get("outputs"), process)
    response = document.get("response", "document")
    if response not in ("document", "raw"):
        raise RequestError(f"response must be document or raw, not {response!r}")
    if response == "raw" and len(outputs) != 1:
        raise RequestError(
            f"response raw returns one output: name it in outputs (one of {', '.join(outputs)})"
        )
    return ExecuteRequest(checked_inputs(inputs, process), outputs, response)


def checked_inputs(inputs: Mapping[str, Any], process: Process) -> JsonDict:
    """``inputs`` checked against the process's input ports (qualified values unwrapped,
    ``null`` for an optional input taken as not given)."""
    unknown = sorted(set(inputs) - set(process.inputs))
    if unknown:
        takes = ", ".join(process.inputs) or "no inputs"
        raise ProcessInputError(unknown[0], f"{process.id} has no such input (it takes {takes})")
    found: JsonDict = {}
    for name, port in process.inputs.items():
        value = inputs.get(name)
        if value is None:
            if port.min_occurs > 0:
                raise ProcessInputError(name, "is required")
            continue
        found[name] = _value(process.id, name, port, value)
    return found


def _value(process_id: str, name: str, port: Port, value: Any) -> Any:
    if port.max_occurs > 1 and isinstance(value, list):
        if not port.min_occurs <= len(value) <= port.max_occurs:
            raise ProcessInputError(
                name, f"takes {port.min_occurs} to {port.max_occurs} values, not {len(value)}"
            )
        return [_one(process_id, name, port, v) for v in value]
    return _one(process_id, name, port, value)


def _one(process_id: str, name: str, port: Port, value: Any) -> Any:
    if isinstance(value, dict) and "href" in value and "value" not in value:
        raise ProcessInputError(name, "inputs by reference (href) are not taken: send the value")
    given = value
    if isinstance(value, dict) and "value" in value and set(value) <= QUALIFIED:
        value = value["value"]
    error = best_match(_validator(process_id, name, port).iter_errors(value))
    if error is not None:
        where = "".join(f"/{p}" for p in error.absolute_path)
        message = error.message if len(error.message) <= MAX_MESSAGE else (
            error.message[:MAX_MESSAGE] + "…"
        )  # fmt: skip
        raise ProcessInputError(name, f"{message}{f' (at {where})' if where else ''}")
    return given if port.qualified else value


_VALIDATORS: dict[tuple[str, str], Draft202012Validator] = {}


def _validator(process_id: str, name: str, port: Port) -> Draft202012Validator:
    key = (process_id, name)
    found = _VALIDATORS.get(key)
    if found is None or found.schema is not port.schema:
        checker = Draft202012Validator.FORMAT_CHECKER
        found = Draft202012Validator(port.schema, format_checker=checker)
        _VALIDATORS[key] = found
    return found


def _outputs(requested: Any, process: Process) -> tuple[str, ...]:
    if requested is None or requested == {}:
        return tuple(process.outputs)
    if not isinstance(requested, dict):
        raise RequestError("outputs must be an object of output ids")
    for name, wanted in requested.items():
        if name not in process.outputs:
            raise RequestError(
                f"{process.id} has no output {name!r} (it has {', '.join(process.outputs)})"
            )
        if not isinstance(wanted, dict):
            raise RequestError(f"output {name!r}: give an object (transmissionMode, format)")
        if wanted.get("transmissionMode", "value") != "value":
            raise RequestError(f"output {name!r}: only transmissionMode value is supported")
        form = wanted.get("format") or {}
        media = form.get("mediaType", "application/json") if isinstance(form, dict) else None
        if media != "application/json":
            raise RequestError(f"output {name!r} is served as application/json only")
    return tuple(n for n in process.outputs if n in requested)


def preference(header: str | None) -> Literal["respond-async", "respond-sync"] | None:
    """The execution mode a ``Prefer`` header asks for (RFC 7240), if any."""
    for token in (header or "").split(","):
        word = token.split(";", 1)[0].strip().lower()
        if word == "respond-async":
            return "respond-async"
        if word == "respond-sync":
            return "respond-sync"
    return None


def delivery(request: ExecuteRequest, process: Process) -> JsonDict | None:
    """What a job's results are to answer with, as its row keeps it (None: the default,
    every output as a document)."""
    if request.response == "document" and request.outputs == tuple(process.outputs):
        return None
    return {"outputs": list(request.outputs), "response": request.response}


def delivered(kept: Mapping[str, Any]) -> ExecuteRequest:
    """The request's choice of outputs again, from what :func:`delivery` kept."""
    response: Response = "raw" if kept.get("response") == "raw" else "document"
    return ExecuteRequest({}, tuple(kept.get("outputs", ())), response)


def selected(outputs: Mapping[str, Any], request: ExecuteRequest) -> Any:
    """The answer's body: the wanted outputs by id, or the one output's value (raw)."""
    if request.response == "raw":
        return outputs.get(request.outputs[0])
    return {k: v for k, v in outputs.items() if k in request.outputs}
