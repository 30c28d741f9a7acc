"""Points from tables: CSV (any of UTF-8, UTF-8 with BOM, GBK) and XLSX with coordinate columns.

Field workers and other departments deliver points as spreadsheets. The coordinate columns
are found by name (lon/lng/longitude/x/经度 and lat/latitude/y/纬度, case and units in
brackets ignored) or named by the caller. Note that Chinese survey tables often write X for
the *northing*: when columns are called X/Y in a projected CRS, name them explicitly.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Generator, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from gis.errors import (
    CoordinateColumnsError,
    CoordinateError,
    EncodingError,
    LayerChoiceError,
    MissingCrsError,
    VectorReadError,
)
from gis.io.encoding import codec_for, sniff_text_file
from gis.io.spreadsheet_rows import header_names, open_workbook, xlsx_rows
from gis.io.values import Record, RecordStream, VectorSource

#: Column names recognised as coordinates, in order of preference (compared lower-cased).
X_NAMES = ("lon", "lng", "long", "longitude", "经度", "东经", "x", "point_x")
Y_NAMES = ("lat", "latitude", "纬度", "北纬", "y", "point_y")

_UNITS = re.compile(r"\s*[(（\[][^)）\]]*[)）\]]\s*$")
_DELIMITERS = (",", "\t", ";", "|")
_CHUNK = 1024


def read_points(
    path: Path,
    *,
    layer: str | None,
    crs: str | None,
    encoding: str | None,
    x_field: str | None,
    y_field: str | None,
) -> tuple[VectorSource, RecordStream]:
    """Describe a CSV or XLSX file and stream its rows as point records."""
    if not path.exists():
        raise VectorReadError(f"{path}: no such file")
    if crs is None:
        raise MissingCrsError(
            f"{path}: a table carries no CRS; name it, e.g. crs='EPSG:4490' "
            "(GCJ-02 or BD-09 coordinates from phone apps must be converted first)"
        )
    if path.suffix.lower() == ".xlsx":
        return _read_xlsx(path, layer, crs, x_field, y_field)
    return _read_csv(path, crs, encoding, x_field, y_field)


def find_coordinate_columns(
    headers: Sequence[str], x_field: str | None = None, y_field: str | None = None
) -> tuple[int, int] | None:
    """Indexes of the x and y columns, by the caller's names or the usual ones.

    >>> find_coordinate_columns(["名称", "经度(°)", "纬度(°)"])
    (1, 2)
    >>> find_coordinate_columns(["id", "X", "Y", "lat", "lon"])
    (4, 3)
    """
    if x_field is not None or y_field is not None:
        wanted = (x_field, y_field)
        found = [headers.index(n) if n in headers else None for n in wanted]
        if found[0] is None or found[1] is None:
            return None
        return found[0], found[1]
    keys = [_UNITS.sub("", h).strip().lower() for h in headers]
    x = next((keys.index(n) for n in X_NAMES if n in keys), None)
    y = next((keys.index(n) for n in Y_NAMES if n in keys), None)
    return None if x is None or y is None else (x, y)


def _columns(
    path: Path, headers: list[str], x_field: str | None, y_field: str | None
) -> tuple[int, int]:
    found = find_coordinate_columns(headers, x_field, y_field)
    if found is None:
        asked = f"{x_field!r} and {y_field!r}" if x_field or y_field else "coordinate columns"
        raise CoordinateColumnsError(
            f"{path}: no {asked} among {headers}; expected e.g. lon/lat, x/y, 经度/纬度, "
            "or name them with x_field= and y_field="
        )
    return found


def _coordinate(value: Any, column: str, where: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise CoordinateError(f"{where}: {column} is {value!r}, not a number")
    try:
        number = float(value)
    except ValueError:
        raise CoordinateError(f"{where}: {column} is {value!r}, not a number") from None
    if not math.isfinite(number):
        raise CoordinateError(f"{where}: {column} is {value!r}; coordinates must be finite")
    return number


def _parse(
    cells: Sequence[Any], headers: list[str], columns: tuple[int, int], where: str
) -> tuple[dict[str, Any], float | None, float | None]:
    """A row's properties and coordinates (both None for a row without location)."""
    if len(cells) > len(headers) and any(c not in (None, "") for c in cells[len(headers) :]):
        raise VectorReadError(f"{where}: {len(cells)} cells, the header has {len(headers)}")
    values = list(cells[: len(headers)]) + [None] * (len(headers) - len(cells))
    xi, yi = columns
    x = _coordinate(values[xi], headers[xi], where)
    y = _coordinate(values[yi], headers[yi], where)
    if (x is None) != (y is None):
        empty, other = (headers[xi], headers[yi]) if x is None else (headers[yi], headers[xi])
        raise CoordinateError(f"{where}: {empty} is empty while {other} is set")
    return dict(zip(headers, values, strict=True)), x, y


