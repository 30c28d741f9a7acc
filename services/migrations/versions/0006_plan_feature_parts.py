"""metric parts of plan features, made at import

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 12:00:00

``plans.feature_parts`` (layers/parts.py): every plan feature in EPSG:4549, snapped to 1 µm,
valid, cut with ST_Subdivide above 256 vertices, with the 1 km cell of its bounding-box
centre. Conflict runs read these instead of transforming and cutting every feature again.
Existing features get their parts here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKFILL = """
WITH snapped AS MATERIALIZED (
    SELECT id, layer_version_id AS lv, ST_SnapToGrid(ST_Transform(geom, 4549), 1e-6) AS g
    FROM plans.features
), metric AS MATERIALIZED (
    SELECT id, lv,
           CASE WHEN ST_IsValid(g) THEN g ELSE ST_CollectionExtract(ST_MakeValid(g), 3) END AS g
    FROM snapped
), kept AS MATERIALIZED (
    SELECT id, lv, g, ST_NPoints(g) AS n,
           floor((ST_XMin(g) + ST_XMax(g)) / 2000)::int AS cell_i,
           floor((ST_YMin(g) + ST_YMax(g)) / 2000)::int AS cell_j
    FROM metric WHERE NOT ST_IsEmpty(g)
)
INSERT INTO plans.feature_parts (feature_id, part, parts, layer_version_id, cell_i, cell_j,
    geom)
SELECT id, 0, 1, lv, cell_i, cell_j, g FROM kept WHERE n <= 256
UNION ALL
SELECT k.id, (s.no - 1)::smallint, (count(*) OVER (PARTITION BY k.id))::smallint, k.lv,
       k.cell_i, k.cell_j, s.geom
FROM kept k CROSS JOIN LATERAL ST_Subdivide(k.g, 256) WITH ORDINALITY AS s(geom, no)
WHERE k.n > 256
"""


def upgrade() -> None:
    op.create_table(
        "feature_parts",
        sa.Column("feature_id", sa.BigInteger(), nullable=False),
        sa.Column("part", sa.SmallInteger(), nullable=False),
        sa.Column("parts", sa.SmallInteger(), nullable=False),
        sa.Column("layer_version_id", sa.BigInteger(), nullable=False),
        sa.Column("cell_i", sa.Integer(), nullable=False),
        sa.Column("cell_j", sa.Integer(), nullable=False),
        sa.Column(
            "geom",
            Geometry(geometry_type="GEOMETRY", srid=4549, spatial_index=False),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["feature_id"],
            ["plans.features.id"],
            name=op.f("fk_feature_parts_feature_id_features"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("feature_id", "part", name=op.f("pk_feature_parts")),
        schema="plans",
    )
    op.create_index(
        op.f("ix_feature_parts_layer_version_id"),
        "feature_parts",
        ["layer_version_id"],
        unique=False,
        schema="plans",
    )
    op.execute(_BACKFILL)


def downgrade() -> None:
    op.drop_index(
        op.f("ix_feature_parts_layer_version_id"), table_name="feature_parts", schema="plans"
    )
    op.drop_table("feature_parts", schema="plans")
