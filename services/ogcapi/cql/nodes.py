"""The CQL2 vocabulary the reader and the emitter share: the node for what is read but not
evaluated, the operators by name, and how a node is described in an error message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from pygeofilter import ast, values


@dataclass
class Unsupported(ast.Node):  # type: ignore[misc]
    """A CQL2 construct that is read but not evaluated here: ``kind`` names it for the client
    (temporal operator, array operator, arithmetic, function, literal)."""

    kind: str
    name: str
    args: list[Any]


SPATIAL_OPS: Final[dict[str, type]] = {
    "s_intersects": ast.GeometryIntersects,
    "s_within": ast.GeometryWithin,
    "s_contains": ast.GeometryContains,
    "s_disjoint": ast.GeometryDisjoint,
    "s_equals": ast.GeometryEquals,
    "s_touches": ast.GeometryTouches,
    "s_crosses": ast.GeometryCrosses,
    "s_overlaps": ast.GeometryOverlaps,
}
COMPARISONS: Final[dict[type, str]] = {
    ast.Equal: "=",
    ast.NotEqual: "<>",
    ast.LessThan: "<",
    ast.LessEqual: "<=",
    ast.GreaterThan: ">",
    ast.GreaterEqual: ">=",
}
NAMES: Final[dict[type, str]] = {
    **{kind: f"the comparison {op}" for kind, op in COMPARISONS.items()},
    **{kind: name.upper() for name, kind in SPATIAL_OPS.items()},
    ast.Like: "LIKE",
    ast.Between: "BETWEEN",
    ast.In: "IN",
    ast.IsNull: "IS NULL",
    ast.Not: "NOT",
    ast.And: "AND",
    ast.Or: "OR",
}


def describe(node: Any) -> str:
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
        return NAMES.get(type(node), type(node).__name__)
    if isinstance(node, bool):
        return "a boolean"
    if isinstance(node, int | float):
        return "a number"
    if isinstance(node, str):
        return "a string"
    return type(node).__name__
