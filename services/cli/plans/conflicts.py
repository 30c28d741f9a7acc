"""``onemap plans conflicts`` and ``report``: conflict runs, their summaries, their reports."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from services.cli._common import engine, out, settings
from services.cli.output import JSON, emit_json, progress_bar
from services.cli.plans._options import RULES, USER, plan_settings, user_name

if TYPE_CHECKING:
    from layers.conflicts import RunResult

__all__ = ["conflicts", "report"]


def _versions_option(values: list[str]) -> dict[str, int]:
    found = {}
    for value in values:
        name, _, number = value.partition("=")
        if not number.isdigit():
            raise typer.BadParameter(f"{value!r}: use LAYER=VERSION", param_hint="--version")
        found[name] = int(number)
    return found


def conflicts(
    layers: list[str] = typer.Argument(None, help="Layer A, then layer B (or several)."),
    control_lines: bool = typer.Option(
        False, "--control-lines", help="Compare A with every control line (三区三线 ...)."
    ),
    rules: Path | None = RULES,
    min_width: float | None = typer.Option(None, "--min-width", help="Sliver width (m)."),
    version_of: list[str] = typer.Option([], "--version", help="LAYER=N: not the current one."),
    show: int | None = typer.Option(None, "--show", help="Show the summary of a stored run."),
    list_runs: bool = typer.Option(False, "--list", help="List stored runs."),
    user: str | None = USER,
    as_json: bool = JSON,
) -> None:
    """Find conflict patches between plan layers, with the rules of the rule file."""
    from layers import conflict_summaries as cs
    from layers import conflicts as cf
    from layers.rules import load_rules

    db = engine(settings())
    if list_runs:
        with db.connect() as conn:
            runs = cs.list_runs(conn)
        if as_json:
            emit_json([r._asdict() for r in runs])
        else:
            for r in runs:
                out.print(
                    f"{r.id:>5}  {r.started_at:%Y-%m-%d %H:%M}  {r.patches:>7} patches  {r.title}"
                )
        return
    if show is not None:
        with db.connect() as conn:
            result = cf.RunResult(
                show,
                cs.run_info(conn, show).title,
                cs.summary_by_type(conn, show),
                cs.summary_by_county(conn, show),
                [],
                0.0,
            )
        _print_run(result, as_json)
        return
    if not layers:
        raise typer.BadParameter("name layer A (and B, or --control-lines)", param_hint="LAYERS")
    config = plan_settings(rules)
    if min_width is not None:
        config = config.model_copy(update={"min_width_m": min_width})
    loaded = load_rules(config.rules_file)
    with progress_bar() as progress, db.begin() as conn:
        task = progress.add_task("conflicts by county", total=None)
        result = cf.run_conflicts(
            conn,
            layers[0],
            layers[1:],
            rules=loaded,
            settings=config,
            control_lines=control_lines,
            versions=_versions_option(version_of),
            created_by=user_name(user),
            on_chunk=lambda s: progress.update(task, description=f"county {s.chunk or '-'} done"),
            on_progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    _print_run(result, as_json)


def _print_run(result: RunResult, as_json: bool) -> None:
    from rich.table import Table

    if as_json:
        emit_json(result.as_dict())
        return
    table = Table(
        "type",
        "label",
        "severity",
        "patches",
        "m²",
        "亩",
        "ha",
        "slivers",
        "noise",
        title=f"run {result.run_id}: {result.title}",
    )
    for s in result.by_type:
        table.add_row(
            s.type,
            s.label,
            s.severity,
            str(s.patches),
            f"{s.area_m2:,.0f}",
            f"{s.area_mu:,.1f}",
            f"{s.area_ha:,.2f}",
            str(s.slivers),
            str(s.noise),
        )
    out.print(table)
    county = Table("county", "type", "patches", "ha", title="by county (patch point on surface)")
    for c in result.by_county:
        county.add_row(
            f"{c.county_code or '-'} {c.county_name or ''}",
            c.type,
            str(c.patches),
            f"{c.area_ha:,.2f}",
        )
    out.print(county)


def report(
    run: int = typer.Argument(..., help="Conflict run id."),
    out_dir: Path = typer.Option(..., "--out", help="Directory for the report files."),
) -> None:
    """GeoPackage of patches, CSV summaries and an offline HTML map of a conflict run."""
    from layers.reports import write_report

    with engine(settings()).connect() as conn:
        files = write_report(conn, run, out_dir)
    for path in (files.geopackage, files.summary_csv, files.county_csv, files.html):
        out.print(str(path))
