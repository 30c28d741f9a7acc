"""The analyses as processes (``site-check``, ``grid-impact``, ``conflicts``), called as the
job runner calls them — ``check`` then ``run`` with a context — on the sample city, and
compared with what ``onemap plans ... --json`` prints for the same inputs in a subprocess.

The HTTP routes and the jobs are tested with the framework; here: equal results, bad
inputs refused naming the input with nothing written, rights per role, the examples valid.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import shapely
from sqlalchemy import Engine, text

from gis.geometry import transform_geometry
from layers.importer import ImportReport
from layers.loader import load_plans
from layers.rules import load_rules
from layers.settings import PlanSettings
from services.auth.keys import PUBLIC, Principal
from services.processes.base import JobCancelled, Process, ProcessInputError
from services.processes.definitions import conflicts, grid_impact, site_check
from services.settings import Settings
from tests.conftest import ROOT, SAMPLE

PROCESSES = (site_check.PROCESS, grid_impact.PROCESS, conflicts.PROCESS)
PLANNER = Principal(role="planner", name="test-planner")
Cli = Callable[..., dict[str, Any]]


@dataclass
class Context:
    """What a worker hands a run: the engine, the caller, no job, and a progress log."""

    engine: Engine
    caller: Principal = PLANNER
    job_id: str | None = None
    calls: list[tuple[int, str]] = field(default_factory=list)
    settings: Settings = field(default_factory=Settings)
    cancel_at: int | None = None

    def progress(self, percent: int, message: str = "") -> None:
        self.calls.append((percent, message))
        if self.cancel_at is not None and percent >= self.cancel_at:
            raise JobCancelled


@pytest.fixture(scope="session")
def sample_plans(engine: Engine) -> dict[str, ImportReport]:
    """The sample's plan layers (as tests/layers does; unchanged when already imported)."""
    return {r.layer_id: r for r in load_plans(engine, SAMPLE, settings=PlanSettings())}


@pytest.fixture
def cli(engine: Engine) -> Cli:
    """``onemap plans ARGS --json`` against the session database, parsed."""
    env = {**os.environ, "ONEMAP_DATABASE_URL": engine.url.render_as_string(hide_password=False)}

    def run(*args: str) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "services.cli", "plans", *args, "--json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    return run


@pytest.fixture
def written(engine: Engine) -> Iterator[Callable[[], tuple[int, int]]]:
    """Counts of stored site checks and conflict runs; rows made by a test are removed."""

    def counts() -> tuple[int, int]:
        with engine.connect() as conn:
            return (
                conn.execute(text("SELECT count(*) FROM plans.site_checks")).scalar_one(),
                conn.execute(text("SELECT count(*) FROM plans.conflict_runs")).scalar_one(),
            )

    with engine.connect() as conn:
        site = conn.execute(text("SELECT coalesce(max(id), 0) FROM plans.site_checks")).scalar()
        run = conn.execute(text("SELECT coalesce(max(id), 0) FROM plans.conflict_runs")).scalar()
    yield counts
    with engine.begin() as conn:  # leave the session database as the fixtures made it
        conn.execute(text("DELETE FROM plans.site_checks WHERE id > :s"), {"s": site})
        conn.execute(text("DELETE FROM plans.conflict_runs WHERE id > :r"), {"r": run})


