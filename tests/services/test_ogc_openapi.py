"""The OpenAPI document at ``/ogc/openapi``: it resolves with no network, is valid OpenAPI 3.0,
describes exactly the routes that answer, and the running app answers as it says
(schemathesis against the real app and database)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from jsonschema import Draft4Validator
from schemathesis import APIOperation, BaseSchema
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.pytest._test_builder import build_operation_test
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.definitions import OPENAPI_30

from gis.tms import tile_for_point
from services.ogcapi.params import ITEM_PARAMETERS, ITEMS_PARAMETERS

ROUTES = (
    "/",
    "/openapi",
    "/api",
    "/conformance",
    "/collections",
    "/collections/{collectionId}",
    "/collections/{collectionId}/queryables",
    "/collections/{collectionId}/items",
    "/collections/{collectionId}/items/{featureId}",
    "/tileMatrixSets",
    "/tileMatrixSets/{tileMatrixSetId}",
    "/tiles",
    "/tiles/{tileMatrixSetId}",
    "/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
    "/collections/{collectionId}/tiles",
    "/collections/{collectionId}/tiles/{tileMatrixSetId}",
    "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
    "/styles",
    "/styles/{styleId}",
    "/collections/{collectionId}/styles",
    "/collections/{collectionId}/styles/{collectionId}",
    "/processes",
    "/processes/{processId}",
    "/processes/{processId}/execution",
    "/jobs",
    "/jobs/{jobId}",
    "/jobs/{jobId}/results",
    "/collections/{collectionId}/items/{featureId}/history",
    "/collections/{collectionId}/items/{featureId}/revert",
)
"""Every route of services/ogcapi/routes.py (static files aside), kept here by hand; the
routes of editable collections last."""
EDIT_ROUTES = frozenset(ROUTES[-2:])
"""Routes of editable collections only."""
EDITABLE = {"buildings": True, "cells": False}
"""The public collections that take writes, and whether they take POST and DELETE (cells
are made and removed by splitting and merging)."""

JSONLD = "application/ld+json"
METHODS = {"get", "head"}
REFUSED_METHODS = ("POST", "PUT", "DELETE", "PATCH", "OPTIONS")


PROCESS_METHODS = {
    "/processes/{processId}/execution": {"post"},
    "/jobs/{jobId}": {*METHODS, "delete"},
}
"""The Processes paths that answer more than GET and HEAD."""


def _methods(path: str) -> set[str]:
    """What a documented path answers (anonymous document)."""
    if path in PROCESS_METHODS:
        return PROCESS_METHODS[path]
    match = re.fullmatch(r"/collections/([^/]+)/items(/\{featureId\})?(/history|/revert)?", path)
    if match is None:
        return METHODS
    cid, item, tail = match.groups()
    if tail == "/history":
        return METHODS
    if tail == "/revert":
        return {"post"}
    made = EDITABLE.get(cid)
    if item:
        writes = set() if made is None else {"put", "patch"} | ({"delete"} if made else set())
    else:
        writes = {"post"} if made else set()
    return METHODS | {"options"} | writes


NOT_OURS = (
    "collections/buildings/schema",
    "stac",
    "TileMatrixSets",
)
"""Routes pygeoapi's own document promised; nothing answers them here."""


