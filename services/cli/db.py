"""``onemap db``: the local PostGIS server and the schema."""

from __future__ import annotations

import typer

from services.cli import db_replica
from services.cli._common import console, engine, out, settings

app = typer.Typer(help="Run the local PostGIS server and migrate the schema.", no_args_is_help=True)
app.add_typer(db_replica.app, name="replica")


def _local_only(action: str) -> None:
    if settings().database.database_url:
        console.print(
            f"ONEMAP_DATABASE_URL is set: that server is used as is, nothing local to {action}."
        )
        raise typer.Exit(0)


@app.command()
def start() -> None:
    """Start the local cluster (creating it on first use); a no-op when it runs."""
    from gis.pgserver import LocalServer

    _local_only("start")
    config = settings()
    server = LocalServer(config.database, config.backup)
    was_running = server.status().running
    status = server.start()
    verb = "already running" if was_running else "started"
    console.print(
        f"PostgreSQL {status.version} {verb} on 127.0.0.1:{status.port} (pid {status.pid}), "
        f"data in {status.data_dir}"
    )
    if config.backup.archive:
        from gis.backup import Repository
        from gis.errors import BackupError

        repo = Repository(server, config.backup)
        repo.ensure_stanza()
        try:
            repo.require_archiving()
        except BackupError as exc:  # running since before archiving was set up
            console.print(f"[yellow]warning:[/] {exc}")
        else:
            console.print(f"WAL archived to {repo.paths.repo1} and {repo.paths.repo2}")


@app.command()
def stop() -> None:
    """Stop the local cluster; a no-op when it is not running."""
    from gis.pgserver import LocalServer

    _local_only("stop")
    stopped = LocalServer(settings().database).stop()
    console.print("stopped" if stopped else "not running")


@app.command()
def status() -> None:
    """Say whether the database is reachable, its versions and schema revision."""
    from gis.engine import create_engine, database_url, server_info
    from gis.pgserver import LocalServer
    from services.migrate import current_revision, head_revision

    config = settings()
    if not config.database.database_url:
        local = LocalServer(config.database).status()
        state = f"running (pid {local.pid})" if local.running else "stopped"
        out.print(f"local cluster: {state} on 127.0.0.1:{local.port}, data in {local.data_dir}")
        if not local.running:
            raise typer.Exit(3)
    db_engine = create_engine(database_url(config.database))
    info = server_info(db_engine)
    revision = current_revision(db_engine)
    head = head_revision()
    schema = "up to date" if revision == head else f"at {revision}, head is {head}"
    out.print(f"PostgreSQL {info.postgres}, PostGIS {info.postgis}; schema {schema}")


@app.command()
def url(
    show_password: bool = typer.Option(False, "--show-password", help="Print the password too."),
    server: bool = typer.Option(
        False, "--server", help="The HTTP server's URL (its own role, which owns nothing)."
    ),
) -> None:
    """Print the database URL (for psql, QGIS or ogr2ogr): the owner's, or the server's."""
    from gis.engine import app_database_url, database_url

    value = (app_database_url if server else database_url)(settings().database)
    text = value.render_as_string(hide_password=not show_password)
    out.print(text.replace("postgresql+psycopg://", "postgresql://"), highlight=False)


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Migrate the schema to the newest revision; running it twice changes nothing."""
    from services.migrate import current_revision
    from services.migrate import upgrade as run_upgrade

    db_engine = engine(settings())
    before = current_revision(db_engine)
    run_upgrade(db_engine, revision)
    after = current_revision(db_engine)
    console.print(
        f"schema at {after} (unchanged)" if before == after else f"schema {before} → {after}"
    )
