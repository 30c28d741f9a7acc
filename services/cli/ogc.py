"""``onemap ogc``: the OGC API's generated configuration (collections, pygeoapi, OpenAPI)."""

from __future__ import annotations

import typer

from services.cli._common import console, engine, out, settings
from services.cli.output import emit_json

app = typer.Typer(
    help="OGC API – Features: regenerate the collection registry, pygeoapi config, OpenAPI.",
    no_args_is_help=True,
)


@app.command()
def refresh(
    recount: bool = typer.Option(
        False, "--recount", help="Recount every table whose count the database keeps first."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON on stdout."),
) -> None:
    """Regenerate the collections, pygeoapi configuration and OpenAPI document from the
    database into .onemap/ogc/; running servers pick them up within seconds."""
    from services.ogcapi import refresh as regenerate

    config = settings()
    engine(config).dispose()  # a clear sentence when the database is not reachable
    registry, written = regenerate(config, recount=recount)
    if as_json:
        summary = {
            "collections": list(registry.specs),
            "files": [str(p) for p in written],
            "recounted": recount,
        }
        emit_json(summary)
        return
    from rich.table import Table

    table = Table(title=f"{len(registry.specs)} collections", show_header=True)
    table.add_column("id")
    table.add_column("title")
    table.add_column("extent (CRS84)")
    for spec in registry.specs.values():
        bbox = spec.extent.bbox
        extent = ", ".join(f"{v:.4f}" for v in bbox) if bbox else "empty"
        table.add_row(spec.id, spec.title, extent)
    out.print(table)
    for path in written:
        console.print(f"wrote {path}", highlight=False)
