"""``onemap plans``: multi-plan integration (多规合一) — import, list, conflicts, site checks,
impact on the grid, reports.

Each command runs in one transaction: it commits when the command succeeds, and a domain
error leaves the database as it was. ``--json`` prints machine-readable output on stdout.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from services.cli._common import (
    console,
    database_errors,
    database_failure,
    engine,
    out,
    settings,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from gis.errors import DatabaseError
    from layers.conflicts import RunResult
    from layers.impact import Impact
    from layers.settings import PlanSettings

app = typer.Typer(
    help="Multi-plan integration (多规合一): plan layers, conflicts, site checks, impact.",
    no_args_is_help=True,
)

JSON = typer.Option(False, "--json", help="Print JSON on stdout instead of tables.")
USER = typer.Option(None, "--user", help="Who is working (default: the OS user).")
RULES = typer.Option(None, "--rules", help="Rule file (default: config/conflict_rules.yaml).")


def _emit(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def _user(user: str | None) -> str:
    return user or f"cli:{getpass.getuser()}"


def _plan_settings(rules: Path | None = None) -> PlanSettings:
    from layers.settings import PlanSettings

    config = PlanSettings()
    return config.model_copy(update={"rules_file": rules}) if rules is not None else config


def _progress() -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="Shapefile, GeoPackage, GeoJSON ... of the plan."),
    layer: str = typer.Option(..., "--layer", help="Layer id (new ids are registered)."),
    plan_type: str = typer.Option(..., "--type", help="Plan type: landuse_plan, urban_plan ..."),
    scheme: str | None = typer.Option(
        None,
        "--scheme",
        help="Classification scheme of the codes (GB/T 21010-2017, "
        "GB 50137-2011, 三调, 用地用海分类 2023); none for control lines.",
    ),
    title: str | None = typer.Option(None, "--title", help="Title of a new layer."),
    department: str | None = typer.Option(None, "--department", help="Department of a new layer."),
    crs: str | None = typer.Option(None, "--crs", help="CRS of the file (overrides its own)."),
    encoding: str | None = typer.Option(None, "--encoding", help="Text encoding (GBK ...)."),
    code_field: str | None = typer.Option(None, "--code-field", help="Field with the codes."),
    source_layer: str | None = typer.Option(None, "--source-layer", help="GeoPackage layer."),
    snapshot: str | None = typer.Option(None, "--snapshot-date", help="Data date, YYYY-MM-DD."),
    user: str | None = USER,
    as_json: bool = JSON,
) -> None:
    """Import a plan file as the next version of a layer (unchanged file: nothing to do)."""
    from rich.table import Table

    from layers.classification import load_schemes
    from layers.importer import import_layer
    from layers.registry import LayerSpec

    config = _plan_settings()
    spec = LayerSpec(layer, title or layer, plan_type, scheme, department)
    date = dt.date.fromisoformat(snapshot) if snapshot else None
    db = engine(settings())
    try:
        with _progress() as progress, db.begin() as conn:
            task = progress.add_task(f"import {file.name}", total=None)
            report = import_layer(
                conn,
                file,
                spec,
                load_schemes(config.schemes_file),
                crs=crs,
                encoding=encoding,
                code_field=code_field,
                source_layer=source_layer,
                snapshot_date=date,
                imported_by=_user(user),
                densify_m=config.densify_m,
                subdivide_vertices=config.subdivide_vertices,
                progress=lambda n: progress.advance(task, n),
                total=lambda n: progress.update(task, total=n),
            )
    except database_errors() as exc:
        failure = database_failure(exc)
        assert failure is not None
        raise _import_failed(db, file, layer, *failure) from exc
    if as_json:
        _emit(report._asdict())
        return
    if report.status == "unchanged":
        console.print(
            f"{file.name} is unchanged (same SHA-256 as {layer} version {report.version}): "
            "nothing imported"
        )
        return
    console.print(
        f"{layer} version {report.version}: {report.loaded} of {report.read} features loaded "
        f"from {file.name} ({report.crs}, {report.encoding}, codes in {report.code_field or '-'}), "
        f"{len(report.repaired)} repaired, {len(report.rejected)} rejected, {report.seconds:.1f} s"
    )
    if report.repaired:
        table = Table("fid", "stage", "repair", title="repaired geometries")
        for r in report.repaired[:50]:
            table.add_row(r.fid, r.stage, r.notes)
        out.print(table)
    if report.rejected:
        table = Table("fid", "code", "reason", title="rejected rows (kept in plans.rejects)")
        for j in report.rejected[:50]:
            table.add_row(j.fid, j.code or "-", j.reason)
        out.print(table)


def _import_failed(db: Engine, file: Path, layer: str, lost: bool, reason: str) -> DatabaseError:
    """One sentence for an import the database stopped: what happened, and what is current.

    The import ran in one transaction, so its rollback leaves the layer at the version it had;
    the sentence names that version, read again on a new connection when the server answers.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from gis.errors import DatabaseError

    try:
        still = _still_current(db, layer)
    except SQLAlchemyError:  # the server is gone: what is current cannot be read now
        still = f"the previous version of {layer}, if any, is still current"
    what = "the database connection was lost" if lost else "the database stopped it"
    return DatabaseError(
        f"the import of {file.name} was rolled back because {what} ({reason}): {still}"
    )


