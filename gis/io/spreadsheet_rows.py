"""Rows of spreadsheets as delivered (XLSX workbooks), shared by the attribute and the point
table readers: header cells made into unique names, non-blank rows numbered as Excel shows
them. openpyxl is imported only when a workbook is opened (it is heavy).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from gis.errors import VectorReadError


def list_sheets(path: Path) -> list[str]:
    """The sheet names of an XLSX workbook; a CSV counts as one layer named after the file."""
    if path.suffix.lower() != ".xlsx":
        return [path.stem]
    workbook = open_workbook(path)
    try:
        return list(workbook.sheetnames)
    finally:
        workbook.close()


def open_workbook(source: Path | IO[bytes], name: str | None = None) -> Any:
    """The workbook in a file or a binary stream, read-only with cell values (not formulas);
    a clear error naming it (``name``, else the path) if it is none."""
    import openpyxl  # heavy; only XLSX needs it

    try:
        return openpyxl.load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:
        what = name or str(source)
        raise VectorReadError(f"{what}: cannot be read as an XLSX workbook ({exc})") from None


def header_names(cells: Iterable[Any]) -> list[str]:
    """Header cells as unique names: BOM and spaces stripped, blanks named by position."""
    names: list[str] = []
    for number, cell in enumerate(cells, start=1):
        name = "" if cell is None else str(cell).replace("\ufeff", "").strip()
        name = name or f"column_{number}"
        base, suffix = name, 2
        while name in names:
            name, suffix = f"{base}_{suffix}", suffix + 1
        names.append(name)
    return names


def xlsx_rows(rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """Non-blank rows with their sheet row number (the header is row 1)."""
    for number, row in enumerate(rows, start=2):
        if any(c is not None and not (isinstance(c, str) and not c.strip()) for c in row):
            yield number, row
