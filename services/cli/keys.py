"""``onemap keys``: the platform secret, and the API keys callers present over HTTP."""

from __future__ import annotations

import datetime as dt
import getpass
import re

import typer

from services.cli._common import console, engine, out, settings
from services.cli.output import JSON, emit_json

app = typer.Typer(
    help="The secret protecting personal data, and API keys (create, list, revoke).",
    no_args_is_help=True,
)

_DURATION = re.compile(r"^(\d+)([dhm])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


@app.command()
def init() -> None:
    """Write a new random key file (mode 0600) unless ONEMAP_SECRET_KEY or the file exists."""
    from grid.privacy import generate_key_file

    config = settings().privacy
    if config.secret_key is not None:
        console.print("ONEMAP_SECRET_KEY is set: no key file needed")
        return
    path = config.secret_key_file
    created = generate_key_file(path)
    console.print(f"{'created' if created else 'kept existing'} key file {path} (mode 0600)")


def expiry(value: str | None, now: dt.datetime) -> dt.datetime | None:
    """``90d``, ``12h``, ``30m`` from now, or an ISO date/time (UTC when no zone)."""
    if value is None:
        return None
    found = _DURATION.match(value.strip())
    if found:
        return now + dt.timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
    try:
        when = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(f"{value!r}: use 90d, 12h, 30m or an ISO date") from None
    when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    if when <= now:
        raise typer.BadParameter(f"{value!r} is already past")
    return when


@app.command()
def create(
    role: str = typer.Option(..., "--role", help="planner, grid_worker or admin."),
    name: str | None = typer.Option(None, "--name", help="Who holds it (default: the role)."),
    worker: int | None = typer.Option(None, "--worker", help="The grid worker's id (grid_worker)."),
    expires: str | None = typer.Option(None, "--expires", help="90d, 12h, 30m or an ISO date."),
    as_json: bool = JSON,
) -> None:
    """Make an API key and print it once: only its hash is kept, it cannot be shown again."""
    from grid.privacy import Keyring
    from services.auth.keys import create_key

    config = settings()
    until = expiry(expires, dt.datetime.now(dt.UTC))
    keyring = Keyring.from_settings(config.privacy)
    with engine(config).begin() as conn:
        key, info = create_key(
            conn, keyring, role=role, name=name or role, worker_id=worker, expires_at=until,
            created_by=f"cli:{getpass.getuser()}",
        )  # fmt: skip
    if as_json:
        emit_json({"key": key, "id": info.id, "role": info.role, "name": info.name,
                   "worker_id": info.worker_id, "expires_at": info.expires_at})  # fmt: skip
        return
    console.print(f"API key {info.id} ({info.role}, {info.name}); shown once, keep it safe:")
    out.print(key, highlight=False)


@app.command("list")
def list_(as_json: bool = JSON) -> None:
    """Every API key: id, holder, role, worker, prefix and state (never the key)."""
    from rich.table import Table

    from services.auth.keys import list_keys

    with engine(settings()).connect() as conn:
        found = list_keys(conn)
    now = dt.datetime.now(dt.UTC)
    if as_json:
        emit_json([k.as_dict(now) for k in found])
        return
    table = Table("id", "name", "role", "worker", "prefix", "state", "expires", title="API keys")
    for k in found:
        expires = k.expires_at.isoformat(timespec="minutes") if k.expires_at else ""
        table.add_row(str(k.id), k.name, k.role, str(k.worker_id or ""), k.prefix + "…",
                      k.state(now), expires)  # fmt: skip
    out.print(table)


@app.command()
def revoke(
    key_id: int = typer.Argument(..., help="The key's id (see `onemap keys list`)."),
) -> None:
    """Revoke a key: running servers refuse it within ONEMAP_AUTH_CACHE_SECONDS."""
    from services.auth.keys import revoke_key

    with engine(settings()).begin() as conn:
        info = revoke_key(conn, key_id)
    console.print(f"API key {info.id} ({info.role}, {info.name}) revoked")
