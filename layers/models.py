"""Tables of the ``plans`` schema: the plan layer registry, its versions, features, and the
classification tables every source code is harmonised to (2023 用地用海分类).

A layer is a department's plan (土规, 城规, a control line ...); each import of its source file
is a new version, and old versions stay queryable because features belong to a version.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from gis.crs import STORAGE_SRID
from gis.dbmodel import schema_metadata

CATEGORIES = ("建设", "农用", "生态", "水域", "其他")
"""Coarse categories used by conflict rules (construction, agricultural, ecological, water)."""


class PlansBase(DeclarativeBase):
    metadata = schema_metadata("plans")


class LanduseCode(PlansBase):
    """One class of the 2023 用地用海分类 (levels 1-3), loaded from config/classification."""

    __tablename__ = "landuse_codes"
    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 3", name="level_range"),
        CheckConstraint("code ~ '^[0-9]{2}([0-9]{2}){0,2}$'", name="code_form"),
        CheckConstraint("char_length(code) = 2 * level", name="code_matches_level"),
    )

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[int] = mapped_column(SmallInteger)
    parent: Mapped[str | None] = mapped_column(String(6), ForeignKey("plans.landuse_codes.code"))


class PlanType(PlansBase):
    """Kinds of plan layers (土规, 城规, 生态保护红线 ...), as data so new kinds need no code."""

    __tablename__ = "plan_types"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    control_line: Mapped[bool] = mapped_column()


class Layer(PlansBase):
    """A department's plan layer; its content lives in versions."""

    __tablename__ = "layers"
    __table_args__ = (CheckConstraint("id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'", name="id_form"),)

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    department: Mapped[str | None] = mapped_column(Text)
    plan_type: Mapped[str] = mapped_column(String(32), ForeignKey("plans.plan_types.code"))
    scheme: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class LayerVersion(PlansBase):
    """One import of a layer's source file, with what is needed to trace it back."""

    __tablename__ = "layer_versions"
    __table_args__ = (
        UniqueConstraint("layer_id", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("source_sha256 ~ '^[0-9a-f]{64}$'", name="sha256_form"),
        CheckConstraint("feature_count >= 0", name="count_positive"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    layer_id: Mapped[str] = mapped_column(String(63), ForeignKey("plans.layers.id"))
    version: Mapped[int] = mapped_column(Integer)
    snapshot_date: Mapped[dt.date | None] = mapped_column(Date)
    source_name: Mapped[str] = mapped_column(Text)
    source_sha256: Mapped[str] = mapped_column(String(64))
    source_crs: Mapped[str] = mapped_column(Text)
    source_encoding: Mapped[str | None] = mapped_column(Text)
    feature_count: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    imported_by: Mapped[str] = mapped_column(Text)


class Feature(PlansBase):
    """A plan polygon of one layer version, with its source code and the harmonised class."""

    __tablename__ = "features"
    __table_args__ = (
        CheckConstraint(f"category IN {CATEGORIES}", name="category_known"),
        CheckConstraint("NOT ST_IsEmpty(geom)", name="geom_not_empty"),
        CheckConstraint("ST_IsValid(geom)", name="geom_valid"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    layer_version_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("plans.layer_versions.id", ondelete="CASCADE"), index=True
    )
    source_fid: Mapped[str | None] = mapped_column(Text)
    source_code: Mapped[str | None] = mapped_column(Text)
    code_2023: Mapped[str | None] = mapped_column(
        String(6), ForeignKey("plans.landuse_codes.code"), index=True
    )
    category: Mapped[str | None] = mapped_column(Text)
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    geom: Mapped[Any] = mapped_column(
        Geometry("MULTIPOLYGON", srid=STORAGE_SRID, spatial_index=True), nullable=False
    )


METADATA = (PlansBase.metadata,)
