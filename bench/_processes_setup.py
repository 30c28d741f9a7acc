"""What ``bench processes`` needs around its timings: the database, a planner key, our
server, the direct call's context, and removing what the bench wrote.

- The database is bench/ogc.py's ``ogc_bench_<scale>`` (the sample city and its plan
  layers, generated and loaded on first use), vacuumed as bench/tiles.py does.
- The key is made with a secret of this run (``ONEMAP_SECRET_KEY``, given to the server
  too: keys are stored as a keyed hash), role planner, named after the run so that every
  row the bench writes carries a name of its own (``checked_by``, ``created_by``).
- The server is ``services.asgi:app`` under bench/_uvicorn.py as bench/_ogc_servers.py
  starts it, logging in as the server's role (``ONEMAP_APP_DATABASE_URL``) with the owner's
  URL beside it (``ONEMAP_DATABASE_URL``): site checks and conflict runs write what the CLI
  writes, so they run on the owner's engine in a job worker (services/processes/worker.py).
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr
from sqlalchemy import Engine, text

from bench import _ogc_servers as servers

if TYPE_CHECKING:
    from services.auth.keys import Principal
    from services.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".onemap" / "bench"
POOL_SIZE = 2
"""Feature connections per uvicorn worker, as bench ogc and bench tiles run ours."""


@dataclass(frozen=True)
class Database:
    """The bench database: the owner's URL, the server's login URL, what it holds."""

    owner: str
    login: str
    data: str


def database(scale: str) -> Database:
    """bench/ogc.py's database of ``scale`` (made on first use), vacuumed."""
    from bench import ogc
    from gis.engine import create_engine

    server, admin = ogc._cluster()
    url, data = ogc.prepare(scale, admin, server)
    admin.dispose()
    engine = create_engine(url)
    ogc._vacuum(engine)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) plans.features"))
    engine.dispose()
    login = server.server_url(url.database).render_as_string(hide_password=False)
    return Database(url.render_as_string(hide_password=False), str(login), data)


@dataclass(frozen=True)
class Key:
    """The run's planner key: the key itself, its id, and the name it writes under."""

    key: str
    id: int
    name: str
    secret: str

    def principal(self) -> Principal:
        """The caller the direct calls act for: the same name as the key's."""
        from services.auth.keys import Principal

        return Principal(role="planner", name=self.name, key_id=self.id)


def make_key(engine: Engine) -> Key:
    """A planner key under a fresh secret, named after this run."""
    from grid.privacy import Keyring
    from grid.settings import PrivacySettings
    from services.auth.keys import create_key

    secret = secrets.token_urlsafe(32)
    name = f"bench processes {secrets.token_hex(4)}"
    keyring = Keyring.from_settings(PrivacySettings(secret_key=SecretStr(secret)))
    with engine.begin() as conn:
        made, info = create_key(conn, keyring, role="planner", name=name, created_by="bench")
    return Key(made, info.id, name, secret)


def marks(engine: Engine) -> dict[str, int]:
    """The highest site check and conflict run ids before the bench wrote anything."""
    with engine.connect() as conn:
        site, run = conn.execute(
            text(
                "SELECT (SELECT coalesce(max(id), 0) FROM plans.site_checks),"
                " (SELECT coalesce(max(id), 0) FROM plans.conflict_runs)"
            )
        ).one()
    return {"site_check": int(site), "conflict_run": int(run)}


def forget(engine: Engine, key: Key, before: dict[str, int]) -> dict[str, int]:
    """Remove what the bench wrote: its site checks (their items go with them), its
    conflict runs (patches, slivers and run layers go with them: ``ON DELETE CASCADE``),
    its jobs and its key. Rows are the bench's by id (above the marks taken first) and by
    the run's own name, so nothing of anybody else's is touched."""
    with engine.begin() as conn:
        sites = conn.execute(
            text("DELETE FROM plans.site_checks WHERE id > :m AND checked_by = :n"),
            {"m": before["site_check"], "n": key.name},
        ).rowcount
        runs = conn.execute(
            text("DELETE FROM plans.conflict_runs WHERE id > :m AND created_by = :n"),
            {"m": before["conflict_run"], "n": key.name},
        ).rowcount
        jobs = conn.execute(
            text("DELETE FROM jobs.jobs WHERE caller_key_id = :k"), {"k": key.id}
        ).rowcount
        keys = conn.execute(text("DELETE FROM auth.api_keys WHERE id = :k"), {"k": key.id})
    return {"site_checks": sites, "conflict_runs": runs, "jobs": jobs, "keys": keys.rowcount}


@contextmanager
def server(db: Database, key: Key, workers: int, job_workers: int) -> Iterator[str]:
    """Our server on the bench database; yields its ``/ogc/`` base URL."""
    port = servers._free_port()
    base = f"http://127.0.0.1:{port}/ogc"
    env = {
        "ONEMAP_DATABASE_URL": db.owner,
        "ONEMAP_APP_DATABASE_URL": db.login,
        "ONEMAP_SECRET_KEY": key.secret,
        "ONEMAP_HOME": str(WORK / "home"),
        "ONEMAP_OGC_POOL_SIZE": str(POOL_SIZE),
        "ONEMAP_OGC_PUBLIC_URL": base,
        "ONEMAP_PROCESSES_WORKERS": str(job_workers),
        "PYTHONPATH": str(ROOT),
    }
    command = servers._uvicorn(Path(sys.executable), "services.asgi:app", port, workers)
    command += ["--app-dir", str(ROOT)]
    with servers._running(command, env, f"{base}/processes", WORK / "onemap-processes.log"):
        yield base + "/"


class DirectContext:
    """The :class:`~services.processes.base.JobContext` of a direct call: the owner's
    engine (as a job worker's ``owner()``), the key's caller, no job, progress dropped."""

    def __init__(self, engine: Engine, caller: Principal, settings: Settings) -> None:
        self.engine = engine
        self.caller = caller
        self.job_id: str | None = None
        self.settings = settings

    def progress(self, percent: int, message: str = "") -> None:
        del percent, message


def direct_context(db: Database, key: Key) -> tuple[DirectContext, Engine]:
    """A context on a fresh owner engine (warmed by the caller's first calls)."""
    from gis.engine import create_engine
    from services.processes.worker import SESSION
    from services.settings import Settings

    engine = create_engine(db.owner, pool_size=1, max_overflow=2,
                           connect_args={"options": SESSION})  # fmt: skip
    return DirectContext(engine, key.principal(), Settings()), engine


def load() -> list[float]:
    """The load average (1, 5, 15 min) now."""
    return [round(v, 2) for v in os.getloadavg()]
