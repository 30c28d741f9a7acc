"""The platform's own PostgreSQL + PostGIS cluster, used when no ``ONEMAP_DATABASE_URL`` is set.

``make demo`` and the tests go through this same code, so every CI run proves it. The cluster
listens on 127.0.0.1 only (no Unix socket), requires a password (scram-sha-256) kept in
``<home>/pg.password`` with mode 0600, and runs as the ``postgres`` OS user when the caller is
root, because ``initdb`` and ``postgres`` refuse to run as root. Its superuser migrates and
loads; the HTTP server logs in as ``onemap_server`` (``<home>/server.password``, gis/pgroles.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy.engine import URL

from gis.cluster_user import CLUSTER_USER_WHEN_ROOT, run_as_cluster_user
from gis.errors import DatabaseError
from gis.pgroles import SERVER_LOGIN, ensure_login, read_secret, secret_file
from gis.settings import DatabaseSettings

if TYPE_CHECKING:
    from gis.backup.settings import BackupSettings

SUPERUSER = "onemap"
_INSTALL_HINT = (
    "install PostgreSQL 15 and PostGIS 3 (`make os-deps`, or apt-get install postgresql-15 "
    "postgresql-15-postgis-3), or point the platform at an existing PostGIS with "
    "ONEMAP_DATABASE_URL"
)


class ServerStatus(NamedTuple):
    """What ``onemap db status`` reports."""

    running: bool
    pid: int | None
    port: int
    data_dir: Path
    version: str | None


def find_bin_dir(configured: Path | None = None) -> Path:
    """Directory with ``initdb`` and ``pg_ctl``: the setting, Debian's layout, or PATH."""
    candidates: list[Path] = []
    if configured is not None:
        candidates.append(configured)
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(debian)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).parent)
    for bin_dir in candidates:
        if (bin_dir / "initdb").is_file() and (bin_dir / "pg_ctl").is_file():
            return bin_dir
    raise DatabaseError(f"PostgreSQL server programs (initdb, pg_ctl) not found: {_INSTALL_HINT}.")


