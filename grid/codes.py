"""Codes of the grid: GB 11643 citizen IDs, 12-digit community and 15-digit cell codes.

Each validator returns the list of problems in words (empty when valid), so an import
report can say exactly what is wrong with a row.
"""

from __future__ import annotations

import datetime as dt
import re

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def citizen_id_check_digit(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits.

    >>> citizen_id_check_digit("11010519491231002")
    'X'
    >>> citizen_id_check_digit("44052418800101001")
    '4'
    """
    if not re.fullmatch(r"[0-9]{17}", first17):
        raise ValueError(f"expected 17 digits, got {first17!r}")
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def citizen_id_problems(value: str) -> list[str]:
    """What is wrong with a citizen ID (format, birth date, check digit); [] when valid.

    The address code is not judged here: an unknown or historic code is information.

    >>> citizen_id_problems("11010519491231002X")
    []
    >>> citizen_id_problems("110105194912310021")
    ['check digit is 1, expected X']
    """
    if not re.fullmatch(r"[0-9]{17}[0-9X]", value):
        return ["must be 17 digits followed by a digit or X (18 characters)"]
    problems = []
    try:
        birth = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
        if not dt.date(1800, 1, 1) <= birth <= dt.date.today():  # GB 11643 allows 18xx
            problems.append(f"birth date {birth.isoformat()} is out of range")
    except ValueError:
        problems.append(f"birth date {value[6:14]} is not a calendar date")
    expected = citizen_id_check_digit(value[:17])
    if value[17] != expected:
        problems.append(f"check digit is {value[17]}, expected {expected}")
    return problems


def citizen_id_birth_date(value: str) -> dt.date:
    """Birth date encoded in a valid citizen ID."""
    return dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))


def citizen_id_sex(value: str) -> str:
    """'M' when the sequence (digits 15-17) is odd, else 'F'."""
    return "M" if int(value[16]) % 2 else "F"
