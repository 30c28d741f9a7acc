"""``onemap plans import``, ``list`` and ``versions``: plan layers and their versions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from services.cli._common import console, database_errors, database_failure, engine, out, settings
from services.cli.output import JSON, emit_json, progress_bar
from services.cli.plans._options import USER, plan_settings, user_name

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from gis.errors import DatabaseError

__all__ = ["import_", "list_", "versions"]


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

    from layers.importer import import_plan
    from layers.registry import LayerSpec

    spec = LayerSpec(layer, title or layer, plan_type, scheme, department)
    date = dt.date.fromisoformat(snapshot) if snapshot else None
    db = engine(settings())
    try:
        with progress_bar() as progress:
            task = progress.add_task(f"import {file.name}", total=None)
            report = import_plan(
                db,
                file,
                spec,
                plan_settings(),
                crs=crs,
                encoding=encoding,
                code_field=code_field,
                source_layer=source_layer,
                snapshot_date=date,
                imported_by=user_name(user),
                progress=lambda n: progress.advance(task, n),
                total=lambda n: progress.update(task, total=n),
            )
    except database_errors() as exc:
        failure = database_failure(exc)
        assert failure is not None
        raise _import_failed(db, file, layer, *failure) from exc
    if as_json:
        emit_json(report.as_json())
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


def list_(as_json: bool = JSON) -> None:
    """Registered plan layers and their current versions."""
    from rich.table import Table

    from layers.registry import list_layers

    with engine(settings()).connect() as conn:
        layers = list_layers(conn)
    if as_json:
        emit_json([layer._asdict() for layer in layers])
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


def versions(layer: str = typer.Argument(..., help="Layer id."), as_json: bool = JSON) -> None:
    """Every version of a layer: source file, checksum, CRS, counts, who imported it."""
    from rich.table import Table

    from layers.registry import versions as layer_versions

    with engine(settings()).connect() as conn:
        rows = layer_versions(conn, layer)
    if as_json:
        emit_json([v._asdict() for v in rows])
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
