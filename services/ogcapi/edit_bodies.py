"""Request bodies of the edit routes, read into the changes grid/edits.py applies.

A body is a GeoJSON Feature (POST, PUT) or a JSON Merge Patch of one (PATCH, RFC 7396:
members present are set, ``null`` clears, absent ones stay). Every field is checked on its
own, so one 400 lists every problem of the request (:class:`ProblemsError`), and nothing
reaches the database before all passed.

What a body may carry, per grid table: the columns grid/edits.py lets anybody edit, plus
``citizen_id`` and ``phone`` for persons (stored encrypted, hashed and masked). Properties
the service shows but keeps itself (``version``, ``updated_at``, the cell a building is in,
the building a person lives in ...) are read-only: sent back unchanged they are ignored, so
a client may PUT what it read; the id must not change and ``version``, if sent, must be
the one ``If-Match`` names (400 otherwise). A masked
personal value as read (``138****1234``) means "unchanged". Houses, households and persons
are where their building is: their geometry is the building's and is ignored when sent.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import shapely
import shapely.geometry
from shapely.errors import GEOSException
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Column, Date, Table

from grid.edit_values import PROTECTED, editable, prepare_values
from grid.edits import table_of
from grid.errors import GridError
from grid.privacy import Keyring
from grid.settings import GridSettings
from services.ogcapi.columns import prop_type
from services.ogcapi.crs import OgcCrs, default_crs, geometry_to_storage, parse_crs
from services.ogcapi.errors import BadRequestError, UnsupportedMediaTypeError
from services.ogcapi.specs import CollectionSpec, PropType

FEATURE_TYPES: Final = ("application/geo+json", "application/json")
PATCH_TYPES: Final = ("application/merge-patch+json", *FEATURE_TYPES)
_GEOMETRIC: Final = frozenset({"buildings", "cells", "admin_areas"})


class ProblemsError(BadRequestError):
    """Every problem of one request body, each with its field (HTTP 400)."""

    def __init__(self, problems: list[dict[str, str]]) -> None:
        listed = "; ".join(f"{p['field']}: {p['reason']}" for p in problems)
        super().__init__(f"the feature has {len(problems)} problem(s): {listed}",
                         extra={"problems": problems})  # fmt: skip


@dataclass(frozen=True)
class Edit:
    """What one request asks for: checked column values, and the geometry if any."""

    values: dict[str, object]
    geometry: BaseGeometry | None = None
    geometry_sent: bool = False


def media_type_of(content_type: str, accepted: tuple[str, ...]) -> str:
    """The body's media type if the route reads it; 415 otherwise."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind not in accepted:
        raise UnsupportedMediaTypeError(
            f"a body of type {kind or '(none)'!r} cannot be read here: send {', '.join(accepted)}"
        )
    return kind


