"""``onemap grid``: links, checks, cell operations, history, sheets and statistics.

Each command runs in one transaction: it commits when the command succeeds, and a domain
error leaves the database as it was. ``--json`` prints machine-readable output on stdout.
"""

from __future__ import annotations

import datetime as dt
import getpass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from services.cli._common import console, engine, out, settings
from services.cli.output import JSON, emit_json

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from grid.cells import CellChange
    from grid.edits import Actor

app = typer.Typer(
    help="Grid governance: 房进格 links, coverage checks, cells, history, sheets, statistics.",
    no_args_is_help=True,
)

USER = typer.Option(None, "--user", help="Who is editing (default: the OS user).")


def _actor(user: str | None, worker: int | None = None) -> Actor:
    from grid.edits import Actor

    return Actor(user or f"cli:{getpass.getuser()}", worker)


def _geometry(wkt: str) -> BaseGeometry:
    import shapely

    from grid.errors import InvalidGeometryError

    try:
        return shapely.from_wkt(wkt)
    except shapely.errors.GEOSException as exc:
        raise InvalidGeometryError(f"not a WKT geometry: {exc}") from None


def _print_change(change: CellChange, as_json: bool) -> None:
    from rich.table import Table

    if as_json:
        emit_json(change.as_dict())
        return
    console.print(
        f"kept {change.kept}; created {', '.join(change.created) or '-'}; "
        f"retired {', '.join(change.retired) or '-'}; {len(change.moved)} building(s) moved"
    )
    if change.moved:
        table = Table("building", "from cell", "to cell")
        for m in change.moved:
            table.add_row(m.building, m.from_cell or "-", m.to_cell or "-")
        out.print(table)


@app.command()
def link(
    sample: int = typer.Option(20, help="How many moves to list."),
    as_json: bool = JSON,
) -> None:
    """Re-link every building to its cell (房进格) in one statement and report what moved."""
    from rich.table import Table

    from grid.linking import link_buildings

    with console.status("linking buildings to cells"), engine(settings()).begin() as conn:
        report = link_buildings(conn, sample=sample)
    if as_json:
        emit_json(report.as_dict())
        return
    console.print(
        f"moved {report.moved}, newly linked {report.linked}, unlinked {report.unlinked}, "
        f"straddling flag changed {report.flag_changed}; {report.straddling} straddling"
    )
    if report.sample:
        table = Table("building", "from cell", "to cell", "straddles", title="moves (first)")
        for m in report.sample:
            table.add_row(m.building, m.from_cell or "-", m.to_cell or "-", str(m.straddles))
        out.print(table)


@app.command()
def check(
    community: str | None = typer.Option(None, "--community", help="Only this community."),
    as_json: bool = JSON,
) -> None:
    """Find gaps, overlaps, cells outside their community, orphans and duplicate IDs.

    Exit status 2 when anything was found.
    """
    from rich.table import Table

    from grid.coverage import check as run_check

    config = settings()
    with console.status("checking the grid"), engine(config).connect() as conn:
        report = run_check(conn, community, settings=config.grid)
    if as_json:
        emit_json(report.as_dict())
    else:
        counts = Table("kind", "found", title="grid check")
        for kind, n in report.by_kind().items():
            counts.add_row(kind, str(n), style="red" if n else None)
        out.print(counts)
        if report.findings:
            table = Table("kind", "key", "community", "m²", "lon, lat", "detail")
            for f in report.findings:
                where = f"{f.lon:.6f}, {f.lat:.6f}" if f.lon is not None else ""
                area = f"{f.area_m2:.1f}" if f.area_m2 is not None else ""
                table.add_row(f.kind, f.key, f.community or "", area, where, f.detail)
            out.print(table)
        console.print(f"{report.notes['straddling_buildings']} straddling building(s) (not errors)")
    if report.findings:
        raise typer.Exit(2)


