"""plan registry imports, conflict runs and patches, site checks

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 10:00:00

Tables of issue 6 (layers/models.py): import repairs and rejects per layer version; conflict
runs with their parameters and the layer versions used, their patches (差异图斑) and slivers;
project site checks and their items. Conflict patches are counted per run (``counts.track``
of 0004) so the OGC API's numberMatched of a run's collection is exact.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "conflict_slivers",
    "conflict_patches",
    "site_check_items",
    "repairs",
    "rejects",
    "conflict_run_layers",
    "site_checks",
    "conflict_runs",
)


def _run_script(script: str) -> None:
    """Send a multi-statement script as is: no parameters, so '%' and ':' need no escaping."""
    op.get_bind().exec_driver_sql(script, execution_options={"no_parameters": True})


def upgrade() -> None:
    op.create_table(
        "conflict_runs",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("rules_file", sa.Text(), nullable=False),
        sa.Column("rules_sha256", sa.String(length=64), nullable=False),
        sa.Column("parameters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("stats", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conflict_runs")),
        schema="plans",
    )
    op.create_geospatial_table(
        "site_checks",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("use", sa.Text(), nullable=True),
        sa.Column("verdict", sa.String(length=4), nullable=False),
        sa.Column("area_m2", sa.Double(), nullable=False),
        sa.Column(
            "checked_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("checked_by", sa.Text(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                spatial_index=False,
                geometry_type="MULTIPOLYGON",
                srid=4490,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.CheckConstraint(
            "verdict IN ('pass', 'warn', 'fail')", name=op.f("ck_site_checks_verdict_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_checks")),
        schema="plans",
    )
    op.create_geospatial_index(
        "idx_site_checks_geom",
        "site_checks",
        ["geom"],
        unique=False,
        schema="plans",
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_table(
        "conflict_run_layers",
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("layer_version_id", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.String(length=1), nullable=False),
        sa.CheckConstraint("role IN ('a', 'b')", name=op.f("ck_conflict_run_layers_role_known")),
        sa.ForeignKeyConstraint(
            ["layer_version_id"],
            ["plans.layer_versions.id"],
            name=op.f("fk_conflict_run_layers_layer_version_id_layer_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["plans.conflict_runs.id"],
            name=op.f("fk_conflict_run_layers_run_id_conflict_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "layer_version_id", name=op.f("pk_conflict_run_layers")),
        schema="plans",
    )
    op.create_index(
        op.f("ix_conflict_run_layers_layer_version_id"),
        "conflict_run_layers",
        ["layer_version_id"],
        unique=False,
        schema="plans",
    )
    op.create_geospatial_table(
        "rejects",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("layer_version_id", sa.BigInteger(), nullable=False),
        sa.Column("source_fid", sa.Text(), nullable=True),
        sa.Column("source_code", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("properties", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                spatial_index=False,
                srid=4490,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["layer_version_id"],
            ["plans.layer_versions.id"],
            name=op.f("fk_rejects_layer_version_id_layer_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rejects")),
        schema="plans",
    )
    op.create_geospatial_index(
        "idx_rejects_geom",
        "rejects",
        ["geom"],
        unique=False,
        schema="plans",
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        op.f("ix_rejects_layer_version_id"),
        "rejects",
        ["layer_version_id"],
        unique=False,
        schema="plans",
    )
    op.create_table(
        "repairs",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("layer_version_id", sa.BigInteger(), nullable=False),
        sa.Column("source_fid", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("stage", sa.String(length=9), nullable=False),
        sa.CheckConstraint("stage IN ('source', 'transform')", name=op.f("ck_repairs_stage_known")),
        sa.ForeignKeyConstraint(
            ["layer_version_id"],
            ["plans.layer_versions.id"],
            name=op.f("fk_repairs_layer_version_id_layer_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repairs")),
        schema="plans",
    )
    op.create_index(
        op.f("ix_repairs_layer_version_id"),
        "repairs",
        ["layer_version_id"],
        unique=False,
        schema="plans",
    )
    op.create_table(
        "site_check_items",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("site_check_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("layer_version_id", sa.BigInteger(), nullable=False),
        sa.Column("verdict", sa.String(length=4), nullable=False),
        sa.Column("overlap_m2", sa.Double(), nullable=False),
        sa.Column("share", sa.Double(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("features", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.CheckConstraint(
            "verdict IN ('pass', 'warn', 'fail')", name=op.f("ck_site_check_items_verdict_known")
        ),
        sa.ForeignKeyConstraint(
            ["layer_version_id"],
            ["plans.layer_versions.id"],
            name=op.f("fk_site_check_items_layer_version_id_layer_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["site_check_id"],
            ["plans.site_checks.id"],
            name=op.f("fk_site_check_items_site_check_id_site_checks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_check_items")),
        schema="plans",
    )
    op.create_index(
        op.f("ix_site_check_items_layer_version_id"),
        "site_check_items",
        ["layer_version_id"],
        unique=False,
        schema="plans",
    )
    op.create_index(
        op.f("ix_site_check_items_site_check_id"),
        "site_check_items",
        ["site_check_id"],
        unique=False,
        schema="plans",
    )
    op.create_geospatial_table(
        "conflict_patches",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=5), nullable=False),
        sa.Column("a_layer_version_id", sa.BigInteger(), nullable=False),
        sa.Column("a_feature_id", sa.BigInteger(), nullable=False),
        sa.Column("a_code", sa.Text(), nullable=True),
        sa.Column("a_code_2023", sa.String(length=6), nullable=True),
        sa.Column("b_layer_version_id", sa.BigInteger(), nullable=False),
        sa.Column("b_feature_id", sa.BigInteger(), nullable=True),
        sa.Column("b_code", sa.Text(), nullable=True),
        sa.Column("b_code_2023", sa.String(length=6), nullable=True),
        sa.Column("county_code", sa.String(length=12), nullable=True),
        sa.Column("street_code", sa.String(length=12), nullable=True),
        sa.Column("community_code", sa.String(length=12), nullable=True),
        sa.Column("pieces", sa.Integer(), nullable=False),
        sa.Column("area_m2", sa.Double(), nullable=False),
        sa.Column("area_mu", sa.Double(), nullable=False),
        sa.Column("area_ha", sa.Double(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                spatial_index=False,
                geometry_type="MULTIPOLYGON",
                srid=4490,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.CheckConstraint(
            "severity IN ('hard', 'major', 'minor')",
            name=op.f("ck_conflict_patches_severity_known"),
        ),
        sa.CheckConstraint("area_m2 >= 0", name=op.f("ck_conflict_patches_area_positive")),
        sa.ForeignKeyConstraint(
            ["a_feature_id"],
            ["plans.features.id"],
            name=op.f("fk_conflict_patches_a_feature_id_features"),
        ),
        sa.ForeignKeyConstraint(
            ["a_layer_version_id"],
            ["plans.layer_versions.id"],
            name=op.f("fk_conflict_patches_a_layer_version_id_layer_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["b_feature_id"],
            ["plans.features.id"],
            name=op.f("fk_conflict_patches_b_feature_id_features"),
        ),
        sa.ForeignKeyConstraint(
            ["b_layer_version_id"],
            ["plans.layer_versions.id"],
            name=op.f("fk_conflict_patches_b_layer_version_id_layer_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["plans.conflict_runs.id"],
            name=op.f("fk_conflict_patches_run_id_conflict_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conflict_patches")),
        schema="plans",
    )
    op.create_geospatial_index(
        "idx_conflict_patches_geom",
        "conflict_patches",
        ["geom"],
        unique=False,
        schema="plans",
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        op.f("ix_conflict_patches_run_id"),
        "conflict_patches",
        ["run_id"],
        unique=False,
        schema="plans",
    )
    op.create_geospatial_table(
        "conflict_slivers",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("a_feature_id", sa.BigInteger(), nullable=False),
        sa.Column("b_feature_id", sa.BigInteger(), nullable=True),
        sa.Column("county_code", sa.String(length=12), nullable=True),
        sa.Column("area_m2", sa.Double(), nullable=False),
        sa.Column("planar_area_m2", sa.Double(), nullable=False),
        sa.Column("by_area", sa.Boolean(), nullable=False),
        sa.Column("by_width", sa.Boolean(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                spatial_index=False,
                geometry_type="POLYGON",
                srid=4490,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["a_feature_id"],
            ["plans.features.id"],
            name=op.f("fk_conflict_slivers_a_feature_id_features"),
        ),
        sa.ForeignKeyConstraint(
            ["b_feature_id"],
            ["plans.features.id"],
            name=op.f("fk_conflict_slivers_b_feature_id_features"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["plans.conflict_runs.id"],
            name=op.f("fk_conflict_slivers_run_id_conflict_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conflict_slivers")),
        schema="plans",
    )
    op.create_geospatial_index(
        "idx_conflict_slivers_geom",
        "conflict_slivers",
        ["geom"],
        unique=False,
        schema="plans",
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        op.f("ix_conflict_slivers_run_id"),
        "conflict_slivers",
        ["run_id"],
        unique=False,
        schema="plans",
    )

    _run_script("SELECT counts.track('plans.conflict_patches', 'run_id')")


def downgrade() -> None:
    _run_script(
        "DELETE FROM counts.rows WHERE table_name = 'plans.conflict_patches';"
        " DELETE FROM counts.tables WHERE table_name = 'plans.conflict_patches'",
    )
    for table in TABLES:
        op.drop_table(table, schema="plans")
