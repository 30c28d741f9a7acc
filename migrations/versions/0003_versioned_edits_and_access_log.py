"""versioned edits: audit triggers, 房进格 kept by the database, access log, straddling flag

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:00:00

The trigger functions live in grid/audit.sql (installed by grid.audit.install, idempotent):
a later migration that changes them calls install() again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from grid import audit
from grid.linking import link_buildings

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "buildings",
        sa.Column("straddles", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        schema="grid",
    )
    op.create_index(
        "ix_buildings_straddling",
        "buildings",
        ["cell_id"],
        unique=False,
        schema="grid",
        postgresql_where=sa.text("straddles"),
    )
    op.drop_constraint("ck_changes_operation_known", "changes", schema="audit", type_="check")
    op.alter_column(
        "changes", "operation", type_=sa.String(8), existing_nullable=False, schema="audit"
    )
    op.create_check_constraint(
        "ck_changes_operation_known",
        "changes",
        "operation IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')",
        schema="audit",
    )
    op.create_table(
        "access_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("accessed_by", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("table_name", sa.Text(), nullable=False),
        sa.Column("row_id", sa.Text(), nullable=False),
        sa.Column("fields", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column(
            "accessed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "char_length(btrim(reason)) >= 4", name=op.f("ck_access_log_reason_given")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log")),
        schema="audit",
    )
    op.create_index(
        op.f("ix_access_log_table_name_row_id"),
        "access_log",
        ["table_name", "row_id"],
        unique=False,
        schema="audit",
    )
    audit.install(op.get_bind())
    # Links loaded before this revision get their straddling flag (and any stale cell).
    link_buildings(op.get_bind())


def downgrade() -> None:
    audit.uninstall(op.get_bind())
    op.drop_index(op.f("ix_access_log_table_name_row_id"), table_name="access_log", schema="audit")
    op.drop_table("access_log", schema="audit")
    op.execute("DELETE FROM audit.changes WHERE operation = 'TRUNCATE'")
    op.drop_constraint("ck_changes_operation_known", "changes", schema="audit", type_="check")
    op.alter_column(
        "changes", "operation", type_=sa.String(6), existing_nullable=False, schema="audit"
    )
    op.create_check_constraint(
        "ck_changes_operation_known",
        "changes",
        "operation IN ('INSERT', 'UPDATE', 'DELETE')",
        schema="audit",
    )
    op.drop_index("ix_buildings_straddling", table_name="buildings", schema="grid")
    op.drop_column("buildings", "straddles", schema="grid")