@app.command()
def split(
    code: str = typer.Argument(..., help="Cell code (15 digits)."),
    line: str = typer.Option(..., "--line", help="The cutting line as WKT (lon lat, EPSG:4490)."),
    base_version: int | None = typer.Option(None, "--base-version", help="Expected version."),
    user: str | None = USER,
    as_json: bool = JSON,
) -> None:
    """Split a cell along a line: the largest piece keeps the code, others get new codes."""
    from grid.cells import split as run_split

    config = settings()
    with engine(config).begin() as conn:
        change = run_split(
            conn, code, _geometry(line), _actor(user), base_version=base_version,
            settings=config.grid,
        )  # fmt: skip
    _print_change(change, as_json)


@app.command()
def merge(
    codes: list[str] = typer.Argument(..., help="Two or more adjacent cells of one community."),
    user: str | None = USER,
    as_json: bool = JSON,
) -> None:
    """Merge adjacent cells into the one with the lowest code; the other codes are retired."""
    from grid.cells import merge as run_merge

    with engine(settings()).begin() as conn:
        change = run_merge(conn, codes, _actor(user))
    _print_change(change, as_json)


@app.command()
def redraw(
    code: str = typer.Argument(..., help="Cell code (15 digits)."),
    wkt: str = typer.Option(..., "--wkt", help="The new boundary as WKT polygon (EPSG:4490)."),
    base_version: int | None = typer.Option(None, "--base-version", help="Expected version."),
    user: str | None = USER,
    as_json: bool = JSON,
) -> None:
    """Give a cell a new boundary (no overlap with other cells, inside its community)."""
    from grid.cells import redraw as run_redraw

    config = settings()
    with engine(config).begin() as conn:
        change = run_redraw(
            conn, code, _geometry(wkt), _actor(user), base_version=base_version,
            settings=config.grid,
        )  # fmt: skip
    _print_change(change, as_json)


@app.command()
def history(
    table: str = typer.Argument(..., help="Grid table: persons, households, cells ..."),
    row_id: str = typer.Argument(..., help="Row id (a code for admin_areas)."),
    as_json: bool = JSON,
) -> None:
    """Every version of a row: who changed what and when (personal fields masked)."""
    from rich.table import Table

    from grid.edits import history as run_history
    from grid.edits import readable

    with engine(settings()).connect() as conn:
        changes = run_history(conn, table, row_id)
    if as_json:
        emit_json([{**c._asdict(), "before": readable(c.before, table),
                    "after": readable(c.after, table)} for c in changes])  # fmt: skip
        return
    view = Table("version", "operation", "by", "at", "changed")
    for c in changes:
        before, after = readable(c.before, table) or {}, readable(c.after, table) or {}
        skip = {"version", "updated_by", "updated_at"}
        diff = [f"{k}: {before.get(k)!s:.40} → {after.get(k)!s:.40}"
                for k in sorted(set(before) | set(after) - skip)
                if k not in skip and before.get(k) != after.get(k)]  # fmt: skip
        view.add_row(str(c.version or ""), c.operation, c.changed_by,
                     f"{c.changed_at:%Y-%m-%d %H:%M:%S}", "\n".join(diff))  # fmt: skip
    out.print(view)


@app.command()
def revert(
    table: str = typer.Argument(..., help="Grid table."),
    row_id: str = typer.Argument(..., help="Row id (a code for admin_areas)."),
    to: int = typer.Option(..., "--to", help="The version to restore."),
    base_version: int | None = typer.Option(None, "--base-version", help="Expected version."),
    user: str | None = USER,
    worker: int | None = typer.Option(None, "--worker", help="Act as this grid worker."),
) -> None:
    """Restore a row as it was at a version; the revert is itself a new version."""
    from grid.edits import revert as run_revert

    with engine(settings()).begin() as conn:
        version = run_revert(conn, table, row_id, to, _actor(user, worker), base_version)
    console.print(f"{table} {row_id} restored to version {to}: now version {version}")


