"""A small test site built inside each test's rolled-back transaction.

It lies off the coast (≈119.80–119.84°E, 35.14–35.16°N): inside the platform's city box, but
outside every sample city, so whatever sample the session loaded cannot interfere.

County 320799 › street 320799001 › communities A = 320799001001 (2×2 cells) and
B = 320799001002 (one cell)::

    A001 | A002 | B001          worker W1: A001, A002; worker W2: A003, A004
    A003 | A004 |
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from shapely.geometry import Polygon, box
from sqlalchemy import Connection, text

from grid.audit import acting_as
from grid.codes import citizen_id_check_digit
from grid.privacy import Keyring
from grid.settings import GridSettings

GRID = GridSettings()
"""The grid settings the tests pass to the domain functions (built once, as the CLI does)."""

COUNTY, STREET = "320799000000", "320799001000"
A, B = "320799001001", "320799001002"
STEP = 0.01
WEST, SOUTH = 119.80, 35.14


def cell_box(col: int, row: int) -> Polygon:
    """Cell in column ``col`` (from the west), row ``row`` (from the north) of the site."""
    return box(
        WEST + col * STEP,
        SOUTH + STEP * (1 - row),
        WEST + (col + 1) * STEP,
        SOUTH + STEP * (2 - row),
    )


def building_in(col: int, row: int, dx: float = 0.3, dy: float = 0.3, size: float = 0.1) -> Polygon:
    """A square footprint at fraction (dx, dy) of a cell, ``size`` of a cell wide."""
    x0 = WEST + (col + dx) * STEP
    y0 = SOUTH + STEP * (1 - row) + dy * STEP
    return box(x0, y0, x0 + size * STEP, y0 + size * STEP)


def citizen_id(birth: dt.date, serial: int, address: str = "320706") -> str:
    first17 = f"{address}{birth:%Y%m%d}{serial:03d}"
    return first17 + citizen_id_check_digit(first17)


@dataclass
class Site:
    conn: Connection
    keyring: Keyring
    cells: dict[str, int] = field(default_factory=dict)
    workers: dict[str, int] = field(default_factory=dict)
    buildings: dict[str, int] = field(default_factory=dict)
    houses: dict[str, int] = field(default_factory=dict)
    households: dict[str, int] = field(default_factory=dict)
    persons: dict[str, int] = field(default_factory=dict)

    def scalar(self, sql: str, **params: object) -> object:
        return self.conn.execute(text(sql), params).scalar()

    def add_building(self, code: str, geom: Polygon) -> int:
        self.buildings[code] = int(
            self.conn.execute(
                text(
                    "INSERT INTO grid.buildings (code, use, floors, geom)"
                    " VALUES (:code, 'residential', 6, ST_GeomFromText(:wkt, 4490)) RETURNING id"
                ),
                {"code": code, "wkt": geom.wkt},
            ).scalar_one()
        )
        return self.buildings[code]

    def add_house(
        self, key: str, building: str | None, unit: str = "1", floor: int = 1, room: str = "101"
    ) -> int:
        self.houses[key] = int(
            self.conn.execute(
                text(
                    "INSERT INTO grid.houses (building_id, unit, floor, room)"
                    " VALUES (:b, :unit, :floor, :room) RETURNING id"
                ),
                {
                    "b": self.buildings.get(building or ""),
                    "unit": unit,
                    "floor": floor,
                    "room": room,
                },
            ).scalar_one()
        )
        return self.houses[key]

    def add_household(self, number: str, house: str | None) -> int:
        self.households[number] = int(
            self.conn.execute(
                text(
                    "INSERT INTO grid.households (household_no, house_id)"
                    " VALUES (:n, :h) RETURNING id"
                ),
                {"n": number, "h": self.houses.get(house or "")},
            ).scalar_one()
        )
        return self.households[number]

    def add_person(
        self,
        key: str,
        household: str | None,
        cid: str,
        name: str = "张三",
        phone: str | None = "13812345678",
    ) -> int:
        protected = self.keyring.protect_citizen_id(cid)
        mobile = self.keyring.protect_phone(phone) if phone else None
        birth = dt.date(int(cid[6:10]), int(cid[10:12]), int(cid[12:14]))
        self.persons[key] = int(
            self.conn.execute(
                text(
                    "INSERT INTO grid.persons (household_id, name, sex, birth_date,"
                    " citizen_id_enc, citizen_id_hash, citizen_id_masked,"
                    " phone_enc, phone_hash, phone_masked)"
                    " VALUES (:hh, :name, :sex, :birth, :enc, :hash, :masked,"
                    " :penc, :phash, :pmasked) RETURNING id"
                ),
                {
                    "hh": self.households.get(household or ""),
                    "name": name,
                    "sex": "M" if int(cid[16]) % 2 else "F",
                    "birth": birth,
                    "enc": protected.enc,
                    "hash": protected.hash,
                    "masked": protected.masked,
                    "penc": mobile and mobile.enc,
                    "phash": mobile and mobile.hash,
                    "pmasked": mobile and mobile.masked,
                },
            ).scalar_one()
        )
        return self.persons[key]


def _admin(conn: Connection, code: str, level: str, parent: str | None, geom: Polygon) -> None:
    conn.execute(
        text(
            "INSERT INTO grid.admin_areas (code, name, level, parent_code, geom)"
            " VALUES (:code, :name, :level, :parent, ST_Multi(ST_GeomFromText(:wkt, 4490)))"
        ),
        {
            "code": code,
            "name": f"测试{code[-3:]}",
            "level": level,
            "parent": parent,
            "wkt": geom.wkt,
        },
    )


def build_site(conn: Connection, keyring: Keyring) -> Site:
    """Create the test site in the caller's transaction."""
    s = Site(conn, keyring)
    with acting_as(conn, "fixture"):
        whole = box(WEST, SOUTH, WEST + 4 * STEP, SOUTH + 2 * STEP)
        _admin(conn, COUNTY, "county", None, whole)
        _admin(conn, STREET, "street", COUNTY, whole)
        _admin(conn, A, "community", STREET, box(WEST, SOUTH, WEST + 2 * STEP, SOUTH + 2 * STEP))
        _admin(
            conn,
            B,
            "community",
            STREET,
            box(WEST + 2 * STEP, SOUTH, WEST + 4 * STEP, SOUTH + 2 * STEP),
        )
        for name in ("W1", "W2"):
            s.workers[name] = int(
                conn.execute(
                    text(
                        "INSERT INTO grid.workers (name, community_code) VALUES (:n, :c)"
                        " RETURNING id"
                    ),
                    {"n": name, "c": A},
                ).scalar_one()
            )
        layout = {
            "A001": (0, 0, "W1"),
            "A002": (1, 0, "W1"),
            "A003": (0, 1, "W2"),
            "A004": (1, 1, "W2"),
        }
        for name, (col, row, worker) in layout.items():
            s.cells[name] = int(
                conn.execute(
                    text(
                        "INSERT INTO grid.cells (code, community_code, worker_id, geom)"
                        " VALUES (:code, :c, :w, ST_GeomFromText(:wkt, 4490)) RETURNING id"
                    ),
                    {
                        "code": A + name[1:],
                        "c": A,
                        "w": s.workers[worker],
                        "wkt": cell_box(col, row).wkt,
                    },
                ).scalar_one()
            )
        s.cells["B001"] = int(
            conn.execute(
                text(
                    "INSERT INTO grid.cells (code, community_code, geom)"
                    " VALUES (:code, :c, ST_GeomFromText(:wkt, 4490)) RETURNING id"
                ),
                {
                    "code": B + "001",
                    "c": B,
                    "wkt": box(WEST + 2 * STEP, SOUTH, WEST + 4 * STEP, SOUTH + 2 * STEP).wkt,
                },
            ).scalar_one()
        )
        s.add_building("T-A001-1", building_in(0, 0))
        s.add_building("T-A002-1", building_in(1, 0))
        s.add_building("T-A003-1", building_in(0, 1))
        s.add_building("T-A004-1", building_in(1, 1))
        # straddles A001 | A002: 70 % in A002 (x from 0.97 to 1.07 of a cell)
        s.add_building("T-STRADDLE", building_in(0, 0, dx=0.97, dy=0.5, size=0.1))
        s.add_house("h1", "T-A001-1", "1", 1, "101")
        s.add_house("h2", "T-A001-1", "1", 2, "201")
        s.add_house("h3", "T-A003-1", "1", 1, "101")
        s.add_household("T-HH1", "h1")
        s.add_household("T-HH3", "h3")
        s.add_person("p1", "T-HH1", citizen_id(dt.date(1950, 3, 1), 11), "王大明")
        s.add_person("p2", "T-HH1", citizen_id(dt.date(1985, 7, 9), 22), "王小红")
        s.add_person("p3", "T-HH3", citizen_id(dt.date(1990, 1, 1), 33), "李四")
    return s


