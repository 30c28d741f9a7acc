"""Collection properties come from the table definitions: types, nullability, and only the
columns a collection lists (personal fields stay out)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, inspect

from grid.models import Building, Person
from layers.models import Feature
from services.ogcapi.columns import prop_type, published
from services.ogcapi.sources import GRID_SPECS
from services.ogcapi.specs import PropType


def test_types_and_nullability_follow_the_model() -> None:
    props = {p.name: p for p in published(Building, ("floors", "address_parts", "straddles",
                                                      "name", "updated_at"))}  # fmt: skip
    assert props["floors"].type is PropType.INTEGER and not props["floors"].nullable
    assert props["address_parts"].type is PropType.OBJECT and props["address_parts"].nullable
    assert props["straddles"].type is PropType.BOOLEAN
    assert props["name"].type is PropType.STRING and props["name"].nullable
    assert props["updated_at"].type is PropType.DATETIME and not props["updated_at"].nullable


def test_public_names_and_titles() -> None:
    (prop,) = published(Feature, ("properties",), names={"properties": "attributes"},
                        titles={"properties": "source attributes"})  # fmt: skip
    assert (prop.name, prop.column, prop.title) == ("attributes", "properties", "source attributes")


def test_an_unknown_column_is_refused() -> None:
    with pytest.raises(KeyError, match=r"grid\.buildings has no column height"):
        published(Building, ("floors", "height"))


def test_binary_columns_cannot_be_published() -> None:
    with pytest.raises(TypeError, match="citizen_id_enc"):
        prop_type(Person.__table__.c["citizen_id_enc"])


def test_published_columns_exist_in_the_database(engine: Engine) -> None:
    """What the models say is what the migrated database has (same names and nullability)."""
    inspector = inspect(engine)
    for spec in GRID_SPECS:
        columns = {c["name"]: c for c in inspector.get_columns(spec.table, spec.schema_name)}
        view = spec.table.endswith("_located")  # a view's columns all read as nullable
        for prop in spec.properties:
            assert prop.column in columns, f"{spec.id}.{prop.column}"
            if not view:
                assert columns[prop.column]["nullable"] == prop.nullable, f"{spec.id}.{prop.column}"
