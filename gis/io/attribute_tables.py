"""Reading attribute tables without geometry: CSV (UTF-8, with or without BOM) and XLSX.

Rows stream as dicts of text keyed by the header, whatever the source: a collection sheet
typed in Excel reads the same as its CSV export.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gis.errors import GisError, LayerChoiceError, VectorReadError
from gis.io.spreadsheet_rows import header_names, open_workbook, xlsx_rows


def read_table(path: Path | str, sheet: str | None = None) -> Iterator[dict[str, str]]:
    """Rows of a CSV or XLSX file as dicts of text keyed by the header, streamed.

    Empty cells read as ``""``. In XLSX, whole numbers read without a decimal point (a
    phone typed as a number is still ``"13812341234"``) and dates as ISO dates; a workbook
    with several sheets needs ``sheet``.
    """
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        yield from _xlsx_table(path, sheet)
        return
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise GisError(f"{path}: cannot be opened ({exc.strerror})") from None
    with handle:
        try:
            for row in csv.DictReader(handle):
                yield {k: "" if v is None else v for k, v in row.items() if k is not None}
        except UnicodeDecodeError as exc:
            raise GisError(f"{path}: not UTF-8 text ({exc.reason})") from None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _xlsx_table(path: Path, sheet: str | None) -> Iterator[dict[str, str]]:
    if not path.is_file():
        raise VectorReadError(f"{path}: no such file")
    workbook = open_workbook(path)
    try:
        names = list(workbook.sheetnames)
        if sheet is None and len(names) > 1:
            raise LayerChoiceError(f"{path}: holds sheets {', '.join(names)}; name one")
        if sheet is not None and sheet not in names:
            raise LayerChoiceError(f"{path}: no sheet {sheet!r}; it has {', '.join(names)}")
        rows = workbook[sheet or names[0]].iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise VectorReadError(f"{path}: the sheet is empty, no header row")
        headers = header_names(header)
        for _, row in xlsx_rows(rows):
            cells = list(row) + [None] * (len(headers) - len(row))
            yield {name: _text(value) for name, value in zip(headers, cells, strict=False)}
    finally:
        workbook.close()
