"""``onemap basemap``: the base maps' tile cache (seed, expire, status)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import typer

from services.cli._common import console, engine, out, settings
from services.cli.output import JSON, emit_json, progress_bar

if TYPE_CHECKING:
    from services.basemaps.jobs import TileSet
    from services.basemaps.seed import BBox
    from services.settings import Settings

app = typer.Typer(
    help="The Tianditu-compatible base maps' tile cache: pre-render, expire, report.",
    no_args_is_help=True,
)

LAYER = typer.Option(
    None, "--layer", "-l", help="vec, cva, img, cia or ter; repeat for several (default: all)."
)
TILESET = typer.Option(
    None, "--set", "-s", help="c (CGCS2000) or w (Web Mercator); repeat (default: both)."
)
BBOX = typer.Option(None, "--bbox", help="west,south,east,north in CGCS2000 degrees.")
COUNTY = typer.Option(None, "--county", help="A county's 6-digit code, e.g. 320706.")


def _selection(
    config: Settings,
    layer: list[str] | None,
    tileset: list[str] | None,
    levels: str,
    bbox: str | None,
    county: str | None,
) -> tuple[list[str], list[TileSet], range, BBox]:
    """The layers, sets, levels and box a seed or expire names, each checked (defaults:
    every layer, both sets, the city's extent)."""
    from services.basemaps import seed as seeding
    from services.basemaps.jobs import LAYERS, SETS

    layers = layer or list(LAYERS)
    sets = tileset or list(SETS)
    seeding.check_names(layers, sets)
    wanted = seeding.parse_levels(levels)
    if bbox and county:
        raise seeding.SeedError("give --bbox or --county, not both")
    area = seeding.parse_bbox(bbox) if bbox else seeding.area_bbox(engine(config), county)
    return layers, cast("list[TileSet]", sets), wanted, area


@app.command()
def seed(
    layer: list[str] | None = LAYER,
    tileset: list[str] | None = TILESET,
    levels: str = typer.Option("8-14", "--levels", help="A level (12) or a range (8-16)."),
    bbox: str | None = BBOX,
    county: str | None = COUNTY,
    processes: int | None = typer.Option(
        None, "--processes", "-p", min=1, help="Render workers (default: one per core)."
    ),
    force: bool = typer.Option(False, "--force", help="Render tiles already cached again."),
    as_json: bool = JSON,
) -> None:
    """Pre-render tiles of the city (or a county, or a box) into the cache.

    Tiles over data changed since the server last looked are dropped first, so none of
    them counts as already seeded."""
    from services.basemaps import seed as seeding
    from services.basemaps.cache import expire_changes
    from services.basemaps.render_pool import tile_cache

    config = settings()
    layers, sets, wanted, area = _selection(config, layer, tileset, levels, bbox, county)
    stale = expire_changes(tile_cache(config), engine(config))  # what changed goes first
    total = seeding.count(layers, sets, wanted, area)
    jobs = seeding.plan(layers, sets, wanted, area)
    with progress_bar() as bar:
        task = bar.add_task(f"seeding {','.join(layers)} on {','.join(sets)}", total=total)
        report = seeding.seed(
            config,
            jobs,
            processes=processes,
            force=force,
            advance=lambda n: bar.advance(task, n),
        )
    if as_json:
        emit_json(
            {
                "tiles": report.tiles,
                "rendered": report.rendered,
                "blank": report.blank,
                "skipped": report.skipped,
                "bytes": report.bytes,
                "seconds": round(report.seconds, 3),
                "tiles_per_second": round(report.tiles_per_second, 1),
                "processes": report.processes,
                "bbox": area,
                "levels": [wanted.start, wanted.stop - 1],
                "expired_first": stale,
            }
        )
        return
    if stale:
        console.print(f"{stale} tiles over changed data dropped first")
    out.print(
        f"{report.tiles} tiles in {report.seconds:.1f} s ({report.tiles_per_second:.0f}/s on "
        f"{report.processes} processes): {report.rendered} rendered ({report.blank} blank, "
        f"{report.bytes / 1e6:.1f} MB), {report.skipped} already cached"
    )


@app.command()
def expire(
    layer: list[str] | None = LAYER,
    tileset: list[str] | None = TILESET,
    levels: str = typer.Option("1-18", "--levels", help="A level (12) or a range (8-16)."),
    bbox: str | None = BBOX,
    county: str | None = COUNTY,
    as_json: bool = JSON,
) -> None:
    """Drop cached tiles meeting a box (default: the whole city), to be rendered again."""
    from services.basemaps.render_pool import tile_cache

    config = settings()
    layers, sets, wanted, area = _selection(config, layer, tileset, levels, bbox, county)
    cache = tile_cache(config)
    dropped = {f"{name}_{s}": cache.expire(name, s, area, wanted) for name in layers for s in sets}
    if as_json:
        emit_json({"dropped": dropped, "bbox": area, "levels": [wanted.start, wanted.stop - 1]})
        return
    where = ", ".join(f"{name} {n}" for name, n in dropped.items() if n) or "none cached there"
    out.print(f"{sum(dropped.values())} tiles dropped ({where})")


@app.command()
def status(as_json: bool = JSON) -> None:
    """Tiles cached per layer, set and level, and their size."""
    from rich.table import Table

    from services.basemaps.render_pool import tile_cache

    cache = tile_cache(settings())
    rows = cache.status()
    if as_json:
        emit_json(
            {
                "directory": str(cache.directory),
                "levels": [row._asdict() for row in rows],
            }
        )
        return
    if not rows:
        console.print(f"no tiles cached in {cache.directory}")
        return
    table = Table(title=f"tile cache {cache.directory}")
    for column in ("layer", "set", "level", "tiles", "blank", "MB"):
        table.add_column(column, justify="right" if column not in ("layer", "set") else "left")
    for row in rows:
        table.add_row(
            row.layer,
            row.tileset,
            str(row.level),
            str(row.tiles),
            str(row.blank),
            f"{row.bytes / 1e6:.2f}",
        )
    out.print(table)
