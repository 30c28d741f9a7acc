"""OGC API – Processes over real HTTP: the list and descriptions, synchronous and
asynchronous execution with results equal to the CLI's ``--json`` for the same inputs,
jobs, rights per role, and bad requests answered 4xx with an OGC body, writing nothing."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from subprocess import CompletedProcess
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from services.processes.failures import NO_SUCH_JOB, NO_SUCH_PROCESS, RESULT_NOT_READY
from services.settings import ProcessSettings
from tests.services.conftest import ROOT, serve
from tests.services.processes_support import Keys, make_keys, settings, wait_for

Run = Callable[..., CompletedProcess[str]]
PROCESSES = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def base(url_env: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serve(settings(url_env, tmp_path_factory.mktemp("processes-home")))


@pytest.fixture(scope="module")
def http(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{base}/ogc/", timeout=120) as client:
        yield client


@pytest.fixture(scope="module")
def keys(engine: Engine) -> Keys:
    return make_keys(engine)


def _execute(
    http: httpx.Client,
    process: str,
    body: Any,
    key: str | None = None,
    prefer: str | None = None,
) -> httpx.Response:
    headers = {**JSON, **Keys.header(key), **({"Prefer": prefer} if prefer else {})}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return http.post(f"processes/{process}/execution", content=content, headers=headers)


def _cli(onemap: Run, *args: str) -> Any:
    done = onemap(*args, "--json")
    assert done.returncode in (0, 2), done.stderr
    return json.loads(done.stdout)


def _jobs(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM jobs.jobs")).scalar_one())


def _ogc_error(response: httpx.Response, status: int, kind: str | None = None) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert {"code", "type", "description"} <= set(body), body
    if kind is not None:
        assert body["type"] == kind, body
    return str(body["description"])


# --- documents --------------------------------------------------------------------------------


def test_the_list_holds_what_the_caller_may_run(http: httpx.Client, keys: Keys) -> None:
    def ids(key: str | None) -> set[str]:
        response = http.get("processes", headers=Keys.header(key))
        assert response.status_code == 200, response.text
        return {p["id"] for p in response.json()["processes"]}

    assert ids(None) == {"test-sleep"}
    everything = {"site-check", "grid-impact", "conflicts", "coverage-check", "grid-stats",
                  "plan-import", "test-sleep"}  # fmt: skip
    assert ids(keys.planner) == ids(keys.admin) == everything
    assert ids(keys.worker) == {"coverage-check", "test-sleep"}


def test_a_description_has_schemas_modes_and_an_example(http: httpx.Client, keys: Keys) -> None:
    found = http.get("processes/grid-stats", headers=Keys.header(keys.planner)).json()
    assert found["id"] == "grid-stats" and found["version"]
    assert found["jobControlOptions"] == ["sync-execute", "async-execute", "dismiss"]
    assert found["outputTransmission"] == ["value"]
    level = found["inputs"]["level"]
    assert level["schema"]["enum"] == ["cell", "community", "street", "county"]
    assert (level["minOccurs"], level["maxOccurs"]) == (1, 1)
    assert found["inputs"]["reference_date"]["minOccurs"] == 0
    assert set(found["outputs"]) == {"level", "reference_date", "areas", "totals", "unassigned"}
    assert found["example"]["inputs"]["level"] == "county"
    rels = {link["rel"] for link in found["links"]}
    assert "http://www.opengis.net/def/rel/ogc/1.0/execute" in rels
    anonymous = http.get("processes/grid-stats")
    _ogc_error(anonymous, 404, NO_SUCH_PROCESS)
    _ogc_error(http.get("processes/grid-stats", headers=Keys.header(keys.worker)), 403)
    _ogc_error(http.get("processes/nothing-like-it"), 404, NO_SUCH_PROCESS)
    _ogc_error(http.get("processes", params={"f": "html"}), 400)


def test_conformance_and_landing_page_name_processes(http: httpx.Client) -> None:
    classes = set(http.get("conformance").json()["conformsTo"])
    for name in ("core", "json", "job-list", "dismiss", "ogc-process-description", "oas30"):
        assert PROCESSES + name in classes
    assert PROCESSES + "callback" not in classes
    landing = http.get("", follow_redirects=True).json()
    rels = {link["rel"]: link["href"] for link in landing["links"]}
    assert rels["http://www.opengis.net/def/rel/ogc/1.0/processes"].endswith("/ogc/processes")
    assert rels["http://www.opengis.net/def/rel/ogc/1.0/job-list"].endswith("/ogc/jobs")


# --- synchronous and asynchronous, as the CLI ------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "args"),
    [
        ({"level": "county", "reference_date": "2024-06-30"},
         ("--level", "county", "--date", "2024-06-30")),
        ({"level": "community"}, ("--level", "community")),
    ],
)  # fmt: skip
def test_grid_stats_sync_equals_the_cli(
    http: httpx.Client, keys: Keys, onemap: Run, inputs: dict[str, str], args: tuple[str, ...]
) -> None:
    response = _execute(http, "grid-stats", {"inputs": inputs}, keys.planner, "respond-sync")
    assert response.status_code == 200, response.text
    assert response.headers["preference-applied"] == "respond-sync"
    assert response.json() == _cli(onemap, "grid", "stats", *args)
    monitor = response.headers["link"].split(">")[0].lstrip("<")
    job = http.get(monitor, headers=Keys.header(keys.planner)).json()
    assert (job["status"], job["progress"], job["processID"]) == ("successful", 100, "grid-stats")
    results = http.get(f"{monitor}/results", headers=Keys.header(keys.planner))
    assert results.content == response.content  # the very text, key order kept


def test_coverage_check_sync_equals_the_cli(http: httpx.Client, keys: Keys, onemap: Run) -> None:
    city = _execute(http, "coverage-check", {"inputs": {}}, keys.planner)  # sync by default
    assert city.status_code == 200, city.text
    assert "preference-applied" not in city.headers
    assert city.json() == _cli(onemap, "grid", "check")
    one = _execute(http, "coverage-check", {"inputs": {"community": keys.own}}, keys.planner)
    assert one.status_code == 200, one.text
    assert one.json() == _cli(onemap, "grid", "check", "--community", keys.own)
    assert one.json()["community"] == keys.own


def test_async_execution_is_a_job_whose_results_equal_the_cli(
    http: httpx.Client, keys: Keys, onemap: Run
) -> None:
    inputs = {"level": "street", "reference_date": "2025-01-01"}
    response = _execute(http, "grid-stats", {"inputs": inputs}, keys.planner, "respond-async")
    assert response.status_code == 201, response.text
    assert response.headers["preference-applied"] == "respond-async"
    location = response.headers["location"]
    created = response.json()
    assert location.endswith(f"/ogc/jobs/{created['jobID']}")
    assert created["status"] in ("accepted", "running", "successful")
    job = wait_for(http, location, lambda j: j["status"] == "successful", keys.planner)
    assert job["progress"] == 100 and job["type"] == "process"
    assert job["created"] <= job["started"] <= job["finished"]
    results_link = next(x for x in job["links"] if x["rel"].endswith("/results"))
    results = http.get(results_link["href"], headers=Keys.header(keys.planner))
    assert results.status_code == 200
    assert results.json() == _cli(onemap, "grid", "stats", "--level", "street", "--date",
                                  "2025-01-01")  # fmt: skip
    listed = http.get("jobs", headers=Keys.header(keys.planner)).json()
    assert created["jobID"] in {j["jobID"] for j in listed["jobs"]}


def test_outputs_can_be_chosen_and_raw(http: httpx.Client, keys: Keys) -> None:
    inputs = {"level": "county", "reference_date": "2024-06-30"}
    full = _execute(http, "grid-stats", {"inputs": inputs}, keys.planner).json()
    chosen = {"inputs": inputs, "outputs": {"totals": {}, "level": {}}}
    assert _execute(http, "grid-stats", chosen, keys.planner).json() == {
        "level": "county", "totals": full["totals"]}  # fmt: skip
    raw = {"inputs": inputs, "outputs": {"totals": {}}, "response": "raw"}
    assert _execute(http, "grid-stats", raw, keys.planner).json() == full["totals"]
    queued = _execute(http, "grid-stats", raw, keys.planner, "respond-async")
    url = queued.headers["location"]
    wait_for(http, url, lambda j: j["status"] == "successful", keys.planner)
    later = http.get(f"{url}/results", headers=Keys.header(keys.planner))
    assert later.json() == full["totals"]
    qualified = {"inputs": {"level": {"value": "county"}, "reference_date": "2024-06-30"}}
    assert _execute(http, "grid-stats", qualified, keys.planner).json() == full


# --- rights -----------------------------------------------------------------------------------


def test_rights_per_role(http: httpx.Client, keys: Keys, engine: Engine) -> None:
    stats = {"inputs": {"level": "county"}}
    _ogc_error(_execute(http, "grid-stats", stats, None), 404, NO_SUCH_PROCESS)
    _ogc_error(_execute(http, "grid-stats", stats, keys.worker), 403)
    assert _execute(http, "grid-stats", stats, keys.admin).status_code == 200
    own = {"inputs": {"community": keys.own}}
    other = {"inputs": {"community": keys.other}}
    assert _execute(http, "coverage-check", own, keys.worker).status_code == 200
    before = _jobs(engine)
    assert "own community" in _ogc_error(_execute(http, "coverage-check", other, keys.worker), 403)
    assert "own community" in _ogc_error(
        _execute(http, "coverage-check", {}, keys.worker, "respond-async"), 403
    )
    assert _jobs(engine) == before, "a refused request wrote a job"
    assert _execute(http, "coverage-check", other, keys.planner).status_code == 200
    _ogc_error(_execute(http, "coverage-check", own, None), 404, NO_SUCH_PROCESS)


def test_jobs_are_their_callers_and_the_admins(http: httpx.Client, keys: Keys) -> None:
    stats = {"inputs": {"level": "county"}}
    mine = _execute(http, "grid-stats", stats, keys.planner, "respond-async")
    url = mine.headers["location"]
    job_id = mine.json()["jobID"]
    wait_for(http, url, lambda j: j["status"] == "successful", keys.planner)
    for stranger in (None, keys.planner2, keys.worker):
        _ogc_error(http.get(url, headers=Keys.header(stranger)), 404, NO_SUCH_JOB)
        _ogc_error(http.get(f"{url}/results", headers=Keys.header(stranger)), 404, NO_SUCH_JOB)
        _ogc_error(http.delete(url, headers=Keys.header(stranger)), 404, NO_SUCH_JOB)
        listed = http.get("jobs", headers=Keys.header(stranger)).json()["jobs"]
        assert job_id not in {j["jobID"] for j in listed}
    assert http.get(url, headers=Keys.header(keys.admin)).json()["status"] == "successful"
    everyone = http.get("jobs", headers=Keys.header(keys.admin), params={"limit": 1000})
    assert job_id in {j["jobID"] for j in everyone.json()["jobs"]}
    anonymous = _execute(http, "test-sleep", {"inputs": {"seconds": 0}}, None, "respond-sync")
    assert anonymous.status_code == 200, anonymous.text
    assert anonymous.json()["cells"] > 0
    monitor = anonymous.headers["link"].split(">")[0].lstrip("<")
    assert http.get(monitor).json()["status"] == "successful"  # by its id
    assert http.get("jobs").json()["jobs"] == []  # but never listed
    _ogc_error(http.get(monitor, headers=Keys.header(keys.planner)), 404, NO_SUCH_JOB)


def test_the_job_list_pages_and_filters(http: httpx.Client, keys: Keys) -> None:
    for level in ("county", "street", "community"):
        done = _execute(http, "grid-stats", {"inputs": {"level": level}}, keys.planner2)
        assert done.status_code == 200
    first = http.get("jobs", params={"limit": 2}, headers=Keys.header(keys.planner2)).json()
    assert len(first["jobs"]) == 2
    following = next(link["href"] for link in first["links"] if link["rel"] == "next")
    second = http.get(following, headers=Keys.header(keys.planner2)).json()
    seen = [j["jobID"] for j in first["jobs"] + second["jobs"]]
    assert len(seen) == len(set(seen)) >= 3
    created = [j["created"] for j in first["jobs"] + second["jobs"]]
    assert created == sorted(created, reverse=True)
    by_status = http.get("jobs", params={"status": "failed"}, headers=Keys.header(keys.planner2))
    assert by_status.json()["jobs"] == []
    by_process = http.get("jobs", params={"processID": "coverage-check"},
                          headers=Keys.header(keys.planner2))  # fmt: skip
    assert by_process.json()["jobs"] == []
    _ogc_error(http.get("jobs", params={"limit": "many"}, headers=Keys.header(keys.planner2)), 400)
    _ogc_error(http.get("jobs", params={"status": "lost"}, headers=Keys.header(keys.planner2)), 400)
    _ogc_error(http.get("jobs", params={"sortby": "x"}, headers=Keys.header(keys.planner2)), 400)


# --- bad requests -----------------------------------------------------------------------------


def test_bad_requests_are_4xx_and_write_nothing(
    http: httpx.Client, keys: Keys, engine: Engine
) -> None:
    before = _jobs(engine)
    p = keys.planner

    def bad(process: str, body: Any, status: int = 400, **headers: str) -> str:
        hdrs = {**JSON, **Keys.header(p), **headers}
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = http.post(f"processes/{process}/execution", content=content, headers=hdrs)
        return _ogc_error(response, status)

    _ogc_error(_execute(http, "no-such", {"inputs": {}}, p), 404, NO_SUCH_PROCESS)
    assert "no such input" in bad("grid-stats", {"inputs": {"level": "county", "colour": 1}})
    assert "'level'" in bad("grid-stats", {"inputs": {"level": 3}})
    assert "'level'" in bad("grid-stats", {"inputs": {"level": "province"}})
    assert "is required" in bad("grid-stats", {"inputs": {}})
    assert "reference_date" in bad(
        "grid-stats", {"inputs": {"level": "county", "reference_date": "2024-02-30"}}
    )
    assert "not JSON" in bad("grid-stats", b"{'inputs': ")
    assert "not JSON" in bad("grid-stats", b"\xff\xfe")
    assert "JSON object" in bad("grid-stats", [1, 2])
    assert "nested too deeply" in bad("grid-stats", b"[" * 100_000 + b"]" * 100_000)
    assert "unknown member" in bad("grid-stats", {"inputs": {"level": "county"}, "mode": "x"})
    assert "no output" in bad("grid-stats", {"inputs": {"level": "county"}, "outputs": {"x": {}}})
    assert "raw" in bad("grid-stats", {"inputs": {"level": "county"}, "response": "raw"})
    assert "by reference" in bad("grid-stats", {"inputs": {"level": {"href": "http://x/y"}}})
    assert "community" in bad("coverage-check", {"inputs": {"community": "320799999999"}})
    assert "community" in bad("coverage-check", {"inputs": {"community": "3207"}})
    limit = ProcessSettings().max_execute_bytes  # above ONEMAP_HTTP_MAX_BODY_BYTES: uploads
    huge = json.dumps({"inputs": {"level": "county", "pad": "x" * limit}}).encode()
    bad("grid-stats", huge, 413)
    bad("grid-stats", b"level=county", 415, **{"Content-Type": "application/x-www-form-urlencoded"})
    assert _jobs(engine) == before, "a bad request wrote a job"
    _ogc_error(http.get("jobs/not-a-uuid"), 404, NO_SUCH_JOB)
    _ogc_error(http.get("jobs/00000000-0000-0000-0000-000000000000/results"), 404, NO_SUCH_JOB)
    _ogc_error(http.delete("jobs/00000000-0000-0000-0000-000000000000"), 404, NO_SUCH_JOB)
    _ogc_error(http.put("processes/grid-stats/execution"), 405)


def test_a_failed_run_is_a_failed_job_with_its_reason(http: httpx.Client, keys: Keys) -> None:
    """A run that refuses its input is a 400 and a failed job saying why; one that crashes
    is a 500 whose sentence hides the detail (the worker logs it); results are not ready
    while the job runs."""
    p = keys.planner
    refused = _execute(http, "test-sleep", {"inputs": {"seconds": 0, "fail": "input"}}, p,
                       "respond-sync")  # fmt: skip
    assert "the run refused its input" in _ogc_error(refused, 400)
    crashed = _execute(http, "test-sleep", {"inputs": {"seconds": 0, "fail": "crash"}}, p)
    url = crashed.headers["location"]
    job = wait_for(http, url, lambda j: j["status"] == "failed", p)
    assert "internal error" in job["message"] and "secret" not in job["message"]
    results = http.get(f"{url}/results", headers=Keys.header(p))
    assert "secret" not in _ogc_error(results, 500)
    slow = _execute(http, "test-sleep", {"inputs": {"seconds": 3}}, p)
    url = slow.headers["location"]
    _ogc_error(http.get(f"{url}/results", headers=Keys.header(p)), 404, RESULT_NOT_READY)
    wait_for(http, url, lambda j: j["status"] == "successful", p)
    assert http.get(f"{url}/results", headers=Keys.header(p)).json()["steps"] == 1


def test_the_worker_module_imports_first_in_a_fresh_interpreter() -> None:
    """A forkserver started by another pool (the base maps') preloads nothing of ours: the
    worker's module is then the first thing a worker imports, and must not reach the OGC
    routes (which import the manager, which imports it) on the way."""
    import subprocess
    import sys

    probe = (
        "import sys, services.processes.worker as w;"
        " print(any(m.startswith('services.ogcapi') for m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=False, cwd=ROOT)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
