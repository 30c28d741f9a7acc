"""Codes of the grid: administrative and cell codes, citizen IDs, credit codes, mobiles.

Each validator returns the list of problems in words (empty when valid), so an import
report can say exactly what is wrong with a row. Structures are in docs/domain.md:

* 12-digit statistical code = county (6) + township (3) + community/village (3);
* 15-digit unit grid code = community code + sequence (001–999, west→east, north→south);
* GB 11643 citizen ID, GB 32100 unified social credit code, 11-digit mobile numbers.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from typing import Literal, NamedTuple

from grid.errors import CodeError

CITIZEN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
"""GB 11643 weights of the 17 digits; the weighted sum mod 11 picks the check character."""
CITIZEN_ID_CHECK = "10X98765432"
"""GB 11643 check characters, indexed by the weighted sum mod 11."""

LIANYUNGANG_CODES = {
    "320700": "连云港市",
    "320703": "连云区",
    "320706": "海州区",
    "320707": "赣榆区",
    "320722": "东海县",
    "320723": "灌云县",
    "320724": "灌南县",
}
"""Current GB/T 2260 codes of the city and its counties (320771 经开区 is statistical only)."""

HISTORIC_CODES = {"320705": "新浦区", "320721": "赣榆县", "320704": "云台区"}
"""Abolished codes that still occur in citizen IDs issued before the changes."""

AddressStatus = Literal["known", "historic", "unknown"]
Level = Literal["county", "street", "community"]


# -- administrative and cell codes -------------------------------------------------------------


def admin_level(code: str) -> Level | None:
    """The level a 12-digit code names, or None when it names none.

    >>> admin_level("320706000000"), admin_level("320706006000"), admin_level("320706006001")
    ('county', 'street', 'community')
    >>> admin_level("320706000001") is None
    True
    """
    if not re.fullmatch(r"[0-9]{12}", code):
        return None
    township, community = code[6:9], code[9:]
    if township == "000":
        return "county" if community == "000" else None
    return "street" if community == "000" else "community"


def parent_code(code: str) -> str | None:
    """The code of the parent area (community → street → county; a county has none).

    >>> parent_code("320706006001"), parent_code("320706006000")
    ('320706006000', '320706000000')
    """
    level = admin_level(code)
    if level == "community":
        return code[:9] + "000"
    if level == "street":
        return code[:6] + "000000"
    return None


def _twelve_digit_problems(code: str, what: str) -> list[str]:
    if not re.fullmatch(r"[0-9]+", code or ""):
        return [f"{what} must be digits only, got {code!r}"]
    if len(code) != 12:
        return [f"{what} must have 12 digits, got {len(code)}"]
    return []


def community_code_problems(code: str, parent: str | None = None) -> list[str]:
    """What is wrong with a 12-digit community (社区/村) code; [] when valid.

    >>> community_code_problems("320706006001")
    []
    >>> community_code_problems("320706000001")
    ['township part is 000: a community belongs to a street, town or township']
    >>> community_code_problems("320706006001", parent="320706010000")
    ['parent must be 320706006000 (the first 9 digits + 000), got 320706010000']
    """
    problems = _twelve_digit_problems(code, "community code")
    if problems:
        return problems
    township, community = int(code[6:9]), int(code[9:])
    if township == 0:
        problems.append("township part is 000: a community belongs to a street, town or township")
    elif township > 599:
        problems.append(f"township part {code[6:9]} is out of range 001–599")
    if community == 0:
        problems.append("community part is 000: that is the code of a street, not a community")
    elif community > 399:
        problems.append(
            f"community part {code[9:]} is out of range 001–399 (居委会 001–199, 村委会 200–399)"
        )
    if parent is not None and parent != code[:9] + "000":
        problems.append(f"parent must be {code[:9]}000 (the first 9 digits + 000), got {parent}")
    return problems


def street_code_problems(code: str, parent: str | None = None) -> list[str]:
    """What is wrong with a 12-digit street/town (街道/镇/乡) code; [] when valid.

    >>> street_code_problems("320706006000")
    []
    >>> street_code_problems("320706006001")
    ['last 3 digits must be 000 for a street, got 001']
    """
    problems = _twelve_digit_problems(code, "street code")
    if problems:
        return problems
    if code[6:9] == "000":
        problems.append("township part is 000: that is the code of a county")
    elif int(code[6:9]) > 599:
        problems.append(f"township part {code[6:9]} is out of range 001–599")
    if code[9:] != "000":
        problems.append(f"last 3 digits must be 000 for a street, got {code[9:]}")
    if parent is not None and parent != code[:6] + "000000":
        problems.append(f"parent must be {code[:6]}000000, got {parent}")
    return problems


def cell_code_problems(code: str, community: str | None = None) -> list[str]:
    """What is wrong with a 15-digit unit grid code; [] when valid.

    >>> cell_code_problems("320706006001003")
    []
    >>> cell_code_problems("32070600600100")
    ['cell code must have 15 digits, got 14']
    >>> cell_code_problems("320706006001000")
    ['sequence 000 is not allowed: cells are numbered from 001']
    """
    if not re.fullmatch(r"[0-9]+", code or ""):
        return [f"cell code must be digits only, got {code!r}"]
    if len(code) != 15:
        return [f"cell code must have 15 digits, got {len(code)}"]
    problems = community_code_problems(code[:12])
    if code[12:] == "000":
        problems.append("sequence 000 is not allowed: cells are numbered from 001")
    if community is not None and code[:12] != community:
        problems.append(f"cell code must start with its community code {community}")
    return problems


def next_cell_codes(community: str, existing: Iterable[str], count: int = 1) -> list[str]:
    """The next ``count`` cell codes of ``community`` after the highest sequence in ``existing``.

    Codes are never reused: pass retired codes too.

    >>> next_cell_codes("320706006001", ["320706006001001", "320706006001004"], 2)
    ['320706006001005', '320706006001006']
    """
    problems = community_code_problems(community)
    if problems:
        raise CodeError(f"community code {community}: {'; '.join(problems)}")
    sequences = [int(c[12:]) for c in existing if len(c) == 15 and c.startswith(community)]
    start = max(sequences, default=0) + 1
    if start + count - 1 > 999:
        raise CodeError(f"community {community} has no free cell sequence left (max 999)")
    return [f"{community}{n:03d}" for n in range(start, start + count)]


def reading_order(points: Sequence[tuple[float, float]], row_tolerance: float) -> list[int]:
    """Indexes of ``points`` (x, y) in reading order: rows north→south, west→east in a row.

    Points whose y is within ``row_tolerance`` of the first point of a row share the row.

    >>> reading_order([(1, 0), (0, 0), (0, 1), (1, 1.05)], row_tolerance=0.1)
    [2, 3, 1, 0]
    """
    by_y = sorted(range(len(points)), key=lambda i: (-points[i][1], points[i][0]))
    rows: list[list[int]] = []
    for index in by_y:
        if rows and points[rows[-1][0]][1] - points[index][1] <= row_tolerance:
            rows[-1].append(index)
        else:
            rows.append([index])
    return [i for row in rows for i in sorted(row, key=lambda i: points[i][0])]


# -- citizen IDs (GB 11643) --------------------------------------------------------------------


class AddressInfo(NamedTuple):
    """What the first six digits of a citizen ID say: information, never a rejection."""

    code: str
    status: AddressStatus
    name: str | None


def citizen_id_check_digit(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits.

    >>> citizen_id_check_digit("11010519491231002")
    'X'
    >>> citizen_id_check_digit("44052418800101001")
    '4'
    """
    if not re.fullmatch(r"[0-9]{17}", first17):
        raise ValueError(f"expected 17 digits, got {first17!r}")
    total = sum(int(d) * w for d, w in zip(first17, CITIZEN_ID_WEIGHTS, strict=True))
    return CITIZEN_ID_CHECK[total % 11]


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


