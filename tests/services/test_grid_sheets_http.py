"""Collection sheets over real HTTP: a grid worker posts the sheet of their cell to the real
app under uvicorn, against the session's PostGIS; keys as the gate checks them. All rows or
none, each rejected row listed with its field and reason, nothing written on any refusal."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, text

from grid.privacy import Keyring
from grid.settings import PrivacySettings
from services.auth.keys import create_key
from services.grid_http.sheets import XLSX
from services.settings import HttpSettings
from tests.grid.conftest import A, B, Site, build_site, citizen_id, drop_site
from tests.services.conftest import serve
from tests.services.test_auth import SECRET, _settings

LIMIT = 64 * 1024
"""``max_sheet_bytes`` of the app under test."""
HEADER = ["household_no", "building", "unit", "floor", "room", "residence", "name", "sex",
          "birth_date", "citizen_id", "phone", "relation"]  # fmt: skip
CSV = {"Content-Type": "text/csv"}


def _csv(rows: list[list[str]], header: list[str] = HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def _row(household: str, name: str, cid: str, room: str = "201", floor: str = "2") -> list[str]:
    return [household, "T-A001-1", "1", floor, room, "", name, "", "", cid, "", ""]


@pytest.fixture(scope="module")
def site(engine: Engine) -> Iterator[Site]:
    """The grid test site (tests/grid/conftest.py), committed: the app reads it on its own
    connections. Persons are hashed under the app's secret, so sheets can match them."""
    keyring = Keyring.from_settings(PrivacySettings(secret_key=SecretStr(SECRET)))
    with engine.begin() as conn:
        drop_site(conn)
        built = build_site(conn, keyring)
    yield built
    with engine.begin() as conn:
        drop_site(conn)  # the workers go, and their keys with them


@pytest.fixture(scope="module")
def keys(engine: Engine, site: Site) -> dict[str, str]:
    keyring = Keyring.from_settings(PrivacySettings(secret_key=SecretStr(SECRET)))
    made = {}
    with engine.begin() as conn:
        for label, role, worker in [
            ("w1", "grid_worker", site.workers["W1"]),
            ("w2", "grid_worker", site.workers["W2"]),
            ("planner", "planner", None),
            ("admin", "admin", None),
        ]:
            made[label], _ = create_key(conn, keyring, role=role, name=f"sheets-{label}",
                                        created_by="tests", worker_id=worker)  # fmt: skip
    return made


@pytest.fixture(scope="module")
def base(url_env: str, tmp_path_factory: pytest.TempPathFactory, site: Site) -> Iterator[str]:
    settings = _settings(url_env, tmp_path_factory.mktemp("sheets-home"))
    yield from serve(dataclasses.replace(settings, http=HttpSettings(max_sheet_bytes=LIMIT)))


def _post(base: str, key: str | None, cell: str, body: Any, **headers: str) -> httpx.Response:
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return httpx.post(f"{base}/grid/cells/{cell}/sheet", content=body, headers=headers,
                      timeout=30)  # fmt: skip


def _totals(engine: Engine) -> tuple[object, ...]:
    with engine.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT (SELECT count(*) FROM grid.persons), (SELECT count(*) FROM grid.households),"
            " (SELECT count(*) FROM audit.changes)"
        )).one())  # fmt: skip


