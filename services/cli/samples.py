"""``onemap samples``: generate the synthetic city, and load a sample into the database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from services.cli._common import engine, out, settings
from services.cli.output import emit_json, progress_bar

app = typer.Typer(help="Generate and load sample cities.", no_args_is_help=True)

DEFAULT_SAMPLE = Path("data/samples/small")
SCALES = ("tiny", "small", "medium", "large")


@app.command()
def generate(
    scale: str = typer.Option("small", "--scale", help=f"One of {', '.join(SCALES)}."),
    seed: int = typer.Option(20261123, "--seed", help="Same seed, same city (byte-identical CSV)."),
    out_dir: Path = typer.Option(..., "--out", help="Directory to write the city into."),
    grid_only: bool = typer.Option(
        False, "--grid-only", help="Leave out the plan layers and rasters (samples.plans)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the manifest as JSON."),
) -> None:
    """Generate the synthetic Lianyungang (grid.gpkg, CSV tables, inputs, manifest.json)."""
    from rich.table import Table

    from samples.grid.city import generate as generate_city
    from samples.plans import generate_plans

    if scale not in SCALES:
        raise typer.BadParameter(f"choose one of {', '.join(SCALES)}", param_hint="--scale")
    with progress_bar() as progress:
        manifest = generate_city(
            scale, seed, out_dir, progress, plans=None if grid_only else generate_plans
        )
    if as_json:
        emit_json(manifest)
        return
    table = Table("table", "rows", title=f"{scale} city (seed {seed}) in {out_dir}")
    for name, count in manifest["tables"].items():
        table.add_row(name, str(count))
    out.print(table)


@app.command()
def load(
    directory: Path = typer.Argument(DEFAULT_SAMPLE, help="Sample directory."),
    replace: bool = typer.Option(False, "--replace", help="Replace the grid data already loaded."),
) -> None:
    """Load a sample (grid.gpkg + CSV tables) in one transaction, by COPY."""
    from rich.table import Table

    from grid.loader import load_sample
    from grid.privacy import Keyring

    config = settings()
    keyring = Keyring.from_settings(config.privacy)
    db_engine = engine(config)
    totals: dict[str, Any] = {}
    manifest = directory / "manifest.json"
    if manifest.is_file():
        totals = json.loads(manifest.read_text(encoding="utf-8")).get("tables", {})
    with progress_bar() as progress, db_engine.begin() as conn:
        tasks: dict[str, Any] = {}

        def advance(table: str, rows: int) -> None:
            if table not in tasks:
                total = 1 if table == "linking" else totals.get(table)
                tasks[table] = progress.add_task(f"{table}", total=total)
            progress.advance(tasks[table], rows)

        counts = load_sample(conn, directory, keyring, replace=replace, progress=advance)
        if (directory / "plans").is_dir():  # plan layers through the import pipeline (issue 6)
            from layers.loader import load_plans
            from layers.settings import PlanSettings

            plan_settings = PlanSettings()
            for plan in load_plans(conn, directory, settings=plan_settings, progress=advance):
                counts[f"plans.{plan.layer_id} v{plan.version} ({plan.status})"] = plan.loaded
        progress.add_task("commit", total=None)
    table = Table("table", "rows", title=f"loaded {directory}")
    for name, count in counts.items():
        table.add_row(name, str(count))
    out.print(table)
