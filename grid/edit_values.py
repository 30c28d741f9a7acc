"""Checking the values of an edit before any reaches the database.

Each editable column's value is checked by the rule the domain has for it: geometries
(type, validity, inside the city), codes (structure, parent), citizen IDs and phones (check
digit, mobile number; then encrypted, hashed and masked). Columns kept by the platform
(versions, the 房进格 link, codes of untouched cells, ciphertexts) cannot be edited.
grid/edits.py applies the checked values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from sqlalchemy import Table

from grid.codes import (
    admin_level,
    cell_code_problems,
    citizen_id_problems,
    community_code_problems,
    mobile_problems,
    street_code_problems,
)
from grid.errors import CodeError, GridError, InvalidValueError
from grid.geometry_checks import checked, to_database
from grid.privacy import Keyring
from grid.settings import GridSettings

BOOKKEEPING: Final = frozenset({"version", "updated_by", "updated_at"})
DERIVED: Final = frozenset({"cell_id", "straddles"})
"""Kept by the database (房进格), never edited."""
IMMUTABLE: Final = {"cells": {"code", "community_code"}}
"""Changed only by grid/cells (codes of untouched cells never change)."""
_GEOMETRY_KIND: Final = {"admin_areas": "MultiPolygon", "cells": "Polygon", "buildings": "Polygon"}
PROTECTED: Final = {"persons": ("citizen_id", "phone"), "workers": ("phone",)}


def _protect(table: Table, name: str, value: object, keyring: Keyring | None) -> dict[str, object]:
    if value is None or value == "":
        return {f"{name}_enc": None, f"{name}_hash": None, f"{name}_masked": None}
    if keyring is None:
        raise GridError(f"changing {table.name}.{name} needs the keyring (the platform secret)")
    plain = str(value)
    if name == "citizen_id":
        problems = citizen_id_problems(plain)
        if problems:
            raise CodeError(f"citizen ID {'; '.join(problems)}")
        protected = keyring.protect_citizen_id(plain)
    else:
        problems = mobile_problems(plain)
        if problems:
            raise CodeError(f"phone {'; '.join(problems)}")
        protected = keyring.protect_phone(plain)
    return {f"{name}_enc": protected.enc, f"{name}_hash": protected.hash,
            f"{name}_masked": protected.masked}  # fmt: skip


def editable(table: Table) -> list[str]:
    """The columns of ``table`` an edit may set (geometry included), then its personal
    fields (set in plain text, stored protected)."""
    columns = [
        c.name for c in table.columns
        if not c.primary_key and c.name not in BOOKKEEPING | DERIVED
        and c.name not in IMMUTABLE.get(table.name, ())
        and not c.name.endswith(("_enc", "_hash", "_masked"))
    ]  # fmt: skip
    return columns + list(PROTECTED.get(table.name, ()))


def prepare_values(
    table: Table,
    changes: Mapping[str, object],
    keyring: Keyring | None = None,
    settings: GridSettings | None = None,
) -> dict[str, object]:
    """Column values for ``changes`` after checking each; personal fields protected."""
    values: dict[str, object] = {}
    protected = PROTECTED.get(table.name, ())
    allowed = editable(table)
    for name, value in changes.items():
        if name in protected:
            values.update(_protect(table, name, value, keyring))
            continue
        if name not in allowed:
            raise InvalidValueError(
                f"{table.name}.{name} cannot be edited; editable: {', '.join(allowed)}"
            )
        if name == "geom":
            if settings is None:
                raise GridError(f"changing {table.name}.geom needs the grid settings (city bounds)")
            kind = _GEOMETRY_KIND[table.name]
            value = to_database(checked(value, kind, settings, f"{table.name} geometry"))
        values[name] = value
    if not values:
        raise InvalidValueError("nothing to change")
    return values


def check_codes(table: Table, values: Mapping[str, object]) -> None:
    """Codes of a new cell or admin area: structure, and agreement with the parent named."""
    if table.name == "cells":
        code, community = str(values.get("code", "")), values.get("community_code")
        problems = cell_code_problems(code, None if community is None else str(community))
    elif table.name == "admin_areas":
        code, level = str(values.get("code", "")), values.get("level")
        parent = values.get("parent_code")
        if level != admin_level(code):
            problems = [f"code {code} is not the code of a {level}"]
        elif level == "community":
            problems = community_code_problems(code, str(parent))
        elif level == "street":
            problems = street_code_problems(code, str(parent))
        else:
            problems = [] if parent is None else ["a county has no parent"]
    else:
        return
    if problems:
        raise CodeError(f"{table.name} code {code}: {'; '.join(problems)}")
