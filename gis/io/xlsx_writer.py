"""Writing attribute tables as spreadsheets (XLSX), the form field workers fill in.

Only this package opens files; the workbook is written in one go (openpyxl's write-only
mode streams rows, so large sheets do not sit in memory twice).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from gis.errors import GisError

_FIXED_TIME = dt.datetime(2000, 1, 1)


def write_sheet(
    path: Path | str, header: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet: str
) -> int:
    """Write ``header`` and ``rows`` to the XLSX workbook ``path``; return the row count.

    Text cells stay text (a citizen ID or a phone number never becomes a number). The
    workbook's created/modified properties are fixed, so its content does not change with
    the clock.
    """
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise GisError(f"{path}: a sheet is written as .xlsx")
    book = Workbook(write_only=True)
    book.properties.created = _FIXED_TIME
    book.properties.modified = _FIXED_TIME
    target = book.create_sheet(title=sheet)
    target.append(list(header))
    count = 0
    for row in rows:
        target.append(list(row))
        count += 1
    try:
        book.save(path)
    except OSError as exc:
        raise GisError(f"{path}: cannot be written ({exc.strerror})") from None
    return count
