"""``onemap``: the one command of the platform. A module per command group (rasterio style)."""

from __future__ import annotations

import sys

import typer

from services.cli import backup, basemap, crs, db, grid, keys, ogc, plans, samples, serve
from services.cli._common import known_errors, print_error

app = typer.Typer(
    name="onemap",
    help="Lianyungang One Map (连云港一张图): grid governance and multi-plan integration.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(backup.app, name="backup")
app.add_typer(basemap.app, name="basemap")
app.add_typer(crs.app, name="crs")
app.add_typer(db.app, name="db")
app.add_typer(grid.app, name="grid")
app.add_typer(keys.app, name="keys")
app.add_typer(ogc.app, name="ogc")
app.add_typer(plans.app, name="plans")
app.add_typer(samples.app, name="samples")
app.command("serve")(serve.serve)


def main() -> None:
    """Entry point: domain errors become one red sentence and exit code 1, not a traceback."""
    try:
        app()
    except known_errors() as exc:
        print_error(exc)
        sys.exit(1)


__all__ = ["app", "main"]