def drop_site(conn: Connection) -> None:
    """Delete the test site (for tests that must commit it, e.g. to dump the database)."""
    for statement in (
        "DELETE FROM grid.persons WHERE household_id IN (SELECT id FROM grid.households"
        " WHERE household_no LIKE 'T-%')",
        "DELETE FROM grid.households WHERE household_no LIKE 'T-%'",
        "DELETE FROM grid.houses WHERE building_id IN (SELECT id FROM grid.buildings"
        " WHERE code LIKE 'T-%')",
        "DELETE FROM grid.buildings WHERE code LIKE 'T-%'",
        "DELETE FROM grid.cells WHERE community_code LIKE '320799%'",
        "DELETE FROM grid.workers WHERE community_code LIKE '320799%'",
        "DELETE FROM grid.admin_areas WHERE code LIKE '320799%' AND level = 'community'",
        "DELETE FROM grid.admin_areas WHERE code LIKE '320799%' AND level = 'street'",
        "DELETE FROM grid.admin_areas WHERE code LIKE '320799%'",
    ):
        conn.execute(text(statement))


@pytest.fixture
def site(conn: Connection, keyring: Keyring) -> Iterator[Site]:
    yield build_site(conn, keyring)


def building_link(conn: Connection, building_id: int) -> tuple[object, ...]:
    """A building's cell code, straddle flag and version: its 房进格 link as stored."""
    row = conn.execute(
        text(
            "SELECT c.code, b.straddles, b.version FROM grid.buildings b"
            " LEFT JOIN grid.cells c ON c.id = b.cell_id WHERE b.id = :i"
        ),
        {"i": building_id},
    ).one()
    return tuple(row)
