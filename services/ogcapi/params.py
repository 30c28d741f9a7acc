"""Query parameters of ``/items`` and ``/items/{id}`` → a checked, typed request.

Everything a client sends is read here, against the collection's spec; unknown parameters,
malformed values and names outside the queryables are a 400 (OGC API Features Part 1
``/req/core/query-param-unknown`` and ``.../query-param-invalid``). ``limit`` above the
maximum is cut to it, as Part 1 asks; ``limit=0`` is below the minimum and a 400.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from services.ogcapi import cql
from services.ogcapi.cql import FilterLimits as FilterLimits
from services.ogcapi.crs import OgcCrs, bbox_to_storage, default_crs, parse_crs
from services.ogcapi.errors import BadRequestError
from services.ogcapi.pages import Cursor, decode_cursor
from services.ogcapi.specs import CollectionSpec, Prop, PropType
from services.ogcapi.values import (
    Scalar,
    from_text,
    parse_datetime,
    parse_day,
    parse_integer,
)

ITEMS_PARAMETERS: Final = frozenset(
    {"f", "lang", "limit", "offset", "cursor", "bbox", "bbox-crs", "datetime", "crs",
     "filter", "filter-lang", "filter-crs", "sortby", "properties", "skipGeometry"}
)  # fmt: skip
ITEM_PARAMETERS: Final = frozenset({"f", "lang", "crs", "properties", "skipGeometry"})
MAX_OFFSET: Final = 10**12


@dataclass(frozen=True)
class SortKey:
    prop: Prop
    descending: bool = False


@dataclass(frozen=True)
class Output:
    """How features are written: CRS, which properties, with or without geometry."""

    crs: OgcCrs
    properties: tuple[Prop, ...]
    skip_geometry: bool


@dataclass(frozen=True)
class Interval:
    """``start <= t < end`` (``end_inclusive``: ``<=``); either side may be open."""

    start: dt.datetime | None
    end: dt.datetime | None
    end_inclusive: bool


@dataclass(frozen=True)
class ItemsRequest:
    limit: int
    offset: int
    cursor: Cursor | None
    bbox: tuple[float, float, float, float] | None
    interval: Interval | None
    equals: tuple[tuple[Prop, Scalar], ...]
    filter: Any  # a pygeofilter AST node, or a boolean literal (services/ogcapi/cql.py)
    filter_crs: OgcCrs
    sort: tuple[SortKey, ...]
    output: Output

    @property
    def filtered(self) -> bool:
        """Whether anything narrows the collection (then counts are taken per request)."""
        return bool(self.bbox or self.interval or self.equals or self.filter is not None)


def _single(params: Sequence[tuple[str, str]], allowed: frozenset[str], spec: CollectionSpec,
            equality: bool) -> dict[str, str]:  # fmt: skip
    found: dict[str, str] = {}
    queryables = spec.queryables() if equality else {}
    for key, value in params:
        if key not in allowed and key not in queryables:
            offered = ", ".join(sorted(allowed | set(queryables)))
            raise BadRequestError(
                f"unknown query parameter {key[:100]!r}; this resource takes {offered}"
            )
        if key in found:
            raise BadRequestError(f"query parameter {key[:100]!r} is given more than once")
        found[key] = value
    return found


def _limit(value: str | None, default: int, maximum: int) -> int:
    if value is None:
        return default
    number = parse_integer(value, "limit")
    if number < 1:
        raise BadRequestError(f"limit: {number} is below the minimum of 1")
    return min(number, maximum)


def _offset(value: str | None) -> int:
    if value is None:
        return 0
    number = parse_integer(value, "offset")
    if not 0 <= number <= MAX_OFFSET:
        raise BadRequestError(f"offset: must lie between 0 and {MAX_OFFSET}")
    return number


def _bbox(value: str | None, crs_value: str | None) -> tuple[float, float, float, float] | None:
    crs = parse_crs(crs_value, "bbox-crs") if crs_value is not None else default_crs()
    if value is None:
        return None
    parts = value.split(",")
    if len(parts) not in (4, 6):
        raise BadRequestError(f"bbox: takes 4 or 6 numbers, not {len(parts)}")
    try:
        numbers = tuple(float(p) for p in parts)
    except ValueError:
        raise BadRequestError(f"bbox: {value[:200]!r} is not a list of numbers") from None
    return bbox_to_storage(numbers, crs)


def _instant(text: str, end: bool) -> tuple[dt.datetime, bool]:
    """A datetime bound; a bare date covers its whole day (UTC). Returns (value, inclusive)."""
    day = parse_day(text)
    if day is None:
        return parse_datetime(text, "datetime"), True
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    return (start + dt.timedelta(days=1), False) if end else (start, True)


def parse_interval(value: str | None, spec: CollectionSpec) -> Interval | None:
    if value is None:
        return None
    if spec.datetime_column is None:
        raise BadRequestError(f"datetime: collection {spec.id!r} has no temporal property")
    if "/" not in value:
        day = parse_day(value)
        if day is not None:
            midnight = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
            return Interval(midnight, midnight + dt.timedelta(days=1), False)
        instant = parse_datetime(value, "datetime")
        return Interval(instant, instant, True)
    first, _, second = value.partition("/")
    if "/" in second:
        raise BadRequestError("datetime: an interval has one '/'")
    start = None if first in ("", "..") else _instant(first, end=False)[0]
    end, inclusive = (None, True) if second in ("", "..") else _instant(second, end=True)
    if start is None and end is None:
        raise BadRequestError("datetime: an interval needs at least one end")
    if start is not None and end is not None and start > end:
        raise BadRequestError("datetime: the interval starts after it ends")
    return Interval(start, end, inclusive)


def sort_keys(value: str | None, spec: CollectionSpec) -> tuple[SortKey, ...]:
    keys: list[SortKey] = []
    if value:
        queryables = spec.queryables()
        for raw in value.split(","):
            item = raw.strip() if not raw.startswith(" ") else raw[1:]  # '+' decodes to ' '
            descending = item.startswith("-")
            name = item[1:] if item[:1] in "+-" and item else item
            prop = queryables.get(name)
            if prop is None:
                raise BadRequestError(
                    f"sortby: {name[:100]!r} is not sortable; use one of {', '.join(queryables)}"
                )
            if any(k.prop.name == prop.name for k in keys):
                raise BadRequestError(f"sortby: {name!r} is given twice")
            keys.append(SortKey(prop, descending))
    key = spec.key_prop()
    if not keys or keys[-1].prop.column != key.column:
        keys = [k for k in keys if k.prop.column != key.column] + [SortKey(key, False)]
    return tuple(keys)


def _output(found: dict[str, str], spec: CollectionSpec) -> Output:
    crs = parse_crs(found["crs"]) if "crs" in found else default_crs()
    props = spec.properties
    if "properties" in found:
        by_name = {p.name: p for p in spec.properties}
        wanted = [n.strip() for n in found["properties"].split(",") if n.strip()]
        unknown = [n for n in wanted if n not in by_name]
        if unknown:
            raise BadRequestError(
                f"properties: {unknown[0][:100]!r} is not a property; use {', '.join(by_name)}"
            )
        props = tuple(by_name[n] for n in dict.fromkeys(wanted))
    skip = False
    if "skipGeometry" in found:
        flag = found["skipGeometry"].strip().lower()
        if flag not in ("true", "false"):
            raise BadRequestError("skipGeometry: true or false")
        skip = flag == "true"
    return Output(crs, props, skip)


def items_request(
    params: Sequence[tuple[str, str]],
    spec: CollectionSpec,
    default_limit: int,
    max_limit: int,
    filters: FilterLimits | None = None,
) -> ItemsRequest:
    """Read and check the parameters of ``/collections/{id}/items``; ``filters`` bounds the
    ``filter`` (the routes pass ``FilterLimits.of(settings)``; None: the settings' defaults)."""
    found = _single(params, ITEMS_PARAMETERS, spec, equality=True)
    queryables = spec.queryables()
    equals = tuple(
        (queryables[k], from_text(queryables[k], v, k))
        for k, v in found.items()
        if k in queryables and k not in ITEMS_PARAMETERS
    )
    sort = sort_keys(found.get("sortby"), spec)
    language = found.get("filter-lang", "cql2-text")
    if language not in cql.LANGUAGES:
        raise BadRequestError(f"filter-lang: {language[:50]!r}; use cql2-text or cql2-json")
    filter_crs = (
        parse_crs(found["filter-crs"], "filter-crs") if "filter-crs" in found else default_crs()
    )
    node = cql.parse(found["filter"], language, filters) if "filter" in found else None
    cursor = decode_cursor(found["cursor"], sort) if "cursor" in found else None
    if cursor is not None and "offset" in found:
        raise BadRequestError("offset and cursor exclude each other")
    return ItemsRequest(
        limit=_limit(found.get("limit"), default_limit, max_limit),
        offset=_offset(found.get("offset")),
        cursor=cursor,
        bbox=_bbox(found.get("bbox"), found.get("bbox-crs")),
        interval=parse_interval(found.get("datetime"), spec),
        equals=equals,
        filter=node,
        filter_crs=filter_crs,
        sort=sort,
        output=_output(found, spec),
    )


def item_output(params: Sequence[tuple[str, str]], spec: CollectionSpec) -> Output:
    """Read and check the parameters of ``/collections/{id}/items/{featureId}``."""
    return _output(_single(params, ITEM_PARAMETERS, spec, equality=False), spec)


def feature_id(value: str, spec: CollectionSpec) -> int | str | None:
    """The key value of a path's feature id, or None when it cannot be one (then: 404)."""
    if spec.id_type is PropType.INTEGER:
        try:
            number = parse_integer(value, "id")
        except BadRequestError:
            return None
        return number
    return None if "\x00" in value or len(value) > 1000 else value
