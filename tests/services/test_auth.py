"""API keys over real HTTP: made by the real CLI, stored only as a hash, checked by the gate
in front of every route (401 with a challenge, 403 for a role that may not, 429 for an
address that keeps guessing), revoked within the cache time."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, text

from gis.settings import DatabaseSettings
from grid.settings import PrivacySettings
from services.auth.gate import FailureLimiter
from services.settings import AuthSettings, Settings
from tests.services.conftest import serve

SECRET = "k" * 40
"""The secret the ``onemap`` fixture gives the CLI: the app must hash keys alike."""
CACHE_SECONDS = 0.5


def _settings(url_env: str, home: Path, **auth: Any) -> Settings:
    return Settings(
        database=DatabaseSettings(database_url=url_env, home=home),
        privacy=PrivacySettings(secret_key=SecretStr(SECRET)),
        auth=AuthSettings(**{"cache_seconds": CACHE_SECONDS, **auth}),
    )


@pytest.fixture(scope="module")
def base(url_env: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serve(_settings(url_env, tmp_path_factory.mktemp("auth-home")))


Run = Callable[..., Any]


def _create(onemap: Run, *args: str) -> dict[str, Any]:
    done = onemap("keys", "create", *args, "--json")
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def _first_worker(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT min(id) FROM grid.workers")).scalar_one())


def test_a_key_is_shown_once_and_stored_only_as_a_hash(onemap: Run, engine: Engine) -> None:
    made = _create(onemap, "--role", "planner", "--name", "规划局 GIS")
    key = made["key"]
    assert key.startswith("lyg_") and len(key) >= 40
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT to_jsonb(k) AS j, key_hash FROM auth.api_keys k WHERE id = :id"),
            {"id": made["id"]},
        ).one()
    assert key not in json.dumps(row.j) and key.encode() not in bytes(row.key_hash)
    assert row.j["prefix"] == key[:12] and row.j["role"] == "planner"
    listed = onemap("keys", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert key not in listed.stdout
    mine = next(k for k in json.loads(listed.stdout) if k["id"] == made["id"])
    assert (mine["name"], mine["state"]) == ("规划局 GIS", "active")


def test_a_grid_worker_key_names_an_existing_worker(onemap: Run, engine: Engine) -> None:
    missing = onemap("keys", "create", "--role", "grid_worker")
    assert missing.returncode != 0 and "names its worker" in missing.stderr
    unknown = onemap("keys", "create", "--role", "grid_worker", "--worker", "999999999")
    assert unknown.returncode != 0 and "no grid worker with id 999999999" in unknown.stderr
    wrong = onemap("keys", "create", "--role", "superuser")
    assert wrong.returncode != 0 and "is not one of" in wrong.stderr
    worker = _first_worker(engine)
    made = _create(onemap, "--role", "grid_worker", "--worker", str(worker), "--expires", "90d")
    assert made["worker_id"] == worker and made["expires_at"] is not None


@pytest.mark.parametrize("header", ["Authorization", "X-API-Key"])
def test_a_valid_key_is_known_to_every_route(
    onemap: Run, engine: Engine, base: str, header: str
) -> None:
    worker = _first_worker(engine)
    key = _create(onemap, "--role", "grid_worker", "--worker", str(worker))["key"]
    value = f"Bearer {key}" if header == "Authorization" else key
    me = httpx.get(f"{base}/auth/me", headers={header: value})
    assert me.status_code == 200, me.text
    assert me.json() == {"role": "grid_worker", "name": "grid_worker", "worker_id": worker}
    assert httpx.get(f"{base}/ogc/collections", headers={header: value}).status_code == 200


def _challenged(response: httpx.Response, words: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith('Bearer realm="onemap"')
    body = response.json()
    assert body["code"] == "NotAuthorised" and words in body["description"]


def test_no_key_is_public_and_a_bad_key_is_refused_everywhere(base: str) -> None:
    assert httpx.get(f"{base}/ogc/collections/buildings/items?limit=1").status_code == 200
    _challenged(httpx.get(f"{base}/auth/me"), "needs an API key")
    bad = {"Authorization": "Bearer lyg_" + "x" * 43}
    _challenged(httpx.get(f"{base}/ogc/collections", headers=bad), "unknown API key")
    _challenged(httpx.get(f"{base}/health", headers={"X-API-Key": "guess"}), "not an API key")
    basic = {"Authorization": "Basic dXNlcjpwYXNz"}
    _challenged(httpx.get(f"{base}/ogc", headers=basic), "Bearer <API key>")


def test_only_admins_list_keys(onemap: Run, base: str) -> None:
    planner = _create(onemap, "--role", "planner")["key"]
    admin = _create(onemap, "--role", "admin", "--name", "ops")["key"]
    refused = httpx.get(f"{base}/auth/keys", headers={"X-API-Key": planner})
    assert refused.status_code == 403 and refused.json()["code"] == "Forbidden"
    listed = httpx.get(f"{base}/auth/keys", headers={"X-API-Key": admin})
    assert listed.status_code == 200, listed.text
    assert planner not in listed.text and admin not in listed.text
    assert {"admin", "planner"} <= {k["role"] for k in listed.json()["keys"]}


def test_expired_and_revoked_keys_stop_working(onemap: Run, engine: Engine, base: str) -> None:
    made = _create(onemap, "--role", "planner")
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE auth.api_keys SET expires_at = now() - interval '1 s' WHERE id = :id"),
            {"id": made["id"]},
        )
    _challenged(httpx.get(f"{base}/auth/me", headers={"X-API-Key": made["key"]}), "expired")

    live = _create(onemap, "--role", "planner")
    headers = {"X-API-Key": live["key"]}
    assert httpx.get(f"{base}/auth/me", headers=headers).status_code == 200
    assert onemap("keys", "revoke", str(live["id"])).returncode == 0
    deadline = time.monotonic() + 10 * CACHE_SECONDS + 5
    while (answer := httpx.get(f"{base}/auth/me", headers=headers)).status_code == 200:
        assert time.monotonic() < deadline, "a revoked key kept working past the cache time"
        time.sleep(CACHE_SECONDS / 2)
    _challenged(answer, "revoked")


def test_an_address_that_keeps_guessing_is_slowed(
    onemap: Run, url_env: str, tmp_path: Path
) -> None:
    good = _create(onemap, "--role", "planner")["key"]
    settings = _settings(url_env, tmp_path, max_failures=3, failure_window_seconds=60)
    for guarded in serve(settings):
        guesses = [
            httpx.get(f"{guarded}/auth/me", headers={"X-API-Key": f"lyg_guess{n}"})
            for n in range(4)
        ]
        assert [g.status_code for g in guesses] == [401, 401, 401, 429]
        assert 1 <= int(guesses[-1].headers["retry-after"]) <= 60
        assert guesses[-1].json()["code"] == "TooManyRequests"
        blocked = httpx.get(f"{guarded}/auth/me", headers={"X-API-Key": good})
        assert blocked.status_code == 429  # while blocked, not even a good key is checked
        assert httpx.get(f"{guarded}/ogc/collections").status_code == 200  # reading goes on


def test_only_addresses_that_failed_are_remembered() -> None:
    """Asking whether an address may try costs no memory; failures do, up to the window."""
    limiter = FailureLimiter(limit=2, window=60)
    for n in range(100):
        assert limiter.retry_after(f"10.0.0.{n}") == 0
    assert limiter.remembered() == 0
    limiter.record("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") == 0 and limiter.remembered() == 1
    limiter.record("10.0.0.1")
    assert 1 <= limiter.retry_after("10.0.0.1") <= 61
