"""Named statements kept in ``.sql`` files next to the module that runs them.

A file holds sections, each opened by a line ``-- name: <name>``; what precedes the first
section is the file's header comment.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from sqlalchemy import TextClause, text

_NAME = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


@cache
def statements(path: Path) -> dict[str, str]:
    """The sections of ``path`` by name (text stripped of surrounding blank lines)."""
    source = path.read_text(encoding="utf-8")
    parts = _NAME.split(source)
    return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


def sql(module_file: str, name: str) -> TextClause:
    """Section ``name`` of the ``.sql`` file beside ``module_file`` (pass ``__file__``)."""
    return text(statements(Path(module_file).with_suffix(".sql"))[name])


def raw(module_file: str, name: str) -> str:
    """The text of section ``name``, for statements assembled from fixed parts."""
    return statements(Path(module_file).with_suffix(".sql"))[name]
