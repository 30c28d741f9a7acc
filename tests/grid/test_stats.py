"""Statistics: counts per cell rolled up the hierarchy, elderly at a reference date."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import Connection, text

from grid.errors import GridError
from grid.stats import born_by, stats
from tests.conftest import SAMPLE
from tests.grid.conftest import COUNTY, STREET, A, B, Site, citizen_id

REF = dt.date(2026, 3, 1)


def test_the_site_counted_at_every_level(site: Site) -> None:
    cells = {a.code: a for a in stats(site.conn, "cell", REF).areas}
    a001 = cells[A + "001"]
    assert (a001.buildings, a001.houses, a001.households, a001.persons, a001.elderly) == (
        1,
        2,
        1,
        2,
        1,
    )  # p1 born 1950 is elderly, p2 born 1985 is not
    assert cells[A + "002"].buildings == 2  # its own and the straddler (70 % in A002)
    communities = {a.code: a for a in stats(site.conn, "community", REF).areas}
    assert (communities[A].cells, communities[A].buildings, communities[A].persons) == (4, 5, 3)
    assert (communities[B].cells, communities[B].persons) == (1, 0)
    [street] = [a for a in stats(site.conn, "street", REF).areas if a.code == STREET]
    [county] = [a for a in stats(site.conn, "county", REF).areas if a.code == COUNTY]
    assert street._replace(code="", name="") == county._replace(code="", name="")
    assert (county.cells, county.persons, county.elderly) == (5, 3, 1)


def test_levels_add_up_over_the_whole_database(conn: Connection) -> None:
    totals = [stats(conn, level, REF).totals() for level in ("cell", "community", "county")]
    assert totals[0] == totals[1] == totals[2]


def test_elderly_follows_the_reference_date(site: Site) -> None:
    turns_60 = dt.date(1966, 3, 1)
    site.add_person("x", "T-HH3", citizen_id(turns_60, 5))

    def elderly(on: dt.date) -> int:
        return next(a.elderly for a in stats(site.conn, "cell", on).areas if a.code == A + "003")

    assert elderly(dt.date(2026, 2, 28)) == 0
    assert elderly(dt.date(2026, 3, 1)) == 1


def test_born_by_handles_29_february() -> None:
    assert born_by(dt.date(2024, 2, 29)) == dt.date(1964, 2, 29)
    assert born_by(dt.date(2024, 2, 29), age=1) == dt.date(2023, 2, 28)


def test_unknown_level(conn: Connection) -> None:
    with pytest.raises(GridError, match="unknown level"):
        stats(conn, "province")


SMALL = SAMPLE
"""The sample city every test session loads (tests/conftest.py)."""


def test_the_small_city_figures_agree_with_its_manifest(conn: Connection) -> None:
    manifest = json.loads((SMALL / "manifest.json").read_text(encoding="utf-8"))
    cells = conn.execute(text("SELECT count(*) FROM grid.cells")).scalar_one()
    assert cells == manifest["tables"]["cells"], "the session database holds the small city"
    report = stats(conn, "county", dt.date.fromisoformat(manifest["as_of"]))
    totals = report.totals()
    tables = manifest["tables"]
    assert totals["persons"] + report.unassigned["persons"] == tables["persons"]
    assert totals["buildings"] + report.unassigned["buildings"] == tables["buildings"]
    share = totals["elderly"] / totals["persons"]
    assert share == pytest.approx(manifest["figures"]["elderly_share"], abs=5e-4)
