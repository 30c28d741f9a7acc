"""Backups through pgBackRest on a throwaway cluster with the sample city: point-in-time
restore, the drill, ``verify`` catching a corrupted file, and restores that refuse to touch
an existing directory or a port in use.

The cluster (port 55445, scratch clusters on 55446) and both repositories live in a temporary
directory; one full backup per repository is taken once and shared by the tests, which only
add WAL to it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pydantic import SecretStr

from gis.backup import BackupSettings, Repository, archive_now, drill, remove, restore, table_sums
from gis.backup.restore import connect, free_port
from gis.errors import BackupError
from gis.pgserver import LocalServer
from gis.settings import DatabaseSettings

pytestmark = pytest.mark.skipif(shutil.which("pgbackrest") is None, reason="needs pgbackrest")

ROOT = Path(__file__).resolve().parents[2]
BASE_PORT = free_port(int(os.environ.get("ONEMAP_PG_PORT", "55432")) + 3, tries=3)
"""The throwaway cluster's port, a few above the session's; scratch clusters take the next."""


SCRATCH_PORT = free_port(BASE_PORT + 1, tries=2)


@pytest.fixture(scope="module")
def base() -> Iterator[Path]:
    # Under /tmp with mode 0755: pytest's tmp_path is 0700 root's, which postgres cannot enter.
    path = Path(tempfile.mkdtemp(prefix="onemap-backup-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def repo(base: Path) -> Iterator[Repository]:
    """A cluster archiving to two repositories, with the sample city and a full backup each."""
    from gis.engine import create_engine
    from grid.loader import load_sample
    from grid.privacy import Keyring
    from grid.settings import PrivacySettings
    from services.migrate import upgrade

    settings = DatabaseSettings(home=base / "home", pg_port=BASE_PORT)
    server = LocalServer(settings, BackupSettings(dir=base / "backup", process_max=2))
    server.start()
    assert server.backup is not None
    repository = Repository(server, server.backup)
    repository.ensure_stanza()
    try:
        engine = create_engine(server.url())
        upgrade(engine)
        keyring = Keyring.from_settings(PrivacySettings(secret_key=SecretStr("k" * 40)))
        with engine.begin() as conn:
            load_sample(conn, ROOT / "data" / "samples" / "small", keyring, replace=False)
        engine.dispose()
        for n in (1, 2):
            repository.backup("full", n)
        yield repository
    finally:
        server.stop()


def _dsn(repo: Repository, port: int | None = None) -> str:
    return connect(repo, port or repo.server.port, repo.server.settings.pg_database)


def test_both_repositories_hold_a_full_backup_and_the_wal(repo: Repository) -> None:
    backups = repo.backups()
    assert {b.repo for b in backups if b.type == "full"} == {1, 2}
    segment = archive_now(repo)
    for repo_dir in (repo.paths.repo1, repo.paths.repo2):
        archived = [p.name for p in (repo_dir / "archive").rglob(f"{segment}-*")]
        assert archived, f"{segment} not archived in {repo_dir}"


def test_point_in_time_restore_comes_back_without_the_later_change(
    repo: Repository, base: Path
) -> None:
    before, _ = table_sums(_dsn(repo))
    with psycopg.connect(_dsn(repo), autocommit=True) as conn:
        time.sleep(0.2)
        cut = conn.execute("SELECT clock_timestamp()").fetchone()[0]  # type: ignore[index]
        time.sleep(0.2)
        changed = conn.execute(
            "UPDATE grid.persons SET name = name || ' (moved)' WHERE id = "
            "(SELECT min(id) FROM grid.persons) RETURNING id"
        ).fetchone()
        assert changed is not None
    after, _ = table_sums(_dsn(repo))
    assert after != before
    archive_now(repo)
    target = base / "pitr"
    restored = restore(repo, target, SCRATCH_PORT, cut)
    try:
        again, _ = table_sums(_dsn(repo, restored.port))
        with psycopg.connect(_dsn(repo, restored.port)) as conn:
            name = conn.execute(
                "SELECT name FROM grid.persons WHERE id = %s", (changed[0],)
            ).fetchone()
    finally:
        remove(repo, target)
    assert again == before
    assert name is not None and not name[0].endswith("(moved)")
    assert not target.exists()


def test_drill_on_the_sample_city_finds_every_table_equal(repo: Repository, base: Path) -> None:
    report = drill(repo, base / "drill", SCRATCH_PORT)
    assert report["passed"], report["mismatches"]
    assert report["tables"] > 10 and report["rows"] > 1000
    assert report["same_last_transaction"] and report["rpo_seconds"] == 0
    assert report["rto_seconds"] > 0
    assert not (base / "drill").exists()


def _onemap(repo: Repository, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ONEMAP_HOME": str(repo.server.home),
        "ONEMAP_PG_PORT": str(repo.server.port),
        "ONEMAP_BACKUP_DIR": str(repo.paths.dir),
    }
    env.pop("ONEMAP_DATABASE_URL", None)
    command = [sys.executable, "-m", "services.cli", *args]
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)


def test_restore_into_an_existing_directory_is_refused_and_touches_nothing(
    repo: Repository, base: Path
) -> None:
    existing = base / "existing"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine")
    result = _onemap(repo, "backup", "restore", "--to", str(existing), "--port",
                     str(SCRATCH_PORT), "--latest")  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("error:") and "already exists" in result.stderr
    assert "Traceback" not in result.stderr
    assert [p.name for p in existing.iterdir()] == ["keep.txt"]


def test_restore_onto_a_port_in_use_is_refused_and_touches_nothing(
    repo: Repository, base: Path
) -> None:
    target = base / f"new-{secrets.token_hex(3)}"
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = _onemap(repo, "backup", "restore", "--to", str(target), "--port", str(port),
                         "--latest")  # fmt: skip
    assert result.returncode == 1
    assert f"port {port}" in result.stderr and "in use" in result.stderr
    assert not target.exists()


def test_restore_to_a_time_not_reached_fails_and_leaves_no_directory(
    repo: Repository, base: Path
) -> None:
    import datetime as dt

    target = base / "future"
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    with pytest.raises(BackupError, match="restored cluster"):
        restore(repo, target, SCRATCH_PORT, future)
    assert not target.exists()


def test_verify_catches_a_corrupted_backup_file(repo: Repository) -> None:
    assert repo.verify() == []
    label = next(b.label for b in repo.backups() if b.repo == 1 and b.type == "full")
    files = sorted((repo.paths.repo1 / "backup" / repo.settings.stanza / label).rglob("*.zst"))
    victim = max(files, key=lambda p: p.stat().st_size)
    original = victim.read_bytes()
    damaged = bytearray(original)
    damaged[len(damaged) // 2] ^= 0xFF
    victim.write_bytes(bytes(damaged))
    try:
        problems = repo.verify()
        result = _onemap(repo, "backup", "verify", "--json")
    finally:
        victim.write_bytes(original)
    name = victim.relative_to(repo.paths.repo1 / "backup" / repo.settings.stanza).as_posix()
    assert any(name in p and p.startswith("repo1:") for p in problems), problems
    assert result.returncode == 1 and '"ok": false' in result.stdout
    assert repo.verify() == []


def test_a_replica_falls_back_on_the_archive_when_streaming_cannot_serve_it(
    repo: Repository,
) -> None:
    """A replica made by ``onemap db replica create`` on an archiving machine gets
    pgBackRest's ``archive-get`` as its ``restore_command``: with its slot gone and the WAL
    it missed recycled on the primary, it still catches up, from the repositories."""
    from sqlalchemy import URL

    from gis.backup.config import archive_get_command
    from gis.replica import Replicas
    from tests.replica_support import scalar, until

    replicas = Replicas(repo.server)
    port = free_port(SCRATCH_PORT + 1, tries=5)
    planned = replicas.check_new("archived", port)
    command = archive_get_command(repo.settings, replicas.server(planned).data_dir)
    assert "archive-get" in command
    replica = replicas.create("archived", port, restore_command=command)
    try:
        replicas.stop(replica.name)
        marker = secrets.token_hex(8)
        with psycopg.connect(_dsn(repo), autocommit=True) as conn:
            conn.execute("SELECT pg_drop_replication_slot(%s)", (replica.slot,))
            conn.execute("CREATE TABLE IF NOT EXISTS public.fallback_probe (v text)")
            conn.execute("INSERT INTO public.fallback_probe VALUES (%s)", (marker,))
            for _ in range(3):  # the segments the replica needs leave pg_wal
                conn.execute("SELECT pg_switch_wal()")
                conn.execute("CHECKPOINT")
        archive_now(repo)
        replicas.start(replica.name)
        url: URL = repo.server.url().set(port=port)

        def replayed() -> int | None:
            """1 once the replica has the row; None while it starts or has not got it."""
            try:
                found = scalar(url, "SELECT count(*) FROM public.fallback_probe WHERE v = :m",
                               {"m": marker})  # fmt: skip
            except Exception:  # starting up, or the table not replayed yet
                return None
            return int(found) or None

        found = until(replayed, "the replica replays the archived change")
        assert found == 1
        log = "".join(
            p.read_text(errors="replace") for p in replicas.server(replica).data_dir.rglob("*.log")
        )
        assert "restored log file" in log
    finally:
        replicas.remove(replica.name)
        with psycopg.connect(_dsn(repo), autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS public.fallback_probe")
