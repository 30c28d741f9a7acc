"""Migrations: they build what the models declare, run twice as a no-op, and the database
rejects rows that can never be valid."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DataError, IntegrityError

from gis.crs import STORAGE_SRID
from services.migrate import (
    TARGET_METADATA,
    current_revision,
    head_revision,
    include_object,
    upgrade,
)

SQUARE = "POLYGON((119.17 34.60, 119.171 34.60, 119.171 34.601, 119.17 34.601, 119.17 34.60))"


def test_upgrade_twice_is_a_no_op(engine: Engine) -> None:
    before = current_revision(engine)
    assert before == head_revision()
    upgrade(engine)
    assert current_revision(engine) == before


def test_migrations_build_exactly_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"include_schemas": True, "include_object": include_object, "compare_type": True},
        )
        diff = compare_metadata(context, TARGET_METADATA)  # type: ignore[arg-type]
    assert diff == []


METRIC_CACHES = {("plans", "feature_parts"): 4549}
"""Derived copies in Gauss-Krüger metres for analysis (layers/parts.py), never the data of
record; conflict runs index the parts they take, so the cache has no GiST index of its own."""


def test_every_geometry_is_srid_4490_with_a_gist_index(conn: Connection) -> None:
    """Of every table: a view's geometry (grid.*_located) is its table's, indexed there."""
    rows = conn.execute(
        text(
            "SELECT f_table_schema, f_table_name, f_geometry_column, srid FROM geometry_columns"
            " WHERE f_table_schema IN ('grid', 'plans', 'audit')"
            " AND (f_table_schema, f_table_name) NOT IN (SELECT schemaname, viewname FROM pg_views)"
        )
    ).all()
    assert {(r[0], r[1]) for r in rows} >= {
        ("grid", "admin_areas"),
        ("grid", "cells"),
        ("grid", "buildings"),
        ("plans", "features"),
    }
    for schema, table, column, srid in rows:
        if (schema, table) in METRIC_CACHES:
            assert srid == METRIC_CACHES[(schema, table)], (schema, table)
            continue
        assert srid == STORAGE_SRID, (schema, table)
        index = conn.execute(
            text(
                "SELECT count(*) FROM pg_indexes WHERE schemaname = :s AND tablename = :t"
                " AND indexdef ILIKE '%USING gist%' AND indexdef ILIKE '%(' || :c || ')%'"
            ),
            {"s": schema, "t": table, "c": column},
        ).scalar_one()
        assert index == 1, (schema, table, column)


def test_classification_tables_are_loaded(conn: Connection) -> None:
    levels = dict(
        conn.execute(text("SELECT level, count(*) FROM plans.landuse_codes GROUP BY level")).all()
    )
    assert levels == {1: 24, 2: 111, 3: 40}
    name = conn.execute(text("SELECT name FROM plans.landuse_codes WHERE code = '0101'"))
    assert name.scalar_one() == "水田"
    assert conn.execute(text("SELECT count(*) FROM plans.plan_types")).scalar_one() >= 8


def _insert_admin(conn: Connection, code: str, level: str, parent: str | None, wkt: str) -> None:
    conn.execute(
        text(
            "INSERT INTO grid.admin_areas (code, name, level, parent_code, geom)"
            " VALUES (:code, 'x', :level, :parent, ST_Multi(ST_GeomFromText(:wkt, :srid)))"
        ),
        {"code": code, "level": level, "parent": parent, "wkt": wkt, "srid": STORAGE_SRID},
    )


@pytest.mark.parametrize(
    ("code", "level", "parent", "constraint"),
    [
        ("32070600600", "community", "320706006000", "code_12_digits"),
        ("320706006999", "street", "320706000000", "level_matches_code"),
        ("320706006099", "community", "320706000000", "level_matches_code"),
        ("320706006099", "village", "320706006000", "level_known"),
    ],
)
def test_admin_codes_that_can_never_be_valid_are_rejected(
    conn: Connection, code: str, level: str, parent: str, constraint: str
) -> None:
    with pytest.raises(IntegrityError, match=constraint):
        _insert_admin(conn, code, level, parent, SQUARE)


def test_empty_invalid_and_foreign_srid_geometries_are_rejected(conn: Connection) -> None:
    cases = {
        "POLYGON EMPTY": "geom_not_empty",
        "POLYGON((119.17 34.60, 119.171 34.601, 119.171 34.60, 119.17 34.601, 119.17 34.60))": (
            "geom_valid"
        ),
    }
    for wkt, constraint in cases.items():
        with pytest.raises(IntegrityError, match=constraint), conn.begin_nested():
            _insert_admin(conn, "320706006099", "community", "320706006000", wkt)
    with pytest.raises(DataError, match="SRID"), conn.begin_nested():
        conn.execute(
            text(
                "INSERT INTO grid.cells (code, community_code, geom)"
                " VALUES ('320706006001099', '320706006001', ST_GeomFromText(:wkt, 4326))"
            ),
            {"wkt": SQUARE},
        )


def test_cell_code_must_extend_its_community_code(conn: Connection) -> None:
    with pytest.raises(IntegrityError, match="code_in_community"):
        conn.execute(
            text(
                "INSERT INTO grid.cells (code, community_code, geom)"
                " VALUES ('320706006002099', '320706006001', ST_GeomFromText(:wkt, :srid))"
            ),
            {"wkt": SQUARE, "srid": STORAGE_SRID},
        )


def test_person_links_are_foreign_keys(conn: Connection) -> None:
    with pytest.raises(IntegrityError, match="fk_persons_household_id_households"):
        conn.execute(
            text(
                "INSERT INTO grid.persons (household_id, name, sex, birth_date)"
                " VALUES (999999, '张三', 'M', '1980-01-01')"
            )
        )
