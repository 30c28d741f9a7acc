"""``onemap db replica``: hot standbys of the local cluster (gis/replica.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from services.cli._common import console, out, settings
from services.cli.output import JSON, emit_json, progress_bar

if TYPE_CHECKING:
    from gis.replica import Replicas, ReplicaStatus
    from gis.replica_server import Replica

app = typer.Typer(
    help="Streaming replicas of the local cluster: create, status, promote, start, stop, remove.",
    no_args_is_help=True,
)

NAME = typer.Option(..., "--name", help="The replica's name.")


def _replicas() -> Replicas:
    from gis.pgserver import LocalServer
    from gis.replica import Replicas

    config = settings()
    if config.database.database_url:
        console.print(
            "ONEMAP_DATABASE_URL is set: replicas of that server are made with its own tools "
            "(pg_basebackup); list them in ONEMAP_DB_REPLICAS for the app to read from them."
        )
        raise typer.Exit(2)
    return Replicas(LocalServer(config.database))


@app.command()
def create(
    port: int | None = typer.Option(
        None,
        "--port",
        min=1,
        max=65535,
        help="Its port (default: the first free one above the primary's).",
    ),
    name: str | None = typer.Option(None, "--name", help="Its name (default: replica1, 2, ...)."),
    sync: bool = typer.Option(
        False, "--sync", help="Synchronous: a commit waits until this replica has it on disk."
    ),
) -> None:
    """Copy the running primary into a hot standby on its own port, and start it."""
    replicas = _replicas()
    chosen_name = name or replicas.default_name()
    chosen_port = port or replicas.default_port()
    restore_command = _restore_command(replicas, replicas.check_new(chosen_name, chosen_port, sync))
    with progress_bar() as bar:
        task = bar.add_task(f"base backup → {chosen_name}", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        replica = replicas.create(
            chosen_name, chosen_port, sync=sync,
            restore_command=restore_command, progress=advance,
        )  # fmt: skip
    kind = "synchronous" if replica.sync else "asynchronous"
    console.print(
        f"replica {replica.name} ({kind}) streams from port {replica.primary_port} on "
        f"127.0.0.1:{replica.port}, slot {replica.slot}"
    )


def _restore_command(replicas: Replicas, replica: Replica) -> str:
    """The setting if given; else, where this machine archives WAL (``onemap db start``
    with backups on), pgBackRest's ``archive-get`` from the repositories: the replica falls
    back on the archive when streaming cannot give it a segment."""
    from gis.backup.config import archive_get_command, layout

    config = settings()
    if config.replicas.replica_restore_command:
        return config.replicas.replica_restore_command
    if config.backup.archive and layout(config.backup).config.is_file():
        return archive_get_command(config.backup, replicas.server(replica).data_dir)
    return ""


@app.command()
def status(as_json: bool = JSON) -> None:
    """Each replica: running, port, replication state, sent and replayed WAL, lag, slot."""
    found = _replicas().status()
    if as_json:
        emit_json([{**row._asdict(), "data_dir": str(row.data_dir)} for row in found])
        return
    if not found:
        out.print("no replicas (make one with `onemap db replica create`)")
        return
    for row in found:
        out.print(_line(row), highlight=False)


def _line(row: ReplicaStatus) -> str:
    """One replica in a sentence."""
    head = f"{row.name}: {'running' if row.running else 'stopped'} on 127.0.0.1:{row.port}"
    if row.role == "promoted":
        return f"{head}, promoted: a primary of its own (it followed port {row.primary_port})"
    kind = ", synchronous" if row.sync else ""
    if not row.primary_running:
        return f"{head}{kind}; its primary (port {row.primary_port}) is not running here"
    if row.state is None:
        seen = f"not connected to its primary (port {row.primary_port})"
    else:
        seen = (
            f"{row.state} from port {row.primary_port} ({row.sync_state}); sent {row.sent_lsn}, "
            f"replayed {row.replay_lsn}, lag {row.lag_bytes} bytes, {row.lag_seconds:.3f} s"
        )
    slot = {True: "active", False: "inactive", None: "absent"}[row.slot_active]
    kept = f", holding {row.slot_retained_bytes} bytes of WAL" if row.slot_retained_bytes else ""
    role = f", {row.role}" if row.running else ""
    return f"{head}{role}{kind}; {seen}; slot {row.slot} {slot}{kept}"


@app.command()
def promote(name: str = NAME) -> None:
    """Make the replica a writable primary (fail-over); then point the app at it."""
    replica = _replicas().promote(name)
    console.print(
        f"replica {name} is a primary now on 127.0.0.1:{replica.port}: set "
        f"ONEMAP_PG_PORT={replica.port} ONEMAP_PG_DIR=replicas/{name} (or "
        "ONEMAP_APP_DATABASE_URL) for the app, and never start the old primary as it was"
    )


@app.command()
def start(name: str = NAME) -> None:
    """Start a stopped replica; it catches up from its slot."""
    started = _replicas().start(name)
    console.print("started" if started else "already running")


@app.command()
def stop(name: str = NAME) -> None:
    """Stop a replica (the primary keeps the WAL it needs in its slot)."""
    replicas = _replicas()
    replica = replicas.get(name)
    stopped = replicas.stop(name)
    console.print("stopped" if stopped else "not running")
    if stopped and replica.sync and not replica.promoted:
        console.print(
            "it is synchronous: commits on the primary wait until it (or another synchronous "
            "replica) is back"
        )


@app.command()
def remove(name: str = NAME) -> None:
    """Stop the replica, drop its slot on the primary and delete its data."""
    replica = _replicas().remove(name)
    console.print(f"removed replica {replica.name} (port {replica.port})")
