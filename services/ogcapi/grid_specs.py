"""The grid's collections: admin areas, cells and buildings for everybody; houses,
households and persons for callers with an API key.

Houses, households and persons are read from views that place each row at its building
(migration 0009): the footprint is their geometry, and ``worker_id`` (the worker of the
building's cell) is the column a grid worker's view is restricted by. Persons come masked
from the view itself, so no query of this service can read a plain name, citizen ID or
phone; the one unmasked read is an admin's, with a reason, logged (services/ogcapi/reveal.py).

Every grid collection is versioned: an item's ``ETag`` is its row version, and the edit
routes write the grid table named by ``edit_table`` through grid/edits.py.
"""

from __future__ import annotations

from typing import Final

from grid.models import AdminArea, Building, Cell, House, Household, Person
from services.ogcapi.columns import published
from services.ogcapi.specs import Audience, CollectionSpec, Counter, Prop, PropType

_S, _I = PropType.STRING, PropType.INTEGER
_VERSIONED = ("version", "updated_at")
_ATTRIBUTED = ("version", "updated_by", "updated_at")
"""Who changed a row last is shown to keyed callers only (it names a worker)."""
_BUILDING_COLUMNS = ("code", "name", "use", "floors", "address", "address_parts", "cell_id",
                     "straddles", *_VERSIONED)  # fmt: skip


def _extra(name: str, kind: PropType, title: str) -> Prop:
    """A column of a located view that its model does not have."""
    return Prop(name=name, column=name, type=kind, title=title, nullable=True)


_WHERE: Final = (
    _extra("cell_id", _I, "the building's grid cell (房进格)"),
    _extra("cell_code", _S, "15-digit code of that cell"),
    _extra("worker_id", _I, "the grid worker of that cell"),
)
"""Where a located row is: its building's cell and that cell's worker."""

_KEYED: Final = {
    "audience": Audience.KEYED,
    "schema_name": "grid",
    "id_column": "id",
    "id_type": _I,
    "geometry_type": "Polygon",
    "datetime_column": "updated_at",
    "worker_column": "worker_id",
    "version_column": "version",
}

GRID_SPECS: tuple[CollectionSpec, ...] = (
    CollectionSpec(
        id="admin_areas",
        title="行政区划 Administrative areas",
        description="Counties, streets (街道/镇/乡) and communities (社区/村) of Lianyungang, "
        "keyed by the 12-digit statistical code.",
        keywords=("行政区划", "admin", "GB/T 2260"),
        schema_name="grid",
        table="admin_areas",
        id_column="code",
        id_type=_S,
        geometry_type="MultiPolygon",
        properties=published(
            AdminArea,
            ("code", "name", "level", "parent_code", *_VERSIONED),
            titles={"code": "12-digit statistical code", "level": "county, street or community"},
        ),
        datetime_column="updated_at",
        counter=Counter(table="grid.admin_areas"),
        version_column="version",
    ),
    CollectionSpec(
        id="cells",
        title="单元网格 Grid cells",
        description="Unit grid cells (单元网格): 15-digit code = community code + sequence.",
        keywords=("网格", "grid"),
        schema_name="grid",
        table="cells",
        id_column="id",
        id_type=_I,
        properties=published(
            Cell,
            ("code", "name", "community_code", "worker_id", *_VERSIONED),
            titles={"code": "15-digit grid code", "worker_id": "the cell's grid worker"},
        ),
        datetime_column="updated_at",
        counter=Counter(table="grid.cells"),
        version_column="version",
        edit_table="cells",
    ),
    CollectionSpec(
        id="buildings",
        title="建筑物 Buildings",
        description="Building footprints with their standard address and grid cell (房进格).",
        keywords=("建筑", "buildings"),
        schema_name="grid",
        table="buildings",
        id_column="id",
        id_type=_I,
        properties=published(Building, _BUILDING_COLUMNS),
        datetime_column="updated_at",
        counter=Counter(table="grid.buildings"),
        version_column="version",
        edit_table="buildings",
    ),
    CollectionSpec(
        id="houses",
        title="房屋 Houses",
        description="Dwellings (户室) of the buildings, located at their building's footprint. "
        "With an API key only; a grid worker sees those in their cells.",
        keywords=("房屋", "houses"),
        table="houses_located",
        counter=Counter(table="grid.houses"),
        properties=(
            *published(House, ("building_id", "unit", "floor", "room", "area_m2")),
            _extra("building_code", _S, "code of the building"),
            *_WHERE,
            *published(House, _ATTRIBUTED),
        ),
        edit_table="houses",
        **_KEYED,
    ),
    CollectionSpec(
        id="households",
        title="住户 Households",
        description="Households (户) and the house they live in (户进房), located at the "
        "building. With an API key only; a grid worker sees those in their cells.",
        keywords=("住户", "households"),
        table="households_located",
        counter=Counter(table="grid.households"),
        properties=(
            *published(Household, ("household_no", "house_id", "residence")),
            _extra("building_id", _I, "the house's building"),
            *_WHERE,
            *published(Household, _ATTRIBUTED),
        ),
        edit_table="households",
        **_KEYED,
    ),
    CollectionSpec(
        id="persons",
        title="人口 Persons",
        description="Persons (人进户), masked: name, citizen ID and phone are shown in part "
        "only. With an API key only; a grid worker sees those in their cells.",
        keywords=("人口", "persons"),
        table="persons_located",
        counter=Counter(table="grid.persons"),
        properties=(
            *published(Person, ("household_id", "name", "sex")),
            _extra("birth_year", _I, "year of birth"),
            *published(Person, ("relation",)),
            _extra("citizen_id", _S, "citizen ID (masked)"),
            _extra("phone", _S, "phone (masked)"),
            _extra("house_id", _I, "the household's house"),
            _extra("building_id", _I, "the house's building"),
            *_WHERE,
            *published(Person, _ATTRIBUTED),
        ),
        edit_table="persons",
        **_KEYED,
    ),
)
"""Publication order of the grid's collections."""
