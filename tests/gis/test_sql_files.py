"""Named statements are read from package data, by module name, with errors that say where."""

from __future__ import annotations

import pytest

from gis.sql_files import sql, statement, statements


def test_sections_are_read_by_module_name() -> None:
    found = statements("grid.linking")
    assert {"choice", "update_bare", "summary"} <= set(found)
    assert statement("grid.linking", "summary") == found["summary"]
    assert "-- name:" not in found["summary"]
    assert str(sql("grid.linking", "summary")) == found["summary"]


def test_a_missing_section_names_the_file() -> None:
    with pytest.raises(KeyError, match=r"grid/linking\.sql has no section 'nope'"):
        statement("grid.linking", "nope")


def test_a_module_outside_a_package_is_refused() -> None:
    with pytest.raises(ValueError, match="not a module inside a package"):
        statements("toplevel")


def test_a_module_without_sql_file_fails_loudly() -> None:
    with pytest.raises(FileNotFoundError):
        statements("grid.codes")
