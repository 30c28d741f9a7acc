"""Tables of the ``grid`` and ``audit`` schemas: 人进户、户进房、房进格、格进图.

The constraints reject what can never be valid (wrong code lengths, a level that does not
match its code, empty or invalid geometries; the column types reject a wrong SRID), so bad
rows fail at the database whatever wrote them. Links person → household → house → building
are foreign keys; building → cell is derived spatially and kept in ``buildings.cell_id``.
The FK columns are nullable on purpose: the consistency checks must be able to find a
person without household or a house without building, which real data contains.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from gis.crs import STORAGE_SRID
from gis.dbmodel import schema_metadata

LEVELS = ("county", "street", "community")
BUILDING_USES = ("residential", "commercial", "industrial", "public", "mixed", "other")
RESIDENCE_TYPES = ("registered", "resident", "floating")  # 户籍 / 常住 / 流动


def _polygonal(kind: str) -> Any:
    return Geometry(kind, srid=STORAGE_SRID, spatial_index=True)


def _geometry_checks() -> tuple[CheckConstraint, ...]:
    return (
        CheckConstraint("NOT ST_IsEmpty(geom)", name="geom_not_empty"),
        CheckConstraint("ST_IsValid(geom)", name="geom_valid"),
    )


class GridBase(DeclarativeBase):
    metadata = schema_metadata("grid")


class Versioned:
    """Columns every editable grid row carries (see grid/edits for who maintains them)."""

    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    updated_by: Mapped[str] = mapped_column(Text, server_default=text("'system'"))
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class AdminArea(Versioned, GridBase):
    """County, street (街道/镇/乡) or community (社区/村), all keyed by the 12-digit code."""

    __tablename__ = "admin_areas"
    __table_args__ = (
        CheckConstraint("code ~ '^[0-9]{12}$'", name="code_12_digits"),
        CheckConstraint(f"level IN {LEVELS}", name="level_known"),
        CheckConstraint(
            "(level = 'county' AND substr(code, 7) = '000000' AND parent_code IS NULL)"
            " OR (level = 'street' AND substr(code, 7, 3) <> '000' AND substr(code, 10) = '000'"
            "     AND parent_code = substr(code, 1, 6) || '000000')"
            " OR (level = 'community' AND substr(code, 7, 3) <> '000'"
            "     AND substr(code, 10) <> '000' AND parent_code = substr(code, 1, 9) || '000')",
            name="level_matches_code",
        ),
        *_geometry_checks(),
    )

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(9))
    parent_code: Mapped[str | None] = mapped_column(
        String(12), ForeignKey("grid.admin_areas.code"), index=True
    )
    geom: Mapped[Any] = mapped_column(_polygonal("MULTIPOLYGON"), nullable=False)


class Worker(Versioned, GridBase):
    """A grid worker (网格员); phone kept like every personal field (see grid/privacy)."""

    __tablename__ = "workers"
    __table_args__ = (
        CheckConstraint("(phone_enc IS NULL) = (phone_hash IS NULL)", name="phone_pair"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    community_code: Mapped[str] = mapped_column(
        String(12), ForeignKey("grid.admin_areas.code"), index=True
    )
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_hash: Mapped[bytes | None] = mapped_column(LargeBinary, index=True)
    phone_masked: Mapped[str | None] = mapped_column(Text)


class Cell(Versioned, GridBase):
    """A unit grid cell (单元网格): 15-digit code = community code + 3-digit sequence."""

    __tablename__ = "cells"
    __table_args__ = (
        CheckConstraint("code ~ '^[0-9]{15}$'", name="code_15_digits"),
        CheckConstraint("substr(code, 1, 12) = community_code", name="code_in_community"),
        CheckConstraint("substr(code, 13) <> '000'", name="sequence_not_zero"),
        *_geometry_checks(),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(String(15), unique=True)
    name: Mapped[str | None] = mapped_column(Text)
    community_code: Mapped[str] = mapped_column(
        String(12), ForeignKey("grid.admin_areas.code"), index=True
    )
    worker_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("grid.workers.id"), index=True
    )
    geom: Mapped[Any] = mapped_column(_polygonal("POLYGON"), nullable=False)


class Building(Versioned, GridBase):
    """A building footprint with its standard address; ``cell_id`` is derived (房进格).

    ``cell_id`` and ``straddles`` (the footprint overlaps more than one cell) are kept by the
    database (grid/audit.sql) and are not versioned edits.
    """

    __tablename__ = "buildings"
    __table_args__ = (
        CheckConstraint(f"use IN {BUILDING_USES}", name="use_known"),
        CheckConstraint("floors BETWEEN 1 AND 200", name="floors_range"),
        Index("ix_buildings_straddling", "cell_id", postgresql_where=text("straddles")),
        *_geometry_checks(),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str | None] = mapped_column(Text)
    use: Mapped[str] = mapped_column(String(12))
    floors: Mapped[int] = mapped_column(SmallInteger)
    address: Mapped[str | None] = mapped_column(Text)
    address_parts: Mapped[dict[str, str] | None] = mapped_column(JSONB)
    cell_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("grid.cells.id", ondelete="SET NULL"), index=True
    )
    straddles: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    geom: Mapped[Any] = mapped_column(_polygonal("POLYGON"), nullable=False)


class House(Versioned, GridBase):
    """A dwelling or unit (户室) of a building: unit (单元), floor, room."""

    __tablename__ = "houses"
    __table_args__ = (
        UniqueConstraint("building_id", "unit", "floor", "room"),
        CheckConstraint("floor BETWEEN -5 AND 200 AND floor <> 0", name="floor_range"),
        CheckConstraint("area_m2 IS NULL OR area_m2 > 0", name="area_positive"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    building_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("grid.buildings.id"), index=True
    )
    unit: Mapped[str] = mapped_column(Text)
    floor: Mapped[int] = mapped_column(SmallInteger)
    room: Mapped[str] = mapped_column(Text)
    area_m2: Mapped[float | None] = mapped_column()


class Household(Versioned, GridBase):
    """A household (户) living in a house (户进房)."""

    __tablename__ = "households"
    __table_args__ = (CheckConstraint(f"residence IN {RESIDENCE_TYPES}", name="residence_known"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    household_no: Mapped[str] = mapped_column(Text, unique=True)
    house_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("grid.houses.id"), index=True
    )
    residence: Mapped[str] = mapped_column(String(10), server_default=text("'registered'"))


class Person(Versioned, GridBase):
    """A person (人进户). Citizen ID and phone exist only encrypted, hashed and masked."""

    __tablename__ = "persons"
    __table_args__ = (
        CheckConstraint("sex IN ('M', 'F')", name="sex_known"),
        CheckConstraint(
            "(citizen_id_enc IS NULL) = (citizen_id_hash IS NULL)", name="citizen_id_pair"
        ),
        CheckConstraint(
            "citizen_id_masked IS NULL OR citizen_id_masked ~ '^[0-9]{6}[*]{8}[0-9]{3}[0-9X]$'",
            name="citizen_id_masked_form",
        ),
        CheckConstraint("(phone_enc IS NULL) = (phone_hash IS NULL)", name="phone_pair"),
        CheckConstraint("octet_length(citizen_id_hash) = 32", name="citizen_id_hash_length"),
        CheckConstraint("octet_length(phone_hash) = 32", name="phone_hash_length"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    household_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("grid.households.id"), index=True
    )
    name: Mapped[str] = mapped_column(Text)
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    relation: Mapped[str | None] = mapped_column(Text)
    citizen_id_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    citizen_id_hash: Mapped[bytes | None] = mapped_column(LargeBinary, index=True)
    citizen_id_masked: Mapped[str | None] = mapped_column(String(18))
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_hash: Mapped[bytes | None] = mapped_column(LargeBinary, index=True)
    phone_masked: Mapped[str | None] = mapped_column(Text)


class AuditBase(DeclarativeBase):
    metadata = schema_metadata("audit")


class Change(AuditBase):
    """Before/after image of one change to a grid row (written by triggers, see grid/edits)."""

    __tablename__ = "changes"
    __table_args__ = (
        CheckConstraint(
            "operation IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')", name="operation_known"
        ),
        Index(None, "table_name", "row_id", "version"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    table_name: Mapped[str] = mapped_column(Text)
    row_id: Mapped[str] = mapped_column(Text)
    version: Mapped[int | None] = mapped_column(Integer)
    operation: Mapped[str] = mapped_column(String(8))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    changed_by: Mapped[str] = mapped_column(Text)
    changed_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class AccessLog(AuditBase):
    """One read of unmasked personal data: who, why, which row and fields (see grid/privacy)."""

    __tablename__ = "access_log"
    __table_args__ = (
        CheckConstraint("char_length(btrim(reason)) >= 4", name="reason_given"),
        Index(None, "table_name", "row_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    accessed_by: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    table_name: Mapped[str] = mapped_column(Text)
    row_id: Mapped[str] = mapped_column(Text)
    fields: Mapped[list[str]] = mapped_column(ARRAY(Text))
    accessed_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


METADATA = (GridBase.metadata, AuditBase.metadata)
