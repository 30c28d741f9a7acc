"""The real ``onemap`` command when the setup or the database fails: one sentence, no
traceback, no password, and an import that loses its session leaves the layer as it was."""

from __future__ import annotations

import secrets
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from gis.errors import DatabaseError
from gis.settings import DatabaseSettings
from services.settings import Settings
from tests.conftest import SAMPLE
from tests.processes.plan_files import drop_layers
from tests.services.conftest import free_port

Onemap = Callable[..., subprocess.CompletedProcess[str]]

BOUNDARY = SAMPLE / "plans" / "dev_boundary.geojson"

MALFORMED = {
    "no scheme": ("onemap:secret@127.0.0.1:59999/onemap", "no scheme"),
    "port not a number": (
        "postgresql://onemap:secret@127.0.0.1:notaport/onemap",
        "port is not a number",
    ),
}

COMMANDS = {
    "db status": ("db", "status"),
    "db url": ("db", "url", "--show-password"),
    "plans list": ("plans", "list"),
    "plans import": ("plans", "import", str(BOUNDARY), "--layer", "x", "--type", "dev_boundary"),
    "serve": ("serve", "--port", "0"),
}


def _lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
@pytest.mark.parametrize("url,problem", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_database_url_is_one_sentence(
    onemap: Onemap, command: tuple[str, ...], url: str, problem: str
) -> None:
    result = onemap(*command, env={"ONEMAP_DATABASE_URL": url})
    assert result.returncode != 0
    lines = _lines(result)
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ONEMAP_DATABASE_URL")
    assert problem in lines[0]
    assert "secret" not in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


BAD_SETTINGS = {
    "not a number": ({"ONEMAP_PG_PORT": "abc"}, "ONEMAP_PG_PORT: Input should be a valid integer"),
    "not a list": (
        {"ONEMAP_DB_REPLICAS": "55446"},
        "ONEMAP_DB_REPLICAS: Input should be a valid list",
    ),
    "not JSON": ({"ONEMAP_DB_REPLICAS": "[55446"}, "cannot be read"),
    "a list item": (
        {"ONEMAP_DB_REPLICAS": "[{}]"},
        "ONEMAP_DB_REPLICAS[0]: Input should be a valid string",
    ),
}


@pytest.mark.parametrize("env,problem", BAD_SETTINGS.values(), ids=BAD_SETTINGS.keys())
def test_a_bad_setting_is_one_sentence_naming_the_variable(
    onemap: Onemap, env: dict[str, str], problem: str
) -> None:
    result = onemap("db", "status", env=env)
    assert result.returncode == 1
    lines = _lines(result)
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    assert problem in lines[0]


def test_a_replica_port_may_be_a_json_number(monkeypatch: pytest.MonkeyPatch) -> None:
    from gis.settings import ReplicaSettings

    monkeypatch.setenv("ONEMAP_DB_REPLICAS", '[55446, "db2.example:5432"]')
    assert ReplicaSettings().replicas == ["55446", "db2.example:5432"]


@pytest.mark.parametrize("url,problem", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_database_url_fails_where_settings_are_built(url: str, problem: str) -> None:
    with pytest.raises(DatabaseError, match=problem) as raised:
        Settings(database=DatabaseSettings(database_url=url))
    assert "secret" not in str(raised.value)


def _lock_waiter(engine: Engine, application: str, running: threading.Thread) -> int:
    """The backend of the command once it waits for a lock (it is then mid-way)."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and running.is_alive():
        with engine.connect() as conn:
            pid = conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE application_name = :app AND wait_event_type = 'Lock'"
                ),
                {"app": application},
            ).scalar_one_or_none()
        if pid is not None:
            return int(pid)
        time.sleep(0.1)
    raise AssertionError("the command never waited for the locked table")


def _terminated(
    onemap: Onemap, engine: Engine, table: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """Run ``onemap *args`` while ``table`` is locked; end its session once it waits for it."""
    application = f"onemap-fault-{secrets.token_hex(4)}"
    results: list[subprocess.CompletedProcess[str]] = []
    running = threading.Thread(
        target=lambda: results.append(onemap(*args, env={"PGAPPNAME": application}))
    )
    with engine.connect() as blocker, blocker.begin():
        blocker.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
        running.start()
        pid = _lock_waiter(engine, application, running)
        with engine.connect() as admin:
            assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    running.join(timeout=120)
    (result,) = results
    return result


def _versions(engine: Engine, layer: str) -> list[tuple[int, int]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT v.version, count(f.*) FROM plans.layer_versions v"
                " LEFT JOIN plans.features f ON f.layer_version_id = v.id"
                " WHERE v.layer_id = :layer GROUP BY v.version ORDER BY v.version"
            ),
            {"layer": layer},
        )
        return [(int(version), int(n)) for version, n in rows]


def test_import_whose_session_is_terminated_is_rolled_back(
    onemap: Onemap, engine: Engine, tmp_path: Path
) -> None:
    layer = f"fault-boundary-{secrets.token_hex(3)}"
    try:
        args = ("--layer", layer, "--type", "dev_boundary")
        first = onemap("plans", "import", str(BOUNDARY), *args)
        assert first.returncode == 0, first.stderr
        before = _versions(engine, layer)
        assert [version for version, _ in before] == [1]

        changed = tmp_path / "dev_boundary.geojson"
        changed.write_text(BOUNDARY.read_text(encoding="utf-8") + "\n", encoding="utf-8")
        # The import registers version 2, then waits to COPY its features: terminate it there.
        result = _terminated(
            onemap, engine, "plans.features", "plans", "import", str(changed), *args
        )

        assert result.returncode != 0
        output = result.stdout + result.stderr
        assert "Traceback" not in output
        errors = [line for line in _lines(result) if line.startswith("error:")]
        assert len(errors) == 1, output
        assert "rolled back" in errors[0]
        assert f"{layer} version 1 is still current" in errors[0]
        assert _versions(engine, layer) == before
    finally:  # other tests list the plan layers: leave none behind
        drop_layers(engine, layer)


def test_any_command_that_loses_its_session_says_so_in_one_sentence(
    onemap: Onemap, engine: Engine
) -> None:
    result = _terminated(onemap, engine, "plans.layers", "plans", "list")
    assert result.returncode != 0
    lines = _lines(result)
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: the database connection was lost (terminating connection")
    assert "rolled back" in lines[0]
    assert "Traceback" not in result.stdout + result.stderr


def test_unreachable_database_is_one_sentence(onemap: Onemap) -> None:
    url = f"postgresql://onemap:secret@127.0.0.1:{free_port()}/onemap"
    result = onemap("plans", "list", env={"ONEMAP_DATABASE_URL": url})
    assert result.returncode != 0
    lines = _lines(result)
    assert len(lines) == 1 and lines[0].startswith("error: cannot connect"), lines
    assert "secret" not in result.stdout + result.stderr
