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
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Identity,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from gis.crs import GK_CM120_SRID, STORAGE_SRID
from gis.dbmodel import schema_metadata

CATEGORIES = ("建设", "农用", "生态", "水域", "其他")
"""Coarse categories used by conflict rules (construction, agricultural, ecological, water)."""


class PlansBase(DeclarativeBase):
    metadata = schema_metadata("plans")


class LanduseCode(PlansBase):
    """One class of the 2023 用地用海分类 (levels 1-3), loaded from layers/data/classification."""

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


class FeaturePart(PlansBase):
    """A feature in EPSG:4549 metres, snapped, valid and cut above a vertex limit, made at
    import (``layers/parts.py``) so that conflict runs need not transform and cut it again."""

    __tablename__ = "feature_parts"
    __table_args__ = (PrimaryKeyConstraint("feature_id", "part"),)

    feature_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("plans.features.id", ondelete="CASCADE")
    )
    part: Mapped[int] = mapped_column(SmallInteger)
    parts: Mapped[int] = mapped_column(SmallInteger)
    layer_version_id: Mapped[int] = mapped_column(BigInteger, index=True)
    cell_i: Mapped[int] = mapped_column(Integer)
    cell_j: Mapped[int] = mapped_column(Integer)
    geom: Mapped[Any] = mapped_column(
        Geometry("GEOMETRY", srid=GK_CM120_SRID, spatial_index=False), nullable=False
    )


SEVERITIES = ("hard", "major", "minor")
"""Conflict severities: hard = a control line is broken (永久基本农田, 生态保护红线)."""
VERDICTS = ("pass", "warn", "fail")
"""Site-check verdicts, mildest first."""


class Repair(PlansBase):
    """A geometry the import repaired (``ST_MakeValid`` linework), how, and at which stage:
    ``source`` (invalid as delivered) or ``transform`` (invalid once in EPSG:4490)."""

    __tablename__ = "repairs"
    __table_args__ = (CheckConstraint("stage IN ('source', 'transform')", name="stage_known"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    layer_version_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("plans.layer_versions.id", ondelete="CASCADE"), index=True
    )
    source_fid: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str] = mapped_column(Text)
    stage: Mapped[str] = mapped_column(String(9))


class Reject(PlansBase):
    """A source row the import could not use, with the reason; kept so nothing is dropped
    silently. ``geom`` is the source geometry in EPSG:4490 (repaired where it was invalid:
    possibly not polygonal), or NULL when there was none or it could not be transformed."""

    __tablename__ = "rejects"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    layer_version_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("plans.layer_versions.id", ondelete="CASCADE"), index=True
    )
    source_fid: Mapped[str | None] = mapped_column(Text)
    source_code: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    geom: Mapped[Any | None] = mapped_column(
        Geometry("GEOMETRY", srid=STORAGE_SRID, spatial_index=True), nullable=True
    )


class ConflictRun(PlansBase):
    """One conflict analysis: the rules and thresholds it ran with, and what it found."""

    __tablename__ = "conflict_runs"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    rules_file: Mapped[str] = mapped_column(Text)
    rules_sha256: Mapped[str] = mapped_column(String(64))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB)
    stats: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    started_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(Text)


class ConflictRunLayer(PlansBase):
    """A layer version a run used, on side ``a`` (the layer checked) or ``b``."""

    __tablename__ = "conflict_run_layers"
    __table_args__ = (
        PrimaryKeyConstraint("run_id", "layer_version_id"),
        CheckConstraint("role IN ('a', 'b')", name="role_known"),
    )

    run_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("plans.conflict_runs.id", ondelete="CASCADE")
    )
    layer_version_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("plans.layer_versions.id"), index=True
    )
    role: Mapped[str] = mapped_column(String(1))


class ConflictPatch(PlansBase):
    """A conflict patch (差异图斑): the non-sliver pieces of one (A feature, B feature) pair
    of one conflict type; B is NULL for a difference (A outside every B polygon).

    Areas are ellipsoidal on CGCS2000 (``ST_Area(geom::geography)``); 1 亩 = 10000/15 m².
    County, street and community hold the patch's point on surface.
    """

    __tablename__ = "conflict_patches"
    __table_args__ = (
        CheckConstraint(f"severity IN {SEVERITIES}", name="severity_known"),
        CheckConstraint("area_m2 >= 0", name="area_positive"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    run_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("plans.conflict_runs.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(5))
    a_layer_version_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("plans.layer_versions.id")
    )
    a_feature_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("plans.features.id"))
    a_code: Mapped[str | None] = mapped_column(Text)
    a_code_2023: Mapped[str | None] = mapped_column(String(6))
    b_layer_version_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("plans.layer_versions.id")
    )
    b_feature_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("plans.features.id"))
    b_code: Mapped[str | None] = mapped_column(Text)
    b_code_2023: Mapped[str | None] = mapped_column(String(6))
    county_code: Mapped[str | None] = mapped_column(String(12))
    street_code: Mapped[str | None] = mapped_column(String(12))
    community_code: Mapped[str | None] = mapped_column(String(12))
    pieces: Mapped[int] = mapped_column(Integer)
    area_m2: Mapped[float] = mapped_column(Double)
    area_mu: Mapped[float] = mapped_column(Double)
    area_ha: Mapped[float] = mapped_column(Double)
    geom: Mapped[Any] = mapped_column(
        Geometry("MULTIPOLYGON", srid=STORAGE_SRID, spatial_index=True), nullable=False
    )


class ConflictSliver(PlansBase):
    """A conflict piece filtered out as a sliver (under the minimum area or width), kept for
    audit: which test caught it, its planar (EPSG:4549) and ellipsoidal areas."""

    __tablename__ = "conflict_slivers"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    run_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("plans.conflict_runs.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(Text)
    a_feature_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("plans.features.id"))
    b_feature_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("plans.features.id"))
    county_code: Mapped[str | None] = mapped_column(String(12))
    area_m2: Mapped[float] = mapped_column(Double)
    planar_area_m2: Mapped[float] = mapped_column(Double)
    by_area: Mapped[bool] = mapped_column(Boolean)
    by_width: Mapped[bool] = mapped_column(Boolean)
    geom: Mapped[Any] = mapped_column(
        Geometry("POLYGON", srid=STORAGE_SRID, spatial_index=True), nullable=False
    )


class SiteCheck(PlansBase):
    """A project red line (项目红线) checked against every control layer."""

    __tablename__ = "site_checks"
    __table_args__ = (CheckConstraint(f"verdict IN {VERDICTS}", name="verdict_known"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    use: Mapped[str | None] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(String(4))
    area_m2: Mapped[float] = mapped_column(Double)
    checked_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    checked_by: Mapped[str] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(
        Geometry("MULTIPOLYGON", srid=STORAGE_SRID, spatial_index=True), nullable=False
    )


class SiteCheckItem(PlansBase):
    """One check of a site against one layer version: overlap, share, verdict, features."""

    __tablename__ = "site_check_items"
    __table_args__ = (CheckConstraint(f"verdict IN {VERDICTS}", name="verdict_known"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    site_check_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("plans.site_checks.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(Text)
    layer_version_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("plans.layer_versions.id"), index=True
    )
    verdict: Mapped[str] = mapped_column(String(4))
    overlap_m2: Mapped[float] = mapped_column(Double)
    share: Mapped[float] = mapped_column(Double)
    message: Mapped[str] = mapped_column(Text)
    features: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)


METADATA = (PlansBase.metadata,)
