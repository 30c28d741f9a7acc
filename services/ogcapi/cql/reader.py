"""The cql2-json tree walked into pygeofilter's AST (the form pygeoapi hands our provider),
counting terms and vertices against the limits and naming what is not supported."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Final

from pygeofilter import ast, values

from services.ogcapi.cql.limits import EXACT_INTEGERS, MAX_NESTING, FilterLimits
from services.ogcapi.cql.nodes import SPATIAL_OPS, Unsupported, describe
from services.ogcapi.cql.syntax import check_json, read_json, read_text
from services.ogcapi.errors import BadRequestError
from services.ogcapi.values import check_text, parse_datetime

_COMPARISON_OPS: Final[dict[str, type]] = {
    "=": ast.Equal,
    "<>": ast.NotEqual,
    "<": ast.LessThan,
    "<=": ast.LessEqual,
    ">": ast.GreaterThan,
    ">=": ast.GreaterEqual,
}
_TEMPORAL_OPS: Final = frozenset(
    {"t_after", "t_before", "t_contains", "t_disjoint", "t_during", "t_equals",
     "t_finishedby", "t_finishes", "t_intersects", "t_meets", "t_metby", "t_overlappedby",
     "t_overlaps", "t_startedby", "t_starts"}
)  # fmt: skip
_ARRAY_OPS: Final = frozenset({"a_equals", "a_contains", "a_containedby", "a_overlaps"})
_ARITHMETIC_OPS: Final = frozenset({"+", "-", "*", "/", "^", "%", "div"})
_WKT: Final = frozenset(
    {"POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON",
     "GEOMETRYCOLLECTION", "BBOX", "ENVELOPE"}
)  # fmt: skip
_ARITY: Final[dict[str, int]] = {
    **dict.fromkeys(_COMPARISON_OPS, 2),
    **dict.fromkeys(SPATIAL_OPS, 2),
    "not": 1,
    "like": 2,
    "between": 3,
    "in": 2,
    "isnull": 1,
}


def _number(value: float) -> int | float:
    """An integral float as the integer it stands for (cql2-rs reads ``2`` as ``2.0``)."""
    if not math.isfinite(value):
        raise BadRequestError("filter: numbers must be finite")
    if value.is_integer() and abs(value) <= EXACT_INTEGERS:
        return int(value)
    return value


def _positions(coordinates: Any) -> int:
    """The positions in a GeoJSON ``coordinates`` array (without recursion)."""
    count, stack = 0, [coordinates]
    while stack:
        item = stack.pop()
        if isinstance(item, list) and item:
            if isinstance(item[0], int | float):
                count += 1
            else:
                stack.extend(item)
    return count


@dataclass
class _Reader:
    """The cql2-json tree → pygeofilter's AST, counting terms and vertices."""

    limits: FilterLimits
    terms: int = 0
    vertices: int = 0

    def read(self, item: Any, depth: int = 0) -> Any:
        if depth > MAX_NESTING:
            raise BadRequestError(f"filter: nested more than {MAX_NESTING} levels deep")
        if isinstance(item, bool | str | int):
            return item
        if isinstance(item, float):
            return _number(item)
        if isinstance(item, list):
            return [self.read(i, depth + 1) for i in item]
        if isinstance(item, dict):
            return self._object(item, depth)
        if item is None:
            raise BadRequestError("filter: null is not a CQL2 value; test with IS NULL")
        raise BadRequestError(f"filter: {type(item).__name__} is not a CQL2 value")

    def _object(self, item: dict[str, Any], depth: int) -> Any:
        if "op" in item:
            return self._operation(item, depth)
        if "property" in item:
            name = item["property"]
            if not isinstance(name, str):
                raise BadRequestError("filter: a property name is a string")
            return ast.Attribute(name)
        if "bbox" in item:
            return self._bbox(item["bbox"])
        if "timestamp" in item:
            return parse_datetime(_string(item["timestamp"], "TIMESTAMP"), "filter")
        if "date" in item:
            return _date(_string(item["date"], "DATE"))
        if "interval" in item:
            ends = item["interval"]
            args = self.read(ends, depth + 1) if isinstance(ends, list) else []
            return Unsupported("literal", "INTERVAL", args)
        if "type" in item:
            return self._geometry(item)
        keys = ", ".join(sorted(str(k)[:30] for k in item)[:5])
        raise BadRequestError(f"filter: an object with {keys or 'no keys'} is not CQL2")

    def _count(self) -> None:
        self.terms += 1
        if self.terms > self.limits.terms:
            raise BadRequestError(
                f"filter: more than {self.limits.terms} terms (predicates and logical "
                "operators), the limit"
            )

    def _operation(self, item: dict[str, Any], depth: int) -> Any:
        op, args = item["op"], item.get("args")
        if not isinstance(op, str) or not isinstance(args, list):
            raise BadRequestError("filter: an operation is {'op': name, 'args': [...]}")
        key = op.lower()
        self._count()
        if key in ("and", "or"):
            return self._chain(key, args, depth)
        arity = _ARITY.get(key)
        if arity is not None and len(args) != arity:
            raise BadRequestError(f"filter: {op[:30]} takes {arity} arguments, not {len(args)}")
        read = [self.read(a, depth + 1) for a in args]
        if key in _COMPARISON_OPS:
            return _COMPARISON_OPS[key](read[0], read[1])
        if key in SPATIAL_OPS:
            return SPATIAL_OPS[key](read[0], read[1])
        if key == "not":
            return ast.Not(read[0])
        if key == "like":
            return ast.Like(read[0], read[1], False, "%", "_", "\\", False)
        if key == "between":
            return ast.Between(read[0], read[1], read[2], False)
        if key == "in":
            if not isinstance(read[1], list):
                raise BadRequestError("filter: IN takes a list of values")
            return ast.In(read[0], read[1], False)
        if key == "isnull":
            return ast.IsNull(read[0], False)
        if key.upper() in _WKT:  # cql2-rs reads a malformed WKT literal as a function call
            raise BadRequestError(f"filter: {op.upper()}(...) is not a valid geometry literal")
        return Unsupported(_kind(key), _public_name(op, key), read)

    def _chain(self, key: str, args: list[Any], depth: int) -> Any:
        """AND or OR over its operands, nested chains of the same operator flattened (they
        count as one term); built as a balanced tree, so depth stays logarithmic."""
        operands: list[Any] = []
        stack = list(reversed(args))
        while stack:
            arg = stack.pop()
            nested = isinstance(arg, dict) and str(arg.get("op", "")).lower() == key
            if nested and isinstance(arg.get("args"), list):
                stack.extend(reversed(arg["args"]))
            else:
                operands.append(self.read(arg, depth + 1))
        if len(operands) < 2:
            raise BadRequestError(f"filter: {key.upper()} takes at least 2 operands")
        return _balanced(ast.And if key == "and" else ast.Or, operands)

    def _bbox(self, numbers: Any) -> values.Envelope:
        if not isinstance(numbers, list) or len(numbers) not in (4, 6):
            raise BadRequestError("filter: BBOX takes 4 or 6 numbers")
        if not all(isinstance(n, int | float) and not isinstance(n, bool) for n in numbers):
            raise BadRequestError("filter: BBOX takes 4 or 6 numbers")
        if len(numbers) == 6:  # heights are not filtered
            numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
        x1, y1, x2, y2 = (float(n) for n in numbers)
        self._add_vertices(4)
        return values.Envelope(x1, x2, y1, y2)

    def _geometry(self, item: dict[str, Any]) -> values.Geometry:
        stack, count = [item], 0
        while stack:
            part = stack.pop()
            if not isinstance(part, dict):
                raise BadRequestError("filter: a geometry literal must be a GeoJSON object")
            if isinstance(part.get("geometries"), list):
                stack.extend(part["geometries"])
            else:
                count += _positions(part.get("coordinates"))
        self._add_vertices(count)
        return values.Geometry(item)

    def _add_vertices(self, count: int) -> None:
        self.vertices += count
        if self.vertices > self.limits.vertices:
            raise BadRequestError(
                f"filter: its geometries have more than {self.limits.vertices} vertices, the limit"
            )


