"""Reading attribute tables without geometry (CSV in UTF-8, with or without BOM)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from gis.errors import GisError


def read_table(path: Path | str) -> Iterator[dict[str, str]]:
    """Rows of a CSV file as dicts keyed by the header, streamed."""
    path = Path(path)
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise GisError(f"{path}: cannot be opened ({exc.strerror})") from None
    with handle:
        try:
            yield from csv.DictReader(handle)
        except UnicodeDecodeError as exc:
            raise GisError(f"{path}: not UTF-8 text ({exc.reason})") from None
