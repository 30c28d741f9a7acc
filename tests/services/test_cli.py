"""The ``onemap`` command as a user runs it: help everywhere, one-sentence errors."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

Run = Callable[..., subprocess.CompletedProcess[str]]

COMMANDS = [
    [],
    ["backup"],
    ["backup", "create"],
    ["backup", "list"],
    ["backup", "verify"],
    ["backup", "restore"],
    ["backup", "drill"],
    ["db"],
    ["db", "start"],
    ["db", "stop"],
    ["db", "status"],
    ["db", "url"],
    ["db", "upgrade"],
    ["keys", "init"],
    ["samples"],
    ["samples", "load"],
    ["samples", "generate"],
    ["serve"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "onemap")
def test_help_everywhere(onemap: Run, command: list[str]) -> None:
    result = onemap(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_upgrade_twice_is_a_no_op(onemap: Run) -> None:
    result = onemap("db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert "unchanged" in result.stderr


def test_status_and_url_with_an_existing_server(onemap: Run, url_env: str) -> None:
    status = onemap("db", "status")
    assert status.returncode == 0, status.stderr
    assert "PostGIS 3" in status.stdout and "up to date" in status.stdout
    url = onemap("db", "url")
    assert url.stdout.strip().startswith("postgresql://") and "***" in url.stdout
    start = onemap("db", "start")
    assert start.returncode == 0 and "nothing local" in start.stderr


def test_wrong_database_url_is_one_sentence_not_a_traceback(onemap: Run) -> None:
    result = onemap("db", "upgrade", env={"ONEMAP_DATABASE_URL": "postgresql://u:p@127.0.0.1:1/x"})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: cannot connect")


def test_loading_into_a_loaded_database_asks_for_replace(onemap: Run) -> None:
    result = onemap("samples", "load", "data/samples/small")
    assert result.returncode == 1
    assert "--replace" in result.stderr and "Traceback" not in result.stderr
