"""pygeofilter's AST → a parameterised SQL condition, checked against the queryables: column
names from the collection's spec (quoted), every literal bound."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import shapely
from pygeofilter import ast, values

from services.ogcapi.binds import Binds
from services.ogcapi.cql.nodes import COMPARISONS, Unsupported, describe
from services.ogcapi.crs import OgcCrs, geometry_to_storage
from services.ogcapi.errors import BadRequestError
from services.ogcapi.specs import GEOMETRY_QUERYABLE, CollectionSpec, Prop, PropType, quote
from services.ogcapi.values import INT64, check_text

# --- emitting: pygeofilter's AST → SQL ------------------------------------------------------

_SPATIAL: Final[dict[type, str]] = {
    ast.GeometryIntersects: "ST_Intersects",
    ast.GeometryWithin: "ST_Within",
    ast.GeometryContains: "ST_Contains",
    ast.GeometryEquals: "ST_Equals",
    ast.GeometryTouches: "ST_Touches",
    ast.GeometryCrosses: "ST_Crosses",
    ast.GeometryOverlaps: "ST_Overlaps",
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
            raise BadRequestError(f"filter: {describe(node)} is not supported here")
        return handler(node)

    def _handlers(self) -> dict[type, Callable[[Any], str]]:
        table: dict[type, Callable[[Any], str]] = dict.fromkeys(COMPARISONS, self._compare)
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
        raise BadRequestError(f"filter: {describe(value)} is not supported here")

    # --- predicates ---------------------------------------------------------------------

    def _compare(self, node: Any) -> str:
        lhs_type = self._attr_type(node.lhs)
        rhs_type = self._attr_type(node.rhs)
        lhs, left = self._operand(node.lhs, rhs_type)
        rhs, right = self._operand(node.rhs, lhs_type)
        _check_types(left, right, describe(node))
        return f"({lhs} {COMPARISONS[type(node)]} {rhs})"

    def _attr_type(self, node: Any) -> PropType | None:
        return self._prop(node).type if isinstance(node, ast.Attribute) else None

    def _like(self, node: Any) -> str:
        for side in (node.lhs, node.pattern):
            if isinstance(side, ast.Node) and not isinstance(side, ast.Attribute):
                raise BadRequestError(f"filter: {describe(side)} is not supported here")
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
        raise BadRequestError(f"filter: {describe(node)} is not supported here")
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
    raise BadRequestError(f"filter: {describe(node)} is not a geometry")


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
    raise BadRequestError(f"filter: {describe(value)} is not supported here")


def _check_types(left: PropType, right: PropType, what: str) -> None:
    if left == right or (left in _NUMERIC and right in _NUMERIC):
        return
    raise BadRequestError(f"filter: {what} compares {_article(left)} with {_article(right)}")


def _article(kind: PropType) -> str:
    return f"an {kind}" if kind.value[0] in "aeiou" else f"a {kind}"


def to_sql(node: Any, spec: CollectionSpec, binds: Binds, crs: OgcCrs, alias: str) -> str:
    """The SQL condition of ``node`` on ``spec``'s table aliased ``alias``."""
    try:
        return _Emitter(spec, binds, crs, alias).condition(node)
    except RecursionError:
        raise BadRequestError("filter: nested too deeply") from None
