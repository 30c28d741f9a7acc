"""CQL2 (text and JSON) → a parameterised SQL condition, checked against the queryables.

Reading. cql2-rs (the ``cql2`` package) reads cql2-text as the standard writes it: every
example of OGC 21-065 parses (tests/data/cql2/), where pygeofilter 0.4's text grammar refused
valid filters such as ``NOT (a = 1 OR a = 2)``. It turns text into cql2-json; a cql2-json
filter is read with :mod:`json` (which keeps integers exact) and then checked by cql2-rs too.
This module walks that one JSON tree itself into pygeofilter's AST, the form pygeoapi hands
our provider, so one emitter serves both. It walks it itself rather than through
pygeofilter's cql2_json parser, which fails on 34 of the 109 examples (functions, intervals,
``GeometryCollection``, ``^``, ``%``, ``div``, ``a_containedBy``) with errors that do not say
what is unsupported. Measured on 150 OR'd ``S_INTERSECTS(geometry, BBOX(...))`` (9 231
characters, median of 9): the nesting scan 1.6 ms, cql2-rs text → JSON 1.8 ms, the walk
0.7 ms, 4.6 ms in all against 17.9 ms for pygeofilter's lark parser; emitting the SQL 4.9 ms.

Cost. Such a filter answered in 1.3 s, of which the database executes about 10 ms: the rest
is PostgreSQL's JIT compiling the plan, whose estimate (PostGIS prices each ST_Intersects
high) passes ``jit_above_cost``; with ``jit = off``, which every OGC session now sets
(``service.session_options``), the request takes 50 ms. The OR'd terms
are not merged into one ST_Intersects over a collected geometry: for overlapping boxes the
collection is not a valid geometry (GEOS 3.11 raises a TopologyException on it), a union
moves boundaries, and a merged predicate still costs 58 ms with JIT on against 10 ms without.

Numbers. cql2-rs reads every number as a float (``2`` → ``2.0``): integral values up to
2**53 become integers again, so ``floors = 2`` binds an integer (and can use an index on
``floors``); a larger integer literal in cql2-text would already be rounded (2**53 + 1 →
2**53), so it is refused with a pointer to cql2-json, which keeps it exact. Other numbers
stay floats: ``floors = 2.5`` compares numerically, as before.

Limits (:class:`FilterLimits`, from ``OgcSettings``): characters; terms, predicates and
logical operators counted together, a chain of AND (or of OR) counting once, so 150 OR'd
predicates are 151 terms; vertices of all geometry literals, a BBOX counting 4. Nesting is
bounded too, on the text before cql2-rs sees it: its recursive parser overflows the thread's
stack (the process dies, no exception) at about a thousand levels.

Emitting. Column names come from the collection's spec (quoted), every literal is bound.
Supported: basic CQL2 (comparisons, AND/OR/NOT, IS NULL, boolean literals), LIKE / BETWEEN /
IN, property-to-property comparisons, and the spatial functions S_INTERSECTS, S_WITHIN,
S_CONTAINS, S_DISJOINT, S_EQUALS, S_TOUCHES, S_CROSSES, S_OVERLAPS against a geometry or
BBOX literal. Literal geometries are read in ``filter-crs`` (its axis order), moved to
storage in Python, and compared with the stored column by a PostGIS predicate that uses the
GiST index. Anything else (functions, CASEI/ACCENTI, arithmetic, temporal and array
operators) is a 400 naming what is not supported.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import cql2
import shapely
from pygeofilter import ast, values

from services.ogcapi.binds import Binds
from services.ogcapi.crs import OgcCrs, geometry_to_storage
from services.ogcapi.errors import BadRequestError
from services.ogcapi.specs import GEOMETRY_QUERYABLE, CollectionSpec, Prop, PropType, quote
from services.ogcapi.values import INT64, check_text, parse_datetime
from services.settings import OgcSettings

LANGUAGES: Final = ("cql2-text", "cql2-json")
MAX_NESTING: Final = 128
"""Parentheses and prefix operators open at once in cql2-text, operators inside operators in
the tree (cql2-rs refuses cql2-json nested deeper than 128 JSON levels itself)."""
EXACT_INTEGERS: Final = 2**53
"""Beyond this a float (what cql2-rs reads numbers as) no longer holds every integer."""


def _setting_default(name: str) -> int:
    default = OgcSettings.model_fields[name].default
    assert isinstance(default, int)
    return default


@dataclass(frozen=True)
class FilterLimits:
    """How large a ``filter`` may be; the defaults are ``OgcSettings``' defaults."""

    chars: int = _setting_default("max_filter_chars")
    terms: int = _setting_default("max_filter_terms")
    vertices: int = _setting_default("max_filter_vertices")

    @classmethod
    def of(cls, ogc: OgcSettings) -> FilterLimits:
        return cls(ogc.max_filter_chars, ogc.max_filter_terms, ogc.max_filter_vertices)


