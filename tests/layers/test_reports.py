"""Reports of a run: GeoPackage, CSV summaries, and an HTML map that needs no network; and the
``onemap plans`` commands end to end."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import fiona
from sqlalchemy import Connection, Engine, text

from layers.conflicts import run_conflicts
from layers.importer import ImportReport
from layers.reports import write_report
from layers.rules import Rules
from layers.settings import PlanSettings
from tests.conftest import ROOT

REMOTE = re.compile(
    r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//", re.I
)


def test_report_files(
    conn: Connection,
    plans: dict[str, ImportReport],
    rules: Rules,
    plan_settings: PlanSettings,
    tmp_path: Path,
) -> None:
    run = run_conflicts(conn, "urban_plan", rules=rules, settings=plan_settings, control_lines=True)
    files = write_report(conn, run.run_id, tmp_path)
    assert set(fiona.listlayers(files.geopackage)) == {"patches", "slivers"}
    with fiona.open(files.geopackage, layer="patches") as src:
        assert len(src) == sum(s.patches for s in run.by_type)
        assert src.crs.to_epsg() == 4490
        first = next(iter(src))
        assert {
            "type",
            "severity",
            "a_fid",
            "a_code",
            "b_fid",
            "area_m2",
            "area_mu",
            "area_ha",
            "county_code",
            "community_code",
        } <= set(first.properties)
    with files.summary_csv.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["type"] for r in rows} == {s.type for s in run.by_type}
    assert sum(int(r["patches"]) for r in rows) == sum(s.patches for s in run.by_type)
    with files.county_csv.open(encoding="utf-8-sig") as handle:
        assert sum(int(r["patches"]) for r in csv.DictReader(handle)) == sum(
            s.patches for s in run.by_type
        )
    html = files.html.read_text(encoding="utf-8")
    assert REMOTE.search(html) is None  # nothing fetched: works offline
    assert "cdn." not in html and "Leaflet 1.9.4" in html and "L.map(" in html
    assert "建设占用永久基本农田" in html and "basic_farmland v1" in html


def test_the_plans_commands(engine: Engine, plans: dict[str, ImportReport], tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ONEMAP_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "COLUMNS": "200",
    }

    def onemap(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "services.cli", "plans", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    listed = json.loads(onemap("list", "--json").stdout)
    assert {layer["id"] for layer in listed} >= set(plans)
    again = onemap(
        "import",
        "data/samples/small/plans/dev_boundary.geojson",
        "--layer",
        "dev_boundary",
        "--type",
        "dev_boundary",
    )
    assert again.returncode == 0 and "unchanged" in again.stderr
    run = onemap("conflicts", "urban_plan", "dev_boundary", "--json")
    assert run.returncode == 0, run.stderr
    run_id = json.loads(run.stdout)["run_id"]
    site = None
    try:
        assert (
            json.loads(onemap("impact", "--run", str(run_id), "--json").stdout)["mode"]
            == "intersects"
        )
        report = onemap("report", str(run_id), "--out", str(tmp_path))
        assert report.returncode == 0 and (tmp_path / f"run-{run_id}.html").is_file()
        checked = onemap(
            "sitecheck",
            "--geojson",
            json.dumps(
                {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [119.2, 34.6],
                            [119.201, 34.6],
                            [119.201, 34.601],
                            [119.2, 34.601],
                            [119.2, 34.6],
                        ]
                    ],
                }
            ),
            "--json",
        )
        assert checked.returncode == 0, checked.stderr
        site = json.loads(checked.stdout)["id"]
        missing = onemap("versions", "nowhere")
        assert missing.returncode == 1 and "no plan layer 'nowhere'" in missing.stderr
    finally:
        with engine.begin() as conn:  # leave the session database as the fixtures made it
            conn.execute(text("DELETE FROM plans.conflict_runs WHERE id = :r"), {"r": run_id})
            conn.execute(text("DELETE FROM plans.site_checks WHERE id = :s"), {"s": site or -1})
