"""The collection registry, generated from the database: grid layers and plan layer versions.

A *source* is a function ``(connection) -> specs``; :data:`SOURCES` lists them in the order
their collections are published. To publish a new kind of collection (conflict runs, say),
write one source that returns a :class:`CollectionSpec` per run and add it to
:data:`SOURCES`; routes, provider, queryables, OpenAPI and tests pick it up.

Plan layers: every version is its own collection ``plans.{layer}.v{n}``, and
``plans.{layer}`` is the layer's latest version (the one most clients want). Layer ids
cannot contain a dot, so the two forms never collide. Conflict runs: the patches of run
``N`` are the collection ``conflicts.run{N}``. Houses, households and persons are published
to callers with an API key only, masked, and to a grid worker only in their cells
(services/ogcapi/grid_specs.py, services/auth/access.py).

Properties are the columns each collection lists, typed by the models
(:mod:`services.ogcapi.columns`).

Every collection's ``numberMatched`` is exact without counting per request: the counts are
kept by the database (migration 0004's ``counts.rows``, per plan layer version and per
conflict run, the latter tracked by migration 0005).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from sqlalchemy import Connection, Engine, text

from gis.sql_files import statement
from layers.models import ConflictPatch, Feature
from services.ogcapi.columns import published
from services.ogcapi.errors import NotFoundError
from services.ogcapi.grid_specs import GRID_SPECS
from services.ogcapi.specs import Audience, CollectionSpec, Counter, Extent, PropType, quote

Source = Callable[[Connection], Iterable[CollectionSpec]]

_I = PropType.INTEGER

_PLAN_PROPS = published(
    Feature,
    ("source_fid", "source_code", "code_2023", "category", "properties"),
    names={"properties": "attributes"},
    titles={"source_code": "code in the source file", "code_2023": "用地用海分类 2023"},
)


def _extent(conn: Connection, spec: CollectionSpec) -> Extent:
    where = " AND ".join(f"t.{quote(c)} = :f{i}" for i, (c, _) in enumerate(spec.fixed))
    times = (
        (f"min(t.{quote(spec.datetime_column)})", f"max(t.{quote(spec.datetime_column)})")
        if spec.datetime_column
        else ("NULL::timestamptz", "NULL::timestamptz")
    )
    sql = statement(__name__, "extent").format(
        geom=quote(spec.geometry_column),
        t0=times[0],
        t1=times[1],
        table=spec.qualified_table,
        where=f"WHERE {where}" if where else "",
    )
    values = {f"f{i}": v for i, (_, v) in enumerate(spec.fixed)}
    x0, y0, x1, y1, t0, t1 = conn.execute(text(sql), values).one()
    bbox = None if x0 is None else (x0, y0, x1, y1)
    return Extent(bbox=bbox, interval=(t0, t1) if t0 is not None else None)


def grid_collections(conn: Connection) -> Iterator[CollectionSpec]:
    """Administrative areas, grid cells, buildings, and (for keyed callers only) houses,
    households and persons located by their building."""
    buildings = Extent()
    for spec in GRID_SPECS:
        if spec.audience is Audience.PUBLIC:
            extent = _extent(conn, spec)
            buildings = extent if spec.table == "buildings" else buildings
        else:  # located at their buildings: the views' extent is theirs (cheaper to read)
            extent = Extent(bbox=buildings.bbox)
        yield spec.model_copy(update={"extent": extent})


def plan_collections(conn: Connection) -> Iterator[CollectionSpec]:
    """``plans.{layer}`` (latest version) and ``plans.{layer}.v{n}`` for every version."""
    extents = {
        row[0]: (row[1], row[2], row[3], row[4])
        for row in conn.execute(text(statement(__name__, "plan_extents")))
        if row[1] is not None
    }
    for row in conn.execute(text(statement(__name__, "plan_versions"))).mappings():
        bbox = extents.get(row["version_id"])
        base = {
            "keywords": tuple(k for k in ("规划", row["plan_type"], row["department"]) if k),
            "schema_name": "plans",
            "table": "features",
            "id_column": "id",
            "id_type": _I,
            "geometry_type": "MultiPolygon",
            "properties": _PLAN_PROPS,
            "fixed": (("layer_version_id", int(row["version_id"])),),
            "counter": Counter(table="plans.features", part=str(row["version_id"])),
            "extent": Extent(bbox=bbox),
        }
        about = (
            f"{row['plan_type_name'] or row['plan_type']}"
            f"{' · ' + row['department'] if row['department'] else ''}; version {row['version']}"
            f" of {_date(row['snapshot_date'])}, imported {_date(row['imported_at'])} from "
            f"{row['source_name']}"
        )
        version = CollectionSpec(
            id=f"plans.{row['layer_id']}.v{row['version']}",
            title=f"{row['title']} (v{row['version']})",
            description=about,
            **base,
        )
        yield version
        if row["latest"]:
            yield version.model_copy(
                update={
                    "id": f"plans.{row['layer_id']}",
                    "title": row["title"],
                    "description": f"Latest version of the layer: {about}",
                }
            )


_CONFLICT_PROPS = published(
    ConflictPatch,
    ("type", "severity", "a_feature_id", "a_code", "a_code_2023", "b_feature_id", "b_code",
     "b_code_2023", "county_code", "street_code", "community_code", "pieces", "area_m2",
     "area_mu", "area_ha"),
    titles={
        "type": "conflict type",
        "severity": "hard, major or minor",
        "a_code": "code of the first layer's feature",
        "b_code": "code of the other layer's feature",
        "area_m2": "area (m², CGCS2000)",
        "area_mu": "area (亩)",
        "area_ha": "area (ha)",
    },
)  # fmt: skip


def conflict_collections(conn: Connection) -> Iterator[CollectionSpec]:
    """``conflicts.run{N}``: the patches of every finished conflict run (layers.conflicts);
    none in a database whose schema predates them (migration 0005)."""
    if conn.execute(text("SELECT to_regclass('plans.conflict_runs')")).scalar() is None:
        return
    for row in conn.execute(text(statement(__name__, "conflict_runs"))):
        run_id, title, started, finished, by, layers, x0, y0, x1, y1 = row
        yield CollectionSpec(
            id=f"conflicts.run{run_id}",
            title=f"冲突图斑 Conflict patches: {title}",
            description=f"Conflict run {run_id} of {layers or 'no layers'}, by {by}, started "
            f"{_date(started)}, finished {_date(finished)}.",
            keywords=("冲突图斑", "conflicts", "多规合一"),
            schema_name="plans",
            table="conflict_patches",
            id_column="id",
            id_type=_I,
            geometry_type="MultiPolygon",
            properties=_CONFLICT_PROPS,
            fixed=(("run_id", int(run_id)),),
            counter=Counter(table="plans.conflict_patches", part=str(run_id)),
            extent=Extent(bbox=None if x0 is None else (x0, y0, x1, y1)),
        )


def _date(value: dt.date | None) -> str:
    if value is None:
        return "unknown date"
    return value.date().isoformat() if isinstance(value, dt.datetime) else value.isoformat()


SOURCES: tuple[Source, ...] = (grid_collections, plan_collections, conflict_collections)
"""Publication order of the collections; add a source here to publish a new kind."""


@dataclass(frozen=True)
class Registry:
    """The published collections by id, in publication order."""

    specs: Mapping[str, CollectionSpec]
    built_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def get(self, collection_id: str) -> CollectionSpec:
        try:
            return self.specs[collection_id]
        except KeyError:
            raise NotFoundError(f"no collection {collection_id[:200]!r}") from None

    def to_json(self) -> list[dict[str, Any]]:
        return [spec.model_dump(mode="json") for spec in self.specs.values()]


def fingerprint(engine: Engine) -> tuple[str | None, ...]:
    """A value that changes when a plan layer version is imported or a conflict run ends:
    a running server compares it to decide to rebuild its registry. Empty before the
    migrations that make those tables."""
    with engine.connect() as conn:
        present = conn.execute(
            text("SELECT to_regclass('plans.layer_versions'), to_regclass('plans.conflict_runs')")
        ).one()
        if None in present:
            return ()
        return tuple(conn.execute(text(statement(__name__, "fingerprint"))).one())


def build_registry(engine: Engine, sources: Iterable[Source] = SOURCES) -> Registry:
    """Read the database once and return every collection to publish."""
    specs: dict[str, CollectionSpec] = {}
    with engine.connect() as conn:
        for source in sources:
            for spec in source(conn):
                if spec.id in specs:
                    raise ValueError(f"two collections are called {spec.id!r}")
                specs[spec.id] = spec
    return Registry(MappingProxyType(specs))