@dataclass
class Unsupported(ast.Node):  # type: ignore[misc]
    """A CQL2 construct that is read but not evaluated here: ``kind`` names it for the client
    (temporal operator, array operator, arithmetic, function, literal)."""

    kind: str
    name: str
    args: list[Any]


# --- reading: text or JSON → the cql2-json tree → pygeofilter's AST -----------------------

_TOKENS: Final = re.compile(
    r"""\s+|'(?:[^']|'')*'|"(?:[^"]|"")*"|[A-Za-z_][\w:.]*"""
    r"""|(?P<number>[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)|."""
)
_PREFIX: Final = frozenset({"NOT", "-", "+"})
_EXPECTED: Final = {
    "GEOMETRY": "a geometry",
    "Identifier": "a property",
    "Negative": "a number",
    "UnaryNot": "NOT",
    "True": "TRUE",
    "False": "FALSE",
    "Null": "NULL",
    "DECIMAL": "a number",
    "Double": "a number",
    "SingleQuotedString": "a 'string'",
    "ExpressionInParentheses": "an expression in parentheses",
    "Array": "a list",
    "EOI": "the end of the filter",
    "NotFlag": "NOT",
    "And": "AND",
    "Or": "OR",
    "Eq": "a comparison",
    "Gt": "a comparison",
    "GtEq": "a comparison",
    "Lt": "a comparison",
    "LtEq": "a comparison",
    "NotEq": "a comparison",
    "IsNullPostfix": "IS NULL",
    "Add": "+",
    "Subtract": "-",
    "Multiply": "*",
    "Divide": "/",
    "Modulo": "%",
    "Power": "^",
    "Expr": "an expression",
}


def _scan_text(text: str) -> None:
    """Refuse what cql2-rs must not see: nesting that would overflow its stack, and integer
    literals it would round."""
    pending = [0]  # prefix operators (NOT, signs) waiting for their operand, per level
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token.isspace():
            continue
        if token == "(":
            pending.append(0)
        elif token == ")":
            if len(pending) > 1:
                pending.pop()
            pending[-1] = 0
        elif token.upper() in _PREFIX:
            pending[-1] += 1
        else:
            pending[-1] = 0
            if match.group("number") and token.isdigit() and _beyond_exact(token):
                raise BadRequestError(
                    f"filter: the integer {_clip(token)} is beyond 2^53, which cql2-text "
                    "cannot read exactly; send it in cql2-json"
                )
        if len(pending) + sum(pending) > MAX_NESTING:
            raise BadRequestError(f"filter: nested more than {MAX_NESTING} levels deep")


def _clip(text: str, size: int = 30) -> str:
    return text if len(text) <= size else text[:size] + "…"


def _beyond_exact(digits: str) -> bool:
    """Whether an integer literal exceeds 2**53 (by its length first: ``int`` refuses more
    than 4 300 digits)."""
    significant = digits.lstrip("0")
    length = len(str(EXACT_INTEGERS))
    return len(significant) > length or (
        len(significant) == length and int(significant) > EXACT_INTEGERS
    )


