"""``onemap crs``: convert coordinates and files, describe files, fit local parameters."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from services.cli._common import console, out
from services.cli.output import emit_json

if TYPE_CHECKING:
    from collections.abc import Iterator

    from gis.io import Record

app = typer.Typer(help="Coordinate systems: convert, inspect, fit.", no_args_is_help=True)

_BATCH = 4096


@app.command()
def convert(
    coordinates: list[float] = typer.Argument(None, help="X Y (lon lat, or easting northing)."),
    source: str = typer.Option(..., "--from", help="Source CRS: EPSG:4528, GCJ02, BD09, a local …"),
    target: str = typer.Option("EPSG:4490", "--to", help="Target CRS."),
    input_path: Path = typer.Option(None, "--input", help="Convert a whole vector file."),
    output_path: Path = typer.Option(None, "--output", help="Output file (.gpkg/.geojson/.shp)."),
    layer: str = typer.Option(None, help="Layer of the input file."),
    encoding: str = typer.Option(None, help="Shapefile encoding of the output (UTF-8, GBK)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Convert one coordinate pair, or every geometry of a file, between two CRSs.

    Example: ``onemap crs convert --from GCJ02 --to EPSG:4490 119.1849 34.5999``
    """
    from gis.crs import resolve, transform_xy

    src, dst = resolve(source), resolve(target)
    if input_path is not None:
        if output_path is None:
            raise typer.BadParameter("--input needs --output", param_hint="--output")
        _convert_file(input_path, output_path, src.name, dst.name, layer, encoding)
        return
    if not coordinates or len(coordinates) != 2:
        raise typer.BadParameter("give exactly two numbers X Y, or --input FILE")
    xs, ys = transform_xy([coordinates[0]], [coordinates[1]], src, dst)
    x, y = float(xs[0]), float(ys[0])
    if as_json:
        emit_json({"from": src.name, "to": dst.name, "x": x, "y": y})
    else:
        digits = 9 if dst.crs is None or dst.crs.is_geographic else 4
        out.print(f"{x:.{digits}f} {y:.{digits}f}", highlight=False)


def _output_crs(name: str) -> str:
    """What the output file can say its CRS is; offsets have no EPSG code of their own."""
    from gis.crs import WGS84_SRID, resolve

    ref = resolve(name)
    if ref.kind in ("gcj02", "bd09"):
        console.print(
            f"[yellow]warning:[/] the file's CRS will read WGS 84: {ref.name} has no EPSG code, "
            "its offset coordinates are only meaningful to map SDKs that expect them"
        )
        return f"EPSG:{WGS84_SRID}"
    if ref.crs is None:
        raise typer.BadParameter(
            f"{ref.name} is a local system without a PROJ definition: convert to it as "
            "coordinates, or write the file in its parent CRS",
            param_hint="--to",
        )
    return ref.name if ref.epsg or ref.name == "OGC:CRS84" else ref.crs.to_wkt()


def _convert_file(
    input_path: Path,
    output_path: Path,
    source: str,
    target: str,
    layer: str | None,
    encoding: str | None,
) -> None:
    from itertools import islice

    import numpy as np
    from rich.progress import Progress

    from gis.geometry import transform_geometry
    from gis.io import Record, read_vector, write_vector

    description, records = read_vector(input_path, layer, crs=source)
    crs_out = _output_crs(target)

    def converted() -> Iterator[Record]:
        with records, Progress(console=console, transient=True) as progress:
            total = description.feature_count
            task = progress.add_task(f"converting {input_path.name}", total=total)
            while batch := list(islice(records, _BATCH)):
                geoms = np.array([r.geometry for r in batch], dtype=object)
                present = np.array([g is not None for g in geoms])
                if present.any():
                    geoms[present] = transform_geometry(geoms[present], source, target)
                for record, geom in zip(batch, geoms, strict=True):
                    yield Record(record.fid, record.properties, geom)
                progress.advance(task, len(batch))

    report = write_vector(output_path, converted(), crs=crs_out, encoding=encoding)
    console.print(
        f"wrote {report.features} features to {output_path} ({target}"
        + (f", {report.encoding}" if report.encoding else "")
        + ")"
    )


