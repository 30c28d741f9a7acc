"""Hot standbys of the local cluster, each in ``<home>/replicas/<name>`` on its own port.

A replica is a ``pg_basebackup`` of the running primary (``-R``: it starts as a standby that
streams from the primary) with a physical replication slot, so the primary keeps every WAL
segment the replica has not received yet, even while it is stopped. It logs in for
replication as ``onemap_replicator`` (a REPLICATION role whose password is in
``<home>/replication.password``), never as the superuser. A synchronous replica
(``sync=True``) is named in the primary's ``synchronous_standby_names``: a commit returns
only once one synchronous replica has the commit on disk, so a primary that dies loses no
commit its clients saw. What the replicas are is kept beside them, in ``<name>.json``.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from gis import replication
from gis.errors import DatabaseError
from gis.pgroles import secret_file
from gis.pgserver import LocalServer
from gis.replica_server import REPLICATION_LOGIN, Progress, Replica, ReplicaServer

if TYPE_CHECKING:
    import psycopg

_NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,39}")
STREAM_TIMEOUT_S: Final = 60.0


class ReplicaStatus(NamedTuple):
    """What ``onemap db replica status`` reports of one replica."""

    name: str
    port: int
    primary_port: int
    primary_running: bool
    """Whether the configured primary runs (its view below is None when not)."""
    running: bool
    role: str
    """``standby``, ``promoted`` (a primary now) or ``unknown`` (not running)."""
    sync: bool
    state: str | None
    """The primary's ``pg_stat_replication.state`` (``streaming``), None when not connected."""
    sync_state: str | None
    sent_lsn: str | None
    replay_lsn: str | None
    lag_bytes: int | None
    lag_seconds: float | None
    slot: str
    slot_active: bool | None
    slot_retained_bytes: int | None
    data_dir: Path


