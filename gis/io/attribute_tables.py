"""Reading attribute tables without geometry: CSV (UTF-8, with or without BOM) and XLSX.

Rows stream as dicts of text keyed by the header, whatever the source: a collection sheet
typed in Excel reads the same as its CSV export, and a file received in memory (an upload,
:func:`read_table_data`) reads the same as one on disk.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from gis.errors import GisError, LayerChoiceError, VectorReadError
from gis.io.spreadsheet_rows import header_names, open_workbook, xlsx_rows

TABLE_KINDS = ("csv", "xlsx")
"""What :func:`read_table_data` reads."""


def read_table(path: Path | str, sheet: str | None = None) -> Iterator[dict[str, str]]:
    """Rows of a CSV or XLSX file as dicts of text keyed by the header, streamed.

    Empty cells read as ``""``. In XLSX, whole numbers read without a decimal point (a
    phone typed as a number is still ``"13812341234"``) and dates as ISO dates; a workbook
    with several sheets needs ``sheet``.
    """
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        if not path.is_file():
            raise VectorReadError(f"{path}: no such file")
        yield from _xlsx_table(open_workbook(path), str(path), sheet)
        return
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise GisError(f"{path}: cannot be opened ({exc.strerror})") from None
    with handle:
        yield from _csv_table(handle, str(path))


def read_table_data(
    data: bytes, kind: str, name: str = "the table", sheet: str | None = None
) -> Iterator[dict[str, str]]:
    """Rows of a CSV or XLSX file held in memory (``kind`` ``csv`` or ``xlsx``), read as
    :func:`read_table` reads files; errors name the table ``name``."""
    if kind == "xlsx":
        yield from _xlsx_table(open_workbook(io.BytesIO(data), name), name, sheet)
        return
    if kind != "csv":
        raise GisError(f"{name}: a table is one of {', '.join(TABLE_KINDS)}, not {kind!r}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise GisError(f"{name}: not UTF-8 text ({exc.reason})") from None
    yield from _csv_table(io.StringIO(text, newline=""), name)


def _csv_table(handle: IO[str], name: str) -> Iterator[dict[str, str]]:
    reader = csv.DictReader(handle)
    try:
        for row in reader:
            yield {k: "" if v is None else v for k, v in row.items() if k is not None}
    except UnicodeDecodeError as exc:
        raise GisError(f"{name}: not UTF-8 text ({exc.reason})") from None
    except csv.Error as exc:  # a field over the csv module's limit, a bad quote
        raise VectorReadError(
            f"{name}: not readable as CSV after line {reader.line_num} ({exc})"
        ) from None


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


def _xlsx_table(workbook: Any, name: str, sheet: str | None) -> Iterator[dict[str, str]]:
    try:
        names = list(workbook.sheetnames)
        if sheet is None and len(names) > 1:
            raise LayerChoiceError(f"{name}: holds sheets {', '.join(names)}; name one")
        if sheet is not None and sheet not in names:
            raise LayerChoiceError(f"{name}: no sheet {sheet!r}; it has {', '.join(names)}")
        rows = workbook[sheet or names[0]].iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise VectorReadError(f"{name}: the sheet is empty, no header row")
        headers = header_names(header)
        for _, row in xlsx_rows(rows):
            cells = list(row) + [None] * (len(headers) - len(row))
            yield {h: _text(value) for h, value in zip(headers, cells, strict=False)}
    except GisError:
        raise
    except Exception as exc:  # openpyxl parses a read-only sheet lazily: broken XML shows here
        raise VectorReadError(f"{name}: cannot be read as an XLSX workbook ({exc})") from None
    finally:
        workbook.close()