def read_json(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; 400 naming what is wrong otherwise."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequestError(f"the body is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise BadRequestError(f"the body must be a JSON object, not {type(document).__name__}")
    return document


def content_crs(header: str | None) -> OgcCrs:
    """The CRS of the body's geometry: ``Content-Crs: <uri>`` (default CRS84)."""
    if header is None or not header.strip():
        return default_crs()
    return parse_crs(header.strip().removeprefix("<").removesuffix(">"), "Content-Crs")


def writable(table: Table) -> list[str]:
    """What a body may set in ``table``'s properties (its geometry goes in ``geometry``)."""
    return [name for name in editable(table) if name != "geom"]


def _type_problem(table: Table, name: str, value: object) -> str | None:
    """Whether ``value`` has the JSON type the column takes (the database checks ranges)."""
    if value is None or name in PROTECTED.get(table.name, ()):
        return None
    column = table.c[name]
    if isinstance(column.type, Date):
        try:
            dt.date.fromisoformat(str(value))
        except ValueError:
            return f"must be a date (YYYY-MM-DD), got {value!r}"[:200]
        return None
    kind = prop_type(column)
    fits = {
        PropType.INTEGER: isinstance(value, int) and not isinstance(value, bool),
        PropType.NUMBER: isinstance(value, int | float) and not isinstance(value, bool),
        PropType.STRING: isinstance(value, str),
        PropType.BOOLEAN: isinstance(value, bool),
        PropType.OBJECT: isinstance(value, dict),
        PropType.DATETIME: isinstance(value, str),
    }[kind]
    return None if fits else f"must be {kind.json_schema()['type']}, got {json.dumps(value)}"[:200]


def _geometry(document: Mapping[str, Any], crs: OgcCrs) -> BaseGeometry | str:
    """The feature's geometry in storage (lon/lat 4490), or what is wrong with it."""
    raw = document.get("geometry")
    if not isinstance(raw, dict) or "type" not in raw:
        return "must be a GeoJSON geometry object"
    try:
        shape = shapely.geometry.shape(raw)
    except (GEOSException, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        return f"is not valid GeoJSON: {exc}"[:200]
    try:
        return geometry_to_storage(shape, crs, "geometry", densify=False)
    except BadRequestError as exc:
        return exc.description


def read_edit(
    spec: CollectionSpec,
    document: Mapping[str, Any],
    *,
    patch: bool,
    fid: str | None,
    base_version: int | None = None,
    crs: OgcCrs,
    keyring: Keyring | None,
    settings: GridSettings,
) -> Edit:
    """The checked changes of a Feature (``patch=False``: POST, PUT) or a merge patch."""
    assert spec.edit_table is not None
    table = table_of(spec.edit_table)
    problems: list[dict[str, str]] = []

    def problem(field: str, reason: str) -> None:
        problems.append({"field": field, "reason": reason})

    if not patch and document.get("type") != "Feature":
        problem("type", f"must be 'Feature', got {json.dumps(document.get('type'))}"[:200])
    if fid is not None and "id" in document and str(document["id"]) != fid:
        problem("id", f"is {fid} (the URL's); it cannot be changed")
    unknown = sorted(set(document) - {"type", "id", "geometry", "properties", "links", "bbox"})
    for name in unknown:
        problem(name, "is not a member of a feature")
    properties = document.get("properties", {} if patch else None)
    if properties is None and not patch:
        properties = {}
    if not isinstance(properties, dict):
        problem("properties", "must be an object")
        properties = {}
    names = writable(table)
    shown = {p.name for p in spec.properties}
    values: dict[str, object] = {}
    for name, value in properties.items():
        if name == "version":
            if value is not None and base_version is not None and value != base_version:
                problem("version", f"is {value} but If-Match names version {base_version}: "
                        "the server keeps versions; name the one you edit in If-Match")  # fmt: skip
        elif name in names:
            if name in PROTECTED.get(table.name, ()) and isinstance(value, str) and "*" in value:
                continue  # a masked value as read: unchanged
            reason = _type_problem(table, name, value)
            if reason:
                problem(name, reason)
            elif isinstance(table.c.get(name), Column) and isinstance(table.c[name].type, Date):
                values[name] = None if value is None else dt.date.fromisoformat(str(value))
            else:
                values[name] = value
        elif name not in shown and name != "id":
            problem(name, f"is not a property of {spec.id}; writable: {', '.join(names)}")
    if not patch:  # a replacement: what is not sent is cleared (personal fields are kept)
        for name in names:
            if name not in properties and name not in PROTECTED.get(table.name, ()):
                values.setdefault(name, None)
    geometry: BaseGeometry | None = None
    sent = "geometry" in document
    if spec.edit_table in _GEOMETRIC and (sent or not patch):
        found = _geometry(document, crs)
        if isinstance(found, str):
            problem("geometry", found)
        else:
            geometry = found
            try:
                prepare_values(table, {"geom": geometry}, None, settings)
            except GridError as exc:
                problem("geometry", str(exc))
    for name in list(values):
        try:
            prepare_values(table, {name: values[name]}, keyring, settings)
        except GridError as exc:
            if values[name] is not None or name in PROTECTED.get(table.name, ()):
                problem(name, str(exc))
    if problems:
        raise ProblemsError(problems)
    if not values and geometry is None:
        raise BadRequestError("the body changes nothing")
    return Edit(values, geometry, sent)