def _balanced(kind: type, operands: list[Any]) -> Any:
    if len(operands) == 1:
        return operands[0]
    middle = len(operands) // 2
    return kind(_balanced(kind, operands[:middle]), _balanced(kind, operands[middle:]))


def _kind(key: str) -> str:
    if key in _TEMPORAL_OPS:
        return "temporal operator"
    if key in _ARRAY_OPS:
        return "array operator"
    if key in _ARITHMETIC_OPS:
        return "arithmetic"
    return "function"


def _public_name(op: str, key: str) -> str:
    if key in _TEMPORAL_OPS or key in _ARRAY_OPS:
        return op.upper()
    if key in _ARITHMETIC_OPS:
        return op
    return f"{op[:50]}()"


def _string(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise BadRequestError(f"filter: {what} takes a string")
    return value


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadRequestError(f"filter: {text[:50]!r} is not a date (YYYY-MM-DD)") from None


def parse(text: str, language: str, limits: FilterLimits | None = None) -> Any:
    """The AST of a ``filter`` parameter (a pygeofilter node, or a boolean literal); 400 with
    one sentence when it cannot be read or is larger than ``limits``."""
    limits = limits or FilterLimits()
    if len(text) > limits.chars:
        raise BadRequestError(
            f"filter: {len(text)} characters, more than the limit of {limits.chars}"
        )
    check_text(text, "filter", max_chars=None)
    if language == "cql2-text":
        node = _Reader(limits).read(read_text(text))
    else:
        node = _Reader(limits).read(read_json(text))
        check_json(text)
    if not isinstance(node, ast.Node | bool) or isinstance(node, ast.Attribute):
        raise BadRequestError(f"filter: a {language} filter is a condition, not {describe(node)}")
    return node