@pytest.fixture(scope="module")
def document(ogc: httpx.Client) -> dict[str, Any]:
    response = ogc.get("openapi", params={"f": "json"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    found = response.json()
    assert isinstance(found, dict)
    return found


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _pointer(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_document_resolves_offline(document: dict[str, Any]) -> None:
    refs = set(_refs(document))
    assert refs, "the document uses components"
    external = sorted(r for r in refs if not r.startswith("#/"))
    assert external == [], f"references leave the document: {external}"
    for ref in refs:
        assert isinstance(_pointer(document, ref), dict), ref
    assert "schemas.opengis.net" not in str(document)


def test_document_is_openapi_30(document: dict[str, Any]) -> None:
    errors = sorted(Draft4Validator(OPENAPI_30).iter_errors(document), key=str)
    assert errors == [], "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
    loaded = schemathesis.openapi.from_dict(document)
    results = list(loaded.get_all_operations())
    problems = [str(r.err()) for r in results if isinstance(r, Err)]
    assert problems == []
    assert len(results) == sum(len(operations) for operations in document["paths"].values())


def _collection_ids(ogc: httpx.Client) -> list[str]:
    return [c["id"] for c in ogc.get("collections").json()["collections"]]


def test_every_route_is_documented_and_nothing_else(
    ogc: httpx.Client, document: dict[str, Any]
) -> None:
    expected = set()
    for route in ROUTES:
        if "{collectionId}" in route:
            ids = EDITABLE if route in EDIT_ROUTES else _collection_ids(ogc)
            expected |= {route.replace("{collectionId}", c) for c in ids}
        else:
            expected.add(route)
    assert set(document["paths"]) == expected
    for path, operations in document["paths"].items():
        assert set(operations) == _methods(path), path


TILE = "{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}"


def _url(path: str, feature_ids: dict[str, Any]) -> str:
    """The documented path with a feature of the collection as ``{featureId}``, and a
    WebMercatorQuad level-16 tile holding it as the tile."""
    match = re.fullmatch(r"/collections/([^/]+)/items/\{featureId\}(/history|/revert)?", path)
    if match:
        return path.replace("{featureId}", feature_ids[match.group(1)]).lstrip("/")
    match = re.fullmatch(r"(?:/collections/([^/]+))?/tiles/.*", path)
    if match:
        x, y = feature_ids[f"{match.group(1) or 'buildings'}:point"]
        tile = tile_for_point("WebMercatorQuad", x, y, 16, geographic=True)
        path = path.replace(TILE, f"{{tileMatrixSetId}}/16/{tile.y}/{tile.x}")
    path = path.replace("{styleId}", "plan-map").replace("{processId}", "grid-stats")
    path = path.replace("{jobId}", "00000000-0000-0000-0000-000000000000")
    return path.replace("{tileMatrixSetId}", "WebMercatorQuad").lstrip("/")


def _first_position(node: Any) -> tuple[float, float]:
    while isinstance(node[0], list):
        node = node[0]
    return float(node[0]), float(node[1])


@pytest.fixture(scope="module")
def feature_ids(ogc: httpx.Client) -> dict[str, Any]:
    """Per collection, a feature's id, and (``{id}:point``) a position of it."""
    found: dict[str, Any] = {}
    for cid in _collection_ids(ogc):
        features = ogc.get(f"collections/{cid}/items", params={"limit": 1}).json()["features"]
        assert features, f"{cid} has no feature to ask for"
        found[cid] = str(features[0]["id"])
        found[f"{cid}:point"] = _first_position(features[0]["geometry"]["coordinates"])
    return found


def _formats(operation: dict[str, Any], document: dict[str, Any]) -> list[str | None]:
    """``None`` (no ``f``) and every value of the operation's ``f`` parameter."""
    for parameter in operation["parameters"]:
        if "$ref" in parameter:
            parameter = _pointer(document, parameter["$ref"])
        if parameter["name"] == "f":
            return [None, *parameter["schema"]["enum"]]
    return [None]


def test_every_documented_operation_answers(
    ogc: httpx.Client, document: dict[str, Any], feature_ids: dict[str, Any]
) -> None:
    """GET and HEAD of every path answer 200 (a tile holding a feature: 200, or 204 if the
    feature is too small to show), in every documented format, with a media type the
    document gives for it."""
    for path, operations in document["paths"].items():
        url = _url(path, feature_ids)
        for method, operation in operations.items():
            if method not in METHODS or "security" in operation:
                continue  # writes and histories need a key: test_ogc_edits.py
            documented = operation["responses"]["200"].get("content", {})
            for f in _formats(operation, document):
                params = {"f": f} if f else {}
                response = ogc.request(method.upper(), url, params=params, follow_redirects=True)
                where = f"{method.upper()} {path} f={f}"
                if response.status_code == 204 and "{tileRow}" in path:
                    continue
                assert response.status_code == 200, f"{where}: {response.status_code}"
                kind = response.headers["content-type"].split(";")[0]
                if method == "get":
                    assert kind in {m.split(";")[0] for m in documented}, f"{where}: {kind}"


def test_undocumented_methods_and_routes_are_refused(
    ogc: httpx.Client, document: dict[str, Any], feature_ids: dict[str, Any]
) -> None:
    for path in document["paths"]:
        url = _url(path, feature_ids)
        for method in REFUSED_METHODS:
            if method.lower() in document["paths"][path]:
                continue
            response = ogc.request(method, url, follow_redirects=True)
            assert response.status_code == 405, f"{method} {path}: {response.status_code}"
    for path in NOT_OURS:
        assert ogc.get(path).status_code == 404, path


def _parameter_names(operation: dict[str, Any], document: dict[str, Any]) -> set[str]:
    names = set()
    for parameter in operation["parameters"]:
        if "$ref" in parameter:
            parameter = _pointer(document, parameter["$ref"])
        if parameter["in"] == "query":
            names.add(parameter["name"])
    return names


def test_feature_parameters_are_those_the_routes_take(
    ogc: httpx.Client, document: dict[str, Any]
) -> None:
    for cid in _collection_ids(ogc):
        queryables = set(ogc.get(f"collections/{cid}/queryables").json()["properties"])
        items = _parameter_names(document["paths"][f"/collections/{cid}/items"]["get"], document)
        taken = ITEMS_PARAMETERS | (queryables - {"geometry"})
        assert items <= taken and taken - items <= {"datetime"}, cid
        item = document["paths"][f"/collections/{cid}/items/{{featureId}}"]["get"]
        assert _parameter_names(item, document) == ITEM_PARAMETERS, cid


# --- schemathesis -----------------------------------------------------------------------------
#
# Each operation runs as schemathesis' own pytest integration builds it (its examples,
# coverage and fuzzing phases, positive and negative data): ``from_fixture`` cannot be used,
# its lazy tests set ``request.node._nodeid``, which pytest 9.2 items no longer have.

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
MAX_EXAMPLES = 25
"""Fuzzed cases per operation (the coverage phase adds its own): under two minutes in all."""


def test_conditional_requests_are_documented(document: dict[str, Any], ogc: httpx.Client) -> None:
    operation = document["paths"]["/collections/buildings/items"]["get"]
    headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
    assert {"If-None-Match", "If-Modified-Since"} <= headers
    assert {"ETag", "Last-Modified"} <= set(operation["responses"]["200"]["headers"])
    assert "304" in operation["responses"]
    first = ogc.get("collections/buildings/items", params={"limit": 1})
    again = ogc.get(
        "collections/buildings/items",
        params={"limit": 1},
        headers={"If-None-Match": first.headers["etag"]},
    )
    assert again.status_code == 304


def test_an_empty_page_as_jsonld_is_json(ogc: httpx.Client) -> None:
    """pygeoapi 0.24's items JSON-LD template wrote a trailing comma on an empty page."""
    response = ogc.get("collections/buildings/items", params={"f": "jsonld", "code": "none"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(JSONLD)
    assert response.json()["features"] == []


@pytest.fixture(scope="module")
def api_schema(document: dict[str, Any], ogc_base: str) -> BaseSchema:
    """The served document, loaded by schemathesis (``from_url`` would leave out GET
    /openapi itself), sending to the server the document names."""
    assert document["servers"][0]["url"] == ogc_base
    loaded = schemathesis.openapi.from_dict(document)
    loaded.config.update(base_url=ogc_base)
    return loaded


def _matches(route: str, path: str) -> bool:
    parts = [re.escape(p) for p in route.split("{collectionId}")]
    return re.fullmatch("[^/]+".join(parts), path) is not None


def _operation_test(
    api_schema: BaseSchema, operation: APIOperation[Any, Any, Any, Any]
) -> Callable[[], None]:
    def check(case: schemathesis.Case[Any]) -> None:
        response = case.call(timeout=60)
        try:
            case.validate_response(response, checks=CHECKS)
        except BaseExceptionGroup as exc:  # schemathesis' FailureGroup: make it one assertion
            raise AssertionError(str(exc)) from None

    test: Callable[[], None] = build_operation_test(
        config=api_schema.config,
        operation=operation,
        test_func=check,
        given_kwargs={},
        feedback=FeedbackSources(),
        explicit_settings=settings(
            max_examples=MAX_EXAMPLES,
            derandomize=bool(os.environ.get("CI")),
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    return test


@pytest.mark.parametrize("route", ROUTES)
def test_the_app_answers_as_documented(api_schema: BaseSchema, route: str) -> None:
    """No 5xx; statuses, media types and bodies as documented, for GET and HEAD of every
    path of ``route`` (all collections)."""
    failures: list[str] = []
    ran = 0
    for result in api_schema.get_all_operations():
        assert not isinstance(result, Err), result.err()
        operation = result.ok()
        if not _matches(route, operation.path):
            continue
        ran += 1
        try:
            _operation_test(api_schema, operation)()
        except Exception as exc:
            failures.append(f"{operation.label}: {exc}")
    assert ran >= (1 if route.endswith("/execution") else 2), f"no operation of {route}"
    assert failures == [], "\n\n".join(failures)
