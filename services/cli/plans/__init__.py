"""``onemap plans``: multi-plan integration (多规合一) — import, list, conflicts, site checks,
impact on the grid, reports.

Each command runs in one transaction: it commits when the command succeeds, and a domain
error leaves the database as it was. ``--json`` prints machine-readable output on stdout.
Commands by module: ``catalog`` (import, list, versions), ``conflicts`` (conflicts, report),
``sites`` (sitecheck, impact).
"""

from __future__ import annotations

import typer

from services.cli.plans import catalog, conflicts, sites

__all__ = ["app"]

app = typer.Typer(
    help="Multi-plan integration (多规合一): plan layers, conflicts, site checks, impact.",
    no_args_is_help=True,
)
app.command("import")(catalog.import_)
app.command("list")(catalog.list_)
app.command()(catalog.versions)
app.command()(conflicts.conflicts)
app.command()(sites.sitecheck)
app.command()(sites.impact)
app.command()(conflicts.report)
