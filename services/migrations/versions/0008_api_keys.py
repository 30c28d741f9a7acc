"""api keys in schema auth

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 07:40:00

Keys are stored as an HMAC only (services/auth/keys.py); a grid worker's key names its
worker row. The table is written out here, frozen.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS auth")
    op.create_table(
        "api_keys",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("worker_id", sa.BigInteger(), nullable=True),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("key_hash", postgresql.BYTEA(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "role IN ('planner', 'grid_worker', 'admin')", name=op.f("ck_api_keys_role")
        ),
        sa.CheckConstraint(
            "(role = 'grid_worker') = (worker_id IS NOT NULL)", name=op.f("ck_api_keys_worker")
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"],
            ["grid.workers.id"],
            name=op.f("fk_api_keys_worker_id_workers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
        schema="auth",
    )
    op.create_index(
        op.f("ix_api_keys_worker_id"), "api_keys", ["worker_id"], unique=False, schema="auth"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_api_keys_worker_id"), table_name="api_keys", schema="auth")
    op.drop_table("api_keys", schema="auth")
