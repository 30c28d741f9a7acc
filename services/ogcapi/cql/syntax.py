"""cql2-text and cql2-json read into one cql2-json tree by cql2-rs, with the checks it lacks:
nesting depth before its recursive parser sees the text, exact integers, clear messages."""

from __future__ import annotations

import json
import re
from typing import Any, Final

import cql2

from services.ogcapi.cql.limits import EXACT_INTEGERS, MAX_NESTING
from services.ogcapi.errors import BadRequestError
from services.ogcapi.values import INT64

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


def read_text(text: str) -> Any:
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


def read_json(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_int=_json_integer)
    except RecursionError:
        raise BadRequestError(f"filter: nested more than {MAX_NESTING} levels deep") from None
    except ValueError as exc:
        raise BadRequestError(f"filter: not valid cql2-json: {str(exc)[:200]}") from None


def check_json(text: str) -> None:
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
