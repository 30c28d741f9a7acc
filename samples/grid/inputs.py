"""What grid workers send in: event reports from a phone app (GCJ-02 positions) and a
household/person collection sheet for one cell, with known invalid rows.

The phone app reports positions as Amap/Tencent SDKs give them, in GCJ-02; the true
CGCS2000 position of a sample of events is kept in the manifest so a test can check the
conversion back (:func:`gis.offsets.gcj02_to_wgs84`; WGS84 ≈ CGCS2000, docs/domain.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import numpy as np
import shapely
from numpy.typing import NDArray

from gis.offsets import wgs84_to_gcj02
from grid.codes import citizen_id_check_digit
from samples.grid.assembly import City
from samples.grid.names import EVENT_TYPES
from samples.grid.plane import M_PER_DEG_LAT, M_PER_DEG_LON
from samples.grid.records import Tables

Column = NDArray[Any]

EVENT_TRUTH_SAMPLE: Final = 20
"""Events whose true position the manifest keeps."""


COLLECTION_COLUMNS: Final = (
    "序号", "户号", "楼栋编码", "单元", "楼层", "房号", "姓名", "性别", "出生日期",
    "公民身份号码", "联系电话", "与户主关系", "居住类型",
)  # fmt: skip
"""Columns of the collection sheet, as the street office's template names them."""

REJECTIONS: Final = (
    ("citizen_id_check_digit", "公民身份号码校验码错误"),
    ("citizen_id_birth_date", "公民身份号码中的出生日期不存在"),
    ("citizen_id_format", "公民身份号码不是18位"),
    ("unknown_house", "房屋不存在（楼栋、单元、楼层、房号无法匹配）"),
    ("unknown_building", "楼栋编码不存在"),
    ("sex_mismatch", "性别与公民身份号码不一致"),
    ("birth_date_mismatch", "出生日期与公民身份号码不一致"),
    ("phone_format", "联系电话不是有效的手机号码"),
)
"""Reason codes of the rows a correct import must reject, with the message for the worker."""

_SEX_CN: Final = {"M": "男", "F": "女"}
_RESIDENCE_CN: Final = {"registered": "户籍", "resident": "常住", "floating": "流动"}


def events(
    city: City, tables: Tables, seed: int, count: int, as_of: dt.date
) -> tuple[dict[str, Column], list[dict[str, Any]]]:
    """Event rows (GCJ-02 lon/lat) near random buildings, and the true positions of a sample."""
    rng = np.random.default_rng([seed, 41])
    b = city.buildings
    inside = np.flatnonzero(b.cell != "")
    pick = inside[rng.integers(0, len(inside), count)]
    centre = shapely.get_coordinates(shapely.centroid(b.geom[pick]))
    angle = rng.uniform(0, 2 * np.pi, count)
    dist = rng.uniform(8, 30, count)
    lon = centre[:, 0] + dist * np.cos(angle) / M_PER_DEG_LON
    lat = centre[:, 1] + dist * np.sin(angle) / M_PER_DEG_LAT
    glon, glat = wgs84_to_gcj02(lon, lat)
    start = dt.datetime.combine(as_of - dt.timedelta(days=30), dt.time(7, 0))
    seconds = np.sort(rng.integers(0, 30 * 86400, count))
    worker_of_cell = dict(zip(city.cells.code.tolist(), tables.cell_worker.tolist(), strict=True))
    kinds = rng.integers(0, len(EVENT_TYPES), count)
    rows: dict[str, list[str]] = {k: [] for k in (
        "event_id", "reported_at", "reporter", "type", "subtype", "status", "description",
        "lon", "lat")}  # fmt: skip
    for i in range(count):
        major, minor, text = EVENT_TYPES[int(kinds[i])]
        when = start + dt.timedelta(seconds=int(seconds[i]))
        rows["event_id"].append(f"E{i + 1:06d}")
        rows["reported_at"].append(when.isoformat() + "+08:00")
        rows["reporter"].append(worker_of_cell[str(b.cell[pick[i]])])
        rows["type"].append(major)
        rows["subtype"].append(minor)
        rows["status"].append("发现上报")
        rows["description"].append(f"{b.name[pick[i]]}附近：{text}")
        rows["lon"].append(f"{glon[i]:.8f}")
        rows["lat"].append(f"{glat[i]:.8f}")
    truth = [
        {
            "event_id": f"E{i + 1:06d}",
            "lon": round(float(lon[i]), 9),
            "lat": round(float(lat[i]), 9),
        }
        for i in range(min(EVENT_TRUTH_SAMPLE, count))
    ]
    return {k: np.asarray(v) for k, v in rows.items()}, truth