@app.command()
def info(
    path: Path = typer.Argument(..., help="A vector file (.shp, .gpkg, .geojson, .csv, .xlsx)."),
    layer: str = typer.Option(None, help="Layer (GeoPackage) or sheet (XLSX)."),
    crs: str = typer.Option(None, help="CRS to assume when the file has none."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Describe a vector file: CRS, encoding, feature count, bounds, geometry type, layers."""
    from gis.crs import resolve
    from gis.io import list_layers, read_vector

    description, records = read_vector(path, layer, crs=crs)
    records.close()
    resolved = None
    if description.crs or description.crs_wkt:
        resolved = resolve(description.crs or description.crs_wkt or "").name
    facts = {
        "path": str(path),
        "driver": description.driver,
        "layers": list_layers(path),
        "layer": description.layer,
        "crs": resolved,
        "encoding": description.encoding,
        "encoding_source": description.encoding_source,
        "feature_count": description.feature_count,
        "geometry_type": description.geometry_type,
        "bounds": list(description.bounds) if description.bounds else None,
        "fields": dict(description.fields or {}),
    }
    if as_json:
        emit_json(facts)
        return
    for key, value in facts.items():
        out.print(f"[bold]{key}[/]: {value}", highlight=False)


@app.command()
def fit(
    points: Path = typer.Argument(..., help="CSV of common points (see --help)."),
    kind: str = typer.Option("4", help="4 (plane similarity) or 7 (Bursa-Wolf)."),
    max_rms: float = typer.Option(0.05, help="Refuse a fit whose RMS residual exceeds this (m)."),
    source_ellipsoid: str = typer.Option("krass", help="7-parameter: source ellipsoid (PROJ)."),
    target_ellipsoid: str = typer.Option("GRS80", help="7-parameter: target ellipsoid (PROJ)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Fit local-system parameters from common points by least squares.

    4-parameter: columns ``src_e,src_n,dst_e,dst_n`` (metres, E = easting; mind software that
    writes X = northing). 7-parameter: ``src_lon,src_lat,dst_lon,dst_lat`` (degrees; heights
    0) on the given ellipsoids. Prints the parameters, per-point residuals and the RMS.
    """
    import numpy as np

    from gis.io import read_table
    from gis.local import fit_4param, fit_7param, geocentric

    rows = list(read_table(points))
    try:
        if kind == "4":
            src = [[float(r["src_e"]), float(r["src_n"])] for r in rows]
            dst = [[float(r["dst_e"]), float(r["dst_n"])] for r in rows]
            result = fit_4param(src, dst, max_rms=max_rms)
            residuals, rms = result.residuals, result.rms
            params: dict[str, float | str] = {
                "dE": result.de,
                "dN": result.dn,
                "scale": result.scale,
                "rotation_arcsec": result.rotation_arcsec,
            }
        elif kind == "7":
            a1, rf1 = _ellipsoid(source_ellipsoid)
            a2, rf2 = _ellipsoid(target_ellipsoid)
            lon1 = np.array([float(r["src_lon"]) for r in rows])
            lat1 = np.array([float(r["src_lat"]) for r in rows])
            lon2 = np.array([float(r["dst_lon"]) for r in rows])
            lat2 = np.array([float(r["dst_lat"]) for r in rows])
            result7 = fit_7param(
                geocentric(lon1, lat1, a=a1, rf=rf1),
                geocentric(lon2, lat2, a=a2, rf=rf2),
                max_rms=max_rms,
            )
            params = {
                "tx": result7.tx,
                "ty": result7.ty,
                "tz": result7.tz,
                "rx": result7.rx,
                "ry": result7.ry,
                "rz": result7.rz,
                "s_ppm": result7.s,
                "convention": result7.convention,
            }
            residuals, rms = result7.residuals, result7.rms
        else:
            raise typer.BadParameter("--kind is 4 or 7", param_hint="--kind")
    except KeyError as exc:
        raise typer.BadParameter(f"{points}: missing column {exc}") from None
    except ValueError as exc:
        raise typer.BadParameter(f"{points}: not a number ({exc})") from None
    report = {"kind": kind, "parameters": params, "residuals_m": residuals.tolist(), "rms_m": rms}
    if as_json:
        emit_json(report)
        return
    for name, value in params.items():
        out.print(f"{name} = {value}", highlight=False)
    for index, residual in enumerate(residuals.tolist(), start=1):
        out.print(f"point {index}: residual {residual:.4f} m", highlight=False)
    out.print(f"RMS {rms:.4f} m over {len(rows)} points", highlight=False)


def _ellipsoid(name: str) -> tuple[float, float]:
    """Semi-major axis and inverse flattening of a PROJ ellipsoid name."""
    import pyproj

    try:
        ellps = pyproj.Geod(ellps=name)
    except pyproj.exceptions.GeodError:
        raise typer.BadParameter(f"unknown ellipsoid {name!r}") from None
    return float(ellps.a), 1.0 / float(ellps.f)
