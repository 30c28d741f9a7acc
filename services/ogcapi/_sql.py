"""Named statements kept in ``.sql`` files next to the module that runs them.

A file holds sections, each opened by a line ``-- name: <name>``; what precedes the first
section is the file's header comment.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

_NAME = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


@cache
def _statements(path: Path) -> dict[str, str]:
    parts = _NAME.split(path.read_text(encoding="utf-8"))
    return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


def statement(module_file: str, name: str) -> str:
    """Section ``name`` of the ``.sql`` file beside ``module_file`` (pass ``__file__``)."""
    return _statements(Path(module_file).with_suffix(".sql"))[name]
