"""exact row counts of houses, households and persons (schema counts)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 10:20:00

Houses, households and persons are published (to callers with a key) through the views of
migration 0009, which hold one row per row of their table. Counting them as migration 0004
counts the other grid tables makes an unfiltered page's ``numberMatched`` one index lookup
instead of a count over a four-table join; a grid worker's pages, filtered to their cells,
are still counted per request. The SQL is carried here, frozen.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTED = ("grid.houses", "grid.households", "grid.persons")


def upgrade() -> None:
    for table in COUNTED:
        op.execute(f"SELECT counts.track('{table}')")


def downgrade() -> None:
    for table in COUNTED:
        for trigger in ("insert", "delete", "update", "truncate"):
            op.execute(f"DROP TRIGGER IF EXISTS row_count_{trigger} ON {table}")
    names = ", ".join(f"'{table}'" for table in COUNTED)  # the constants above
    op.execute(f"DELETE FROM counts.rows WHERE table_name IN ({names})")  # noqa: S608
    op.execute(f"DELETE FROM counts.tables WHERE table_name IN ({names})")  # noqa: S608