def citizen_id_address(value: str) -> AddressInfo:
    """Whether the address code is one of the city's (current or historic) or another.

    >>> citizen_id_address("32070519800101123X")
    AddressInfo(code='320705', status='historic', name='新浦区')
    >>> citizen_id_address("11010519491231002X").status
    'unknown'
    """
    code = value[:6]
    if code in LIANYUNGANG_CODES:
        return AddressInfo(code, "known", LIANYUNGANG_CODES[code])
    if code in HISTORIC_CODES:
        return AddressInfo(code, "historic", HISTORIC_CODES[code])
    return AddressInfo(code, "unknown", None)


def citizen_id_birth_date(value: str) -> dt.date:
    """Birth date encoded in a valid citizen ID."""
    return dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))


def citizen_id_sex(value: str) -> str:
    """'M' when the sequence (digits 15-17) is odd, else 'F'."""
    return "M" if int(value[16]) % 2 else "F"


# -- unified social credit codes (GB 32100) ----------------------------------------------------

CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 characters of GB 32100 (no I, O, S, V, Z)."""
_CREDIT_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))


def credit_code_check_char(first17: str) -> str:
    """The GB 32100 check character: 31 − (Σ value·3ⁱ mod 31) mod 31, as a code character.

    >>> credit_code_check_char("91350100M000100Y4")
    '3'
    """
    total = sum(CREDIT_CHARS.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return CREDIT_CHARS[(31 - total % 31) % 31]


def credit_code_problems(value: str) -> list[str]:
    """What is wrong with a unified social credit code; [] when valid.

    >>> credit_code_problems("91350100M000100Y43")
    []
    >>> credit_code_problems("91350100M000100Y44")
    ['check character is 4, expected 3']
    """
    if len(value) != 18:
        return [f"must have 18 characters, got {len(value)}"]
    bad = sorted({c for c in value if c not in CREDIT_CHARS})
    if bad:
        return [f"characters {''.join(bad)} are not allowed (I, O, S, V, Z and lower case never)"]
    problems = []
    if not value[2:8].isdigit():
        problems.append(f"characters 3–8 must be an administrative division code: {value[2:8]}")
    expected = credit_code_check_char(value[:17])
    if value[17] != expected:
        problems.append(f"check character is {value[17]}, expected {expected}")
    return problems


# -- mobile numbers ----------------------------------------------------------------------------


def mobile_problems(value: str) -> list[str]:
    """What is wrong with a mainland mobile number (11 digits, 13x–19x); [] when valid.

    >>> mobile_problems("13812341234")
    []
    >>> mobile_problems("12812341234")
    ['must start with 13–19, got 12']
    >>> mobile_problems("1381234123")
    ['must have 11 digits, got 10']
    """
    if not value.isdigit() or not value.isascii():
        return [f"must be digits only, got {value!r}"]
    if len(value) != 11:
        return [f"must have 11 digits, got {len(value)}"]
    if not re.fullmatch(r"1[3-9]", value[:2]):
        return [f"must start with 13–19, got {value[:2]}"]
    return []