def _points(
    rows: Iterator[tuple[int, Sequence[Any]]],
    prefix: str,
    headers: list[str],
    columns: tuple[int, int],
) -> Iterator[Record]:
    """Records from numbered rows, in chunks so that points are built by one shapely call.

    A bad row is raised after the rows before it, at its place in the stream.
    """
    fid = 0
    while True:
        parsed: list[tuple[dict[str, Any], float | None, float | None]] = []
        failure: VectorReadError | None = None
        try:
            for number, cells in islice(rows, _CHUNK):
                parsed.append(_parse(cells, headers, columns, f"{prefix} {number}"))
        except VectorReadError as exc:
            failure = exc
        located = [(x, y) for _, x, y in parsed if x is not None]
        points = iter(shapely.points(np.array(located, dtype=float)) if located else ())
        for properties, x, _ in parsed:
            fid += 1
            yield Record(str(fid), properties, None if x is None else next(points))
        if failure is not None:
            raise failure
        if len(parsed) < _CHUNK:
            return


def _source(
    path: Path,
    layer: str | None,
    crs: str,
    codec: str | None,
    driver: str,
    headers: list[str],
    columns: tuple[int, int],
) -> VectorSource:
    return VectorSource(
        path=path,
        layer=layer,
        crs_wkt=None,
        encoding=codec,
        feature_count=None,
        crs=crs,
        bounds=None,
        geometry_type="Point",
        driver=driver,
        fields=dict.fromkeys(headers, "str") if driver == "CSV" else None,
        encoding_source=None if codec is None else "detected",
        coordinate_fields=(headers[columns[0]], headers[columns[1]]),
    )


def _read_csv(
    path: Path, crs: str, encoding: str | None, x_field: str | None, y_field: str | None
) -> tuple[VectorSource, RecordStream]:
    if encoding is not None:
        codec = codec_for(encoding)
        if codec is None:
            raise EncodingError(f"{path}: unknown encoding {encoding!r}")
        codec = "utf-8-sig" if codec == "utf-8" else codec
    else:
        found = sniff_text_file(path)
        if found is None:
            raise EncodingError(f"{path}: text is neither UTF-8 nor GB18030; name the encoding")
        codec = found
    handle = path.open(newline="", encoding=codec)
    try:
        first = handle.readline()
        delimiter = max(_DELIMITERS, key=first.count) if first else ","
        handle.seek(0)
        reader = csv.reader(handle, delimiter=delimiter)
        header_row = next(reader, None)
        if header_row is None:
            raise VectorReadError(f"{path}: empty file, no header line")
        headers = header_names(header_row)
        columns = _columns(path, headers, x_field, y_field)
    except UnicodeDecodeError as exc:
        handle.close()
        raise EncodingError(f"{path}: line 1: text is not {codec} ({exc.reason})") from None
    except BaseException:
        handle.close()
        raise
    name = "utf-8" if codec == "utf-8-sig" else codec
    source = _source(path, None, crs, name, "CSV", headers, columns)
    source = source._replace(encoding_source="caller" if encoding else "detected")
    records = _points(_csv_rows(reader, path, name), f"{path}: line", headers, columns)
    return source, RecordStream(records, handle.close)


def _csv_rows(reader: Any, path: Path, codec: str) -> Iterator[tuple[int, list[str]]]:
    """Non-blank rows with the line they end on; decoding errors name the line."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            raise EncodingError(
                f"{path}: after line {reader.line_num}: text is not {codec} ({exc.reason})"
            ) from None
        except csv.Error as exc:
            raise VectorReadError(f"{path}: line {reader.line_num}: {exc}") from None
        if any(cell.strip() for cell in row):
            yield reader.line_num, row


def _read_xlsx(
    path: Path, layer: str | None, crs: str, x_field: str | None, y_field: str | None
) -> tuple[VectorSource, RecordStream]:
    workbook = open_workbook(path)
    rows: Generator[tuple[Any, ...]] | None = None
    try:
        sheets = list(workbook.sheetnames)
        if layer is None and len(sheets) > 1:
            raise LayerChoiceError(f"{path}: holds sheets {', '.join(sheets)}; name one")
        if layer is not None and layer not in sheets:
            raise LayerChoiceError(f"{path}: no sheet {layer!r}; it has {', '.join(sheets)}")
        sheet = layer if layer is not None else sheets[0]
        rows = workbook[sheet].iter_rows(values_only=True)
        header_row = next(rows, None)
        if header_row is None:
            raise VectorReadError(f"{path}: sheet {sheet!r} is empty, no header row")
        headers = header_names(header_row)
        columns = _columns(path, headers, x_field, y_field)
    except BaseException:
        if rows is not None:
            rows.close()
        workbook.close()
        raise
    source = _source(path, sheet, crs, None, "XLSX", headers, columns)
    prefix = f"{path}: sheet {sheet!r} row"
    sheet_rows = rows
    records = _points(xlsx_rows(sheet_rows), prefix, headers, columns)

    def close() -> None:
        sheet_rows.close()  # releases the sheet's XML stream, which keeps the file open
        workbook.close()

    return source, RecordStream(records, close)