def _still_current(db: Engine, layer: str) -> str:
    from layers.errors import UnknownLayerError
    from layers.registry import get_layer

    try:
        with db.connect() as conn:
            current = get_layer(conn, layer).current_version
    except UnknownLayerError:  # a new layer: its registration was rolled back too
        current = None
    if current is None:
        return f"{layer} has no version yet"
    return f"{layer} version {current} is still current"


@app.command("list")
def list_(as_json: bool = JSON) -> None:
    """Registered plan layers and their current versions."""
    from rich.table import Table

    from layers.registry import list_layers

    with engine(settings()).connect() as conn:
        layers = list_layers(conn)
    if as_json:
        _emit([layer._asdict() for layer in layers])
        return
    table = Table("layer", "type", "scheme", "control line", "version", "title")
    for layer in layers:
        table.add_row(
            layer.id,
            layer.plan_type,
            layer.scheme or "-",
            "yes" if layer.control_line else "",
            str(layer.current_version or "-"),
            layer.title,
        )
    out.print(table)


@app.command()
def versions(layer: str = typer.Argument(..., help="Layer id."), as_json: bool = JSON) -> None:
    """Every version of a layer: source file, checksum, CRS, counts, who imported it."""
    from rich.table import Table

    from layers.registry import versions as layer_versions

    with engine(settings()).connect() as conn:
        rows = layer_versions(conn, layer)
    if as_json:
        _emit([v._asdict() for v in rows])
        return
    table = Table(
        "version",
        "file",
        "sha256",
        "crs",
        "encoding",
        "features",
        "repaired",
        "rejected",
        "imported",
        "by",
        title=layer,
    )
    for v in rows:
        table.add_row(
            str(v.version),
            v.source_name,
            v.source_sha256[:12],
            v.source_crs,
            v.source_encoding or "-",
            str(v.feature_count),
            str(v.repairs),
            str(v.rejects),
            f"{v.imported_at:%Y-%m-%d %H:%M}",
            v.imported_by,
        )
    out.print(table)


def _versions_option(values: list[str]) -> dict[str, int]:
    found = {}
    for value in values:
        name, _, number = value.partition("=")
        if not number.isdigit():
            raise typer.BadParameter(f"{value!r}: use LAYER=VERSION", param_hint="--version")
        found[name] = int(number)
    return found


@app.command()
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
            _emit([r._asdict() for r in runs])
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
    config = _plan_settings(rules)
    if min_width is not None:
        config = config.model_copy(update={"min_width_m": min_width})
    loaded = load_rules(config.rules_file)
    with _progress() as progress, db.begin() as conn:
        task = progress.add_task("conflicts by county", total=None)
        result = cf.run_conflicts(
            conn,
            layers[0],
            layers[1:],
            rules=loaded,
            settings=config,
            control_lines=control_lines,
            versions=_versions_option(version_of),
            created_by=_user(user),
            on_chunk=lambda s: progress.update(
                task, advance=1, description=f"county {s.chunk or '-'} done"
            ),
        )
    _print_run(result, as_json)


def _print_run(result: RunResult, as_json: bool) -> None:
    from rich.table import Table

    if as_json:
        _emit(
            {
                "run_id": result.run_id,
                "title": result.title,
                "seconds": result.seconds,
                "by_type": [s._asdict() for s in result.by_type],
                "by_county": [c._asdict() for c in result.by_county],
            }
        )
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


@app.command()
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
    config = _plan_settings(rules)
    with engine(settings()).begin() as conn:
        report = check_site(
            conn,
            site,
            rules=load_rules(config.rules_file),
            schemes=load_schemes(config.schemes_file),
            settings=config,
            name=name or (file.stem if file else "site"),
            use=use,
            checked_by=_user(user),
        )
    if as_json:
        _emit({**report._asdict(), "items": [i._asdict() for i in report.items]})
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


@app.command()
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
        _emit({**result._asdict(), "by_community": [c._asdict() for c in result.by_community]})
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


@app.command()
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
