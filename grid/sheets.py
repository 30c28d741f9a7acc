"""Collection sheets: the household/person tables grid workers fill in for one cell.

One row per person, with the household and the house (building code, unit, floor, room) it
lives in. Column names in English or Chinese (``citizen_id`` or ``身份证号`` ...; see
:data:`COLUMNS`). Every row is validated first — required fields, citizen ID (GB 11643),
mobile number, sex and birth date agreeing with the ID, the house existing in the sheet's
cell, the same ID or household not contradicting itself, existing persons and households
not living in another worker's cells — and the report lists every rejected row with its
reasons. Only a sheet without rejected rows is written, in one savepoint: all or nothing.

Persons are matched by citizen ID (keyed hash), households by household number: existing
ones are updated (a versioned edit), others created. Persons or households without any
location may be claimed by any worker. An operator (no worker: an admin key over HTTP) may
import the sheet of any cell, and moves persons and households in from anywhere.

The sheet comes as a file (``onemap grid import``, :func:`read_sheet`) or as bytes (a body
posted over HTTP, :func:`read_sheet_data`); both go through :func:`import_sheet`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Connection, Row, bindparam, insert, text, update
from sqlalchemy.exc import DBAPIError

from gis.errors import GisError
from gis.sql_files import statement
from grid.audit import acting_as
from grid.codes import citizen_id_birth_date, citizen_id_problems, citizen_id_sex, mobile_problems
from grid.edits import Actor
from grid.errors import (
    ConflictError,
    GridError,
    InvalidValueError,
    NotAuthorisedError,
    NotFoundError,
)
from grid.models import RESIDENCE_TYPES, Household, Person
from grid.privacy import Keyring, normalise

COLUMNS: dict[str, tuple[str, ...]] = {
    "household_no": ("household_no", "户号"),
    "building": ("building", "building_code", "楼栋", "楼栋编码"),
    "unit": ("unit", "单元"),
    "floor": ("floor", "楼层"),
    "room": ("room", "户室", "房号"),
    "residence": ("residence", "户籍类型", "居住类型"),
    "name": ("name", "姓名"),
    "sex": ("sex", "性别"),
    "birth_date": ("birth_date", "出生日期"),
    "citizen_id": ("citizen_id", "身份证号", "公民身份号码"),
    "phone": ("phone", "mobile", "手机", "手机号", "联系电话"),
    "relation": ("relation", "与户主关系"),
}
"""Each field and the column headers accepted for it (compared without case and spaces)."""
TEMPLATE_HEADER = tuple(next(a for a in aliases if not a.isascii()) for aliases in COLUMNS.values())
"""The header of a blank sheet: each field's first Chinese name."""
SHEET_KINDS = ("csv", "xlsx")
REQUIRED = ("household_no", "building", "unit", "floor", "room", "name", "citizen_id")
_SEX = {"M": "M", "F": "F", "男": "M", "女": "F"}
_RESIDENCE = {**{r: r for r in RESIDENCE_TYPES}, "户籍": "registered", "常住": "resident",
              "流动": "floating"}  # fmt: skip


class Problem(NamedTuple):
    """One reason a row is rejected, and the field (a key of :data:`COLUMNS`) it is about;
    a house that is not in the cell is reported on ``building``."""

    field: str
    reason: str


class RejectedRow(NamedTuple):
    """A sheet row that cannot be imported, and every reason why."""

    line: int
    problems: list[Problem]

    @property
    def reasons(self) -> list[str]:
        return [p.reason for p in self.problems]

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "problems": [p._asdict() for p in self.problems]}


class SheetReport(NamedTuple):
    """The outcome of one sheet: counts, rejected rows, and whether anything was written."""

    cell: str
    rows: int
    rejected: list[RejectedRow]
    households_created: int
    households_moved: int
    persons_created: int
    persons_updated: int
    written: bool

    def as_dict(self) -> dict[str, Any]:
        return {**self._asdict(), "rejected": [r.as_dict() for r in self.rejected]}


class SheetRejectedError(GridError):
    """The sheet has rejected rows: nothing was imported (see ``report``)."""

    def __init__(self, report: SheetReport) -> None:
        super().__init__(
            f"{len(report.rejected)} of {report.rows} rows rejected: nothing was imported"
        )
        self.report = report


class SheetFormatError(GridError):
    """The sheet is not a readable CSV (UTF-8) or XLSX file."""