class Replicas:
    """The replicas recorded in ``<home>/replicas``, and the primary they stream from."""

    def __init__(self, primary: LocalServer) -> None:
        self.primary = primary
        self.directory = primary.home / "replicas"

    # -- the record ---------------------------------------------------------------------

    def all(self) -> list[Replica]:
        found = []
        for path in sorted(self.directory.glob("*.json")):
            with contextlib.suppress(OSError, ValueError, TypeError):
                found.append(Replica(**json.loads(path.read_text())))
        return found

    def get(self, name: str) -> Replica:
        for replica in self.all():
            if replica.name == name:
                return replica
        known = ", ".join(r.name for r in self.all()) or "none"
        raise DatabaseError(f"there is no replica named {name!r} (known: {known})")

    def _save(self, replica: Replica) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{replica.name}.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(replica), indent=2) + "\n")
        temporary.replace(path)

    def server(self, replica: Replica) -> ReplicaServer:
        return ReplicaServer(self.primary.settings, replica)

    def default_name(self) -> str:
        taken = {r.name for r in self.all()}
        return next(f"replica{i}" for i in range(1, 1000) if f"replica{i}" not in taken)

    def default_port(self) -> int:
        taken = {r.port for r in self.all()} | {self.primary.port}
        for port in range(self.primary.port + 1, min(self.primary.port + 100, 65536)):
            if port not in taken and not _in_use(port):
                return port
        raise DatabaseError(f"no free port above {self.primary.port}: choose one with --port")

    # -- create -------------------------------------------------------------------------

    def check_new(self, name: str, port: int, sync: bool = False) -> Replica:
        """The replica :meth:`create` would make, or the one-sentence reason it cannot."""
        if not _NAME.fullmatch(name):
            raise DatabaseError(
                f"{name!r} is not a usable replica name (a lower-case letter, then a-z, 0-9, _)"
            )
        if not self.primary.status().running:
            raise DatabaseError(
                f"the primary (the local cluster on port {self.primary.port}) is not running: "
                "start it with `onemap db start`"
            )
        replica = Replica(name, port, self.primary.port, sync=sync)
        server = self.server(replica)
        if any(r.name == name for r in self.all()) or server.link.exists():
            raise DatabaseError(
                f"a replica named {name!r} already exists in {server.link}: choose another "
                f"--name, or remove it with `onemap db replica remove --name {name}`"
            )
        if port == self.primary.port or _in_use(port):
            raise DatabaseError(f"port {port} on 127.0.0.1 is in use: choose another --port")
        if self.primary.standby():
            raise DatabaseError(
                f"the cluster on port {self.primary.port} is itself a standby: make replicas "
                "of the primary"
            )
        return replica

    def create(
        self,
        name: str,
        port: int,
        *,
        sync: bool = False,
        restore_command: str = "",
        progress: Progress | None = None,
    ) -> Replica:
        """Copy the running primary into a new replica, start it and wait until it streams.

        Fails before touching anything when the name is taken, the port is in use or the
        primary is not running; a failure later removes what was made (directory, slot).
        """
        replica = self.check_new(name, port, sync)
        server = self.server(replica)
        password = secret_file(self.primary.home / "replication.password")
        with self._primary() as conn:
            _ensure_replication_login(conn, password)
            _drop_slot(conn, replica.slot)  # left by a replica removed while the primary was down
        try:
            server.prepare()
            server.base_backup(self.primary, password, progress or (lambda done, total: None))
            server.configure(restore_command)
            self._save(replica)
            server.start()
            self._wait_streaming(replica)
            if sync:
                self._apply_sync()
                self._wait_streaming(replica, sync=True)
        except BaseException:
            self._undo(replica, server)
            raise
        return replica

    def _undo(self, replica: Replica, server: ReplicaServer) -> None:
        with contextlib.suppress(Exception):
            server.stop()
        with contextlib.suppress(Exception):
            (self.directory / f"{replica.name}.json").unlink(missing_ok=True)
        with contextlib.suppress(Exception), self._primary() as conn:
            _drop_slot(conn, replica.slot)
        if replica.sync:
            with contextlib.suppress(Exception):
                self._apply_sync()
        server.discard()

    def _wait_streaming(self, replica: Replica, sync: bool = False) -> None:
        deadline = time.monotonic() + STREAM_TIMEOUT_S
        while True:
            with self._primary() as conn:
                found = replication.standbys(conn).get(replica.name)
            if found is not None and found.state == "streaming":  # noqa: SIM102
                if not sync or found.sync_state in ("sync", "quorum"):
                    return
            if time.monotonic() > deadline:
                log = self.server(replica).log_file
                raise DatabaseError(
                    f"the replica {replica.name!r} started but does not stream from the "
                    f"primary after {STREAM_TIMEOUT_S:.0f} s: see its log {log}"
                )
            time.sleep(0.2)

    def _apply_sync(self) -> None:
        """The primary's ``synchronous_standby_names``: any one of its synchronous replicas."""
        from psycopg import sql

        names = [
            r.name
            for r in self.all()
            if r.sync and not r.promoted and r.primary_port == self.primary.port
        ]
        with self._primary() as conn:
            if names:
                value = "ANY 1 (" + ", ".join(f'"{n}"' for n in names) + ")"
                conn.execute(
                    sql.SQL("ALTER SYSTEM SET synchronous_standby_names = {}").format(
                        sql.Literal(value)
                    )
                )
            else:
                conn.execute("ALTER SYSTEM RESET synchronous_standby_names")
            conn.execute("SELECT pg_reload_conf()")

    # -- the others ---------------------------------------------------------------------

    def status(self) -> list[ReplicaStatus]:
        """Every recorded replica: its own state, and the primary's view of it."""
        standbys: dict[str, replication.Standby] = {}
        slots: dict[str, replication.Slot] = {}
        primary_running = self.primary.status().running
        if primary_running:
            with self._primary() as conn:
                standbys, slots = replication.standbys(conn), replication.slots(conn)
        found = []
        for replica in self.all():
            server = self.server(replica)
            running = server.status().running
            role = "unknown"
            if running:
                with contextlib.suppress(Exception), _connect(server) as conn:
                    role = "standby" if replication.position(conn).standby else "promoted"
            ours = replica.primary_port == self.primary.port
            seen = standbys.get(replica.name) if ours else None
            slot = slots.get(replica.slot) if ours else None
            found.append(
                ReplicaStatus(
                    replica.name, replica.port, replica.primary_port,
                    primary_running and ours, running, role,
                    replica.sync, seen.state if seen else None,
                    seen.sync_state if seen else None,
                    _lsn(seen.sent_lsn) if seen else None,
                    _lsn(seen.replay_lsn) if seen else None,
                    seen.lag_bytes if seen else None, seen.lag_seconds if seen else None,
                    replica.slot, slot.active if slot else None,
                    slot.retained_bytes if slot else None, server.data_dir,
                )
            )  # fmt: skip
        return found

    def start(self, name: str) -> bool:
        """Start a stopped replica; False when it was running."""
        server = self.server(self.get(name))
        if server.status().running:
            return False
        server.start()
        return True

    def stop(self, name: str) -> bool:
        """Stop a replica (its slot keeps its WAL on the primary); False when stopped."""
        return self.server(self.get(name)).stop()

    def promote(self, name: str) -> Replica:
        """Make the replica a primary of its own (``pg_promote``): it stops following, ends
        recovery and accepts writes. The old primary, when it still runs, drops the slot
        and stops waiting for it (it must not serve writes any more: see the docs)."""
        replica = self.get(name)
        server = self.server(replica)
        if not server.status().running:
            raise DatabaseError(
                f"the replica {name!r} is not running: start it with "
                f"`onemap db replica start --name {name}`, then promote it"
            )
        with _connect(server) as conn:
            if not replication.position(conn).standby:
                raise DatabaseError(f"the replica {name!r} is already promoted")
            done = conn.execute("SELECT pg_promote(true, 60)").fetchone()
        if not done or not done[0]:
            raise DatabaseError(f"the replica {name!r} did not finish promotion within 60 s")
        promoted = replace(replica, promoted=True)
        self._save(promoted)
        if replica.primary_port == self.primary.port and self.primary.status().running:
            with contextlib.suppress(Exception):
                with self._primary() as conn:
                    _drop_slot(conn, replica.slot)
                if replica.sync:
                    self._apply_sync()
        return promoted

    def remove(self, name: str) -> Replica:
        """Stop the replica, drop its slot on the primary and delete its directory."""
        replica = self.get(name)
        if replica.port == self.primary.port:
            raise DatabaseError(
                f"the replica {name!r} (port {replica.port}) is the configured primary now: "
                "point ONEMAP_PG_PORT and ONEMAP_PG_DIR elsewhere before removing it"
            )
        server = self.server(replica)
        server.stop()
        (self.directory / f"{name}.json").unlink(missing_ok=True)
        if replica.primary_port == self.primary.port and self.primary.status().running:
            with self._primary() as conn:
                _drop_slot(conn, replica.slot)
            if replica.sync:
                self._apply_sync()
        server.discard()
        return replica

    @contextlib.contextmanager
    def _primary(self) -> Iterator[psycopg.Connection[Any]]:
        with _connect(self.primary) as conn:
            yield conn


