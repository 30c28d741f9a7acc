"""``onemap grid`` as a user runs it: help everywhere, JSON for machines, one-sentence errors.

Only commands that change nothing (or are refused) run here: the session database is shared.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

Run = Callable[..., CompletedProcess[str]]
COMMANDS = ["link", "check", "split", "merge", "redraw", "history", "revert", "import", "stats",
            "show-person"]  # fmt: skip


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help(onemap: Run, command: str) -> None:
    result = onemap("grid", *([command] if command else []), "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_check_stats_and_link_speak_json(onemap: Run) -> None:
    check = onemap("grid", "check", "--json")
    assert check.returncode in (0, 2), check.stderr
    report = json.loads(check.stdout)
    assert set(report) >= {"counts", "findings", "notes", "tolerance_m2"}
    assert (check.returncode == 2) == bool(report["findings"])
    stats = json.loads(onemap("grid", "stats", "--level", "county", "--json").stdout)
    assert stats["level"] == "county" and "totals" in stats
    link = onemap("grid", "link", "--json")
    assert link.returncode == 0, link.stderr
    assert set(json.loads(link.stdout)) >= {"moved", "linked", "unlinked", "straddling"}


def test_errors_are_one_sentence(onemap: Run, tmp_path: Path) -> None:
    for args, message in [
        (["stats", "--level", "province"], "unknown level"),
        (["history", "people", "1"], "no grid table"),
        (["check", "--community", "320799999999"], "no community"),
        (["show-person", "1", "--reveal"], "needs a reason"),
        (["split", "320799999999001", "--line", "LINESTRING(119.8 35.1, 119.9 35.1)"], "no cell"),
        (["redraw", "320799999999001", "--wkt", "not wkt"], "not a WKT geometry"),
    ]:
        result = onemap("grid", *args)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr and message in result.stderr, result.stderr


def test_a_rejected_sheet_lists_its_rows_and_exits_1(onemap: Run, tmp_path: Path) -> None:
    sheet = tmp_path / "s.csv"
    sheet.write_text("household_no,building,unit,floor,room,name,citizen_id\n"
                     "H1,B1,1,1,101,张三,110105194912310021\n", encoding="utf-8")  # fmt: skip
    result = onemap("grid", "import", str(sheet), "--cell", "320799999999001", "--worker", "1")
    assert result.returncode == 1 and "no cell" in result.stderr
