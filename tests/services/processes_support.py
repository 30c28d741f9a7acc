"""What the OGC API – Processes tests share: the app's settings (the test-only process
served beside ours), keys of each role on the session database, waiting for a job."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import httpx
from pydantic import SecretStr
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from gis.settings import DatabaseSettings
from grid.privacy import Keyring
from grid.settings import PrivacySettings
from services.auth.keys import create_key
from services.migrate import upgrade
from services.settings import AuthSettings, ProcessSettings, Settings
from tests.conftest import SERVER_URLS, scratch_database

SECRET: Final = "k" * 40
"""The secret the ``onemap`` fixture gives the CLI: the app hashes keys alike."""
SLOW_MODULE: Final = "tests.services.slow_process"


def settings(url_env: str, home: Path, **processes: Any) -> Settings:
    """The app on the session database, with the test-only process and quick reaping."""
    return Settings(
        database=DatabaseSettings(database_url=url_env, home=home),
        privacy=PrivacySettings(secret_key=SecretStr(SECRET)),
        auth=AuthSettings(cache_seconds=0.5),
        processes=ProcessSettings(
            **{"extra_modules": [SLOW_MODULE], "reap_interval": 0.5, **processes}
        ),
    )


def own_database(
    database_url: URL, db_settings: DatabaseSettings, server_url: URL
) -> Iterator[str]:
    """A migrated, empty database (its owner URL, for a module-scoped fixture): every app
    on a database takes the jobs queued there, so a module that counts on which server runs
    a job keeps its queue away from the other modules' apps."""
    with scratch_database(database_url, db_settings, "onemap_jobs") as made:
        upgrade(made)
        owner = made.url.render_as_string(hide_password=False)
        login = server_url.set(database=made.url.database)
        SERVER_URLS[owner] = login.render_as_string(hide_password=False)
        try:
            yield owner
        finally:
            SERVER_URLS.pop(owner, None)


def planner_key(engine: Engine, name: str = "规划局") -> str:
    keyring = Keyring.from_settings(PrivacySettings(secret_key=SecretStr(SECRET)))
    with engine.begin() as conn:
        made, _ = create_key(conn, keyring, role="planner", name=name, created_by="tests")
    return made


def with_processes(found: Settings, **processes: Any) -> Settings:
    return dataclasses.replace(found, processes=found.processes.model_copy(update=processes))


@dataclasses.dataclass(frozen=True)
class Keys:
    """A key of each role; ``own`` is the grid worker's community, ``other`` another."""

    planner: str
    planner2: str
    admin: str
    worker: str
    own: str
    other: str

    @staticmethod
    def header(key: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"} if key else {}


def make_keys(engine: Engine) -> Keys:
    keyring = Keyring.from_settings(PrivacySettings(secret_key=SecretStr(SECRET)))
    with engine.begin() as conn:
        worker_id, own = conn.execute(
            text("SELECT id, community_code FROM grid.workers ORDER BY id LIMIT 1")
        ).one()
        other = conn.execute(
            text("SELECT code FROM grid.admin_areas WHERE level = 'community' AND code <> :c"
                 " AND code IN (SELECT community_code FROM grid.cells) ORDER BY code LIMIT 1"),
            {"c": own},
        ).scalar_one()  # fmt: skip

        def key(role: str, name: str, worker: int | None = None) -> str:
            made, _ = create_key(conn, keyring, role=role, name=name, created_by="tests",
                                 worker_id=worker)  # fmt: skip
            return made

        return Keys(
            planner=key("planner", "规划局"),
            planner2=key("planner", "另一规划"),
            admin=key("admin", "管理员"),
            worker=key("grid_worker", "网格员", worker_id),
            own=own,
            other=other,
        )


def wait_for(
    http: httpx.Client,
    url: str,
    done: Callable[[dict[str, Any]], bool],
    key: str | None = None,
    timeout: float = 60,
) -> dict[str, Any]:
    """Poll a job's status until ``done`` holds for it."""
    deadline = time.monotonic() + timeout
    while True:
        status = http.get(url, headers=Keys.header(key))
        assert status.status_code == 200, status.text
        found: dict[str, Any] = status.json()
        if done(found):
            return found
        assert time.monotonic() < deadline, f"still {found['status']}: {found}"
        time.sleep(0.1)