@app.command("import")
def import_(
    path: Path = typer.Argument(..., help="Collection sheet (.csv or .xlsx).", exists=True),
    cell: str = typer.Option(..., "--cell", help="The cell the sheet was collected in."),
    worker: int = typer.Option(..., "--worker", help="The grid worker's id."),
    as_json: bool = JSON,
) -> None:
    """Import a household/person sheet: all rows or, when any is rejected, none."""
    from rich.table import Table

    from grid.privacy import Keyring
    from grid.sheets import SheetRejectedError, import_sheet, read_sheet

    config = settings()
    keyring = Keyring.from_settings(config.privacy)
    rows = read_sheet(path)
    try:
        with engine(config).begin() as conn:
            report = import_sheet(conn, rows, cell, worker, keyring)
    except SheetRejectedError as exc:
        report = exc.report
    if as_json:
        emit_json(report.as_dict())
    elif report.written:
        console.print(
            f"imported {report.rows} rows into cell {cell}: households created "
            f"{report.households_created}, moved {report.households_moved}; persons created "
            f"{report.persons_created}, updated {report.persons_updated}"
        )
    else:
        table = Table("line", "reasons", title=f"{path.name}: rejected rows (nothing imported)")
        for r in report.rejected:
            table.add_row(str(r.line), "\n".join(r.reasons))
        out.print(table)
    if not report.written:
        raise typer.Exit(1)


@app.command()
def stats(
    level: str = typer.Option("community", "--level", help="cell, community, street or county."),
    date: str | None = typer.Option(None, "--date", help="Reference date (default today)."),
    as_json: bool = JSON,
) -> None:
    """Persons, households, houses, buildings and elderly (≥ 60) per area."""
    from rich.table import Table

    from grid.errors import GridError
    from grid.stats import stats as run_stats

    try:
        reference = dt.date.fromisoformat(date) if date else None
    except ValueError:
        raise GridError(f"--date {date!r} is not YYYY-MM-DD") from None
    with engine(settings()).connect() as conn:
        report = run_stats(conn, level, reference)
    if as_json:
        emit_json(report.as_dict())
        return
    columns = ("cells", "buildings", "houses", "households", "persons", "elderly")
    table = Table("code", "name", *columns, title=f"{level} statistics at {report.reference_date}")
    for a in report.areas:
        table.add_row(a.code, a.name, *(str(getattr(a, c)) for c in columns))
    totals = report.totals()
    table.add_row("total", "", *(str(totals[c]) for c in columns), style="bold")
    out.print(table)
    if any(report.unassigned.values()):
        console.print(f"not in any cell: {report.unassigned}")


@app.command("show-person")
def show_person(
    person_id: int = typer.Argument(..., help="Person id."),
    reveal: bool = typer.Option(False, "--reveal", help="Show unmasked values (logged)."),
    reason: str | None = typer.Option(None, "--reason", help="Why (required with --reveal)."),
    user: str | None = USER,
    as_json: bool = JSON,
) -> None:
    """A person, masked; with --reveal --reason the plain values, logged in audit.access_log."""
    from grid.errors import NotFoundError, ReasonRequiredError
    from grid.privacy import Keyring, persons
    from grid.privacy import reveal as run_reveal

    if reveal and not (reason or "").strip():
        raise ReasonRequiredError("--reveal needs a reason: --reason 'what it is for'")
    config = settings()
    with engine(config).connect() as conn:
        found = persons(conn, ids=[person_id])
        if not found:
            raise NotFoundError(f"no person with id {person_id}")
        record: dict[str, Any] = found[0]._asdict()
        if reveal:
            keyring = Keyring.from_settings(config.privacy)
            plain = run_reveal(conn, keyring, "persons", person_id, reason=reason or "",
                               who=_actor(user).name)  # fmt: skip
            record.update(plain)
    if as_json:
        emit_json(record)
        return
    for key, value in record.items():
        out.print(f"{key:>14}: {value}", highlight=False)
