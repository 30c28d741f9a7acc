"""Client values → typed Python values for binding: query strings, cursors, CQL2 literals.

Every value is checked against the property type before it is bound, so the database never
sees a value it would reject (a 500); what cannot be read is a 400 with a sentence.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Final

from services.ogcapi.errors import BadRequestError
from services.ogcapi.specs import Prop, PropType

INT64: Final = 2**63 - 1
_INTEGER: Final = re.compile(r"^[+-]?\d{1,19}$")
_TRUE: Final = {"true", "1"}
_FALSE: Final = {"false", "0"}
_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Scalar = int | float | str | bool | dt.datetime | None


def check_text(value: str, what: str, max_chars: int | None = 10_000) -> str:
    """A string PostgreSQL accepts as text (no NUL), of a sane length.

    ``max_chars=None`` leaves the length to the caller: a ``filter`` is bounded as a whole by
    its own setting (``OgcSettings.max_filter_chars``), and so are the strings inside it.
    """
    if "\x00" in value:
        raise BadRequestError(f"{what}: text must not contain NUL characters")
    if max_chars is not None and len(value) > max_chars:
        raise BadRequestError(
            f"{what}: text longer than {max_chars:_} characters".replace("_", " ")
        )
    return value


def parse_integer(value: str, what: str) -> int:
    text = value.strip()  # Python's whitespace (\x1c-\x1f too), which int() does not take
    if not _INTEGER.match(text):
        raise BadRequestError(f"{what}: {value[:100]!r} is not an integer")
    number = int(text)
    if abs(number) > INT64:
        raise BadRequestError(f"{what}: {value[:100]!r} is out of range")
    return number


def parse_datetime(value: str, what: str) -> dt.datetime:
    """An RFC 3339 date-time (time zone ``Z`` or an offset; none means UTC)."""
    text = value.strip()
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise BadRequestError(f"{what}: {value[:100]!r} is not an RFC 3339 date-time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def parse_day(value: str) -> dt.date | None:
    """The date of a bare ``YYYY-MM-DD``, else None."""
    if not _DATE.match(value.strip()):
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        return None


def from_text(prop: Prop, value: str, what: str) -> Scalar:
    """A query-string value of ``prop``'s type."""
    kind = prop.type
    if kind is PropType.INTEGER:
        return parse_integer(value, what)
    if kind is PropType.NUMBER:
        try:
            number = float(value)
        except ValueError:
            raise BadRequestError(f"{what}: {value[:100]!r} is not a number") from None
        if not math.isfinite(number):
            raise BadRequestError(f"{what}: {value[:100]!r} is not a finite number")
        return number
    if kind is PropType.BOOLEAN:
        lowered = value.strip().lower()
        if lowered in _TRUE | _FALSE:
            return lowered in _TRUE
        raise BadRequestError(f"{what}: {value[:100]!r} is not true or false")
    if kind is PropType.DATETIME:
        return parse_datetime(value, what)
    if kind is PropType.STRING:
        return check_text(value, what)
    raise BadRequestError(f"{what}: {prop.name} cannot be compared")


def from_json(prop: Prop, value: object, what: str) -> Scalar:
    """A JSON value (from a cursor) of ``prop``'s type; None stays None."""
    if value is None:
        return None
    kind = prop.type
    ok = (
        (kind is PropType.INTEGER and isinstance(value, int) and not isinstance(value, bool))
        or (
            kind is PropType.NUMBER
            and isinstance(value, int | float)
            and not isinstance(value, bool)
        )
        or (kind is PropType.BOOLEAN and isinstance(value, bool))
        or (kind in (PropType.STRING, PropType.DATETIME) and isinstance(value, str))
    )
    if not ok:
        raise BadRequestError(f"{what}: it does not belong to this request")
    if kind is PropType.DATETIME:
        assert isinstance(value, str)
        return parse_datetime(value, what)
    if kind is PropType.STRING:
        assert isinstance(value, str)
        return check_text(value, what)
    if kind is PropType.INTEGER:
        assert isinstance(value, int)
        if abs(value) > INT64:
            raise BadRequestError(f"{what}: it does not belong to this request")
    if kind is PropType.NUMBER:
        assert isinstance(value, int | float)
        if not math.isfinite(value):
            raise BadRequestError(f"{what}: it does not belong to this request")
    assert isinstance(value, int | float | bool)
    return value
