"""jobs of OGC API – Processes in schema jobs

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 09:00:00

One row per execution of a process (services/processes/models.py): the durable queue
(``accepted`` rows, taken with ``FOR UPDATE SKIP LOCKED``), the state of a running job, its
outputs or its failure. A running job's worker holds a session-level advisory lock on
(0x6A6F6273, ``lock_key``), so a job whose worker died is seen as such (the lock went with
its session). The server's role (onemap_app) queues, runs, lists, dismisses and deletes old
jobs: USAGE on the schema and SELECT, INSERT, UPDATE, DELETE on the table (an identity
column needs no grant on its sequence). The table is written out here, frozen; the
downgrade drops it and revokes the schema's grant (the schema itself is made by
services/migrations/env.py, like every schema of the models).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS jobs")
    op.create_table(
        "jobs",
        sa.Column(
            "id",
            postgresql.UUID(as_uuid=True),
            server_default=sa.text("gen_random_uuid()"),
            nullable=False,
        ),
        sa.Column("process_id", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'accepted'"), nullable=False),
        sa.Column("mode", sa.Text(), nullable=False),
        sa.Column("inputs", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("delivery", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("outputs", postgresql.JSON(astext_type=sa.Text()), nullable=True),
        sa.Column("failure", postgresql.JSON(astext_type=sa.Text()), nullable=True),
        sa.Column("message", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("progress", sa.SmallInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("caller_role", sa.Text(), nullable=False),
        sa.Column("caller_name", sa.Text(), nullable=False),
        sa.Column("caller_worker_id", sa.BigInteger(), nullable=True),
        sa.Column("caller_key_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("started", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("worker", sa.Text(), nullable=True),
        sa.Column("lock_key", sa.Integer(), sa.Identity(cycle=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('accepted', 'running', 'successful', 'failed', 'dismissed')",
            name=op.f("ck_jobs_status"),
        ),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name=op.f("ck_jobs_progress")),
        sa.CheckConstraint("mode IN ('sync', 'async')", name=op.f("ck_jobs_mode")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        schema="jobs",
    )
    op.create_index(
        "ix_jobs_queue", "jobs", ["created"], schema="jobs",
        postgresql_where=sa.text("status = 'accepted'"),
    )  # fmt: skip
    op.create_index(
        "ix_jobs_running", "jobs", ["lock_key"], schema="jobs",
        postgresql_where=sa.text("status = 'running'"),
    )  # fmt: skip
    op.create_index("ix_jobs_caller", "jobs", ["caller_key_id", "created"], schema="jobs")
    op.create_index("ix_jobs_created", "jobs", ["created"], schema="jobs")
    op.create_index("ix_jobs_finished", "jobs", ["finished"], schema="jobs")
    op.execute("GRANT USAGE ON SCHEMA jobs TO onemap_app")
    op.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON jobs.jobs TO onemap_app")


def downgrade() -> None:
    op.execute("REVOKE ALL ON jobs.jobs FROM onemap_app")
    op.execute("REVOKE ALL ON SCHEMA jobs FROM onemap_app")
    op.drop_index("ix_jobs_finished", table_name="jobs", schema="jobs")
    op.drop_index("ix_jobs_created", table_name="jobs", schema="jobs")
    op.drop_index("ix_jobs_caller", table_name="jobs", schema="jobs")
    op.drop_index("ix_jobs_running", table_name="jobs", schema="jobs")
    op.drop_index("ix_jobs_queue", table_name="jobs", schema="jobs")
    op.drop_table("jobs", schema="jobs")
