"""The repositories through pgBackRest: the stanza, backups, their list, verification."""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from gis.backup import _run
from gis.backup.config import Layout, base_args, prepare
from gis.backup.settings import BackupSettings
from gis.errors import BackupError

if TYPE_CHECKING:
    from gis.pgserver import LocalServer

BackupType = Literal["full", "diff", "incr"]
REPOS = (1, 2)


class BackupInfo(NamedTuple):
    """One backup in one repository, as ``onemap backup list`` shows it."""

    repo: int
    label: str
    type: str
    start: int
    stop: int
    database_bytes: int
    repo_bytes: int
    wal_start: str
    wal_stop: str


class Repository:
    """pgBackRest with the generated configuration, for the local cluster ``server``."""

    def __init__(self, server: LocalServer, settings: BackupSettings) -> None:
        self.server = server
        self.settings = settings
        self.paths: Layout = prepare(settings, server.data_dir, server.port)

    def _env(self) -> dict[str, str]:
        # The cluster listens on TCP only: libpq takes the host and password from here.
        return {"PGHOST": "127.0.0.1", "PGPASSWORD": self.server.password()}

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """One pgBackRest command (``backup``, ``info`` ...) with our options."""
        full = [*base_args(self.settings, self.paths), *args]
        return _run.run(full, env=self._env(), check=check)

    def ensure_stanza(self) -> None:
        """Create the stanza in both repositories; it is kept when it exists and matches."""
        self.run("stanza-create")

    def require_archiving(self) -> None:
        """A `BackupError` unless the running cluster archives WAL (a restart turns it on)."""
        import psycopg

        dsn = self.server.url("postgres").set(drivername="postgresql")
        with psycopg.connect(dsn.render_as_string(hide_password=False)) as conn:
            row = conn.execute("SHOW archive_mode").fetchone()
        if row is None or row[0] != "on":
            raise BackupError(
                "the running cluster does not archive WAL: restart it with `onemap db stop` "
                "and `onemap db start` (ONEMAP_BACKUP_ARCHIVE must be true)"
            )

    def backup(self, kind: BackupType = "full", repo: int = 1) -> BackupInfo:
        """Take a backup of ``kind`` into ``repo`` (pgBackRest 2.45 reports no progress)."""
        self.require_archiving()
        self.ensure_stanza()
        self.run("backup", f"--type={kind}", f"--repo={repo}")
        backups = [b for b in self.backups() if b.repo == repo]
        return backups[-1]

    def _info(self, check: bool = True) -> list[dict[str, Any]]:
        result = self.run("info", "--output=json", check=check)
        if result.returncode != 0:
            return []
        value: list[dict[str, Any]] = json.loads(result.stdout or "[]")
        return value

    def backups(self) -> list[BackupInfo]:
        """Every backup in both repositories, oldest first."""
        found = []
        for stanza in self._info():
            for item in stanza.get("backup", []):
                found.append(
                    BackupInfo(
                        repo=int(item["database"]["repo-key"]),
                        label=item["label"],
                        type=item["type"],
                        start=int(item["timestamp"]["start"]),
                        stop=int(item["timestamp"]["stop"]),
                        database_bytes=int(item["info"]["size"]),
                        repo_bytes=int(item["info"]["repository"]["delta"]),
                        wal_start=item["archive"]["start"] or "",
                        wal_stop=item["archive"]["stop"] or "",
                    )
                )
        return sorted(found, key=lambda b: (b.stop, b.repo))

    def verify(self) -> list[str]:
        """Problems found in the repositories (empty when sound).

        ``verify`` reads every backup file and archived WAL segment and checks its checksum;
        ``check`` proves the running cluster's WAL reaches every repository.
        """
        problems: list[str] = []
        for repo in REPOS:
            result = self.run("verify", f"--repo={repo}", "--log-level-console=info", check=False)
            text = result.stdout + result.stderr
            bad = [
                line.split("INFO: ", 1)[-1].split("WARN: ", 1)[-1].strip()
                for line in text.splitlines()
                if ("invalid" in line or "missing" in line or "ERROR" in line or "WARN" in line)
                and "0 invalid" not in line
            ]
            if result.returncode != 0 and not bad:
                bad = [_run.last_error(result)]
            problems += [f"repo{repo}: {line}" for line in bad]
        checked = self.run("check", check=False)
        if checked.returncode != 0:
            problems.append(f"check: {_run.last_error(checked)}")
        return problems