def _execute(process: Process, inputs: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """``check`` then ``run``, as the server and its worker do; JSON as a client reads it."""
    assert process.check is not None
    process.check(inputs, ctx.caller)
    result: dict[str, Any] = json.loads(json.dumps(process.run(inputs, ctx)))
    assert set(result) <= set(process.outputs)
    return result


def _without(result: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k not in keys}


# --- descriptions ------------------------------------------------------------------------


@pytest.mark.parametrize("process", PROCESSES, ids=lambda p: p.id)
def test_the_examples_fit_the_input_schemas(process: Process) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    inputs = process.example["inputs"]
    assert set(inputs) <= set(process.inputs)
    assert {k for k, p in process.inputs.items() if p.min_occurs > 0} <= set(inputs)
    for name, port in process.inputs.items():
        validator = jsonschema.validators.validator_for(port.schema)
        validator.check_schema(port.schema)
        assert port.title and (port.description or port.schema.get("description")), name
        if name in inputs:
            validator(port.schema).validate(inputs[name])
    assert process.check is not None
    process.check(inputs, PLANNER)


def test_rights_per_role(monkeypatch: pytest.MonkeyPatch) -> None:
    roles = {
        r: Principal(role=r, name=r, worker_id=1 if r == "grid_worker" else None)
        for r in ("planner", "admin", "grid_worker")
    }
    roles["public"] = PUBLIC
    for process in PROCESSES:
        assert {r for r, p in roles.items() if process.allowed(p)} == {"planner", "admin"}
    monkeypatch.setenv("ONEMAP_PROCESSES_PUBLIC_SITE_CHECK", "true")
    assert site_check.PROCESS.allowed(PUBLIC) and site_check.PROCESS.allowed(roles["grid_worker"])
    assert not grid_impact.PROCESS.allowed(PUBLIC) and not conflicts.PROCESS.allowed(PUBLIC)
    monkeypatch.setenv("ONEMAP_PROCESSES_PUBLIC_GRID_IMPACT", "1")
    assert grid_impact.PROCESS.allowed(PUBLIC) and not conflicts.PROCESS.allowed(PUBLIC)


# --- site-check ---------------------------------------------------------------------------


def _example_points() -> list[list[float]]:
    """The example's red line as 界址点 in zone-40 GK, X = northing (survey convention)."""
    square = shapely.Polygon(site_check.PROCESS.example["inputs"]["site"]["coordinates"][0])
    gk = transform_geometry(square, "OGC:CRS84", "EPSG:4528")
    return [[round(n, 3), round(e, 3)] for e, n in list(gk.exterior.coords)[:-1]]


def test_site_check_equals_the_cli(
    engine: Engine,
    sample_plans: dict[str, ImportReport],
    cli: Cli,
    written: Callable[[], tuple[int, int]],
) -> None:
    inputs = site_check.PROCESS.example["inputs"]
    ctx = Context(engine)
    before = written()
    result = _execute(site_check.PROCESS, inputs, ctx)
    assert written() == (before[0] + 1, before[1])  # stored, as the CLI stores it
    expected = cli(
        "sitecheck",
        "--geojson",
        json.dumps(inputs["site"]),
        "--use",
        inputs["use"],
        "--name",
        inputs["name"],
    )
    assert _without(result, "id") == _without(expected, "id")
    assert result["id"] != expected["id"]
    farmland = next(i for i in result["items"] if i["check"] == "basic_farmland")
    assert (result["verdict"], farmland["verdict"]) == ("fail", "fail")
    assert farmland["overlap_mu"] == pytest.approx(farmland["overlap_m2"] * 15 / 10_000)
    assert farmland["overlap_ha"] == pytest.approx(farmland["overlap_m2"] / 10_000)
    assert farmland["features"] and farmland["layer_version"] >= 1
    with engine.connect() as conn:
        by = conn.execute(
            text("SELECT checked_by FROM plans.site_checks WHERE id = :i"), {"i": result["id"]}
        ).scalar_one()
    assert by == PLANNER.label
    assert ctx.calls and all(0 <= p <= 100 for p, _ in ctx.calls)


def test_site_check_of_boundary_points_equals_the_cli(
    engine: Engine,
    sample_plans: dict[str, ImportReport],
    cli: Cli,
    written: Callable[[], tuple[int, int]],
    tmp_path: Path,
) -> None:
    points = _example_points()
    table = tmp_path / "界址点.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["点号", "X", "Y"])
        writer.writerows([f"J{n}", x, y] for n, (x, y) in enumerate(points, start=1))
    inputs = {
        "points": [{"x": x, "y": y} for x, y in points],
        "crs": "http://www.opengis.net/def/crs/EPSG/0/4528",
        "name": "界址点",
    }
    result = _execute(site_check.PROCESS, inputs, Context(engine))
    expected = cli("sitecheck", str(table), "--crs", "EPSG:4528", "--name", "界址点")
    assert _without(result, "id") == _without(expected, "id")
    assert any("X = northing" in note for note in result["notes"])
    as_pairs = _execute(site_check.PROCESS, {**inputs, "points": points}, Context(engine))
    assert _without(as_pairs, "id") == _without(result, "id")
    geojson = _execute(site_check.PROCESS, site_check.PROCESS.example["inputs"], Context(engine))
    assert result["verdict"] == geojson["verdict"] == "fail"
    assert result["area_m2"] == pytest.approx(geojson["area_m2"], rel=1e-4)


def test_site_check_in_a_local_system_and_a_carried_crs(
    engine: Engine, sample_plans: dict[str, ImportReport], written: Callable[[], tuple[int, int]]
) -> None:
    site = site_check.PROCESS.example["inputs"]["site"]
    square = shapely.Polygon(site["coordinates"][0])
    local = transform_geometry(square, "OGC:CRS84", "lyg-example")  # gis/data/local_systems
    gk = transform_geometry(square, "OGC:CRS84", "EPSG:4549")
    reference = _execute(site_check.PROCESS, {"site": site}, Context(engine))
    for inputs in (
        {"points": [list(p) for p in list(local.exterior.coords)[:-1]], "crs": "lyg-example"},
        {"site": shapely.geometry.mapping(gk), "crs": "EPSG:4549"},
        {
            "site": {
                "type": "Feature",
                "properties": {},
                "geometry": shapely.geometry.mapping(gk),
                "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4549"}},
            }
        },
    ):
        result = _execute(site_check.PROCESS, json.loads(json.dumps(inputs)), Context(engine))
        assert result["verdict"] == reference["verdict"]
        assert result["area_m2"] == pytest.approx(reference["area_m2"], rel=1e-4)


