"""``onemap backup``: backups of the local cluster into two repositories, restore, drill."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from services.cli._common import console, out, settings
from services.cli.output import JSON, emit_json, progress_bar

if TYPE_CHECKING:
    from gis.backup import Repository

app = typer.Typer(
    help="Backups into two repositories (同城, 异地), point-in-time restore, restore drills.",
    no_args_is_help=True,
)

REPO = typer.Option(None, "--repo", min=1, max=2, help="Repository 1 or 2 (default: both).")


def _repository() -> Repository:
    from gis.backup import Repository
    from gis.pgserver import LocalServer

    config = settings()
    if config.database.database_url:
        console.print(
            "[bold red]error:[/] ONEMAP_DATABASE_URL is set: back that server up with its own "
            "tools; `onemap backup` serves the local cluster"
        )
        raise typer.Exit(2)
    server = LocalServer(config.database, config.backup)
    if not server.status().running:
        console.print("[bold red]error:[/] the local cluster is not running: `onemap db start`")
        raise typer.Exit(1)
    return Repository(server, config.backup)


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def _when(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="seconds")


@app.command()
def create(
    kind: str = typer.Option("full", "--type", help="full, diff (since the last full) or incr."),
    repo: int | None = REPO,
    as_json: bool = JSON,
) -> None:
    """Take a backup into each repository; expired ones are removed by the retention."""
    from gis.backup import REPOS

    if kind not in ("full", "diff", "incr"):
        raise typer.BadParameter(f"{kind!r}: use full, diff or incr", param_hint="--type")
    repository = _repository()
    made = []
    with progress_bar() as progress:
        for n in (repo,) if repo else REPOS:
            # pgBackRest 2.45 does not say how far a backup is: the bar pulses, the time runs.
            task = progress.add_task(f"{kind} backup into repo{n}", total=None)
            info = repository.backup(kind, n)  # type: ignore[arg-type]
            progress.update(task, completed=1, total=1)
            made.append(info)
    if as_json:
        emit_json([b._asdict() for b in made])
        return
    for b in made:
        out.print(
            f"repo{b.repo}: {b.type} backup {b.label} of {_mb(b.database_bytes)} "
            f"({_mb(b.repo_bytes)} stored) in {b.stop - b.start} s"
        )


@app.command("list")
def list_(as_json: bool = JSON) -> None:
    """Every backup in both repositories, oldest first, with the WAL it needs."""
    from rich.table import Table

    found = _repository().backups()
    if as_json:
        emit_json([b._asdict() for b in found])
        return
    table = Table("repo", "label", "type", "finished (UTC)", "database", "stored", "WAL from")
    for b in found:
        table.add_row(str(b.repo), b.label, b.type, _when(b.stop), _mb(b.database_bytes),
                      _mb(b.repo_bytes), b.wal_start)  # fmt: skip
    out.print(table if found else "no backups yet: `onemap backup create`")


@app.command()
def verify(as_json: bool = JSON) -> None:
    """Read every backup file and WAL segment in both repositories and check the archiving.

    Exit code 1 when anything is wrong.
    """
    with console.status("verifying both repositories"):
        problems = _repository().verify()
    if as_json:
        emit_json({"ok": not problems, "problems": problems})
    elif problems:
        for line in problems:
            out.print(f"[red]✗[/] {line}", highlight=False)
    else:
        out.print("both repositories verified: every file matches its checksum; archiving works")
    if problems:
        raise typer.Exit(1)


def _parse_time(value: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a time: use ISO 8601 like 2026-12-03T20:15:00+08:00",
            param_hint="--time",
        ) from None
    if when.tzinfo is None:
        raise typer.BadParameter(
            f"{value!r} has no time zone: add one, like +08:00", param_hint="--time"
        )
    return when


@app.command()
def restore(
    to: Path = typer.Option(..., "--to", help="A new data directory (must not exist)."),
    time: str | None = typer.Option(None, "--time", help="Restore the state at this ISO time."),
    latest: bool = typer.Option(False, "--latest", help="Restore up to the newest WAL archived."),
    port: int = typer.Option(..., "--port", min=1, max=65535, help="A free port to run it on."),
    repo: int | None = typer.Option(None, "--repo", min=1, max=2, help="Restore from this repo."),
    as_json: bool = JSON,
) -> None:
    """Restore into a new directory and start it on a new port; the live cluster is untouched."""
    from gis.backup import check_target
    from gis.backup import restore as run_restore

    if (time is None) == (not latest):
        raise typer.BadParameter("give either --time or --latest", param_hint="--time/--latest")
    target = _parse_time(time) if time else None
    check_target(to.absolute(), port)
    repository = _repository()
    with console.status(f"restoring into {to} (then replaying WAL)"):
        cluster = run_restore(repository, to, port, target, repo)
    report = {
        "data_dir": str(cluster.data_dir),
        "port": cluster.port,
        "target": target.isoformat() if target else "latest",
        "restore_seconds": round(cluster.restore_seconds, 3),
        "recovery_seconds": round(cluster.recovery_seconds, 3),
    }
    if as_json:
        emit_json(report)
        return
    out.print(
        f"restored ({report['target']}) into {cluster.data_dir}, running on 127.0.0.1:{port} "
        f"after {cluster.restore_seconds:.1f} s restore and {cluster.recovery_seconds:.1f} s "
        "recovery; it does not archive. Stop it with: "
        f"pg_ctl -D {cluster.data_dir} stop (as the postgres user)"
    )


def _rpo(report: dict[str, Any]) -> str:
    if report["same_last_transaction"]:
        return f"0 s (the live cluster's newest commit, {report['live_last_commit']}, restored)"
    if report["rpo_seconds"] is None:
        return "unknown (no commit timestamps)"
    return (
        f"{report['rpo_seconds']:.1f} s (newest commit restored "
        f"{report['restored_last_commit']}, live {report['live_last_commit']})"
    )


@app.command()
def drill(
    port: int | None = typer.Option(None, "--port", min=1, max=65535, help="Scratch port."),
    as_json: bool = JSON,
) -> None:
    """Restore the latest backup into a scratch cluster and compare every table with the live one.

    Reports the RTO (time to a running restored cluster) and the RPO (newest commit restored
    against the live one's). Exit code 1 when a table differs.
    """
    import secrets

    from gis.backup import drill as run_drill

    repository = _repository()
    scratch = repository.paths.dir / f"drill-{secrets.token_hex(4)}"
    with progress_bar() as progress:
        task = progress.add_task("drill", total=5)

        def step(what: str) -> None:
            progress.update(task, description=what, advance=1)

        report = run_drill(repository, scratch, port, step)
    if as_json:
        emit_json(report)
    else:
        verdict = "[green]passed[/]" if report["passed"] else "[red]FAILED[/]"
        out.print(
            f"drill {verdict}: backup {report['backup']}, {report['tables']} tables and "
            f"{report['rows']:,} rows compared, {len(report['mismatches'])} differ\n"
            f"RTO {report['rto_seconds']:.1f} s (restore {report['restore_seconds']:.1f} s, "
            f"recovery {report['recovery_seconds']:.1f} s); RPO {_rpo(report)}"
        )
        for m in report["mismatches"]:
            out.print(f"[red]✗[/] {m['table']}: live {m['live']}, restored {m['restored']}")
    if not report["passed"]:
        raise typer.Exit(1)
