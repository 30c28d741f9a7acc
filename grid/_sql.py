"""Named statements kept in ``.sql`` files next to the module that runs them.

A file holds sections, each opened by a line ``-- name: <name>``; what precedes the first
section is the file's header comment.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

_NAME = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


@cache
def statements(path: Path) -> dict[str, str]:
    """The sections of ``path`` by name (text stripped of surrounding blank lines)."""
    source = path.read_text(encoding="utf-8")
    parts = _NAME.split(source)
    return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


def statement(module_file: str, name: str) -> str:
    """Section ``name`` of the ``.sql`` file beside ``module_file`` (pass ``__file__``)."""
    return statements(Path(module_file).with_suffix(".sql"))[name]


@contextmanager
def without_jit(conn: Connection) -> Iterator[None]:
    """Run the block with JIT compilation off (transaction-local), then restore the setting.

    Our big statements spend their time in PostGIS functions, which JIT cannot speed up,
    while their cost estimates make PostgreSQL compile them first (≈0.5 s per statement).
    """
    previous = conn.execute(
        text("SELECT current_setting('jit'), set_config('jit', 'off', true)")
    ).scalar_one()
    try:
        yield
    finally:
        if conn.in_transaction() and not conn.invalidated:
            try:
                with conn.begin_nested():
                    conn.execute(text("SELECT set_config('jit', :v, true)"), {"v": previous})
            except DBAPIError:
                pass  # a failed transaction takes the setting with it
