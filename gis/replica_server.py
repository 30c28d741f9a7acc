"""One replica's own cluster: filled by ``pg_basebackup`` from the primary, configured as a
hot standby, started and stopped as :class:`~gis.pgserver.LocalServer` starts and stops the
primary (as the ``postgres`` OS user when the caller is root), and deleted with its data.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from gis.errors import DatabaseError
from gis.pgserver import LocalServer, find_bin_dir
from gis.settings import DatabaseSettings

REPLICATION_LOGIN: Final = "onemap_replicator"
_PROGRESS: Final = re.compile(rb"(\d+)/(\d+) kB")
Progress = Callable[[int, int], None]
"""``(done, total)`` kilobytes of a base backup."""


@dataclass(frozen=True)
class Replica:
    """A replica as recorded in ``<home>/replicas/<name>.json``."""

    name: str
    port: int
    primary_port: int
    sync: bool = False
    promoted: bool = False

    @property
    def slot(self) -> str:
        """Its replication slot on the primary."""
        return f"onemap_{self.name}"


class ReplicaServer(LocalServer):
    """The standby's own cluster: :class:`LocalServer`'s start, stop and status on its
    directory and port (it shares the primary's home: the same passwords and roles)."""

    def __init__(self, settings: DatabaseSettings, replica: Replica) -> None:
        pg_dir = Path("replicas") / replica.name
        super().__init__(settings.model_copy(update={"pg_dir": pg_dir, "pg_port": replica.port}))
        self.replica = replica

    def prepare(self) -> None:
        """The empty data directory ``pg_basebackup`` fills (owned by the server's user)."""
        self._prepare_dir()

    def base_backup(self, primary: LocalServer, password: str, progress: Progress) -> None:
        """Copy the running ``primary`` here as a standby of it, creating the slot."""
        program = find_bin_dir(self.settings.pg_bin) / "pg_basebackup"
        conninfo = (
            f"host=127.0.0.1 port={primary.port} user={REPLICATION_LOGIN} "
            f"application_name={self.replica.name}"
        )
        command = [
            *(str(program), "--pgdata", str(self.data_dir), "--dbname", conninfo),
            *("--write-recovery-conf", "--create-slot", "--slot", self.replica.slot),
            *("--wal-method=stream", "--checkpoint=fast", "--progress", "--no-password"),
        ]
        user = "postgres" if self._as_root else None
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8",
               "PGPASSWORD": password}  # fmt: skip
        with subprocess.Popen(
            command, cwd="/", env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            user=user, group=user, extra_groups=[] if user else None,
        ) as child:  # fmt: skip
            assert child.stderr is not None
            lines = _progress_lines(child.stderr, progress)
            code = child.wait()
        if code != 0:
            detail = next((line for line in reversed(lines) if b"kB" not in line), b"")
            raise DatabaseError(
                f"pg_basebackup failed: {detail.decode(errors='replace').strip() or code}"
            )

    def configure(self, restore_command: str) -> None:
        """Settings of the standby, after those ``pg_basebackup -R`` wrote.

        ``synchronous_standby_names`` is emptied: copied from a primary with a synchronous
        replica, it would make the promoted replica wait for a standby it does not have.
        ``hot_standby_feedback`` keeps the primary from vacuuming rows a read on the replica
        still sees (such reads would otherwise be cancelled).
        """
        lines = ["hot_standby = on", "hot_standby_feedback = on", "synchronous_standby_names = ''"]
        if restore_command:
            lines.append(f"restore_command = {_quoted(restore_command)}")
        with (self.data_dir / "postgresql.auto.conf").open("a") as handle:
            handle.write("# onemap db replica create\n" + "\n".join(lines) + "\n")

    def discard(self) -> None:
        """Delete the data directory (and its real place when ``.onemap`` holds a link)."""
        real = self.data_dir
        shutil.rmtree(real, ignore_errors=True)
        if self.link.is_symlink():
            self.link.unlink()
            with contextlib.suppress(OSError):
                real.parent.rmdir()


def _progress_lines(stream: Any, progress: Progress) -> list[bytes]:
    """Read ``pg_basebackup --progress`` output (lines ended by ``\\r``), reporting each."""
    lines, buffer = [], b""
    while chunk := stream.read1(4096):
        buffer += chunk
        *done, buffer = re.split(rb"[\r\n]", buffer)
        for line in done:
            if found := _PROGRESS.search(line):
                progress(int(found[1]), int(found[2]))
            elif line.strip():
                lines.append(line)
    if buffer.strip():
        lines.append(buffer)
    return lines


def _quoted(value: str) -> str:
    """A string setting of ``postgresql.conf``, quotes and backslashes escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
