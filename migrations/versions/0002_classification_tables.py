"""classification tables: 2023 用地用海分类 and plan types, from layers/data/classification

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 08:10:00
"""

import csv
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gis.package_data import data_dir

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLASSIFICATION = data_dir("layers") / "classification"


def _rows(name: str) -> list[dict[str, str]]:
    with (CLASSIFICATION / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def upgrade() -> None:
    codes = sa.table(
        "landuse_codes",
        sa.column("code", sa.String),
        sa.column("name", sa.Text),
        sa.column("level", sa.SmallInteger),
        sa.column("parent", sa.String),
        schema="plans",
    )
    rows = sorted(_rows("landuse-2023.csv"), key=lambda r: (int(r["level"]), r["code"]))
    op.bulk_insert(
        codes,
        [
            {
                "code": r["code"],
                "name": r["name"],
                "level": int(r["level"]),
                "parent": r["parent"] or None,
            }
            for r in rows
        ],
    )
    types = sa.table(
        "plan_types",
        sa.column("code", sa.String),
        sa.column("name", sa.Text),
        sa.column("control_line", sa.Boolean),
        schema="plans",
    )
    op.bulk_insert(
        types,
        [
            {"code": r["code"], "name": r["name"], "control_line": r["control_line"] == "true"}
            for r in _rows("plan-types.csv")
        ],
    )


def downgrade() -> None:
    op.execute("DELETE FROM plans.plan_types")
    op.execute("DELETE FROM plans.landuse_codes")