def _error(response: httpx.Response, status: int, code: str, words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code and words in body["description"], body
    return body


def test_a_worker_imports_the_sheet_of_their_cell(
    base: str, keys: dict[str, str], site: Site, engine: Engine
) -> None:
    new = citizen_id(dt.date(1961, 4, 5), 101)
    p2 = citizen_id(dt.date(1985, 7, 9), 22)  # an existing person of T-HH1, moved in the sheet
    sheet = _csv([_row("T-HH-WEB", "周网", new), _row("T-HH-WEB", "王小红", p2)])
    answer = _post(base, keys["w1"], A + "001", sheet, **CSV)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "cell": A + "001", "rows": 2, "rejected": [], "households_created": 1,
        "households_moved": 0, "persons_created": 1, "persons_updated": 1, "written": True,
    }  # fmt: skip
    label = f"sheets-w1 (worker {site.workers['W1']})"
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT p.id, p.updated_by, hh.household_no FROM grid.persons p"
            " JOIN grid.households hh ON hh.id = p.household_id WHERE hh.household_no = 'T-HH-WEB'"
        )).all()  # fmt: skip
        changed_by = conn.execute(text(
            "SELECT DISTINCT changed_by FROM audit.changes WHERE table_name = 'grid.persons'"
            " AND row_id = ANY(:ids)"
        ), {"ids": [str(r.id) for r in rows]}).scalars().all()  # fmt: skip
    assert len(rows) == 2 and {r.updated_by for r in rows} == {label}
    assert label in changed_by and site.persons["p2"] in {r.id for r in rows}


def test_the_sheet_of_another_workers_cell_is_refused(
    base: str, keys: dict[str, str], engine: Engine
) -> None:
    before = _totals(engine)
    sheet = _csv([_row("T-HH-W2", "赵越", citizen_id(dt.date(1970, 2, 3), 102))])
    _error(_post(base, keys["w2"], A + "001", sheet, **CSV), 403, "Forbidden", "not assigned")
    assert _totals(engine) == before


def test_a_bad_row_is_listed_and_nothing_is_written(
    base: str, keys: dict[str, str], engine: Engine
) -> None:
    good = citizen_id(dt.date(1972, 3, 4), 103)
    bad = citizen_id(dt.date(1973, 3, 4), 104)
    bad = bad[:17] + ("0" if bad[17] != "0" else "1")
    before = _totals(engine)
    sheet = _csv([_row("T-HH-BAD", "甲", good), _row("T-HH-BAD", "乙", bad)])
    body = _error(_post(base, keys["w1"], A + "001", sheet, **CSV), 422,
                  "UnprocessableContent", "1 of 2 rows rejected")  # fmt: skip
    assert body["written"] is False and body["rows"] == 2
    [rejected] = body["rejected"]
    assert rejected["line"] == 3
    assert [p["field"] for p in rejected["problems"]] == ["citizen_id"]
    assert "check digit" in rejected["problems"][0]["reason"]
    assert _totals(engine) == before


def test_rows_refused_for_several_reasons_name_each_field(
    base: str, keys: dict[str, str], engine: Engine
) -> None:
    cid = citizen_id(dt.date(1980, 1, 1), 105)
    rows = [
        ["T-HH-R", "T-A001-1", "1", "2", "201", "", "", "F", "1999-01-01", cid, "1234", ""],
        ["T-HH-R", "T-A001-1", "1", "9", "901", "", "丙", "", "", cid, "", ""],
    ]
    before = _totals(engine)
    body = _error(_post(base, keys["w1"], A + "001", _csv(rows), **CSV), 422,
                  "UnprocessableContent", "2 of 2 rows rejected")  # fmt: skip
    fields = {r["line"]: {p["field"] for p in r["problems"]} for r in body["rejected"]}
    assert fields == {
        2: {"name", "phone", "birth_date", "sex", "citizen_id", "household_no"},
        3: {"building", "citizen_id", "household_no"},
    }
    assert _totals(engine) == before


def test_keys_that_may_not_post(base: str, keys: dict[str, str], engine: Engine) -> None:
    before = _totals(engine)
    sheet = _csv([_row("T-HH-NO", "丁", citizen_id(dt.date(1981, 1, 1), 106))])
    _error(_post(base, keys["planner"], A + "001", sheet, **CSV), 403, "Forbidden",
           "a planner key may not do this")  # fmt: skip
    refused = _post(base, None, A + "001", sheet, **CSV)
    _error(refused, 401, "NotAuthorised", "needs an API key")
    assert refused.headers["www-authenticate"].startswith("Bearer")
    _error(_post(base, keys["w1"], A + "999", sheet, **CSV), 404, "NotFound", "no cell")
    assert _totals(engine) == before


