"""Collection sheets: every rejected row with its reasons, and all or nothing."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import text

from grid.errors import GridError, NotAuthorisedError, NotFoundError
from grid.sheets import (
    TEMPLATE_HEADER,
    SheetFormatError,
    SheetRejectedError,
    import_sheet,
    read_sheet,
    read_sheet_data,
)
from tests.grid.conftest import A, Site, citizen_id

HEADER = [
    "household_no",
    "building",
    "unit",
    "floor",
    "room",
    "residence",
    "name",
    "sex",
    "birth_date",
    "citizen_id",
    "phone",
    "relation",
]


def _write(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _totals(site: Site) -> tuple[object, ...]:
    return tuple(
        site.conn.execute(
            text(
                "SELECT (SELECT count(*) FROM grid.persons), (SELECT count(*) FROM"
                " grid.households), (SELECT count(*) FROM audit.changes)"
            )
        ).one()
    )


def test_a_valid_sheet_creates_and_updates_in_one_go(site: Site, tmp_path: Path) -> None:
    new1, new2 = citizen_id(dt.date(1958, 5, 5), 51), citizen_id(dt.date(1960, 6, 6), 62)
    p2 = citizen_id(dt.date(1985, 7, 9), 22)
    sheet = _write(
        tmp_path / "a001.csv",
        [
            [
                "T-HH-NEW",
                "T-A001-1",
                "1",
                "2",
                "201",
                "resident",
                "周一",
                "M",
                "1958-05-05",
                new1,
                "13911112222",
                "户主",
            ],
            ["T-HH-NEW", "T-A001-1", "1", "2", "201", "resident", "吴二", "", "", new2, "", "配偶"],
            ["T-HH1", "T-A001-1", "1", "1", "101", "", "王小红", "F", "", p2, "18800001111", ""],
        ],
    )
    w1 = site.workers["W1"]
    report = import_sheet(site.conn, read_sheet(sheet), A + "001", w1, site.keyring)
    assert report.written and report.rejected == []
    assert (
        report.households_created,
        report.households_moved,
        report.persons_created,
        report.persons_updated,
    ) == (1, 0, 2, 1)
    row = site.conn.execute(
        text(
            "SELECT p.sex, p.birth_date, p.phone_masked, p.updated_by, hh.residence"
            " FROM grid.persons p JOIN grid.households hh ON hh.id = p.household_id"
            " WHERE p.citizen_id_hash = :h"
        ),
        {"h": site.keyring.lookup_hash(new2)},
    ).one()
    assert tuple(row) == ("F", dt.date(1960, 6, 6), None, f"W1 (worker {w1})", "resident")
    assert site.scalar("SELECT version FROM grid.persons WHERE id = :i", i=site.persons["p2"]) == 2


def test_chinese_headers_and_values(site: Site, tmp_path: Path) -> None:
    header = [
        "户号",
        "楼栋",
        "单元",
        "楼层",
        "户室",
        "户籍类型",
        "姓名",
        "性别",
        "出生日期",
        "身份证号",
        "手机号",
        "与户主关系",
    ]
    cid = citizen_id(dt.date(1940, 1, 2), 13)
    sheet = _write(
        tmp_path / "cn.csv",
        [
            [
                "T-HH-CN",
                "T-A001-1",
                "1",
                "2",
                "201",
                "流动",
                "郑九",
                "男",
                "1940-01-02",
                cid,
                "",
                "户主",
            ]
        ],
        header,
    )
    report = import_sheet(site.conn, read_sheet(sheet), A + "001", site.workers["W1"], site.keyring)
    assert report.persons_created == 1
    assert site.scalar("SELECT residence FROM grid.households WHERE household_no = 'T-HH-CN'") == (
        "floating"
    )


def test_an_invalid_sheet_names_every_bad_row_and_changes_nothing(
    site: Site, tmp_path: Path
) -> None:
    good = citizen_id(dt.date(1970, 1, 1), 71)
    bad_check = good[:17] + ("0" if good[17] != "0" else "1")
    twice = citizen_id(dt.date(1971, 1, 1), 72)
    p3 = citizen_id(dt.date(1990, 1, 1), 33)  # lives in A003 (worker W2)
    base = ["T-HH-X", "T-A001-1", "1", "2", "201", "", "某人", "", ""]
    sheet = _write(
        tmp_path / "bad.csv",
        [
            [*base, good, "13911112222", ""],  # line 2: fine
            [*base, bad_check, "", ""],  # 3: check digit
            [*base, citizen_id(dt.date(1972, 2, 2), 73), "1234", ""],  # 4: phone
            ["T-HH-X", "T-A001-1", "1", "2", "201", "", "", "", "", twice, "", ""],  # 5: no name
            ["T-HH-Y", "T-A003-1", "1", "1", "101", "", "甲", "", "", twice, "", ""],  # 6
            [*base[:6], "乙", "F", "1999-01-01", citizen_id(dt.date(1972, 3, 3), 75), "", ""],  # 7
            [*base, p3, "", ""],  # 8: W2's resident
        ],
    )
    before = _totals(site)
    with pytest.raises(SheetRejectedError, match="6 of 7 rows rejected") as raised:
        import_sheet(site.conn, read_sheet(sheet), A + "001", site.workers["W1"], site.keyring)
    reasons = {r.line: " | ".join(r.reasons) for r in raised.value.report.rejected}
    assert set(reasons) == {3, 4, 5, 6, 7, 8}
    assert "check digit" in reasons[3]
    assert "phone: must have 11 digits" in reasons[4]
    assert "name is missing" in reasons[5] and "also on line(s) 6" in reasons[5]
    assert "is not in cell 320799001001001" in reasons[6]
    assert "birth date 1999-01-01 disagrees" in reasons[7] and "sex F disagrees" in reasons[7]
    assert "lives in cell 320799001001003, not assigned" in reasons[8]
    assert _totals(site) == before


def test_only_the_cells_worker_may_import(site: Site) -> None:
    row = {
        "household_no": "T-HH-Z",
        "building": "T-A001-1",
        "unit": "1",
        "floor": "2",
        "room": "201",
        "name": "丙",
        "citizen_id": citizen_id(dt.date(1980, 1, 1), 81),
    }
    with pytest.raises(NotAuthorisedError, match="not assigned to worker"):
        import_sheet(site.conn, [row], A + "001", site.workers["W2"], site.keyring)
    with pytest.raises(NotFoundError, match="no cell"):
        import_sheet(site.conn, [row], A + "999", site.workers["W1"], site.keyring)
    with pytest.raises(GridError, match="no rows"):
        import_sheet(site.conn, [], A + "001", site.workers["W1"], site.keyring)


def test_xlsx_sheets(site: Site, tmp_path: Path) -> None:
    from gis.io.xlsx_writer import write_sheet

    cid = citizen_id(dt.date(1955, 5, 5), 55)
    path = tmp_path / "a001.xlsx"
    write_sheet(
        path,
        HEADER,
        [["T-HH-XL", "T-A001-1", "1", "2", "201", "", "孙八", "", "", cid, "13800001111", ""]],
        sheet="persons",
    )
    report = import_sheet(site.conn, read_sheet(path), A + "001", site.workers["W1"], site.keyring)
    assert report.persons_created == 1


def test_each_reason_names_its_field(site: Site) -> None:
    cid = citizen_id(dt.date(1981, 1, 1), 82)
    row = {"household_no": "T-HH-F", "building": "T-A001-1", "unit": "1", "floor": "2",
           "room": "201", "name": "丁\x00", "citizen_id": cid, "phone": "1234"}  # fmt: skip
    with pytest.raises(SheetRejectedError) as raised:
        import_sheet(site.conn, [row], A + "001", site.workers["W1"], site.keyring)
    [rejected] = raised.value.report.rejected
    assert [p.field for p in rejected.problems] == ["name", "phone"]
    assert "NUL" in rejected.reasons[0]
    assert raised.value.report.as_dict()["rejected"] == [
        {"line": 2, "problems": [p._asdict() for p in rejected.problems]}
    ]


def test_an_operator_imports_any_cell_under_their_name(site: Site) -> None:
    p3 = citizen_id(dt.date(1990, 1, 1), 33)  # lives in A003 (worker W2)
    row = {"household_no": "T-HH-OP", "building": "T-A001-1", "unit": "1", "floor": "2",
           "room": "201", "name": "李四", "citizen_id": p3}  # fmt: skip
    with pytest.raises(GridError, match="must name its actor"):
        import_sheet(site.conn, [row], A + "001", None, site.keyring)
    report = import_sheet(site.conn, [row], A + "001", None, site.keyring, actor="ops")
    assert (report.households_created, report.persons_updated) == (1, 1)
    assert site.scalar("SELECT updated_by FROM grid.persons WHERE id = :i",
                       i=site.persons["p3"]) == "ops"  # fmt: skip


def test_sheets_received_as_bytes(site: Site) -> None:
    cid = citizen_id(dt.date(1956, 6, 6), 56)
    data = ("户号,楼栋,单元,楼层,户室,姓名,身份证号\r\n"
            f"T-HH-B,T-A001-1,1,2,201,钱九,{cid}\r\n").encode()  # fmt: skip
    rows = read_sheet_data(data, "csv")
    report = import_sheet(site.conn, rows, A + "001", site.workers["W1"], site.keyring)
    assert report.persons_created == 1
    with pytest.raises(SheetFormatError, match="the XLSX sheet: cannot be read"):
        read_sheet_data(b"not a workbook", "xlsx")
    with pytest.raises(SheetFormatError, match="CSV or XLSX"):
        read_sheet_data(data, "ods")
    assert ",".join(TEMPLATE_HEADER).startswith("户号,楼栋,单元,楼层,户室")
