"""Loading a sample dataset (admin areas, cells, buildings, houses, households, persons).

Everything goes in one transaction: a bad file leaves the database as it was. Personal
fields are protected on the way in (see grid.privacy): the database never sees them plain.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import shapely
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, func, insert, select, text

from gis.crs import STORAGE_SRID
from gis.io import read_table, read_vector
from grid.codes import citizen_id_problems
from grid.errors import GridError
from grid.linking import link_buildings
from grid.models import AdminArea, Building, Cell, House, Household, Person, Worker
from grid.privacy import Keyring

GRID_TABLES = ("persons", "households", "houses", "buildings", "cells", "workers", "admin_areas")


class SampleError(GridError):
    """A sample directory is incomplete or holds a row that cannot be loaded."""


def _geometry(value: BaseGeometry | None) -> Any:
    return from_shape(value, srid=STORAGE_SRID)


def _multi(value: BaseGeometry) -> MultiPolygon:
    return value if isinstance(value, MultiPolygon) else MultiPolygon([value])


def _require(directory: Path, name: str) -> Path:
    path = directory / name
    if not path.is_file():
        raise SampleError(f"{directory}: the sample has no {name}")
    return path


def _admin_rows(directory: Path) -> list[dict[str, Any]]:
    """Admin areas, parents first; a county or street without geometry gets its children's."""
    _, records = read_vector(_require(directory, "admin_areas.geojson"))
    rows = [dict(r.properties, geom=r.geometry) for r in records]
    by_code = {row["code"]: row for row in rows}
    for level in ("street", "county"):
        for row in rows:
            if row["level"] == level and row["geom"] is None:
                children = [c["geom"] for c in rows if c["parent_code"] == row["code"]]
                if not children or any(g is None for g in children):
                    raise SampleError(f"admin area {row['code']} has no geometry and no children")
                row["geom"] = shapely.union_all(children)
    order = {"county": 0, "street": 1, "community": 2}
    rows.sort(key=lambda row: (order.get(row["level"], 3), row["code"]))
    for row in rows:
        if row["parent_code"] and row["parent_code"] not in by_code:
            raise SampleError(f"admin area {row['code']} names unknown parent {row['parent_code']}")
        row["geom"] = _geometry(_multi(row["geom"]))
    return rows


def load_sample(conn: Connection, directory: Path, keyring: Keyring, replace: bool) -> Counter[str]:
    """Load the sample in ``directory`` inside the caller's transaction; return row counts."""
    directory = Path(directory)
    if not directory.is_dir():
        raise SampleError(f"{directory} is not a directory")
    existing = conn.execute(select(func.count()).select_from(AdminArea)).scalar_one()
    if existing and not replace:
        raise SampleError("the database already holds grid data: load with --replace to replace it")
    if replace:
        tables = ", ".join(f"grid.{name}" for name in GRID_TABLES)
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))

    counts: Counter[str] = Counter()
    admin = _admin_rows(directory)
    conn.execute(insert(AdminArea), admin)
    counts["admin_areas"] = len(admin)

    worker_ids: dict[str, int] = {}
    for row in read_table(_require(directory, "workers.csv")):
        phone = keyring.protect_phone(row["phone"])
        worker_ids[row["key"]] = conn.execute(
            insert(Worker)
            .values(
                name=row["name"],
                community_code=row["community_code"],
                phone_enc=phone.enc,
                phone_hash=phone.hash,
                phone_masked=phone.masked,
            )
            .returning(Worker.id)
        ).scalar_one()
    counts["workers"] = len(worker_ids)

    _, cell_records = read_vector(_require(directory, "cells.geojson"))
    cells = [
        {
            "code": r.properties["code"],
            "community_code": r.properties["community_code"],
            "name": r.properties.get("name"),
            "worker_id": worker_ids.get(r.properties.get("worker") or ""),
            "geom": _geometry(r.geometry),
        }
        for r in cell_records
    ]
    conn.execute(insert(Cell), cells)
    counts["cells"] = len(cells)

    building_ids: dict[str, int] = {}
    _, building_records = read_vector(_require(directory, "buildings.geojson"))
    for r in building_records:
        if not isinstance(r.geometry, Polygon):
            raise SampleError(f"building {r.properties.get('key')}: footprint must be a polygon")
        p = r.properties
        building_ids[p["key"]] = conn.execute(
            insert(Building)
            .values(
                code=p["key"],
                name=p.get("name"),
                use=p["use"],
                floors=int(p["floors"]),
                address=p.get("address"),
                geom=_geometry(r.geometry),
            )
            .returning(Building.id)
        ).scalar_one()
    counts["buildings"] = len(building_ids)
    link_buildings(conn)

    house_ids: dict[str, int] = {}
    for row in read_table(_require(directory, "houses.csv")):
        house_ids[row["key"]] = conn.execute(
            insert(House)
            .values(
                building_id=building_ids.get(row["building"]),
                unit=row["unit"],
                floor=int(row["floor"]),
                room=row["room"],
                area_m2=float(row["area_m2"]) if row.get("area_m2") else None,
            )
            .returning(House.id)
        ).scalar_one()
    counts["houses"] = len(house_ids)

    household_ids: dict[str, int] = {}
    for row in read_table(_require(directory, "households.csv")):
        household_ids[row["household_no"]] = conn.execute(
            insert(Household)
            .values(
                household_no=row["household_no"],
                house_id=house_ids.get(row["house"]),
                residence=row["residence"],
            )
            .returning(Household.id)
        ).scalar_one()
    counts["households"] = len(household_ids)

    persons = []
    for line, row in enumerate(read_table(_require(directory, "persons.csv")), start=2):
        problems = citizen_id_problems(row["citizen_id"])
        if problems:
            raise SampleError(f"persons.csv line {line}: citizen ID {'; '.join(problems)}")
        cid = keyring.protect_citizen_id(row["citizen_id"])
        mobile = keyring.protect_phone(row["phone"]) if row.get("phone") else None
        persons.append(
            {
                "household_id": household_ids.get(row["household_no"]),
                "name": row["name"],
                "sex": row["sex"],
                "birth_date": dt.date.fromisoformat(row["birth_date"]),
                "relation": row.get("relation") or None,
                "citizen_id_enc": cid.enc,
                "citizen_id_hash": cid.hash,
                "citizen_id_masked": cid.masked,
                "phone_enc": mobile.enc if mobile else None,
                "phone_hash": mobile.hash if mobile else None,
                "phone_masked": mobile.masked if mobile else None,
            }
        )
    if persons:
        conn.execute(insert(Person), persons)
    counts["persons"] = len(persons)
    return counts