@pytest.mark.parametrize(
    ("content_type", "words"),
    [
        ("application/json", "application/json is not a collection sheet"),
        ("multipart/form-data; boundary=x", "multipart forms are not taken"),
        ("text/csv; charset=gbk", "UTF-8, not gbk"),
        ("", "no Content-Type"),
    ],
)
def test_other_media_types_are_415(
    base: str, keys: dict[str, str], content_type: str, words: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    sheet = _csv([_row("T-HH-MT", "戊", citizen_id(dt.date(1982, 1, 1), 107))])
    answer = _post(base, keys["w1"], A + "001", sheet, **headers)
    _error(answer, 415, "UnsupportedMediaType", words)


def test_a_sheet_over_the_limit_is_413(base: str, keys: dict[str, str], engine: Engine) -> None:
    before = _totals(engine)
    big = _csv([_row("T-HH-BIG", "己" * 100, citizen_id(dt.date(1983, 1, 1), 108))] * 400)
    assert len(big) > LIMIT
    _error(_post(base, keys["w1"], A + "001", big, **CSV), 413, "RequestEntityTooLarge",
           f"at most {LIMIT} bytes")  # fmt: skip
    chunked = _post(base, keys["w1"], A + "001", iter([big[:LIMIT], big[LIMIT:]]), **CSV)
    _error(chunked, 413, "RequestEntityTooLarge", f"at most {LIMIT} bytes")
    assert _totals(engine) == before


@pytest.mark.parametrize(
    ("body", "content_type", "words"),
    [
        (b"PK\x03\x04 not really a workbook", XLSX, "cannot be read as an XLSX workbook"),
        ("户号,姓名\n1,张三\n".encode("gbk"), "text/csv", "not UTF-8"),
        (b"", "text/csv", "has no rows"),
        (b"household_no,name\n", "text/csv", "has no rows"),
    ],
)
def test_a_file_that_is_no_sheet_is_400(
    base: str, keys: dict[str, str], engine: Engine, body: bytes, content_type: str, words: str
) -> None:
    before = _totals(engine)
    _error(_post(base, keys["w1"], A + "001", body, **{"Content-Type": content_type}), 400,
           "InvalidParameterValue", words)  # fmt: skip
    assert _totals(engine) == before


def test_an_admin_imports_any_cell_xlsx_too(
    base: str, keys: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    from gis.io.xlsx_writer import write_sheet

    path = tmp_path / "a003.xlsx"
    cid = citizen_id(dt.date(1944, 4, 4), 109)
    write_sheet(path, HEADER, [["T-HH-ADM", "T-A003-1", "1", "1", "101", "", "庚", "", "", cid,
                                "13800001111", ""]], sheet="采集表")  # fmt: skip
    answer = _post(base, keys["admin"], A + "003", path.read_bytes(), **{"Content-Type": XLSX})
    assert answer.status_code == 200, answer.text
    assert answer.json()["persons_created"] == 1
    with engine.connect() as conn:
        who = conn.execute(text(
            "SELECT p.updated_by FROM grid.persons p JOIN grid.households hh"
            " ON hh.id = p.household_id WHERE hh.household_no = 'T-HH-ADM'"
        )).scalar_one()  # fmt: skip
    assert who == "sheets-admin"
    unassigned = _post(base, keys["admin"], B + "001", _csv([]), **CSV)
    _error(unassigned, 400, "InvalidParameterValue", "has no rows")  # the cell exists


def test_the_blank_sheet_for_a_cell(base: str, keys: dict[str, str]) -> None:
    url = f"{base}/grid/cells/{A}001/sheet"
    answer = httpx.get(url, headers={"X-API-Key": keys["w1"]})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert f'filename="{A}001.csv"' in answer.headers["content-disposition"]
    header = answer.content.decode("utf-8-sig").splitlines()[0].split(",")
    assert header[:3] == ["户号", "楼栋", "单元"] and "身份证号" in header
    _error(httpx.get(url, headers={"X-API-Key": keys["w2"]}), 403, "Forbidden", "not assigned")
    _error(httpx.get(url), 401, "NotAuthorised", "needs an API key")
