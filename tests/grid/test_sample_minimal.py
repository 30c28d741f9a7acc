"""The minimal sample, checked by hand-written rules rather than trusted: cells tile their
community, codes run west→east then north→south, IDs carry valid check digits, and nothing
personal reaches the database in plain text."""

from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest
import shapely
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL

from gis.io import read_vector
from grid.codes import citizen_id_problems, citizen_id_sex
from grid.privacy import Keyring
from grid.samples import SampleError, load_sample

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "samples" / "minimal"


def _features(name: str) -> list[tuple[dict[str, object], shapely.Geometry]]:
    _, records = read_vector(SAMPLE / name)
    return [(r.properties, r.geometry) for r in records]


def _rows(name: str) -> list[dict[str, str]]:
    with (SAMPLE / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_cells_tile_each_community_without_gap_or_overlap() -> None:
    communities = {p["code"]: g for p, g in _features("admin_areas.geojson") if g is not None}
    cells = _features("cells.geojson")
    assert len(communities) == 3
    for code, community in communities.items():
        mine = [g for p, g in cells if p["community_code"] == code]
        assert mine, code
        union = shapely.union_all(mine)
        assert shapely.symmetric_difference(union, community).area < 1e-12
        assert abs(sum(g.area for g in mine) - community.area) < 1e-12  # no overlap
        assert all(community.covers(g) for g in mine)


def test_cell_codes_run_west_to_east_then_north_to_south() -> None:
    cells = _features("cells.geojson")
    for community in {str(p["community_code"]) for p, _ in cells}:
        mine = [(str(p["code"]), g.centroid) for p, g in cells if p["community_code"] == community]
        by_position = sorted(mine, key=lambda item: (-round(item[1].y, 6), round(item[1].x, 6)))
        assert [code for code, _ in by_position] == sorted(code for code, _ in mine)
        assert all(len(code) == 15 and code.startswith(community) for code, _ in mine)


def test_citizen_ids_are_valid_and_agree_with_sex_and_birth_date() -> None:
    persons = _rows("persons.csv")
    assert len(persons) > 100
    for row in persons:
        cid = row["citizen_id"]
        assert citizen_id_problems(cid) == [], cid
        assert citizen_id_sex(cid) == row["sex"], cid
        assert dt.date.fromisoformat(row["birth_date"]).strftime("%Y%m%d") == cid[6:14]
    assert {row["citizen_id"][:6] for row in persons} >= {"320706", "320705", "320721"}


def test_loaded_counts_match_the_files(conn: Connection) -> None:
    expected = {
        "admin_areas": len(_features("admin_areas.geojson")),
        "cells": len(_features("cells.geojson")),
        "buildings": len(_features("buildings.geojson")),
        "houses": len(_rows("houses.csv")),
        "households": len(_rows("households.csv")),
        "persons": len(_rows("persons.csv")),
        "workers": len(_rows("workers.csv")),
    }
    for table, count in expected.items():
        assert conn.execute(text(f"SELECT count(*) FROM grid.{table}")).scalar_one() == count


def test_every_link_holds_in_the_database(conn: Connection) -> None:
    unlinked = conn.execute(
        text(
            "SELECT"
            " (SELECT count(*) FROM grid.buildings WHERE cell_id IS NULL),"
            " (SELECT count(*) FROM grid.houses WHERE building_id IS NULL),"
            " (SELECT count(*) FROM grid.households WHERE house_id IS NULL),"
            " (SELECT count(*) FROM grid.persons WHERE household_id IS NULL)"
        )
    ).one()
    assert tuple(unlinked) == (0, 0, 0, 0)
    # 房进格 agrees with the file's own statement of which cell holds each building.
    stated = {str(p["name"]): str(p["cell_code"]) for p, _ in _features("buildings.geojson")}
    linked = dict(
        conn.execute(
            text(
                "SELECT b.name, c.code FROM grid.buildings b JOIN grid.cells c ON c.id = b.cell_id"
            )
        ).all()
    )
    assert linked == stated
    # Streets and the county are the union of their children.
    street = conn.execute(
        text(
            "SELECT ST_Area(ST_SymDifference(s.geom, (SELECT ST_Union(geom) FROM grid.admin_areas"
            " WHERE parent_code = s.code))) FROM grid.admin_areas s WHERE s.level = 'street'"
        )
    ).scalar_one()
    assert street < 1e-12


def test_personal_fields_are_encrypted_hashed_and_masked(
    conn: Connection, keyring: Keyring
) -> None:
    first = _rows("persons.csv")[0]
    row = conn.execute(
        text(
            "SELECT citizen_id_enc, citizen_id_masked, phone_masked FROM grid.persons"
            " WHERE citizen_id_hash = :h"
        ),
        {"h": keyring.lookup_hash(first["citizen_id"])},
    ).one()
    assert keyring.decrypt(row.citizen_id_enc) == first["citizen_id"]
    assert row.citizen_id_masked == first["citizen_id"][:6] + "********" + first["citizen_id"][-4:]
    assert row.phone_masked == first["phone"][:3] + "****" + first["phone"][-4:]


def test_database_dump_holds_no_plain_citizen_id_or_phone(engine: Engine) -> None:
    url: URL = engine.url
    pg_dump = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"))[-1]
    dump = subprocess.run(
        [str(pg_dump), "-h", str(url.host), "-p", str(url.port), "-U", str(url.username),
         "--data-only", "--schema=grid", str(url.database)],
        env={**os.environ, "PGPASSWORD": str(url.password)},
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "320706" in dump  # the dump is real: codes are there
    for row in _rows("persons.csv"):
        assert row["citizen_id"] not in dump
        assert not row["phone"] or row["phone"] not in dump


def test_loading_twice_without_replace_changes_nothing(conn: Connection, keyring: Keyring) -> None:
    before = conn.execute(text("SELECT count(*) FROM grid.persons")).scalar_one()
    with pytest.raises(SampleError, match="--replace"):
        load_sample(conn, SAMPLE, keyring, replace=False)
    assert conn.execute(text("SELECT count(*) FROM grid.persons")).scalar_one() == before


def test_a_bad_row_is_named_and_leaves_the_database_as_it_was(
    engine: Engine, keyring: Keyring, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for path in SAMPLE.iterdir():
        (broken / path.name).write_bytes(path.read_bytes())
    lines = (broken / "persons.csv").read_text(encoding="utf-8").splitlines()
    fields = lines[5].split(",")
    fields[3] = fields[3][:17] + ("0" if fields[3][17] != "0" else "1")
    lines[5] = ",".join(fields)
    (broken / "persons.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*), max(id) FROM grid.buildings")).one()
    with (
        pytest.raises(SampleError, match=r"persons.csv line 6: citizen ID check digit"),
        engine.begin() as conn,
    ):
        load_sample(conn, broken, keyring, replace=True)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*), max(id) FROM grid.buildings")).one() == before