def _text_error(message: str) -> str:
    """cql2-rs' parse error (a caret diagram) as one sentence."""
    where = re.search(r"-->\s*(\d+):(\d+)", message)
    wanted = re.search(r"=\s*(expected|unexpected)\s+(.+)$", message.strip(), re.S)
    place = ""
    if where:
        line, column = where.groups()
        place = f" at column {column}" if line == "1" else f" at line {line}, column {column}"
    if not wanted:
        first = message.strip().splitlines()[0][:200] if message.strip() else "unreadable"
        return f"filter: not valid cql2-text{place}: {first}"
    names = re.split(r",\s*(?:or\s+)?|\s+or\s+", wanted.group(2).strip())
    words = list(dict.fromkeys(_EXPECTED.get(n.strip(), n.strip()) for n in names if n.strip()))
    listed = ", ".join(words[:-1]) + f" or {words[-1]}" if len(words) > 1 else words[0]
    return f"filter: not valid cql2-text{place}: {wanted.group(1)} {listed}"


def _read_text(text: str) -> Any:
    _scan_text(text)
    try:
        return cql2.parse_text(text).to_json()
    except Exception as exc:  # cql2.ParseError and anything else its reader raises
        raise BadRequestError(_text_error(str(exc))) from None


def _reject_constant(name: str) -> None:
    raise BadRequestError(f"filter: {name} is not a number in JSON")


def _json_integer(digits: str) -> int:
    if len(digits.lstrip("-")) > len(str(INT64)):  # before int(), which refuses 4 301 digits
        raise BadRequestError(f"filter: {_clip(digits)} is out of range")
    return int(digits)


def _read_json(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_int=_json_integer)
    except RecursionError:
        raise BadRequestError(f"filter: nested more than {MAX_NESTING} levels deep") from None
    except ValueError as exc:
        raise BadRequestError(f"filter: not valid cql2-json: {str(exc)[:200]}") from None


def _check_json(text: str) -> None:
    """cql2-rs' own reading of a cql2-json filter that the walk accepted."""
    try:
        cql2.parse_json(text)
    except Exception as exc:
        detail = str(exc).strip()
        if "recursion limit" in detail:
            raise BadRequestError(f"filter: nested more than {MAX_NESTING} levels deep") from None
        raise BadRequestError(
            "filter: not valid cql2-json: it does not follow the CQL2 JSON schema"
        ) from None


