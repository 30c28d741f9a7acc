"""GB 11643 citizen IDs: the published valid numbers, and each kind of error explained."""

from __future__ import annotations

import pytest

from grid.codes import citizen_id_check_digit, citizen_id_problems


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
