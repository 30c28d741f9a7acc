"""The plan layer registry: layers, their versions, and which version is current.

A layer is a department's plan (土规, 城规, a control line ...) with a plan type and a
classification scheme; each import of a changed source file is a new version (the file's
SHA-256 decides), and features belong to a version, so old versions stay queryable. The
current version of a layer is its highest version number.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from sqlalchemy import Connection, text

from layers.errors import LayerError, UnknownLayerError, UnknownPlanTypeError

__all__ = [
    "LayerInfo",
    "LayerSpec",
    "VersionInfo",
    "check_spec",
    "control_layers",
    "ensure_layer",
    "get_layer",
    "list_layers",
    "lock_layer",
    "version",
    "version_by_id",
    "versions",
]

NO_SCHEME = ""
"""``plans.layers.scheme`` of a layer without land-use codes (control lines)."""


class LayerSpec(NamedTuple):
    """What registering a layer needs; ``scheme`` None for a layer without codes."""

    id: str
    title: str
    plan_type: str
    scheme: str | None = None
    department: str | None = None


class LayerInfo(NamedTuple):
    """A registered layer, its plan type's control-line flag and its current version."""

    id: str
    title: str
    department: str | None
    plan_type: str
    scheme: str | None
    control_line: bool
    current_version: int | None


class VersionInfo(NamedTuple):
    """One version of a layer, with what traces it to its source file and import."""

    id: int
    layer_id: str
    version: int
    snapshot_date: dt.date | None
    source_name: str
    source_sha256: str
    source_crs: str
    source_encoding: str | None
    feature_count: int
    imported_at: dt.datetime
    imported_by: str
    repairs: int
    rejects: int


_LAYERS = """
SELECT l.id, l.title, l.department, l.plan_type, nullif(l.scheme, '') AS scheme,
       t.control_line, (SELECT max(v.version) FROM plans.layer_versions v
                        WHERE v.layer_id = l.id) AS current_version
FROM plans.layers l JOIN plans.plan_types t ON t.code = l.plan_type
"""

_VERSIONS = """
SELECT v.id, v.layer_id, v.version, v.snapshot_date, v.source_name, v.source_sha256,
       v.source_crs, v.source_encoding, v.feature_count, v.imported_at, v.imported_by,
       (SELECT count(*) FROM plans.repairs r WHERE r.layer_version_id = v.id) AS repairs,
       (SELECT count(*) FROM plans.rejects r WHERE r.layer_version_id = v.id) AS rejects
FROM plans.layer_versions v
"""


def ensure_layer(conn: Connection, spec: LayerSpec) -> LayerInfo:
    """Register ``spec`` if new; an existing layer must have the same plan type and scheme."""
    _check_plan_type(conn, spec)
    conn.execute(
        text(
            "INSERT INTO plans.layers (id, title, department, plan_type, scheme)"
            " VALUES (:id, :title, :department, :plan_type, :scheme) ON CONFLICT (id) DO NOTHING"
        ),
        {**spec._asdict(), "scheme": spec.scheme or NO_SCHEME},
    )
    layer = get_layer(conn, spec.id)
    _check_same(layer, spec)
    return layer


def check_spec(conn: Connection, spec: LayerSpec) -> None:
    """Raise what :func:`ensure_layer` would refuse, writing nothing: an unknown plan type
    (:class:`UnknownPlanTypeError`), or a layer registered with another type or scheme."""
    _check_plan_type(conn, spec)
    try:
        layer = get_layer(conn, spec.id)
    except UnknownLayerError:
        return
    _check_same(layer, spec)


def _check_plan_type(conn: Connection, spec: LayerSpec) -> None:
    known = conn.execute(
        text("SELECT code FROM plans.plan_types WHERE code = :t"), {"t": spec.plan_type}
    ).scalar_one_or_none()
    if known is None:
        types = conn.execute(
            text("SELECT string_agg(code, ', ' ORDER BY code) FROM plans.plan_types")
        )
        raise UnknownPlanTypeError(
            f"unknown plan type {spec.plan_type!r}: use one of {types.scalar_one()}"
        )


def _check_same(layer: LayerInfo, spec: LayerSpec) -> None:
    if layer.plan_type != spec.plan_type or (layer.scheme or None) != (spec.scheme or None):
        raise LayerError(
            f"layer {spec.id!r} is registered as {layer.plan_type} in scheme "
            f"{layer.scheme or '-'}, not {spec.plan_type} in {spec.scheme or '-'}: "
            "import under another layer id"
        )


def get_layer(conn: Connection, layer_id: str) -> LayerInfo:
    """The layer ``layer_id``, or :class:`UnknownLayerError`."""
    row = conn.execute(text(_LAYERS + " WHERE l.id = :id"), {"id": layer_id}).one_or_none()
    if row is None:
        raise UnknownLayerError(f"no plan layer {layer_id!r}: see `onemap plans list`")
    return LayerInfo(*row)


def lock_layer(conn: Connection, layer_id: str) -> None:
    """Hold the layer's row until the transaction ends: imports of one layer take turns."""
    conn.execute(text("SELECT 1 FROM plans.layers WHERE id = :id FOR UPDATE"), {"id": layer_id})


def list_layers(conn: Connection) -> list[LayerInfo]:
    """Every registered layer, by id."""
    return [LayerInfo(*r) for r in conn.execute(text(_LAYERS + " ORDER BY l.id"))]


def control_layers(conn: Connection) -> list[LayerInfo]:
    """Layers of a control-line plan type (三区三线 ...) that have a version."""
    return [layer for layer in list_layers(conn) if layer.control_line and layer.current_version]


def versions(conn: Connection, layer_id: str) -> list[VersionInfo]:
    """Every version of ``layer_id``, oldest first."""
    get_layer(conn, layer_id)
    rows = conn.execute(
        text(_VERSIONS + " WHERE v.layer_id = :id ORDER BY v.version"), {"id": layer_id}
    )
    return [VersionInfo(*r) for r in rows]


def version(conn: Connection, layer_id: str, number: int | None = None) -> VersionInfo:
    """Version ``number`` of ``layer_id``, the current one when None."""
    layer = get_layer(conn, layer_id)
    wanted = number if number is not None else layer.current_version
    row = conn.execute(
        text(_VERSIONS + " WHERE v.layer_id = :id AND v.version = :n"),
        {"id": layer_id, "n": wanted},
    ).one_or_none()
    if row is None:
        if number is None:
            raise UnknownLayerError(f"layer {layer_id!r} has no version yet: import a file")
        raise UnknownLayerError(f"layer {layer_id!r} has no version {number}")
    return VersionInfo(*row)


def version_by_id(conn: Connection, version_id: int) -> VersionInfo:
    """The version whose database id is ``version_id``."""
    row = conn.execute(text(_VERSIONS + " WHERE v.id = :id"), {"id": version_id}).one_or_none()
    if row is None:
        raise UnknownLayerError(f"no layer version with id {version_id}")
    return VersionInfo(*row)