class LocalServer:
    """A PostgreSQL cluster in ``settings.data_dir`` on ``settings.pg_port``.

    Every operation is idempotent: starting a running server, stopping a stopped one or
    creating an existing database does nothing.
    """

    def __init__(self, settings: DatabaseSettings, backup: BackupSettings | None = None) -> None:
        self.settings = settings
        self.backup = backup  # given, ``start`` turns WAL archiving on (gis/backup/config.py)
        self.home = settings.home.absolute()
        self.link = settings.data_dir
        self.port = settings.pg_port
        self._as_root = os.geteuid() == 0

    # -- paths and identity -------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        """The real data directory (``.onemap/pg`` may be a symlink, see ``_prepare_dir``)."""
        return self.link.resolve()

    @property
    def password_file(self) -> Path:
        return self.home / "pg.password"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    def password(self) -> str:
        try:
            return self.password_file.read_text().strip()
        except FileNotFoundError:
            raise DatabaseError(
                f"the local cluster has no password file {self.password_file}: "
                "run `onemap db start` first"
            ) from None

    @property
    def server_password_file(self) -> Path:
        """Password of the HTTP server's login (:data:`gis.pgroles.SERVER_LOGIN`)."""
        return self.home / "server.password"

    def server_url(self, database: str | None = None) -> URL:
        """URL of a database in this cluster as the HTTP server logs in (owns nothing)."""
        password = read_secret(self.server_password_file, "run `onemap db start` first")
        return self.url(database).set(username=SERVER_LOGIN, password=password)

    def url(self, database: str | None = None) -> URL:
        """SQLAlchemy URL of a database in this cluster (the platform's one by default)."""
        return URL.create(
            "postgresql+psycopg",
            username=SUPERUSER,
            password=self.password(),
            host="127.0.0.1",
            port=self.port,
            database=database or self.settings.pg_database,
        )

    # -- running programs -----------------------------------------------------------------

    def _run(self, args: Sequence[str | os.PathLike[str]], check: bool = True) -> str:
        """Run a PostgreSQL program, as ``postgres`` when we are root; return its output."""
        result = run_as_cluster_user(args)
        if check and result.returncode != 0:
            output = (result.stderr or result.stdout).strip().splitlines()
            detail = output[-1] if output else f"exit code {result.returncode}"
            raise DatabaseError(f"{Path(args[0]).name} failed: {detail}")
        return str(result.stdout)

    def _owner_ids(self) -> tuple[int, int]:
        if not self._as_root:
            return os.getuid(), os.getgid()
        try:
            entry = pwd.getpwnam(CLUSTER_USER_WHEN_ROOT)
        except KeyError:
            raise DatabaseError(
                "running as root needs the `postgres` OS user to run the server "
                f"(initdb refuses root), and there is none: {_INSTALL_HINT}."
            ) from None
        return entry.pw_uid, entry.pw_gid

    def _reachable_by_server_user(self, path: Path) -> bool:
        if not self._as_root:
            return True
        probe = ["/bin/sh", "-c", 'cd "$1"', "sh", str(path)]
        return (
            subprocess.run(
                probe,
                user=CLUSTER_USER_WHEN_ROOT,
                group=CLUSTER_USER_WHEN_ROOT,
                extra_groups=[],
                cwd="/",
                capture_output=True,
                check=False,
            ).returncode
            == 0
        )

    # -- lifecycle ------------------------------------------------------------------------

    def _prepare_dir(self) -> None:
        """Create the data directory, owned by the server user, with mode 0700.

        When the project lives where the ``postgres`` user cannot go (under /root, say), the
        cluster is placed in /var/lib/onemap and ``.onemap/pg`` becomes a symlink to it.
        """
        uid, gid = self._owner_ids()
        self.home.mkdir(parents=True, exist_ok=True)
        if not self.link.exists():
            self.link.parent.mkdir(parents=True, exist_ok=True)
            self.link.mkdir(mode=0o700)
            os.chown(self.link, uid, gid)
            if not self._reachable_by_server_user(self.link):
                self.link.rmdir()
                key = hashlib.sha1(str(self.link).encode()).hexdigest()[:12]
                real = Path("/var/lib/onemap") / key / "pg"
                real.mkdir(parents=True, exist_ok=True, mode=0o700)
                os.chown(real, uid, gid)
                self.link.symlink_to(real, target_is_directory=True)
        os.chmod(self.data_dir, 0o700)

    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    def _initdb(self, bin_dir: Path) -> None:
        password = secrets.token_urlsafe(24)
        uid, gid = self._owner_ids()
        fd, pwfile = tempfile.mkstemp(prefix="onemap-pw-")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(password + "\n")
            os.chown(pwfile, uid, gid)
            self._run(
                [
                    bin_dir / "initdb",
                    "--pgdata",
                    self.data_dir,
                    "--username",
                    SUPERUSER,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--no-locale",
                    "--no-instructions",
                ]
            )
        finally:
            os.unlink(pwfile)
        self.password_file.write_text(password + "\n")
        os.chmod(self.password_file, 0o600)

    def _pid(self) -> int | None:
        """PID of a live postmaster owning this data directory; a stale pid file is removed."""
        pid_file = self.data_dir / "postmaster.pid"
        try:
            first = pid_file.read_text().splitlines()[0]
        except (FileNotFoundError, IndexError):
            return None
        pid = int(first) if first.strip().isdigit() else None
        alive = False
        if pid is not None:
            with contextlib.suppress(OSError):
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                alive = b"postgres" in cmdline or b"postmaster" in cmdline
        if not alive:
            # A crash or a reboot left it behind; the postmaster would refuse to start.
            with contextlib.suppress(FileNotFoundError):
                pid_file.unlink()
            return None
        return pid

    def _version(self) -> str | None:
        try:
            return (self.data_dir / "PG_VERSION").read_text().strip()
        except (FileNotFoundError, PermissionError):
            return None

    def status(self) -> ServerStatus:
        pid = self._pid() if self.link.exists() else None
        return ServerStatus(pid is not None, pid, self.port, self.data_dir, self._version())

    def _port_in_use(self) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def _running_port(self) -> int | None:
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
            return int(lines[3])
        except (FileNotFoundError, IndexError, ValueError):
            return None

    def start(self) -> ServerStatus:
        """Start the cluster (creating it on first use) and make sure the database exists."""
        bin_dir = find_bin_dir(self.settings.pg_bin)
        self._prepare_dir()
        if not self.initialised():
            self._initdb(bin_dir)
        cluster_version = self._version()
        bin_version = self._run([bin_dir / "pg_ctl", "--version"]).split()[-1].split(".")[0]
        if cluster_version != bin_version:
            raise DatabaseError(
                f"the cluster in {self.data_dir} was made by PostgreSQL {cluster_version} but the "
                f"server programs found are version {bin_version}: set ONEMAP_PG_BIN to the "
                f"PostgreSQL {cluster_version} bin directory, or move the old cluster away"
            )
        if self.backup is not None:
            from gis.backup.config import configure_archiving

            configure_archiving(self, self.backup)
        if self._pid() is not None:
            running_port = self._running_port()
            if running_port is not None and running_port != self.port:
                raise DatabaseError(
                    f"the local cluster is already running on port {running_port}, not "
                    f"{self.port}: run `onemap db stop` first or set ONEMAP_PG_PORT={running_port}"
                )
        else:
            if self._port_in_use():
                raise DatabaseError(
                    f"port {self.port} on 127.0.0.1 is in use by another program: stop it, or "
                    "choose another port with ONEMAP_PG_PORT"
                )
            options = (
                f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
                "-c fsync=on -c max_connections=100"
            )
            self._run(
                [
                    bin_dir / "pg_ctl",
                    "start",
                    "--pgdata",
                    self.data_dir,
                    "--log",
                    self.log_file,
                    "--wait",
                    "--timeout=120",
                    "-o",
                    options,
                ]
            )
        self._wait_ready()
        if self.standby():
            return self.status()  # read-only: its roles and databases are the primary's
        import psycopg

        with psycopg.connect(self._dsn("postgres"), autocommit=True) as conn:
            ensure_login(conn, SERVER_LOGIN, secret_file(self.server_password_file))
        self.ensure_database(self.settings.pg_database)
        return self.status()

    def standby(self) -> bool:
        """Whether the cluster is a hot standby (a replica, gis/replica.py) until promoted."""
        return (self.data_dir / "standby.signal").is_file()

    def stop(self) -> bool:
        """Stop the cluster; return False when it was not running."""
        if not self.link.exists() or self._pid() is None:
            return False
        bin_dir = find_bin_dir(self.settings.pg_bin)
        self._run([bin_dir / "pg_ctl", "stop", "--pgdata", self.data_dir, "--mode=fast", "--wait"])
        return True

    def _wait_ready(self, timeout: float = 60.0) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self._dsn("postgres"), connect_timeout=5):
                    return
            except psycopg.OperationalError as exc:
                if "starting up" not in str(exc) or time.monotonic() > deadline:
                    raise DatabaseError(
                        f"the local cluster did not accept connections on port {self.port}: "
                        f"{_first_line(exc)}; its log is {self.log_file}"
                    ) from None
                time.sleep(0.2)

    def _dsn(self, database: str) -> str:
        return (
            f"host=127.0.0.1 port={self.port} user={SUPERUSER} "
            f"password={self.password()} dbname={database}"
        )

    # -- databases ------------------------------------------------------------------------

    def ensure_database(self, name: str, template: str | None = None) -> None:
        """Create database ``name`` (from ``template`` if given) with PostGIS, if missing."""
        import psycopg
        from psycopg import sql

        _check_identifier(name)
        with psycopg.connect(self._dsn("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if not exists:
                statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
                if template:
                    statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                        sql.Identifier(name), sql.Identifier(template)
                    )
                conn.execute(statement)
        with psycopg.connect(self._dsn(name), autocommit=True) as conn:
            try:
                conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            except psycopg.errors.FeatureNotSupported as exc:
                raise DatabaseError(f"PostGIS is not available: {_INSTALL_HINT}.") from exc
            except psycopg.errors.UndefinedFile as exc:
                raise DatabaseError(f"PostGIS is not installed: {_INSTALL_HINT}.") from exc

    def drop_database(self, name: str) -> None:
        import psycopg
        from psycopg import sql

        _check_identifier(name)
        with psycopg.connect(self._dsn("postgres"), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _check_identifier(name: str) -> None:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise DatabaseError(f"{name!r} is not a usable database name (a-z, 0-9, _)")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