SITE = site_check.PROCESS.example["inputs"]["site"]
BOWTIE = {  # a ring that crosses itself
    "type": "Polygon",
    "coordinates": [
        [[119.3, 34.6], [119.31, 34.61], [119.31, 34.6], [119.3, 34.61], [119.3, 34.6]]
    ],
}
LINE = {"type": "LineString", "coordinates": [[119.3, 34.6], [119.4, 34.6]]}
AT_ZERO = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
GK_POINTS = [[3_832_226.0, 40_441_058.0]] * 3
BAD_SITES = [
    ({"site": {"type": "Point", "coordinates": [119.3, 34.6]}}, "site", "not a polygon"),
    ({"site": LINE}, "site", "LineString is not a polygon"),
    ({"site": BOWTIE}, "site", "Self-intersection"),
    ({"site": {"type": "Polygon", "coordinates": []}}, "site", "empty"),
    ({"site": {"type": "Feature", "geometry": None}}, "site", "without a geometry"),
    ({"site": SITE, "crs": "EPSG:99999"}, "crs", "unknown CRS"),
    ({"site": SITE, "crs": "no-such-system"}, "crs", "unknown CRS"),
    ({"site": SITE, "crs": "EPSG:4528"}, "site", "outside"),  # degrees read as metres
    ({"site": AT_ZERO}, "site", "outside"),
    ({"site": SITE, "use": "9999"}, "use", "unknown 2023"),
    ({"site": SITE, "points": [[1, 2], [3, 4], [5, 6]]}, "site", "one of them"),
    ({}, "site", "one of them"),
    ({"points": GK_POINTS}, "crs", "name the CRS"),
    ({"points": [[3_832_226.0, 40_441_058.0], [1, 2]], "crs": "EPSG:4528"}, "points", "3"),
    ({"points": [[1, 2], [2, 1], [2, 2], [1, 1]], "crs": "EPSG:4528"}, "points", "ring"),
    ({"points": [[1, "a"], [2, 1], [2, 2]], "crs": "EPSG:4528"}, "points", "not a point"),
    ({"points": GK_POINTS, "crs": "EPSG:4528", "axes": "zx"}, "axes", "xy or yx"),
    (
        {"site": {**SITE, "crs": {"type": "name", "properties": {"name": "EPSG:4528"}}},
         "crs": "OGC:CRS84"},
        "crs",
        "differs",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("inputs", "name", "words"), BAD_SITES)
def test_bad_red_lines_are_refused_before_anything_is_written(
    engine: Engine,
    written: Callable[[], tuple[int, int]],
    inputs: dict[str, Any],
    name: str,
    words: str,
) -> None:
    before = written()
    assert site_check.PROCESS.check is not None
    with pytest.raises(ProcessInputError, match=words) as caught:
        site_check.PROCESS.check(inputs, PLANNER)
    assert caught.value.input == name
    with pytest.raises(ProcessInputError):  # the run refuses it too
        site_check.PROCESS.run(inputs, Context(engine))
    assert written() == before


# --- grid-impact --------------------------------------------------------------------------


def test_grid_impact_of_an_area_and_a_site_equals_the_cli(
    engine: Engine,
    sample_plans: dict[str, ImportReport],
    cli: Cli,
    written: Callable[[], tuple[int, int]],
) -> None:
    inputs = grid_impact.PROCESS.example["inputs"]
    before = written()
    result = _execute(grid_impact.PROCESS, inputs, Context(engine))
    assert written() == before  # counts only: nothing stored
    wkt = shapely.Polygon(inputs["area"]["coordinates"][0]).wkt  # CRS84 = EPSG:4490 here
    assert result == cli("impact", "--wkt", wkt)
    assert result["buildings"] > 100 and result["persons"] > 0
    assert {k for c in result["by_community"] for k in c} == {
        "community_code", "community_name", "street_code",
        "buildings", "houses", "households", "persons",
    }  # fmt: skip
    inside = _execute(grid_impact.PROCESS, {**inputs, "mode": "inside"}, Context(engine))
    assert inside == cli("impact", "--wkt", wkt, "--mode", "inside")
    checked = _execute(
        site_check.PROCESS, {"site": inputs["area"], "name": "impact"}, Context(engine)
    )
    of_site = _execute(grid_impact.PROCESS, {"site_check": checked["id"]}, Context(engine))
    assert of_site == cli("impact", "--site", str(checked["id"])) == result


BAD_IMPACTS = [
    ({}, "area", "one of"),
    ({"area": SITE, "run": 1}, "area", "one of"),
    ({"area": BOWTIE}, "area", "Self-intersection"),
    ({"area": SITE, "crs": "EPSG:0"}, "crs", "unknown CRS"),
    ({"run": 1, "crs": "EPSG:4490"}, "crs", "only with"),
    ({"area": SITE, "mode": "near"}, "mode", "intersects or inside"),
    ({"site_check": 0}, "site_check", "positive"),
    ({"site_check": 1, "types": ["x"]}, "types", "only with"),
]


@pytest.mark.parametrize(("inputs", "name", "words"), BAD_IMPACTS)
def test_bad_impact_inputs_are_refused(inputs: dict[str, Any], name: str, words: str) -> None:
    assert grid_impact.PROCESS.check is not None
    with pytest.raises(ProcessInputError, match=words) as caught:
        grid_impact.PROCESS.check(inputs, PLANNER)
    assert caught.value.input == name


def test_unknown_runs_and_site_checks_name_their_input(
    engine: Engine, sample_plans: dict[str, ImportReport]
) -> None:
    for inputs, name in (({"run": 10**9}, "run"), ({"site_check": 10**9}, "site_check")):
        with pytest.raises(ProcessInputError, match="no ") as caught:
            grid_impact.PROCESS.run(inputs, Context(engine))
        assert caught.value.input == name


# --- conflicts ----------------------------------------------------------------------------


def test_a_conflict_run_equals_the_cli_and_reports_progress(
    engine: Engine,
    sample_plans: dict[str, ImportReport],
    cli: Cli,
    written: Callable[[], tuple[int, int]],
) -> None:
    inputs = {
        "layers": ["urban_plan", "dev_boundary"],
        "versions": {"urban_plan": 1},
        "min_width": 3,
        "rules_sha256": load_rules(PlanSettings().rules_file).sha256,
    }
    ctx = Context(engine)
    before = written()
    result = _execute(conflicts.PROCESS, inputs, ctx)
    assert written() == (before[0], before[1] + 1)
    expected = cli(
        "conflicts", "urban_plan", "dev_boundary", "--version", "urban_plan=1", "--min-width", "3"
    )
    assert _without(result, "run_id", "seconds", "collection") == _without(
        expected, "run_id", "seconds"
    )
    assert result["by_type"] and result["by_county"]
    assert result["collection"]["href"] == f"/ogc/collections/conflicts.run{result['run_id']}"
    percents = [p for p, _ in ctx.calls]
    assert percents == sorted(percents) and percents[0] == 0 and percents[-1] == 100
    assert len(percents) >= 3 and "county chunks" in ctx.calls[-1][1]
    impact = _execute(grid_impact.PROCESS, {"run": result["run_id"]}, Context(engine))
    assert impact == cli("impact", "--run", str(result["run_id"]))
    with pytest.raises(ProcessInputError, match="no type") as caught:
        grid_impact.PROCESS.run({"run": result["run_id"], "types": ["nope"]}, Context(engine))
    assert caught.value.input == "types"


def test_a_cancelled_run_writes_nothing(
    engine: Engine, sample_plans: dict[str, ImportReport], written: Callable[[], tuple[int, int]]
) -> None:
    before = written()
    ctx = Context(engine, cancel_at=11)  # after the first county chunk
    with pytest.raises(JobCancelled):
        conflicts.PROCESS.run({"layers": ["urban_plan", "dev_boundary"]}, ctx)
    assert ctx.calls[-1][0] >= 11
    assert written() == before


BAD_RUNS = [
    ({"layers": []}, "layers", "name layer A"),
    ({"layers": ["urban_plan"]}, "layers", "control_lines"),
    ({"layers": ["urban_plan", "urban_plan"]}, "layers", "itself"),
    ({"layers": ["urban_plan", 3]}, "layers", "texts"),
    ({"layers": ["urban_plan"], "control_lines": "yes"}, "control_lines", "true or false"),
    ({"layers": ["a", "b"], "versions": {"a": 0}}, "versions", "version number"),
    ({"layers": ["a", "b"], "min_width": -1}, "min_width", "0 or more"),
    ({"layers": ["a", "b"], "rules_sha256": "0" * 64}, "rules_sha256", "rule file is"),
]


@pytest.mark.parametrize(("inputs", "name", "words"), BAD_RUNS)
def test_bad_run_inputs_are_refused(inputs: dict[str, Any], name: str, words: str) -> None:
    assert conflicts.PROCESS.check is not None
    with pytest.raises(ProcessInputError, match=words) as caught:
        conflicts.PROCESS.check(inputs, PLANNER)
    assert caught.value.input == name


@pytest.mark.parametrize(
    ("inputs", "name", "words"),
    [
        ({"layers": ["urban_plan", "nowhere"]}, "layers", "no plan layer 'nowhere'"),
        ({"layers": ["urban_plan", "dev_boundary"], "versions": {"urban_plan": 99}},
         "versions", "no version 99"),
        ({"layers": ["eco_redline", "dev_boundary"]}, "layers", "no conflict type"),
    ],
)  # fmt: skip
def test_runs_the_database_refuses_name_their_input(
    engine: Engine,
    sample_plans: dict[str, ImportReport],
    written: Callable[[], tuple[int, int]],
    inputs: dict[str, Any],
    name: str,
    words: str,
) -> None:
    before = written()
    with pytest.raises(ProcessInputError, match=words) as caught:
        conflicts.PROCESS.run(inputs, Context(engine))
    assert caught.value.input == name
    assert written() == before
