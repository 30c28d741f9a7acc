"""Collection properties read off the table definitions (``grid.models``, ``layers.models``).

A collection names which columns it publishes, and under which public name and title; the
type and nullability come from the SQLAlchemy column, so a column changed by a migration
and its model changes what the API says about it, with nothing restated here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase

from services.ogcapi.specs import Prop, PropType

_TYPES: tuple[tuple[type[sa.types.TypeEngine[Any]], PropType], ...] = (
    (sa.Boolean, PropType.BOOLEAN),
    (sa.Integer, PropType.INTEGER),  # SmallInteger and BigInteger are Integers
    (sa.Float, PropType.NUMBER),  # Double is a Float
    (sa.Numeric, PropType.NUMBER),
    (sa.DateTime, PropType.DATETIME),
    (sa.String, PropType.STRING),  # Text is a String
    (JSONB, PropType.OBJECT),
    (sa.JSON, PropType.OBJECT),
)


def prop_type(column: sa.Column[Any]) -> PropType:
    """The JSON type a column's values take in a feature's properties."""
    for sql_type, json_type in _TYPES:
        if isinstance(column.type, sql_type):
            return json_type
    raise TypeError(
        f"{column.table.fullname}.{column.name}: a {type(column.type).__name__} column "
        "cannot be published as a property"
    )


def published(
    model: type[DeclarativeBase],
    columns: Sequence[str],
    *,
    names: Mapping[str, str] | None = None,
    titles: Mapping[str, str] | None = None,
) -> tuple[Prop, ...]:
    """``columns`` of ``model``'s table as properties, in that order.

    ``names`` maps a column to its public name where the two differ; ``titles`` gives a
    property's title (keyed by column). Only listed columns are published: a column added
    to the table (a personal field, say) stays private until a collection asks for it.
    """
    names, titles = names or {}, titles or {}
    table = cast("sa.Table", model.__table__)
    unknown = sorted(set(columns) - set(table.c.keys()))
    if unknown:
        raise KeyError(f"{table.fullname} has no column {', '.join(unknown)}")
    return tuple(
        Prop(
            name=names.get(name, name),
            column=name,
            type=prop_type(table.c[name]),
            title=titles.get(name, ""),
            nullable=bool(table.c[name].nullable),
        )
        for name in columns
    )
