"""The small sample city, checked against its manifest, its files and the loaded database.

Every figure of manifest.json is compared with what the files hold (CRS, encodings, feature
and row counts) and with what the session database holds after ``load_sample``; the links
人进户、户进房、房进格 hold except for the flagged broken records; cells tile communities
exactly; codes run west→east, north→south; nothing personal is stored in plain text.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import shutil
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from openpyxl import load_workbook
from sqlalchemy import Connection, Engine, text

from gis.geometry import CGCS2000_GEOD
from gis.io import read_vector
from gis.offsets import gcj02_to_wgs84
from grid.codes import citizen_id_birth_date, citizen_id_problems, citizen_id_sex
from grid.loader import SampleError, SampleFileError, load_sample
from grid.privacy import Keyring, mask_citizen_id
from samples.grid.city import generate
from samples.grid.partition import row_major
from samples.grid.people import MOBILE_PREFIXES
from tests.conftest import SAMPLE, pg_dump

LIANYUNGANG = {"320703", "320704", "320705", "320706", "320707", "320721", "320722", "320723",
               "320724"}  # fmt: skip
CSV_TABLES = ("workers", "houses", "households", "persons")


@cache
def manifest() -> dict[str, Any]:
    return json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@cache
def rows(name: str) -> list[dict[str, str]]:
    with (SAMPLE / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def broken(kind: str) -> list[dict[str, Any]]:
    return [b for b in manifest()["broken"] if b["kind"] == kind]


def scalar(conn: Connection, sql: str, **params: Any) -> Any:
    return conn.execute(text(sql), params).scalar_one()


# --- the files against the manifest ----------------------------------------------------------


def test_grid_layers_have_the_manifest_crs_and_feature_counts() -> None:
    entry = manifest()["files"]["grid.gpkg"]
    assert entry["format"] == "GPKG" and entry["encoding"] == "UTF-8"
    for layer, expected in entry["layers"].items():
        source, records = read_vector(SAMPLE / "grid.gpkg", layer)
        with records:
            count = sum(1 for _ in records)
        assert source.crs == expected["crs"] == "EPSG:4490"
        assert source.feature_count == count == expected["features"]
        assert manifest()["tables"][layer] == count
        assert source.geometry_type == expected["geometry"]


def test_csv_files_are_utf8_with_the_manifest_rows_and_columns() -> None:
    for name, entry in manifest()["files"].items():
        if entry["format"] != "CSV":
            continue
        raw = (SAMPLE / name).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf")
        raw.decode("utf-8")  # strict
        found = rows(name)
        assert entry["encoding"] == "UTF-8" and len(found) == entry["rows"], name
        assert list(found[0]) == entry["columns"], name
    for table in CSV_TABLES:
        assert manifest()["tables"][table] == len(rows(f"{table}.csv"))


def test_scale_targets_and_population_figures() -> None:
    m = manifest()
    assert m["scale"] == "small" and m["seed"] == 20261123
    assert 4_000 <= m["tables"]["buildings"] <= 6_000
    assert 17_000 <= m["tables"]["persons"] <= 24_000
    assert m["admin"]["levels"]["county"] == 6
    births = np.array([r["birth_date"] for r in rows("persons.csv")], dtype="datetime64[D]")
    age_days = (np.datetime64(m["as_of"], "D") - births).astype(np.int64)
    elderly = float(np.mean(age_days >= 60 * 365.2425))
    assert elderly == pytest.approx(m["figures"]["elderly_share"], abs=1e-4)
    assert 0.18 <= elderly <= 0.27
    relations = Counter(r["relation"] for r in rows("persons.csv"))
    assert {"户主", "配偶", "子女", "父母", "孙子女"} <= set(relations)
    assert relations["户主"] == m["tables"]["households"] + sum(
        1 for b in m["broken"] if b["kind"] == "person_without_household"
    )


def test_citizen_ids_are_valid_unique_and_agree_with_sex_and_birth_date() -> None:
    persons = rows("persons.csv")
    for row in persons:
        cid = row["citizen_id"]
        assert citizen_id_problems(cid) == [], cid
        assert citizen_id_sex(cid) == row["sex"], cid
        assert citizen_id_birth_date(cid).isoformat() == row["birth_date"], cid
    codes = {row["citizen_id"][:6] for row in persons}
    assert codes <= LIANYUNGANG and {"320705", "320721", "320704"} <= codes
    counts = Counter(row["citizen_id"] for row in persons)
    repeated = sorted(mask_citizen_id(c) for c, n in counts.items() if n > 1)
    assert repeated == sorted(b["key"] for b in broken("duplicate_citizen_id"))


def test_phones_are_mobile_numbers() -> None:
    for table in ("persons.csv", "workers.csv"):
        for row in rows(table):
            phone = row["phone"]
            assert phone == "" or (re.fullmatch(r"1[3-9][0-9]{9}", phone)
                                   and phone[:3] in MOBILE_PREFIXES), phone  # fmt: skip


def test_every_link_in_the_files_holds_except_the_flagged_ones() -> None:
    _, records = read_vector(SAMPLE / "grid.gpkg", "buildings")
    with records:
        buildings = {r.properties["code"]: r.properties["cell_code"] for r in records}
    assert {c for c, cell in buildings.items() if not cell} == {
        b["key"] for b in broken("building_outside_cells")
    }
    houses = {r["key"]: r for r in rows("houses.csv")}
    assert {k for k, r in houses.items() if r["building"] not in buildings} == {
        b["key"] for b in broken("house_without_building")
    }
    households = {r["household_no"]: r for r in rows("households.csv")}
    assert {n for n, r in households.items() if r["house"] not in houses} == {
        b["key"] for b in broken("household_without_house")
    }
    orphans = {r["person_key"] for r in rows("persons.csv") if r["household_no"] not in households}
    assert orphans == {b["key"] for b in broken("person_without_household")}


def test_events_convert_back_from_gcj02_to_the_true_positions() -> None:
    events = manifest()["events"]
    assert events["crs"] == "GCJ02" and events["rows"] == len(rows(events["file"]))
    source, records = read_vector(SAMPLE / events["file"], crs="GCJ02")
    with records:
        sent = {r.properties["event_id"]: r.geometry for r in records}
    assert source.coordinate_fields == ("lon", "lat")
    truth = events["truth"]
    assert len(truth) >= 10
    ids = [t["event_id"] for t in truth]
    x, y = gcj02_to_wgs84([sent[i].x for i in ids], [sent[i].y for i in ids])
    _, _, dist = CGCS2000_GEOD.inv(x, y, [t["lon"] for t in truth], [t["lat"] for t in truth])
    assert float(np.max(dist)) < 1.0
    gx, gy = [sent[i].x for i in ids], [sent[i].y for i in ids]
    _, _, offset = CGCS2000_GEOD.inv(gx, gy, [t["lon"] for t in truth], [t["lat"] for t in truth])
    assert float(np.min(offset)) > 100  # the file really is offset (GCJ-02 is ~500 m here)
    for row in rows(events["file"]):
        assert row["type"] and re.search(r"[\u4e00-\u9fff]", row["description"])
        dt.datetime.fromisoformat(row["reported_at"])


def test_collection_sheet_rejections_are_exactly_the_listed_rows() -> None:
    entry = manifest()["collection"]
    sheet = load_workbook(SAMPLE / entry["file"], read_only=True).active
    assert sheet is not None
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    header, body = table[0], table[1:]
    assert len(body) == entry["rows"] == manifest()["files"][entry["file"]]["rows"]
    col = {name: i for i, name in enumerate(header)}
    houses = {(r["building"], r["unit"], int(r["floor"]), r["room"]) for r in rows("houses.csv")}
    expected = {r["row"]: r["reason"] for r in entry["rejections"]}
    assert len(expected) == len(entry["rejections"]) == len(body) - entry["valid_rows"]
    for line, row in enumerate(body, start=2):
        cid = str(row[col["公民身份号码"]])
        house = (str(row[col["楼栋编码"]]), str(row[col["单元"]]), int(row[col["楼层"]]),
                 str(row[col["房号"]]))  # fmt: skip
        problems = []
        if citizen_id_problems(cid):
            problems.append(citizen_id_problems(cid)[0])
        elif citizen_id_birth_date(cid).isoformat() != row[col["出生日期"]]:
            problems.append("birth date")
        elif {"M": "男", "F": "女"}[citizen_id_sex(cid)] != row[col["性别"]]:
            problems.append("sex")
        if house not in houses:
            problems.append("house")
        phone = str(row[col["联系电话"]] or "")
        if phone and not re.fullmatch(r"1[3-9][0-9]{9}", phone):
            problems.append("phone")
        assert bool(problems) == (line in expected), (line, problems)
        if line in expected:
            assert problems, (line, expected[line])
            assert house[0][:12] == entry["cell"][:12] or expected[line] == "unknown_building"


def test_the_sheet_importer_rejects_exactly_the_listed_rows(
    conn: Connection, keyring: Keyring
) -> None:
    """The collection sheet through grid.sheets: nothing written, the listed rows rejected."""
    from grid.sheets import SheetRejectedError, import_sheet

    entry = manifest()["collection"]
    sheet = load_workbook(SAMPLE / entry["file"], read_only=True).active
    assert sheet is not None
    table = [["" if v is None else str(v) for v in r] for r in sheet.iter_rows(values_only=True)]
    body = [dict(zip(table[0], r, strict=True)) for r in table[1:]]
    worker = scalar(conn, "SELECT worker_id FROM grid.cells WHERE code = :c", c=entry["cell"])
    with pytest.raises(SheetRejectedError) as caught:
        import_sheet(conn, body, entry["cell"], worker, keyring)
    rejected = {r.line for r in caught.value.report.rejected}
    assert rejected == {r["row"] for r in entry["rejections"]}, caught.value.report.rejected


# --- the database after loading --------------------------------------------------------------


def test_loaded_counts_match_the_manifest(conn: Connection) -> None:
    for table, count in manifest()["tables"].items():
        assert scalar(conn, f"SELECT count(*) FROM grid.{table}") == count, table


def test_links_hold_in_the_database_except_the_flagged_ones(
    conn: Connection, keyring: Keyring
) -> None:
    outside = conn.execute(text("SELECT code FROM grid.buildings WHERE cell_id IS NULL")).scalars()
    assert set(outside) == {b["key"] for b in broken("building_outside_cells")}
    loose = conn.execute(
        text("SELECT unit, floor, room FROM grid.houses WHERE building_id IS NULL")
    ).all()
    flagged = {tuple(b["key"].split("/")[1:]) for b in broken("house_without_building")}
    assert {(u, str(f), r) for u, f, r in loose} == flagged
    homeless = conn.execute(
        text("SELECT household_no FROM grid.households WHERE house_id IS NULL")
    ).scalars()
    assert set(homeless) == {b["key"] for b in broken("household_without_house")}
    by_key = {r["person_key"]: r for r in rows("persons.csv")}
    hashes = {keyring.lookup_hash(by_key[b["key"]]["citizen_id"])
              for b in broken("person_without_household")}  # fmt: skip
    found = conn.execute(
        text("SELECT citizen_id_hash FROM grid.persons WHERE household_id IS NULL")
    ).scalars()
    assert {bytes(h) for h in found} == hashes
    repeated = conn.execute(
        text("SELECT min(citizen_id_masked) FROM grid.persons GROUP BY citizen_id_hash"
             " HAVING count(*) > 1")
    ).scalars()  # fmt: skip
    assert sorted(repeated) == sorted(b["key"] for b in broken("duplicate_citizen_id"))


def test_buildings_link_to_the_cells_the_file_states(conn: Connection) -> None:
    _, records = read_vector(SAMPLE / "grid.gpkg", "buildings")
    with records:
        stated = {r.properties["code"]: r.properties["cell_code"] or None for r in records}
    linked = dict(
        conn.execute(
            text("SELECT b.code, c.code FROM grid.buildings b LEFT JOIN grid.cells c"
                 " ON c.id = b.cell_id")
        ).all()
    )  # fmt: skip
    assert linked == stated
    straddling = dict(
        conn.execute(
            text("SELECT b.code, c.code FROM grid.buildings b JOIN grid.cells c"
                 " ON c.id = b.cell_id WHERE b.straddles")
        ).all()
    )  # fmt: skip
    listed = manifest()["straddling"]
    assert straddling == {s["building"]: s["cell"] for s in listed}
    for s in listed:
        shares = s["cells"]
        assert len(shares) >= 2 and max(shares, key=shares.get) == s["cell"]


def test_cells_tile_their_community_exactly(conn: Connection) -> None:
    gaps = conn.execute(
        text(
            "SELECT a.code, ST_Area(ST_SymDifference(a.geom, ST_Union(c.geom))) AS diff,"
            " abs(ST_Area(a.geom) - sum(ST_Area(c.geom))) AS overlap"
            " FROM grid.admin_areas a JOIN grid.cells c ON c.community_code = a.code"
            " GROUP BY a.code, a.geom"
        )
    ).all()
    assert len(gaps) == len(manifest()["admin"]["detailed_communities"])
    assert all(g.diff < 1e-15 and g.overlap < 1e-15 for g in gaps), gaps
    overlapping = scalar(
        conn,
        "SELECT count(*) FROM grid.cells a JOIN grid.cells b ON a.id < b.id"
        " AND a.geom && b.geom AND ST_Relate(a.geom, b.geom, '2********')",
    )
    assert overlapping == 0
    assert scalar(conn, "SELECT count(*) FROM grid.cells WHERE NOT ST_IsValid(geom)") == 0


def test_every_admin_level_tiles_its_parent(conn: Connection) -> None:
    worst = scalar(
        conn,
        "SELECT max(ST_Area(ST_SymDifference(p.geom, u.geom))) FROM grid.admin_areas p"
        " JOIN (SELECT parent_code, ST_Union(geom) AS geom FROM grid.admin_areas"
        "       WHERE parent_code IS NOT NULL GROUP BY parent_code) u ON u.parent_code = p.code",
    )
    assert worst < 1e-15
    levels = dict(
        conn.execute(text("SELECT level, count(*) FROM grid.admin_areas GROUP BY 1")).all()
    )
    assert levels == manifest()["admin"]["levels"]
    codes = conn.execute(text("SELECT code, level FROM grid.admin_areas")).all()
    for code, level in codes:
        if level == "street":
            assert 1 <= int(code[6:9]) <= 399
        if level == "community":
            assert 1 <= int(code[9:]) <= 399


def test_cell_codes_run_west_to_east_then_north_to_south(conn: Connection) -> None:
    cells = conn.execute(
        text(
            "SELECT community_code, code, ST_X(ST_Centroid(geom)) x, ST_Y(ST_Centroid(geom)) y,"
            " ST_YMax(geom) - ST_YMin(geom) h FROM grid.cells ORDER BY code"
        )
    ).all()
    by_community: dict[str, list[Any]] = {}
    for c in cells:
        by_community.setdefault(c.community_code, []).append(c)
    for community, mine in by_community.items():
        xs = np.array([c.x for c in mine])
        ys = np.array([c.y for c in mine])
        tolerance = 0.5 * float(np.median([c.h for c in mine]))
        order = row_major(xs, ys, tolerance)
        assert [mine[i].code for i in order] == [c.code for c in mine], community
        assert [int(c.code[12:]) for c in mine] == list(range(1, len(mine) + 1))


def test_personal_fields_are_encrypted_hashed_and_masked(
    conn: Connection, keyring: Keyring
) -> None:
    first = rows("persons.csv")[0]
    row = conn.execute(
        text(
            "SELECT citizen_id_enc, citizen_id_masked, phone_enc, phone_masked, name"
            " FROM grid.persons WHERE citizen_id_hash = :h"
        ),
        {"h": keyring.lookup_hash(first["citizen_id"])},
    ).one()
    assert keyring.decrypt(row.citizen_id_enc) == first["citizen_id"]
    assert row.citizen_id_masked == mask_citizen_id(first["citizen_id"])
    assert row.name == first["name"]
    if first["phone"]:
        assert keyring.decrypt(row.phone_enc) == first["phone"]
        assert row.phone_masked == first["phone"][:3] + "****" + first["phone"][-4:]


def test_database_dump_holds_no_plain_citizen_id_or_phone(engine: Engine) -> None:
    dump = pg_dump(engine, "--data-only", "--schema=grid")
    assert "320706" in dump  # the dump is real: codes are there
    plain = {r["citizen_id"] for r in rows("persons.csv")}
    plain |= {r["phone"] for r in rows("persons.csv") if r["phone"]}
    plain |= {r["phone"] for r in rows("workers.csv") if r["phone"]}
    found = set(re.findall(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])|(?<![0-9])1[3-9][0-9]{9}(?![0-9])",
                           dump))  # fmt: skip
    assert not (found & plain)


# --- loading errors and determinism ----------------------------------------------------------


def test_loading_twice_without_replace_changes_nothing(conn: Connection, keyring: Keyring) -> None:
    before = scalar(conn, "SELECT count(*) FROM grid.persons")
    with pytest.raises(SampleError, match="--replace"):
        load_sample(conn, SAMPLE, keyring, replace=False)
    assert scalar(conn, "SELECT count(*) FROM grid.persons") == before


def _copy_sample(tmp_path: Path) -> Path:
    copy = tmp_path / "sample"
    copy.mkdir()
    for name in ("grid.gpkg", "workers.csv", "houses.csv", "households.csv", "persons.csv"):
        shutil.copyfile(SAMPLE / name, copy / name)
    return copy


@pytest.mark.parametrize(
    ("file", "line", "edit", "message"),
    [
        ("persons.csv", 6, lambda f: f | {"citizen_id": f["citizen_id"][:17]
                                           + ("0" if f["citizen_id"][17] != "0" else "1")},
         r"persons.csv line 6: citizen ID check digit"),
        ("houses.csv", 4, lambda f: f | {"floor": "three"},
         r"houses.csv line 4: floor 'three' is not a whole number"),
        ("households.csv", 9, lambda f: f | {"residence": "tourist"},
         r"households.csv line 9: residence 'tourist'"),
    ],
)  # fmt: skip
def test_a_bad_row_is_named_and_leaves_the_database_as_it_was(
    engine: Engine, keyring: Keyring, tmp_path: Path, file: str, line: int, edit: Any,
    message: str,
) -> None:  # fmt: skip
    broken_dir = _copy_sample(tmp_path)
    with (broken_dir / file).open(encoding="utf-8", newline="") as handle:
        table = list(csv.DictReader(handle))
    table[line - 2] = edit(table[line - 2])
    with (broken_dir / file).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(table[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(table)
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*), max(id) FROM grid.buildings")).one()
    with pytest.raises(SampleFileError, match=message), engine.begin() as conn:
        load_sample(conn, broken_dir, keyring, replace=True)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*), max(id) FROM grid.buildings")).one() == before


def test_an_old_format_directory_is_refused_in_one_sentence(
    conn: Connection, keyring: Keyring, tmp_path: Path
) -> None:
    (tmp_path / "cells.geojson").write_text("{}", encoding="utf-8")
    with pytest.raises(SampleError, match="old GeoJSON sample format"):
        load_sample(conn, tmp_path, keyring, replace=True)


def test_the_committed_small_city_is_what_the_generator_makes(tmp_path: Path) -> None:
    """Same seed, same bytes: the committed CSV files are regenerated identically."""
    fresh = generate("small", manifest()["seed"], tmp_path)
    for name, entry in fresh["files"].items():
        if entry["format"] == "CSV":
            assert (tmp_path / name).read_bytes() == (SAMPLE / name).read_bytes(), name
    grid_keys = [k for k in fresh if k not in ("plans", "rasters", "timings_s")]
    committed = manifest()
    for key in grid_keys:
        assert fresh[key] == committed[key], key


def test_generation_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    one = generate("tiny", 7, tmp_path / "one")
    two = generate("tiny", 7, tmp_path / "two")
    assert one == two
    for name in ("manifest.json", *one["files"]):
        if name.endswith((".csv", ".json")):
            assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
