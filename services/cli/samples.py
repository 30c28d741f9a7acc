"""``onemap samples``: sample datasets for the demo and the tests."""

from __future__ import annotations

from pathlib import Path

import typer

from services.cli._common import console, engine, settings

app = typer.Typer(help="Load sample datasets.", no_args_is_help=True)

DEFAULT_SAMPLE = Path("data/samples/minimal")


@app.command()
def load(
    directory: Path = typer.Argument(DEFAULT_SAMPLE, help="Sample directory."),
    replace: bool = typer.Option(False, "--replace", help="Replace the grid data already loaded."),
) -> None:
    """Load a sample (admin areas, cells, buildings, houses, households, persons) in one go."""
    from rich.table import Table

    from grid.privacy import Keyring
    from grid.samples import load_sample

    config = settings()
    keyring = Keyring.from_settings(config.privacy)
    db_engine = engine(config)
    with console.status(f"loading {directory}"), db_engine.begin() as conn:
        counts = load_sample(conn, directory, keyring, replace=replace)
    table = Table("table", "rows", title=f"loaded {directory}")
    for name, count in counts.items():
        table.add_row(name, str(count))
    console.print(table)
