"""The platform's database roles (docs/database-roles.md).

``onemap_app`` (NOLOGIN) holds what the HTTP server may do; migration 0010 makes it when
missing and grants it its privileges in each database. The server logs in with a role that
is a member of it and owns nothing. In the local cluster that login is ``onemap_server``,
made (its password set again) by ``onemap db start`` from ``<home>/server.password``
(mode 0600). Roles belong to the cluster, not to one database: each step here is idempotent
and serialised by an advisory lock, so several databases (test sessions, templates) and
several processes may share the cluster.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

from gis.errors import DatabaseError

if TYPE_CHECKING:
    import psycopg

APP_GROUP: Final = "onemap_app"
"""The server's privileges (granted by migration 0010): NOLOGIN, owns nothing."""
SERVER_LOGIN: Final = "onemap_server"
"""The local cluster's login for ``onemap serve``: a member of :data:`APP_GROUP`."""
_LOCK: Final = 0x6F6E656D6170
"""Advisory lock key of role changes (cluster-wide, like the roles)."""


def read_secret(path: Path, missing_hint: str) -> str:
    """The secret kept in ``path``; a `DatabaseError` ending with ``missing_hint`` if none."""
    try:
        value = path.read_text().strip()
    except FileNotFoundError:
        value = ""
    if not value:
        raise DatabaseError(f"there is no password in {path}: {missing_hint}")
    return value


def secret_file(path: Path) -> str:
    """The secret in ``path``, written first (mode 0600) when the file does not exist.

    Made with ``O_EXCL``: two processes that start at once read the same secret.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # the other process is writing it
            with contextlib.suppress(DatabaseError):
                return read_secret(path, "")
            time.sleep(0.02)
        return read_secret(path, f"delete {path} and run `onemap db start` again")
    value = secrets.token_urlsafe(24)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def ensure_login(conn: psycopg.Connection, name: str, password: str) -> None:
    """Make ``name`` a login role, member of :data:`APP_GROUP`, with ``password``.

    Creates the group when missing; sets the password every time (as a SCRAM verifier made
    here, so the plain password never reaches the server or its log). Needs a role that may
    create roles; ``conn`` is in autocommit mode.
    """
    from psycopg import sql

    verifier = conn.pgconn.encrypt_password(password.encode(), name.encode(), b"scram-sha-256")
    login, group = sql.Identifier(name), sql.Identifier(APP_GROUP)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        if not _exists(conn, APP_GROUP):
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(group))
        verb = "ALTER" if _exists(conn, name) else "CREATE"
        conn.execute(
            sql.SQL(verb + " ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {}").format(
                login, sql.Literal(verifier.decode())
            )
        )
        conn.execute(sql.SQL("GRANT {} TO {}").format(group, login))


def _exists(conn: psycopg.Connection, role: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is not None
