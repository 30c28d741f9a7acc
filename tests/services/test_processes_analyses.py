"""The analyses as processes over real HTTP: ``site-check`` and ``grid-impact`` synchronously,
``conflicts`` and ``plan-import`` as jobs, each answering what the CLI's ``--json`` prints for
the same inputs; the run's collection link resolves; rights per role; a bad upload is a 400
with nothing written. (The adapters alone are tested in tests/processes/.)"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from subprocess import CompletedProcess
from typing import Any

import httpx
import pytest
import shapely
from sqlalchemy import Engine, text

from gis.geometry import transform_geometry
from layers.loader import load_plans
from layers.settings import PlanSettings
from services.processes.definitions import grid_impact, site_check
from tests.conftest import SAMPLE
from tests.services.conftest import serve
from tests.services.processes_support import Keys, make_keys, settings, wait_for

Run = Callable[..., CompletedProcess[str]]
JSON = {"Content-Type": "application/json"}
LAYER = "http-upload-boundary"


@pytest.fixture(scope="module")
def plans(engine: Engine) -> None:
    """The sample's plan layers (unchanged when already imported)."""
    load_plans(engine, SAMPLE, settings=PlanSettings())


@pytest.fixture(scope="module")
def base(url_env: str, tmp_path_factory: pytest.TempPathFactory, plans: None) -> Iterator[str]:
    yield from serve(settings(url_env, tmp_path_factory.mktemp("analyses-home")))


