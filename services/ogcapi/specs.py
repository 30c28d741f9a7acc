"""What a collection is: a table (or a fixed slice of one), its key, geometry and properties.

A :class:`CollectionSpec` is the whitelist every request is checked against: only the
identifiers it names ever appear in SQL (quoted), and they are validated here, so a spec
from any source (grid, plans, conflict runs) cannot smuggle SQL in. Specs are plain data:
they travel inside the generated pygeoapi configuration to our provider plugin.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

_IDENT: Final = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_COLLECTION_ID: Final = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,127}$")
MAX_PROPERTIES: Final = 50
"""``json_build_object`` takes at most 100 arguments: 50 key/value pairs."""

GEOMETRY_QUERYABLE: Final = "geometry"
"""The name of the geometry in queryables and CQL2 (``S_INTERSECTS(geometry, ...)``)."""


class PropType(StrEnum):
    """JSON Schema type of a property (``datetime`` is a string with format date-time)."""

    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    OBJECT = "object"

    @property
    def comparable(self) -> bool:
        """Whether filters, equality parameters and ``sortby`` may use it."""
        return self is not PropType.OBJECT

    def json_schema(self) -> dict[str, str]:
        if self is PropType.DATETIME:
            return {"type": "string", "format": "date-time"}
        return {"type": self.value}


def check_identifier(name: str) -> str:
    """A lower-case SQL identifier that needs no quoting rules beyond double quotes."""
    if not _IDENT.match(name):
        raise ValueError(f"{name!r} is not a plain lower-case SQL identifier")
    return name


def quote(name: str) -> str:
    """The double-quoted identifier (names are checked when a spec is built)."""
    return '"' + check_identifier(name) + '"'


class Prop(BaseModel):
    """One output property: its public name, the column it comes from, and its type."""

    model_config = ConfigDict(frozen=True)

    name: str
    column: str
    type: PropType
    title: str = ""
    nullable: bool = True

    _names = field_validator("name", "column")(check_identifier)


class Extent(BaseModel):
    """Spatial extent in CRS84 (lon/lat) and the interval of ``updated_at``, when known."""

    model_config = ConfigDict(frozen=True)

    bbox: tuple[float, float, float, float] | None = None
    interval: tuple[dt.datetime | None, dt.datetime | None] | None = None


class Counter(BaseModel):
    """The ``counts.rows`` entry holding the exact row count of an unfiltered collection."""

    model_config = ConfigDict(frozen=True)

    table: str
    part: str = ""


class Audience(StrEnum):
    """Who may see a collection: everybody, or only callers with an API key."""

    PUBLIC = "public"
    KEYED = "keyed"


class CollectionSpec(BaseModel):
    """A feature collection: the whitelist of table, columns and fixed conditions.

    ``fixed`` are ``column = value`` conditions every query carries (values bound), e.g. a
    plan layer version. ``counter`` names the exact count of the unfiltered collection kept
    by the database (see migration 0004); without it, counts are taken per request.

    Rights and edits (services/auth/access.py decides): ``audience`` says who sees the
    collection; ``worker_column`` names the column holding the worker whose cells hold a
    row (a grid worker sees only their rows); ``version_column`` is the row version an
    item's ``ETag`` comes from; ``edit_table`` is the grid table written by POST, PUT,
    PATCH and DELETE (None: read-only).
    """

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    description: str = ""
    keywords: tuple[str, ...] = ()
    schema_name: str
    table: str
    id_column: str
    id_type: PropType
    geometry_column: str = "geom"
    geometry_type: str = "Polygon"
    properties: tuple[Prop, ...]
    datetime_column: str | None = None
    fixed: tuple[tuple[str, int | str], ...] = ()
    counter: Counter | None = None
    extent: Extent = Extent()
    audience: Audience = Audience.PUBLIC
    worker_column: str | None = None
    version_column: str | None = None
    edit_table: str | None = None

    @field_validator("id")
    @classmethod
    def _collection_id(cls, value: str) -> str:
        if not _COLLECTION_ID.match(value):
            raise ValueError(f"collection id {value!r}: use a-z, 0-9, '_', '-', '.'")
        return value

    _identifiers = field_validator("schema_name", "table", "id_column", "geometry_column")(
        check_identifier
    )

    @model_validator(mode="after")
    def _consistent(self) -> CollectionSpec:
        if self.id_type not in (PropType.INTEGER, PropType.STRING):
            raise ValueError(f"{self.id}: the id is an integer or a string")
        for column in (self.datetime_column, self.worker_column, self.version_column):
            if column is not None:
                check_identifier(column)
        if self.edit_table is not None:
            check_identifier(self.edit_table)
        for column, _ in self.fixed:
            check_identifier(column)
        names = [p.name for p in self.properties]
        if len(set(names)) != len(names) or GEOMETRY_QUERYABLE in names:
            raise ValueError(f"{self.id}: property names must be unique and not 'geometry'")
        if len(names) > MAX_PROPERTIES:
            raise ValueError(f"{self.id}: at most {MAX_PROPERTIES} properties")
        return self

    @property
    def qualified_table(self) -> str:
        return f"{quote(self.schema_name)}.{quote(self.table)}"

    def queryables(self) -> dict[str, Prop]:
        """Names a filter, an equality parameter or ``sortby`` may use: the comparable
        properties, plus ``id`` for the key when no property is called so."""
        found = {p.name: p for p in self.properties if p.type.comparable}
        if "id" not in found and not any(p.column == self.id_column for p in self.properties):
            found["id"] = self.key_prop()
        return found

    def key_prop(self) -> Prop:
        """The key as a property (the unique last sort key of every page)."""
        return Prop(name="id", column=self.id_column, type=self.id_type, nullable=False)