def collection(
    city: City, tables: Tables, seed: int, households: int
) -> tuple[str, list[list[Any]], list[dict[str, Any]]]:
    """A collection sheet for one cell: its first households' members as the worker records
    them, plus one invalid row per rejection reason (at known row numbers)."""
    rng = np.random.default_rng([seed, 43])
    houses, hh, persons = tables.houses, tables.households, tables.persons
    cell = _collection_cell(city, tables, households)
    building_cell = dict(
        zip(city.buildings.code.tolist(), city.buildings.cell.tolist(), strict=True)
    )
    house_at = {
        str(k): (str(b), str(u), int(f), str(r))
        for k, b, u, f, r in zip(houses["key"], houses["building"], houses["unit"],
                                 houses["floor"], houses["room"], strict=True)
        if building_cell.get(str(b)) == cell
    }  # fmt: skip
    chosen = [i for i, h in enumerate(hh["house"].tolist()) if h in house_at][:households]
    residence = {str(hh["household_no"][i]): str(hh["residence"][i]) for i in chosen}
    house_of = {str(hh["household_no"][i]): house_at[str(hh["house"][i])] for i in chosen}
    # The deliberate duplicates stay out: the sheet's own rows must not contradict each other.
    twice = [k for b in tables.broken if b["kind"] == "duplicate_citizen_id" for k in b["persons"]]
    members = np.flatnonzero(
        np.isin(persons["household_no"], list(house_of)) & ~np.isin(persons["person_key"], twice)
    )
    rows: list[list[Any]] = []
    for i in members.tolist():
        no = str(persons["household_no"][i])
        b, u, f, r = house_of[no]
        rows.append([
            0, no, b, u, f, r, str(persons["name"][i]), _SEX_CN[str(persons["sex"][i])],
            str(persons["birth_date"][i]), str(persons["citizen_id"][i]),
            str(persons["phone"][i]), str(persons["relation"][i]), _RESIDENCE_CN[residence[no]],
        ])  # fmt: skip
    template = rows[0]
    bad_rows = _invalid_rows(rng, template, cell)
    rejections = []
    positions = np.sort(
        rng.choice(np.arange(1, len(rows) + len(bad_rows)), len(bad_rows), replace=False)
    )
    for pos, (reason, message, row) in zip(positions.tolist(), bad_rows, strict=True):
        rows.insert(pos, row)
        rejections.append({"reason": reason, "message": message, "pos": pos})
    for n, row in enumerate(rows, start=1):
        row[0] = n
    for entry in rejections:
        entry["row"] = int(entry.pop("pos")) + 2  # header is row 1
    return cell, rows, rejections


def _collection_cell(city: City, tables: Tables, households: int) -> str:
    """The first cell (by code) of an urban community holding enough households."""
    kinds = dict(zip(city.admin.code, city.admin.kind, strict=True))
    counts: dict[str, int] = {}
    building_cell = dict(
        zip(city.buildings.code.tolist(), city.buildings.cell.tolist(), strict=True)
    )
    for house in tables.households["house"].tolist():
        c = building_cell.get(house.split("/")[0], "")
        counts[c] = counts.get(c, 0) + 1
    for code in sorted(city.cells.code.tolist()):
        if kinds[code[:12]] != "village" and counts.get(code, 0) >= households:
            return str(code)
    return str(max(counts, key=lambda c: (counts[c], c)))


def _new_id(rng: np.random.Generator, birth: str, male: bool) -> str:
    seq = int(rng.integers(400, 499)) * 2 + int(male)
    first17 = f"320706{birth.replace('-', '')}{seq:03d}"
    return first17 + citizen_id_check_digit(first17)


def _invalid_rows(
    rng: np.random.Generator, template: list[Any], cell: str
) -> list[tuple[str, str, list[Any]]]:
    """One row per rejection reason, each wrong in that one way (an ID with 30 February
    cannot agree with the birth-date column either)."""
    no, b, u, f, r = template[1], template[2], template[3], template[4], template[5]
    messages = dict(REJECTIONS)

    def person(name: str, sex: str, birth: str) -> list[Any]:
        cid = _new_id(rng, birth, sex == "M")
        phone = f"139{int(rng.integers(0, 10**8)):08d}"
        return [0, no, b, u, f, r, name, _SEX_CN[sex], birth, cid, phone, "其他", "流动"]

    rows = []
    row = person("赵新民", "M", "1988-03-14")
    row[9] = row[9][:17] + ("0" if row[9][17] != "0" else "1")
    rows.append(("citizen_id_check_digit", row))
    row = person("钱晓燕", "F", "1992-02-28")
    first17 = row[9][:6] + "19920230" + row[9][14:17]
    row[9], row[8] = first17 + citizen_id_check_digit(first17), "1992-02-28"
    rows.append(("citizen_id_birth_date", row))
    row = person("孙立强", "M", "1979-07-01")
    row[9] = row[9][:17]
    rows.append(("citizen_id_format", row))
    # A new household in a house that is not there (its own number, so that no other row
    # of the sheet contradicts it).
    row = person("李桂芳", "F", "1965-11-20")
    row[1], row[4], row[5] = f"{cell[:12]}90001", 99, "9901"
    rows.append(("unknown_house", row))
    row = person("周浩", "M", "2001-05-09")
    row[1], row[2] = f"{cell[:12]}90002", f"{cell[:12]}88888"
    rows.append(("unknown_building", row))
    row = person("吴敏", "M", "1983-09-17")
    row[7] = "女"
    rows.append(("sex_mismatch", row))
    row = person("郑海燕", "F", "1975-12-03")
    row[8] = "1975-12-04"
    rows.append(("birth_date_mismatch", row))
    row = person("王建华", "M", "1969-04-22")
    row[10] = "1234567890"
    rows.append(("phone_format", row))
    return [(reason, messages[reason], row) for reason, row in rows]
