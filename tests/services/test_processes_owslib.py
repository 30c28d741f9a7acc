"""OWSLib's OGC API – Processes client, unchanged, against a real server: ``processes()``,
``process(id)`` and ``execute()`` (synchronous, and asynchronous: the job's status)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from subprocess import CompletedProcess

import owslib.ogcapi
import pytest
from owslib.ogcapi.processes import Processes
from sqlalchemy import Engine

from tests.services.conftest import serve
from tests.services.processes_support import Keys, make_keys, settings


@pytest.fixture(scope="module")
def base(url_env: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    for root in serve(settings(url_env, tmp_path_factory.mktemp("owslib-home"))):
        yield f"{root}/ogc"


@pytest.fixture(scope="module")
def keys(engine: Engine) -> Keys:
    return make_keys(engine)


@pytest.fixture
def client(base: str, keys: Keys) -> Iterator[Processes]:
    """A client with a planner's key. OWSLib keeps its headers in one module-level dict
    that every client updates (the key, then ``Prefer``): restored afterwards, so that other
    tests' OWSLib clients stay anonymous."""
    kept = dict(owslib.ogcapi.REQUEST_HEADERS)
    try:
        yield Processes(base, headers=Keys.header(keys.planner), timeout=120)
    finally:
        owslib.ogcapi.REQUEST_HEADERS.clear()
        owslib.ogcapi.REQUEST_HEADERS.update(kept)


def test_processes_and_a_description(client: Processes) -> None:
    ids = {p["id"] for p in client.processes()}
    assert {"grid-stats", "coverage-check"} <= ids
    described = client.process("coverage-check")
    assert described["inputs"]["community"]["minOccurs"] == 0
    assert "findings" in described["outputs"]


def test_execute_gives_what_the_cli_gives(
    client: Processes, onemap: Callable[..., CompletedProcess[str]], keys: Keys
) -> None:
    inputs = {"level": "county", "reference_date": "2024-06-30"}
    found = client.execute("grid-stats", inputs=inputs)
    cli = onemap("grid", "stats", "--level", "county", "--date", "2024-06-30", "--json")
    assert found == json.loads(cli.stdout)
    checked = client.execute("coverage-check", inputs={"community": keys.own})
    assert checked["community"] == keys.own and "counts" in checked


def test_execute_async_gives_the_job(client: Processes) -> None:
    job = client.execute("grid-stats", inputs={"level": "street"}, async_=True)
    assert job["type"] == "process" and job["processID"] == "grid-stats"
    assert job["status"] in ("accepted", "running", "successful")
    assert client.response_headers["Location"].endswith(f"/jobs/{job['jobID']}")