@contextlib.contextmanager
def _connect(server: LocalServer) -> Iterator[psycopg.Connection[Any]]:
    """The cluster's ``postgres`` database as its superuser, in autocommit."""
    import psycopg

    url = server.url("postgres")
    with psycopg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password,
        dbname=url.database, autocommit=True, connect_timeout=10,
    ) as conn:  # fmt: skip
        yield conn


def _ensure_replication_login(conn: psycopg.Connection[Any], password: str) -> None:
    """``onemap_replicator``: may stream WAL, nothing else (its password set every time, as
    a SCRAM verifier made here)."""
    from psycopg import sql

    verifier = conn.pgconn.encrypt_password(
        password.encode(), REPLICATION_LOGIN.encode(), b"scram-sha-256"
    )
    found = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (REPLICATION_LOGIN,))
    verb = "ALTER" if found.fetchone() else "CREATE"
    conn.execute(
        sql.SQL(verb + " ROLE {} LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE "
                "PASSWORD {}").format(
            sql.Identifier(REPLICATION_LOGIN), sql.Literal(verifier.decode())
        )
    )  # fmt: skip


def _drop_slot(conn: psycopg.Connection[Any], slot: str) -> None:
    conn.execute(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
        " WHERE slot_name = %s AND NOT active",
        (slot,),
    )


def _lsn(value: int | None) -> str | None:
    return None if value is None else replication.format_lsn(value)


def _in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0