class _Row(NamedTuple):
    line: int
    household_no: str
    house_id: int
    residence: str
    name: str
    sex: str
    birth_date: dt.date
    citizen_id: str
    phone: str | None
    relation: str | None


def read_sheet(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV or XLSX sheet as text, through gis.io (the one place that opens files)."""
    from gis.io import read_table

    if path.suffix.lower().lstrip(".") not in SHEET_KINDS:
        raise GridError(f"{path}: a collection sheet is a .csv or .xlsx file")
    return list(read_table(path))


def read_sheet_data(data: bytes, kind: str) -> list[dict[str, str]]:
    """The rows of a sheet received as bytes (``kind`` csv or xlsx), e.g. an HTTP body; a file
    that cannot be read raises :class:`SheetFormatError` naming "the CSV/XLSX sheet"."""
    from gis.io import read_table_data

    if kind not in SHEET_KINDS:
        raise SheetFormatError(f"a collection sheet is CSV or XLSX, not {kind!r}")
    try:
        return list(read_table_data(data, kind, f"the {kind.upper()} sheet"))
    except GisError as exc:
        raise SheetFormatError(str(exc)) from None


def sheet_cell(conn: Connection, cell_code: str, worker_id: int | None) -> tuple[Row[Any], str]:
    """The cell a sheet is for and the worker's label, when ``worker_id`` may import it
    (None: an operator, who may import any cell; the label is then ``""``).

    Raises :class:`NotFoundError` for an unknown cell or worker, :class:`NotAuthorisedError`
    for a cell not assigned to the worker.
    """
    cell = conn.execute(_q("cell"), {"cell": cell_code}).one_or_none()
    if cell is None:
        raise NotFoundError(f"no cell with code {cell_code}")
    if worker_id is None:
        return cell, ""
    worker = conn.execute(_q("worker"), {"worker": worker_id}).one_or_none()
    if worker is None:
        raise NotFoundError(f"no grid worker with id {worker_id}")
    if cell.worker_id != worker_id:
        raise NotAuthorisedError(f"cell {cell_code} is not assigned to worker {worker_id}")
    return cell, Actor(worker.name, worker_id).label


def _normalise_headers(row: Mapping[str, Any]) -> dict[str, str]:
    lookup = {alias.lower(): field for field, aliases in COLUMNS.items() for alias in aliases}
    result: dict[str, str] = {}
    for header, value in row.items():
        field = lookup.get("".join(str(header or "").split()).lower())
        if field is not None:
            result[field] = "" if value is None else str(value).strip()
    return result


def _q(name: str) -> Any:
    return text(statement(__name__, name))


def _check_row(
    line: int, raw: dict[str, str], houses: dict[tuple[str, str, int, str], int], cell: str
) -> tuple[_Row | None, list[Problem]]:
    reasons = [Problem(f, f"{f} is missing") for f in REQUIRED if not raw.get(f)]
    reasons += [Problem(f, f"{f} holds a NUL character") for f, v in raw.items() if "\0" in v]
    cid = normalise(raw.get("citizen_id", ""))
    if cid:
        reasons += [Problem("citizen_id", f"citizen ID: {p}") for p in citizen_id_problems(cid)]
    phone = normalise(raw.get("phone", "")) or None
    if phone:
        reasons += [Problem("phone", f"phone: {p}") for p in mobile_problems(phone)]
    given_sex = raw.get("sex", "")
    sex = _SEX.get(given_sex.upper(), "")
    if given_sex and not sex:
        reasons.append(Problem("sex", f"sex {raw['sex']!r} is not M/F (男/女)"))
    residence = _RESIDENCE.get(raw.get("residence") or "registered")
    if residence is None:
        reasons.append(Problem("residence", f"residence {raw['residence']!r} is not one of "
                                            f"{', '.join(_RESIDENCE)}"))  # fmt: skip
    birth: dt.date | None = None
    if raw.get("birth_date"):
        try:
            birth = dt.date.fromisoformat(raw["birth_date"])
        except ValueError:
            reasons.append(Problem("birth_date", f"birth date {raw['birth_date']!r} is not "
                                                 "YYYY-MM-DD"))  # fmt: skip
    try:
        floor = int(raw.get("floor", ""))
    except ValueError:
        floor = 0
        if raw.get("floor"):
            reasons.append(Problem("floor", f"floor {raw['floor']!r} is not a whole number"))
    if cid and not citizen_id_problems(cid):
        if birth is not None and birth != citizen_id_birth_date(cid):
            reasons.append(Problem("birth_date", f"birth date {birth} disagrees with the "
                                                 "citizen ID"))  # fmt: skip
        if sex and sex != citizen_id_sex(cid):
            reasons.append(Problem("sex", f"sex {sex} disagrees with the citizen ID"))
    key = (raw.get("building", ""), raw.get("unit", ""), floor, raw.get("room", ""))
    house = houses.get(key)
    if all(key) and house is None:
        reasons.append(Problem("building", f"house {key[0]} unit {key[1]} floor {key[2]} "
                                           f"room {key[3]} is not in cell {cell}"))  # fmt: skip
    if reasons or house is None or residence is None:
        return None, reasons
    row = _Row(line, raw["household_no"], house, residence, raw["name"],
               sex or citizen_id_sex(cid), birth or citizen_id_birth_date(cid), cid, phone,
               raw.get("relation") or None)  # fmt: skip
    return row, []


def import_sheet(
    conn: Connection,
    rows: Iterable[Mapping[str, Any]],
    cell_code: str,
    worker_id: int | None,
    keyring: Keyring,
    *,
    actor: str | None = None,
    first_line: int = 2,
) -> SheetReport:
    """Validate every row; write them all when none is rejected, else raise with the report.

    ``worker_id`` is the grid worker importing (see :func:`sheet_cell`); None imports as an
    operator, who must then be named by ``actor``. ``actor`` is what ``updated_by`` and the
    history record (default: the worker's name and id). ``first_line`` is the file line of
    the first row (2 below a header line).
    """
    cell, label = sheet_cell(conn, cell_code, worker_id)
    label = actor or label
    if not label:
        raise GridError("an import without a grid worker must name its actor")
    houses = {(r.building, r.unit, r.floor, r.room): r.id
              for r in conn.execute(_q("houses_in_cell"), {"cell_id": cell.id})}  # fmt: skip

    checked: list[_Row] = []
    rejected: dict[int, list[Problem]] = defaultdict(list)
    raw_rows = [_normalise_headers(r) for r in rows]
    _within_sheet(raw_rows, first_line, rejected)
    for offset, raw in enumerate(raw_rows):
        row, reasons = _check_row(first_line + offset, raw, houses, cell_code)
        if reasons:
            rejected[first_line + offset][:0] = reasons
        elif row is not None:
            checked.append(row)
    _cross_check(conn, checked, rejected, worker_id, keyring)
    good = [r for r in checked if not rejected.get(r.line)]
    report_rejected = [RejectedRow(line, reasons) for line, reasons in sorted(rejected.items())
                       if reasons]  # fmt: skip
    if report_rejected or not raw_rows:
        report = SheetReport(cell_code, len(raw_rows), report_rejected, 0, 0, 0, 0, False)
        if not raw_rows:
            raise GridError(f"the sheet for cell {cell_code} has no rows")
        raise SheetRejectedError(report)
    try:
        with conn.begin_nested(), acting_as(conn, label):
            counts = _write(conn, good, keyring)
    except DBAPIError as exc:  # a concurrent import created the same household or person
        raise _refused(exc, cell_code) from None
    return SheetReport(cell_code, len(raw_rows), [], *counts, True)


def _refused(exc: DBAPIError, cell_code: str) -> GridError:
    diag = getattr(exc.orig, "diag", None)
    detail = getattr(diag, "message_primary", None) or str(exc.orig).splitlines()[0]
    if getattr(exc.orig, "sqlstate", None) in ("23505", "40001", "40P01"):
        return ConflictError(f"the sheet for cell {cell_code} met a concurrent change "
                             f"({detail}): nothing was imported, send it again")  # fmt: skip
    return InvalidValueError(f"the database refused the sheet for cell {cell_code} "
                             f"({detail}): nothing was imported")  # fmt: skip


def _within_sheet(raw_rows: list[dict[str, str]], first_line: int,
                  rejected: dict[int, list[Problem]]) -> None:  # fmt: skip
    """Rows contradicting each other: one citizen ID twice, one household in two houses."""
    by_id: dict[str, list[int]] = defaultdict(list)
    houses_of: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for offset, raw in enumerate(raw_rows):
        if raw.get("citizen_id"):
            by_id[normalise(raw["citizen_id"])].append(first_line + offset)
        if raw.get("household_no"):
            house = tuple(raw.get(f, "") for f in ("building", "unit", "floor", "room"))
            houses_of[raw["household_no"]].add(house)
    for offset, raw in enumerate(raw_rows):
        line = first_line + offset
        others = [n for n in by_id.get(normalise(raw.get("citizen_id", "")), []) if n != line]
        if others:
            rejected[line].append(Problem("citizen_id", "citizen ID also on line(s) "
                                          f"{', '.join(map(str, others))}"))  # fmt: skip
        number = raw.get("household_no", "")
        if len(houses_of.get(number, ())) > 1:
            rejected[line].append(Problem("household_no", f"household {number} is given more "
                                          "than one house in the sheet"))  # fmt: skip


def _cross_check(
    conn: Connection, rows: list[_Row], rejected: dict[int, list[Problem]],
    worker_id: int | None, keyring: Keyring,
) -> None:  # fmt: skip
    """Reasons that need the database: households or persons living in others' cells."""
    if worker_id is None:  # an operator moves persons and households from anywhere
        return
    numbers = sorted({r.household_no for r in rows})
    for hh in conn.execute(_q("households"), {"numbers": numbers}):
        if hh.cell is not None and hh.worker_id != worker_id:
            for row in rows:
                if row.household_no == hh.household_no:
                    rejected[row.line].append(Problem(
                        "household_no", f"household {hh.household_no} lives in cell {hh.cell}, "
                        f"not assigned to worker {worker_id}",
                    ))  # fmt: skip
    hashes = {keyring.lookup_hash(r.citizen_id): r for r in rows}
    for person in conn.execute(_q("persons"), {"hashes": list(hashes)}):
        if person.cell is not None and person.worker_id != worker_id:
            row = hashes[bytes(person.citizen_id_hash)]
            rejected[row.line].append(Problem(
                "citizen_id",
                f"this person lives in cell {person.cell}, not assigned to worker {worker_id}",
            ))  # fmt: skip


def _write(conn: Connection, rows: list[_Row], keyring: Keyring) -> tuple[int, int, int, int]:
    """Create or update households, then persons; returns the four counts of the report."""
    first: dict[str, _Row] = {}
    for row in rows:
        first.setdefault(row.household_no, row)
    existing = {r.household_no: r for r in conn.execute(_q("households"),
                                                        {"numbers": sorted(first)})}  # fmt: skip
    new = [{"household_no": n, "house_id": r.house_id, "residence": r.residence}
           for n, r in first.items() if n not in existing]  # fmt: skip
    ids = {n: e.id for n, e in existing.items()}
    if new:
        created = conn.execute(insert(Household).returning(Household.id, Household.household_no),
                               new)  # fmt: skip
        ids.update({r.household_no: r.id for r in created})
    moved = [{"b_id": e.id, "v_house": first[n].house_id, "v_residence": first[n].residence}
             for n, e in existing.items()
             if (e.house_id, e.residence) != (first[n].house_id, first[n].residence)]  # fmt: skip
    if moved:
        conn.execute(
            update(Household).where(Household.id == bindparam("b_id"))
            .values(house_id=bindparam("v_house"), residence=bindparam("v_residence")),
            moved,
        )  # fmt: skip
    persons = {bytes(p.citizen_id_hash): p.id for p in conn.execute(
        _q("persons"), {"hashes": [keyring.lookup_hash(r.citizen_id) for r in rows]})}  # fmt: skip
    inserts, updates = [], []
    for row in rows:
        values: dict[str, Any] = {
            "household_id": ids[row.household_no], "name": row.name, "sex": row.sex,
            "birth_date": row.birth_date, "relation": row.relation,
        }  # fmt: skip
        phone = keyring.protect_phone(row.phone) if row.phone else None
        values.update(phone_enc=phone and phone.enc, phone_hash=phone and phone.hash,
                      phone_masked=phone and phone.masked)  # fmt: skip
        person_id = persons.get(keyring.lookup_hash(row.citizen_id))
        if person_id is None:
            cid = keyring.protect_citizen_id(row.citizen_id)
            values.update(citizen_id_enc=cid.enc, citizen_id_hash=cid.hash,
                          citizen_id_masked=cid.masked)  # fmt: skip
            inserts.append(values)
        else:
            updates.append({"p_id": person_id, **{f"v_{k}": v for k, v in values.items()}})
    if inserts:
        conn.execute(insert(Person), inserts)
    if updates:
        columns = [k.removeprefix("v_") for k in updates[0] if k != "p_id"]
        conn.execute(
            update(Person).where(Person.id == bindparam("p_id"))
            .values({c: bindparam(f"v_{c}") for c in columns}),
            updates,
        )  # fmt: skip
    return len(new), len(moved), len(inserts), len(updates)
