"""Named SQL statements kept in ``.sql`` files beside the module that runs them.

A file holds sections, each opened by a line ``-- name: <name>``; what precedes the first
section is the file's header comment. Files are package data, read through
:mod:`importlib.resources` on first use (so an installed wheel finds them as a checkout
does) and cached; a module asks with its own ``__name__``: ``statement(__name__, "x")``
reads section ``x`` of the ``.sql`` file named like the module, in the same package.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

from sqlalchemy import TextClause, text

_NAME = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


@cache
def statements(module: str) -> dict[str, str]:
    """Every section of the ``.sql`` file of ``module`` (a dotted name), by name."""
    package, _, stem = module.rpartition(".")
    if not package:
        raise ValueError(f"{module!r} is not a module inside a package")
    source = files(package).joinpath(f"{stem}.sql").read_text(encoding="utf-8")
    parts = _NAME.split(source)
    return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


def statement(module: str, name: str) -> str:
    """The text of section ``name`` (for statements assembled from fixed parts)."""
    try:
        return statements(module)[name]
    except KeyError:
        raise KeyError(f"{module.replace('.', '/')}.sql has no section {name!r}") from None


def sql(module: str, name: str) -> TextClause:
    """Section ``name`` as a statement to execute."""
    return text(statement(module, name))
