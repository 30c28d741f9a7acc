"""``onemap plans sitecheck`` and ``impact``: a project red line against the control layers,
and what an area holds on the grid."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from services.cli._common import console, engine, out, settings
from services.cli.output import JSON, emit_json
from services.cli.plans._options import RULES, USER, plan_settings, user_name

if TYPE_CHECKING:
    from layers.impact import Impact

__all__ = ["impact", "sitecheck"]


def sitecheck(
    file: Path | None = typer.Argument(None, help="Red line: polygon file or 界址点 CSV/XLSX."),
    geojson: str | None = typer.Option(None, "--geojson", help="Red line as GeoJSON text."),
    crs: str | None = typer.Option(None, "--crs", help="CRS of the coordinates (EPSG:4528 ...)."),
    axes: str = typer.Option("auto", "--axes", help="auto, xy, or yx (X = northing)."),
    x_field: str | None = typer.Option(None, "--x-field", help="Column of x in a point list."),
    y_field: str | None = typer.Option(None, "--y-field", help="Column of y in a point list."),
    use: str | None = typer.Option(None, "--use", help="Planned use, a 2023 code (0701 ...)."),
    name: str | None = typer.Option(None, "--name", help="Name of the project."),
    rules: Path | None = RULES,
    user: str | None = USER,
    as_json: bool = JSON,
) -> None:
    """Check a project red line against every control layer (verdict per check)."""
    from rich.table import Table

    from layers.classification import load_schemes
    from layers.rules import load_rules
    from layers.sitecheck import check_site, site_from_file, site_from_geojson

    if axes not in ("auto", "xy", "yx"):
        raise typer.BadParameter("auto, xy or yx", param_hint="--axes")
    if (file is None) == (geojson is None):
        raise typer.BadParameter("give a FILE or --geojson", param_hint="FILE")
    if geojson is not None:
        site = site_from_geojson(geojson, crs or "OGC:CRS84")
    else:
        assert file is not None
        site = site_from_file(file, crs=crs, x_field=x_field, y_field=y_field, axes=axes)  # type: ignore[arg-type]
    config = plan_settings(rules)
    with engine(settings()).begin() as conn:
        report = check_site(
            conn,
            site,
            rules=load_rules(config.rules_file),
            schemes=load_schemes(config.schemes_file),
            settings=config,
            name=name or (file.stem if file else "site"),
            use=use,
            checked_by=user_name(user),
        )
    if as_json:
        emit_json(report.as_dict())
        return
    for note in report.notes:
        console.print(note)
    table = Table(
        "check",
        "layer",
        "verdict",
        "overlap m²",
        "share",
        "message",
        title=f"site check {report.id} ({report.area_m2:,.0f} m²): {report.verdict.upper()}",
    )
    for i in report.items:
        table.add_row(
            i.label,
            f"{i.layer_id} v{i.layer_version}",
            i.verdict,
            f"{i.overlap_m2:,.1f}",
            f"{i.share:.1%}",
            i.message,
        )
    out.print(table)


def impact(
    run: int | None = typer.Option(None, "--run", help="Patches of a conflict run."),
    types: list[str] = typer.Option([], "--type", help="Only these conflict types of the run."),
    site: int | None = typer.Option(None, "--site", help="Red line of a site check."),
    wkt: str | None = typer.Option(None, "--wkt", help="A polygon, WKT in EPSG:4490."),
    mode: str = typer.Option(
        "intersects", "--mode", help="intersects or inside (point on surface)."
    ),
    as_json: bool = JSON,
) -> None:
    """Buildings, houses, households and persons inside an area, per community (counts only)."""
    from layers import impact as im

    if mode not in ("intersects", "inside"):
        raise typer.BadParameter("intersects or inside", param_hint="--mode")
    if sum(x is not None for x in (run, site, wkt)) != 1:
        raise typer.BadParameter("give one of --run, --site, --wkt")
    with engine(settings()).begin() as conn:
        if run is not None:
            result = im.impact_of_run(conn, run, types or None, mode)  # type: ignore[arg-type]
        elif site is not None:
            result = im.impact_of_site(conn, site, mode)  # type: ignore[arg-type]
        else:
            import shapely

            assert wkt is not None
            result = im.impact_of_geometry(conn, shapely.from_wkt(wkt), mode)  # type: ignore[arg-type]
    _print_impact(result, as_json)


def _print_impact(result: Impact, as_json: bool) -> None:
    from rich.table import Table

    if as_json:
        emit_json(result.as_dict())
        return
    table = Table(
        "community",
        "buildings",
        "houses",
        "households",
        "persons",
        title=f"impact ({result.mode}): {result.buildings} buildings, "
        f"{result.households} households, {result.persons} persons",
    )
    for c in result.by_community:
        table.add_row(
            f"{c.community_code or '-'} {c.community_name or ''}",
            str(c.buildings),
            str(c.houses),
            str(c.households),
            str(c.persons),
        )
    out.print(table)