@pytest.fixture(scope="module")
def http(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{base}/ogc/", timeout=300) as client:
        yield client


@pytest.fixture(scope="module")
def keys(engine: Engine) -> Keys:
    return make_keys(engine)


@pytest.fixture(scope="module", autouse=True)
def _forget_written(engine: Engine) -> Iterator[None]:
    """Site checks, runs and the uploaded layer made here are removed afterwards."""
    with engine.connect() as conn:
        site = conn.execute(text("SELECT coalesce(max(id), 0) FROM plans.site_checks")).scalar()
        run = conn.execute(text("SELECT coalesce(max(id), 0) FROM plans.conflict_runs")).scalar()
    yield
    from tests.processes.plan_files import drop_layers

    with engine.begin() as conn:
        conn.execute(text("DELETE FROM plans.site_checks WHERE id > :s"), {"s": site})
        conn.execute(text("DELETE FROM plans.conflict_runs WHERE id > :r"), {"r": run})
    drop_layers(engine, "http-upload-")


def _execute(
    http: httpx.Client, process: str, inputs: dict[str, Any], key: str | None, prefer: str = ""
) -> httpx.Response:
    headers = {**JSON, **Keys.header(key), **({"Prefer": prefer} if prefer else {})}
    body = json.dumps({"inputs": inputs}).encode()
    return http.post(f"processes/{process}/execution", content=body, headers=headers)


def _cli(onemap: Run, *args: str) -> dict[str, Any]:
    done = onemap(*args, "--json")
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def _without(result: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k not in keys}


def _job_results(http: httpx.Client, response: httpx.Response, key: str) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    location = response.headers["location"]
    job = wait_for(http, location, lambda j: j["status"] in ("successful", "failed"), key, 300)
    assert job["status"] == "successful", job
    results = http.get(f"{location}/results", headers=Keys.header(key))
    assert results.status_code == 200, results.text
    found: dict[str, Any] = results.json()
    return found


def test_site_check_sync_equals_the_cli(http: httpx.Client, keys: Keys, onemap: Run) -> None:
    inputs = site_check.PROCESS.example["inputs"]
    answer = _execute(http, "site-check", inputs, keys.planner)  # sync by default
    assert answer.status_code == 200, answer.text
    expected = _cli(onemap, "plans", "sitecheck", "--geojson", json.dumps(inputs["site"]),
                    "--use", inputs["use"], "--name", inputs["name"])  # fmt: skip
    assert _without(answer.json(), "id") == _without(expected, "id")
    assert answer.json()["verdict"] == "fail"


def test_site_check_in_a_projected_crs_is_the_same_check(http: httpx.Client, keys: Keys) -> None:
    """The example's red line sent in zone 40 Gauss-Krüger (EPSG:4528) gets the same
    verdicts and areas as in lon/lat."""
    inputs = site_check.PROCESS.example["inputs"]
    polygon = shapely.geometry.shape(inputs["site"])
    projected = transform_geometry(polygon, "EPSG:4490", "EPSG:4528")
    moved = {**inputs, "site": shapely.geometry.mapping(projected), "crs": "EPSG:4528"}
    lonlat = _execute(http, "site-check", inputs, keys.planner).json()
    gk = _execute(http, "site-check", moved, keys.planner)
    assert gk.status_code == 200, gk.text
    pairs = zip(lonlat["items"], gk.json()["items"], strict=True)
    for a, b in pairs:
        assert (a["check"], a["verdict"]) == (b["check"], b["verdict"])
        assert b["overlap_m2"] == pytest.approx(a["overlap_m2"], rel=1e-4, abs=0.01)


def test_grid_impact_sync_equals_the_cli(http: httpx.Client, keys: Keys, onemap: Run) -> None:
    inputs = grid_impact.PROCESS.example["inputs"]
    answer = _execute(http, "grid-impact", inputs, keys.admin, "respond-sync")
    assert answer.status_code == 200, answer.text
    wkt = shapely.Polygon(inputs["area"]["coordinates"][0]).wkt
    assert answer.json() == _cli(onemap, "plans", "impact", "--wkt", wkt)


def test_a_conflict_run_as_a_job_equals_the_cli(
    http: httpx.Client, keys: Keys, onemap: Run
) -> None:
    inputs = {"layers": ["urban_plan", "dev_boundary"], "versions": {"urban_plan": 1}}
    response = _execute(http, "conflicts", inputs, keys.planner)  # async by default
    assert "respond-async" not in response.headers.get("preference-applied", "")
    ours = _job_results(http, response, keys.planner)
    expected = _cli(onemap, "plans", "conflicts", "urban_plan", "dev_boundary",
                    "--version", "urban_plan=1")  # fmt: skip
    assert _without(ours, "run_id", "seconds", "collection") == _without(
        expected, "run_id", "seconds"
    )
    collection = ours["collection"]["href"]
    assert collection == f"/ogc/collections/conflicts.run{ours['run_id']}"
    deadline = time.monotonic() + 20  # the registry sees a new run at its next refresh
    while http.get(collection.removeprefix("/ogc/")).status_code != 200:
        assert time.monotonic() < deadline, "the run's collection never appeared"
        time.sleep(0.2)


def test_plan_import_of_an_upload_as_a_job_equals_the_cli(
    http: httpx.Client, keys: Keys, onemap: Run
) -> None:
    boundary = SAMPLE / "plans" / "dev_boundary.geojson"
    file = {"value": base64.b64encode(boundary.read_bytes()).decode(),
            "mediaType": "application/geo+json", "encoding": "base64"}  # fmt: skip
    inputs = {"file": file, "layer": LAYER, "plan_type": "dev_boundary",
              "file_name": boundary.name}  # fmt: skip
    ours = _job_results(http, _execute(http, "plan-import", inputs, keys.admin), keys.admin)
    expected = _cli(onemap, "plans", "import", str(boundary), "--layer", LAYER + "-cli",
                    "--type", "dev_boundary")  # fmt: skip
    volatile = ("layer_id", "version_id", "seconds")
    assert _without(ours, *volatile) == _without(expected, *volatile)
    assert ours["status"] == "imported" and ours["loaded"] > 0


def test_a_bad_upload_is_a_400_and_writes_nothing(
    http: httpx.Client, keys: Keys, engine: Engine
) -> None:
    def layers() -> int:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM plans.layer_versions")).scalar_one())

    before = layers()
    fake = {"value": base64.b64encode(b"PK\x03\x04 not a zip at all").decode(),
            "mediaType": "application/zip", "encoding": "base64"}  # fmt: skip
    inputs = {"file": fake, "layer": LAYER + "-bad", "plan_type": "dev_boundary"}
    answer = _execute(http, "plan-import", inputs, keys.planner, "respond-sync")
    assert answer.status_code == 400, answer.text
    assert "file" in answer.json()["description"]
    assert layers() == before


def test_rights_per_role(http: httpx.Client, keys: Keys) -> None:
    inputs = site_check.PROCESS.example["inputs"]
    assert _execute(http, "site-check", inputs, None).status_code == 404  # not known to them
    assert _execute(http, "site-check", inputs, keys.worker).status_code == 403
    upload = {"layer": LAYER, "plan_type": "dev_boundary", "file": {"value": ""}}
    assert _execute(http, "plan-import", upload, keys.worker).status_code == 403
    assert _execute(http, "conflicts", {"layers": ["urban_plan"]}, None).status_code == 404