_COMPARISON_OPS: Final[dict[str, type]] = {
    "=": ast.Equal,
    "<>": ast.NotEqual,
    "<": ast.LessThan,
    "<=": ast.LessEqual,
    ">": ast.GreaterThan,
    ">=": ast.GreaterEqual,
}
_SPATIAL_OPS: Final[dict[str, type]] = {
    "s_intersects": ast.GeometryIntersects,
    "s_within": ast.GeometryWithin,
    "s_contains": ast.GeometryContains,
    "s_disjoint": ast.GeometryDisjoint,
    "s_equals": ast.GeometryEquals,
    "s_touches": ast.GeometryTouches,
    "s_crosses": ast.GeometryCrosses,
    "s_overlaps": ast.GeometryOverlaps,
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
    **dict.fromkeys(_SPATIAL_OPS, 2),
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
        if key in _SPATIAL_OPS:
            return _SPATIAL_OPS[key](read[0], read[1])
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
        node = _Reader(limits).read(_read_text(text))
    else:
        node = _Reader(limits).read(_read_json(text))
        _check_json(text)
    if not isinstance(node, ast.Node | bool) or isinstance(node, ast.Attribute):
        raise BadRequestError(f"filter: a {language} filter is a condition, not {_describe(node)}")
    return node


# --- emitting: pygeofilter's AST → SQL ------------------------------------------------------

_COMPARISONS: Final[dict[type, str]] = {
    ast.Equal: "=",
    ast.NotEqual: "<>",
    ast.LessThan: "<",
    ast.LessEqual: "<=",
    ast.GreaterThan: ">",
    ast.GreaterEqual: ">=",
}
_SPATIAL: Final[dict[type, str]] = {
    ast.GeometryIntersects: "ST_Intersects",
    ast.GeometryWithin: "ST_Within",
    ast.GeometryContains: "ST_Contains",
    ast.GeometryEquals: "ST_Equals",
    ast.GeometryTouches: "ST_Touches",
    ast.GeometryCrosses: "ST_Crosses",
    ast.GeometryOverlaps: "ST_Overlaps",
}
_NAMES: Final[dict[type, str]] = {
    **{kind: f"the comparison {op}" for kind, op in _COMPARISONS.items()},
    **{kind: name.upper() for name, kind in _SPATIAL_OPS.items()},
    ast.Like: "LIKE",
    ast.Between: "BETWEEN",
    ast.In: "IN",
    ast.IsNull: "IS NULL",
    ast.Not: "NOT",
    ast.And: "AND",
    ast.Or: "OR",
}
_NUMERIC: Final = (PropType.INTEGER, PropType.NUMBER)


@dataclass
class _Emitter:
    spec: CollectionSpec
    binds: Binds
    crs: OgcCrs
    alias: str

    def condition(self, node: Any) -> str:
        if isinstance(node, bool):
            return "TRUE" if node else "FALSE"
        if isinstance(node, ast.And | ast.Or):
            joiner = " AND " if isinstance(node, ast.And) else " OR "
            return "(" + joiner.join(self.condition(n) for n in _operands(node)) + ")"
        if isinstance(node, ast.Not):
            return f"(NOT {self.condition(node.sub_node)})"
        if isinstance(node, ast.Attribute):
            name = str(node.name)[:100]
            raise BadRequestError(f"filter: {name!r} is a property, not a condition ({name} = …)")
        handler = self._handlers().get(type(node))
        if handler is None:
            raise BadRequestError(f"filter: {_describe(node)} is not supported here")
        return handler(node)

    def _handlers(self) -> dict[type, Callable[[Any], str]]:
        table: dict[type, Callable[[Any], str]] = dict.fromkeys(_COMPARISONS, self._compare)
        table.update(dict.fromkeys(_SPATIAL, self._spatial))
        table[ast.GeometryDisjoint] = self._spatial
        table[ast.Like] = self._like
        table[ast.Between] = self._between
        table[ast.In] = self._in
        table[ast.IsNull] = self._is_null
        return table

    # --- operands -----------------------------------------------------------------------

    def _prop(self, node: Any) -> Prop:
        name = node.name
        found = self.spec.queryables().get(name)
        if found is None:
            known = ", ".join(sorted([*self.spec.queryables(), GEOMETRY_QUERYABLE]))
            raise BadRequestError(
                f"filter: {str(name)[:100]!r} is not a queryable; use one of {known}"
            )
        return found

    def _column(self, prop: Prop) -> str:
        return f"{self.alias}.{quote(prop.column)}"

    def _operand(self, node: Any, partner: PropType | None) -> tuple[str, PropType]:
        """SQL and type of one side of a comparison."""
        if isinstance(node, ast.Attribute):
            prop = self._prop(node)
            return self._column(prop), prop.type
        return self._literal(node, partner), _literal_type(node)

    def _literal(self, value: Any, partner: PropType | None) -> str:
        if isinstance(value, bool):
            return self.binds(value)
        if isinstance(value, int):
            if abs(value) > INT64:
                raise BadRequestError(f"filter: {value} is out of range")
            return self.binds(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise BadRequestError("filter: numbers must be finite")
            return self.binds(value)
        if isinstance(value, str):
            return self.binds(check_text(value, "filter", max_chars=None))
        if isinstance(value, dt.datetime):
            return self.binds(value if value.tzinfo else value.replace(tzinfo=dt.UTC))
        if isinstance(value, dt.date):
            return self.binds(dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC))
        raise BadRequestError(f"filter: {_describe(value)} is not supported here")

    # --- predicates ---------------------------------------------------------------------

    def _compare(self, node: Any) -> str:
        lhs_type = self._attr_type(node.lhs)
        rhs_type = self._attr_type(node.rhs)
        lhs, left = self._operand(node.lhs, rhs_type)
        rhs, right = self._operand(node.rhs, lhs_type)
        _check_types(left, right, _describe(node))
        return f"({lhs} {_COMPARISONS[type(node)]} {rhs})"

    def _attr_type(self, node: Any) -> PropType | None:
        return self._prop(node).type if isinstance(node, ast.Attribute) else None

    def _like(self, node: Any) -> str:
        for side in (node.lhs, node.pattern):
            if isinstance(side, ast.Node) and not isinstance(side, ast.Attribute):
                raise BadRequestError(f"filter: {_describe(side)} is not supported here")
        column, kind = self._operand(node.lhs, None)
        if kind is not PropType.STRING or not isinstance(node.pattern, str):
            raise BadRequestError("filter: LIKE compares a text queryable with a text pattern")
        pattern = node.pattern
        if (len(pattern) - len(pattern.rstrip("\\"))) % 2:
            raise BadRequestError(
                "filter: a LIKE pattern must not end with a lone escape character"
            )
        operator = "ILIKE" if node.nocase else "LIKE"
        negation = "NOT " if node.not_ else ""
        return f"({column} {negation}{operator} {self._literal(pattern, kind)})"

    def _between(self, node: Any) -> str:
        column, kind = self._operand(node.lhs, None)
        low, low_type = self._operand(node.low, kind)
        high, high_type = self._operand(node.high, kind)
        _check_types(kind, low_type, "BETWEEN")
        _check_types(kind, high_type, "BETWEEN")
        negation = "NOT " if node.not_ else ""
        return f"({column} {negation}BETWEEN {low} AND {high})"

    def _in(self, node: Any) -> str:
        column, kind = self._operand(node.lhs, None)
        items = list(node.sub_nodes)
        if not items or len(items) > 1000:
            raise BadRequestError("filter: IN takes 1 to 1000 values")
        for item in items:
            _check_types(kind, _literal_type(item), "IN")
        if kind in _NUMERIC and any(isinstance(i, float) for i in items):
            items = [float(i) for i in items]
        for item in items:
            self._literal(item, kind)  # range and text checks
        values_sql = self.binds(list(items))
        negation = "NOT " if node.not_ else ""
        return f"({negation}{column} = ANY({values_sql}))"

    def _is_null(self, node: Any) -> str:
        if isinstance(node.lhs, ast.Attribute) and node.lhs.name == GEOMETRY_QUERYABLE:
            column = f"{self.alias}.{quote(self.spec.geometry_column)}"
        else:
            column, _ = self._operand(node.lhs, None)
        return f"({column} IS {'NOT ' if node.not_ else ''}NULL)"

    def _spatial(self, node: Any) -> str:
        lhs, rhs = self._geometry(node.lhs), self._geometry(node.rhs)
        if isinstance(node, ast.GeometryDisjoint):
            return f"(NOT ST_Intersects({lhs}, {rhs}))"
        return f"{_SPATIAL[type(node)]}({lhs}, {rhs})"

    def _geometry(self, node: Any) -> str:
        if isinstance(node, ast.Attribute):
            if node.name not in (GEOMETRY_QUERYABLE, self.spec.geometry_column):
                raise BadRequestError(
                    f"filter: {str(node.name)[:100]!r} is not a geometry; use "
                    f"{GEOMETRY_QUERYABLE!r}"
                )
            return f"{self.alias}.{quote(self.spec.geometry_column)}"
        geom = _literal_geometry(node)
        stored = geometry_to_storage(geom, self.crs, "filter")
        return f"ST_GeomFromWKB({self.binds(shapely.to_wkb(stored))}, 4490)"


def _operands(node: Any) -> list[Any]:
    """The operands of a chain of the same AND (or OR), left to right, without recursion."""
    kind, found, stack = type(node), [], [node]
    while stack:
        item = stack.pop()
        if type(item) is kind:
            stack.extend((item.rhs, item.lhs))
        else:
            found.append(item)
    return found


def _literal_geometry(node: Any) -> shapely.Geometry:
    if isinstance(node, Unsupported):
        raise BadRequestError(f"filter: {_describe(node)} is not supported here")
    try:
        if isinstance(node, values.Geometry):
            return shapely.geometry.shape(_plain(node.geometry))
        if isinstance(node, values.Envelope):
            return shapely.box(node.x1, node.y1, node.x2, node.y2)
        if isinstance(node, ast.Function) and node.name.lower() == "bbox":
            numbers = [float(a) for a in node.arguments]
            if len(numbers) == 6:
                numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
            if len(numbers) != 4:
                raise ValueError("BBOX takes 4 or 6 numbers")
            return shapely.box(*numbers)
        if isinstance(node, dict) and "type" in node:
            return shapely.geometry.shape(_plain(node))
    except BadRequestError:
        raise
    except Exception as exc:
        raise BadRequestError(f"filter: unreadable geometry: {str(exc)[:200]}") from None
    raise BadRequestError(f"filter: {_describe(node)} is not a geometry")


def _plain(geometry: Any) -> Any:
    """A GeoJSON mapping with lists instead of tuples, and numbers checked."""
    text = json.dumps(geometry, default=list)
    plain = json.loads(text)
    if not isinstance(plain, dict):
        raise BadRequestError("filter: a geometry literal must be a GeoJSON object")
    return plain


def _literal_type(value: Any) -> PropType:
    if isinstance(value, bool):
        return PropType.BOOLEAN
    if isinstance(value, int):
        return PropType.INTEGER
    if isinstance(value, float):
        return PropType.NUMBER
    if isinstance(value, str):
        return PropType.STRING
    if isinstance(value, dt.date):
        return PropType.DATETIME
    raise BadRequestError(f"filter: {_describe(value)} is not supported here")


def _check_types(left: PropType, right: PropType, what: str) -> None:
    if left == right or (left in _NUMERIC and right in _NUMERIC):
        return
    raise BadRequestError(f"filter: {what} compares {_article(left)} with {_article(right)}")


def _article(kind: PropType) -> str:
    return f"an {kind}" if kind.value[0] in "aeiou" else f"a {kind}"


def _describe(node: Any) -> str:
    """What ``node`` is, in the words of CQL2."""
    if isinstance(node, Unsupported):
        if node.kind == "arithmetic":
            return f"arithmetic ({node.name})"
        return f"the {node.kind} {node.name}"
    if isinstance(node, ast.Function):
        return f"the function {str(node.name)[:50]}()"
    if isinstance(node, ast.Attribute):
        return f"the property {str(node.name)[:100]!r}"
    if isinstance(node, list):
        return "a list"
    if isinstance(node, values.Geometry | values.Envelope):
        return "a geometry"
    if isinstance(node, ast.Node):
        return _NAMES.get(type(node), type(node).__name__)
    if isinstance(node, bool):
        return "a boolean"
    if isinstance(node, int | float):
        return "a number"
    if isinstance(node, str):
        return "a string"
    return type(node).__name__


def to_sql(node: Any, spec: CollectionSpec, binds: Binds, crs: OgcCrs, alias: str) -> str:
    """The SQL condition of ``node`` on ``spec``'s table aliased ``alias``."""
    try:
        return _Emitter(spec, binds, crs, alias).condition(node)
    except RecursionError:
        raise BadRequestError("filter: nested too deeply") from None
