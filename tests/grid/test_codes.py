"""Codes: citizen IDs (GB 11643), administrative and cell codes, credit codes (GB 32100) and
mobile numbers; the published test vectors, each kind of error explained, and properties."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grid.codes import (
    CREDIT_CHARS,
    admin_level,
    cell_code_problems,
    citizen_id_address,
    citizen_id_check_digit,
    citizen_id_problems,
    community_code_problems,
    credit_code_check_char,
    credit_code_problems,
    mobile_problems,
    next_cell_codes,
    parent_code,
    reading_order,
    street_code_problems,
)
from grid.errors import CodeError


@pytest.mark.parametrize("value", ["11010519491231002X", "440524188001010014"])
def test_published_valid_ids(value: str) -> None:
    assert citizen_id_problems(value) == []
    assert citizen_id_check_digit(value[:17]) == value[17]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("11010519491231002", "18 characters"),
        ("1101051949123100XX", "18 characters"),
        ("110105194902300021", "not a calendar date"),
        ("110105194912310021", "check digit is 1, expected X"),
    ],
)
def test_invalid_ids_say_what_is_wrong(value: str, problem: str) -> None:
    assert any(problem in p for p in citizen_id_problems(value))


def test_unknown_address_code_is_not_a_rejection() -> None:
    first17 = "99999919800101001"
    assert citizen_id_problems(first17 + citizen_id_check_digit(first17)) == []


# -- address codes of citizen IDs, administrative and cell codes, credit codes, mobiles --------

DIGITS = "0123456789"


@pytest.mark.parametrize(
    ("address", "status"),
    [
        ("320706", "known"),
        ("320722", "known"),
        ("320705", "historic"),
        ("320721", "historic"),
        ("320704", "historic"),
        ("110105", "unknown"),
    ],
)
def test_address_code_is_information(address: str, status: str) -> None:
    first17 = address + "19800101001"
    value = first17 + citizen_id_check_digit(first17)
    assert citizen_id_problems(value) == []
    assert citizen_id_address(value).status == status


@given(
    st.dates(dt.date(1900, 1, 1), dt.date(2020, 12, 31)),
    st.text(DIGITS, min_size=6, max_size=6),
    st.integers(0, 999),
)
def test_any_id_with_its_check_digit_is_valid(birth: dt.date, address: str, serial: int) -> None:
    first17 = f"{address}{birth:%Y%m%d}{serial:03d}"
    assert citizen_id_problems(first17 + citizen_id_check_digit(first17)) == []


@given(st.text(DIGITS, min_size=17, max_size=17), st.sampled_from("0123456789X"))
def test_a_wrong_check_digit_is_always_named(first17: str, check: str) -> None:
    if check == citizen_id_check_digit(first17):
        return
    assert any("check digit" in p for p in citizen_id_problems(first17 + check))


@pytest.mark.parametrize(
    ("code", "parent", "problem"),
    [
        ("32070600600", None, "12 digits"),
        ("32070600600a", None, "digits only"),
        ("320706000001", None, "township part is 000"),
        ("320706006000", None, "community part is 000"),
        ("320706006400", None, "out of range 001–399"),
        ("320706600001", None, "out of range 001–599"),
        ("320706006001", "320706010000", "parent must be 320706006000"),
    ],
)
def test_community_code_problems(code: str, parent: str | None, problem: str) -> None:
    assert any(problem in p for p in community_code_problems(code, parent))


def test_levels_and_parents() -> None:
    assert [admin_level(c) for c in ("320706000000", "320706006000", "320706006001", "x")] == [
        "county",
        "street",
        "community",
        None,
    ]
    assert parent_code("320706006001") == "320706006000"
    assert parent_code("320706000000") is None
    assert street_code_problems("320706006000", parent="320706000000") == []
    assert any("county" in p for p in street_code_problems("320706000000"))
    assert any("parent" in p for p in street_code_problems("320706006000", parent="320707000000"))


@given(st.integers(1, 599), st.integers(1, 399), st.integers(1, 999))
def test_every_structured_cell_code_is_valid(township: int, community: int, seq: int) -> None:
    code = f"320706{township:03d}{community:03d}{seq:03d}"
    assert cell_code_problems(code, community=code[:12]) == []
    assert cell_code_problems(code[:-1]) == ["cell code must have 15 digits, got 14"]
    assert any("must start with" in p for p in cell_code_problems(code, "320707001001"))


def test_next_codes_skip_used_and_retired_and_stop_at_999() -> None:
    assert next_cell_codes("320706006001", []) == ["320706006001001"]
    assert next_cell_codes("320706006001", ["320706006001007"], 2) == [
        "320706006001008",
        "320706006001009",
    ]
    with pytest.raises(CodeError, match="no free cell sequence"):
        next_cell_codes("320706006001", ["320706006001999"])
    with pytest.raises(CodeError, match="township part is 000"):
        next_cell_codes("320706000001", [])


def test_reading_order_is_rows_north_to_south_then_west_to_east() -> None:
    points = [(2.0, 0.0), (0.0, 1.02), (1.0, 0.98), (0.0, 0.0), (2.0, 1.0)]
    assert reading_order(points, row_tolerance=0.1) == [1, 2, 4, 3, 0]


def test_the_published_credit_code_is_valid() -> None:
    assert credit_code_problems("91350100M000100Y43") == []
    assert credit_code_problems("91350100M000100Y4") == ["must have 18 characters, got 17"]
    assert "not allowed" in credit_code_problems("91350100M000100YI3")[0]
    assert any("division" in p for p in credit_code_problems("91ABCDEFM000100Y43"))


@given(st.text(CREDIT_CHARS, min_size=17, max_size=17).map(lambda s: s[:2] + "350100" + s[8:]))
def test_credit_codes_with_their_check_char_are_valid_and_one_change_is_caught(
    first17: str,
) -> None:
    value = first17 + credit_code_check_char(first17)
    assert credit_code_problems(value) == []
    other = CREDIT_CHARS[(CREDIT_CHARS.index(value[9]) + 1) % 31]
    assert credit_code_problems(value[:9] + other + value[10:]) != []


@given(st.sampled_from("3456789"), st.text(DIGITS, min_size=9, max_size=9))
def test_mobiles(second: str, rest: str) -> None:
    assert mobile_problems("1" + second + rest) == []
    assert mobile_problems("12" + rest) == ["must start with 13–19, got 12"]
    assert mobile_problems("1" + second + rest[:-1]) == ["must have 11 digits, got 10"]
    assert mobile_problems("1" + second + rest[:-1] + "x") != []
