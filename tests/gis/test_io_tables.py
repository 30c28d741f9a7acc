"""Attribute tables: an XLSX sheet reads as the same text rows as its CSV export, from a file
or from memory; what cannot be read is a GisError naming the table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from gis.errors import GisError, LayerChoiceError, VectorReadError
from gis.io import read_table, read_table_data


def test_xlsx_cells_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "sheet.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["\ufeff姓名", "手机", "出生日期", "备注"])
    sheet.append(["张三", 13812341234, dt.datetime(1980, 1, 2), None])
    sheet.append([None, None, None, None])  # blank rows are skipped
    sheet.append(["李四", "13900001111", "1990-05-06", "  户主 "])
    book.save(path)
    rows = list(read_table(path))
    assert rows == [
        {"姓名": "张三", "手机": "13812341234", "出生日期": "1980-01-02", "备注": ""},
        {"姓名": "李四", "手机": "13900001111", "出生日期": "1990-05-06", "备注": "户主"},
    ]


def test_workbook_with_several_sheets_needs_a_name(tmp_path: Path) -> None:
    path = tmp_path / "two.xlsx"
    book = openpyxl.Workbook()
    book.create_sheet("第二页").append(["a"])
    book.save(path)
    with pytest.raises(LayerChoiceError, match="name one"):
        list(read_table(path))
    assert list(read_table(path, sheet="第二页")) == []


def test_csv_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes("\ufeff户号,人数\n320706006000001,3\n".encode())
    assert list(read_table(path)) == [{"户号": "320706006000001", "人数": "3"}]


def test_tables_in_memory_read_as_files_do(tmp_path: Path) -> None:
    path = tmp_path / "sheet.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["姓名", "手机"])
    sheet.append(["张三", 13812341234])
    book.save(path)
    assert list(read_table_data(path.read_bytes(), "xlsx")) == list(read_table(path))
    data = "\ufeff户号,人数\r\n320706006000001,3\r\n".encode()
    assert list(read_table_data(data, "csv")) == [{"户号": "320706006000001", "人数": "3"}]


@pytest.mark.parametrize(
    ("data", "kind", "words"),
    [
        (b"PK\x03\x04 truncated", "xlsx", "the upload: cannot be read as an XLSX workbook"),
        ("户号\n1\n".encode("gbk"), "csv", "the upload: not UTF-8 text"),
        (b"a\n" + b"x" * 200_000 + b"\n", "csv", "not readable as CSV after line"),
        (b"a\n1\n", "ods", "not 'ods'"),
    ],
)
def test_unreadable_tables_in_memory_are_gis_errors(data: bytes, kind: str, words: str) -> None:
    with pytest.raises(GisError, match=words):
        list(read_table_data(data, kind, "the upload"))


def test_a_csv_field_over_the_csv_limit_is_a_read_error(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_bytes(b"a,b\n" + b"x" * 200_000 + b",1\n")
    with pytest.raises(VectorReadError, match=r"wide\.csv: not readable as CSV"):
        list(read_table(path))
