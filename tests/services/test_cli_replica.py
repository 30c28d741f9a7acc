"""``onemap db replica`` as a user runs it: create, status --json, remove on the session
cluster; refusals in one sentence with exit codes 1-2 and nothing made."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from gis.settings import DatabaseSettings
from tests.replica_support import free_ports
from tests.services.conftest import ROOT, free_port


def _onemap(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ONEMAP_")}
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "db", "replica", *args],
        cwd=ROOT, env={**environment, "COLUMNS": "200", **env},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_create_status_remove_through_the_cli(
    engine: Engine, db_settings: DatabaseSettings
) -> None:
    if db_settings.database_url:
        pytest.skip("replicas are made of the local cluster (ONEMAP_DATABASE_URL is set)")
    env = {"ONEMAP_HOME": str(db_settings.home), "ONEMAP_PG_PORT": str(db_settings.pg_port)}
    (port,) = free_ports(db_settings.pg_port, 1)
    made = _onemap("create", "--name", "t_cli", "--port", str(port), **env)
    assert made.returncode == 0, made.stderr
    try:
        assert (
            f"replica t_cli (asynchronous) streams from port {db_settings.pg_port}" in made.stderr
        )
        again = _onemap("create", "--name", "t_cli", "--port", str(port), **env)
        assert again.returncode == 1
        assert again.stderr.count("\n") == 1 and "already exists" in again.stderr
        shown = _onemap("status", "--json", **env)
        assert shown.returncode == 0, shown.stderr
        (row,) = [r for r in json.loads(shown.stdout) if r["name"] == "t_cli"]
        assert row["running"] and row["port"] == port and row["role"] == "standby"
        assert row["state"] == "streaming" and row["slot"] == "onemap_t_cli"
        assert row["lag_bytes"] is not None and row["slot_active"] is True
    finally:
        removed = _onemap("remove", "--name", "t_cli", **env)
    assert removed.returncode == 0, removed.stderr
    assert not (db_settings.home / "replicas" / "t_cli").exists()


def test_refusals_are_one_sentence_and_make_nothing(tmp_path: Path) -> None:
    env = {"ONEMAP_HOME": str(tmp_path), "ONEMAP_PG_PORT": str(free_port())}
    down = _onemap("create", "--name", "r", "--port", str(free_port()), **env)
    assert down.returncode == 1 and down.stderr.count("\n") == 1
    assert "is not running: start it with `onemap db start`" in down.stderr
    assert not (tmp_path / "replicas").exists()
    unknown = _onemap("promote", "--name", "nope", **env)
    assert unknown.returncode == 1 and "no replica named 'nope'" in unknown.stderr
    listed = _onemap("status", "--json", **env)
    assert listed.returncode == 0 and json.loads(listed.stdout) == []
    remote = _onemap("status", ONEMAP_DATABASE_URL="postgresql://u:p@h:5432/d", **env)
    assert remote.returncode == 2 and "ONEMAP_DATABASE_URL is set" in remote.stderr
