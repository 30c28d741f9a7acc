"""The import pipeline: a plan file in any format, CRS and encoding → a new layer version.

Records stream from :func:`gis.io.open_vector` in chunks; each chunk is transformed to
EPSG:4490, repaired (``make_valid`` linework, polygons kept polygonal, what changed listed),
classified through the scheme's mapping table (source code → 2023 class and category), and
written with ``COPY``, by :class:`layers.feature_loader.ChunkLoader`. Rows that cannot be
used — no geometry, not a polygon, collapsed by repair, outside the CRS's area, unknown or
missing code — go to ``plans.rejects`` with the reason; nothing is dropped silently.
Everything happens inside one savepoint of the caller's transaction: a failure leaves the
previous version as it was.

The file's SHA-256 (with a Shapefile's sidecar files) decides whether it changed: an
unchanged file makes no version and says so.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final, NamedTuple

from sqlalchemy import Connection, Engine, text

from gis.crs import CrsRef, resolve
from gis.io import Record, open_vector
from gis.sql_files import sql
from layers.classification import Schemes, load_schemes
from layers.errors import PlanImportError
from layers.feature_loader import ChunkLoader, RejectNote, RepairNote
from layers.parts import make_parts
from layers.registry import LayerSpec, ensure_layer, lock_layer
from layers.settings import PlanSettings

__all__ = [
    "ImportReport",
    "RejectNote",
    "RepairNote",
    "check_file",
    "file_sha256",
    "import_layer",
    "import_plan",
]

CHUNK: Final = 2000
_SIDECARS: Final = (".shp", ".shx", ".dbf", ".prj", ".cpg")
_POLYGON, _MULTIPOLYGON = 3, 6

Progress = Callable[[int], None]
"""Called with the number of source records just processed."""


class ImportReport(NamedTuple):
    """What an import did. ``status`` is ``imported`` or ``unchanged`` (same checksum as the
    current version: nothing written, ``version`` is the current one)."""

    layer_id: str
    status: str
    version: int
    version_id: int
    source_name: str
    sha256: str
    crs: str
    encoding: str | None
    code_field: str | None
    read: int
    loaded: int
    repaired: list[RepairNote]
    rejected: list[RejectNote]
    seconds: float

    def as_json(self) -> dict[str, Any]:
        """The report as JSON values, repairs and rejects as objects: what ``onemap plans
        import --json`` prints and the ``plan-import`` process returns (one shape for both)."""
        data = self._asdict()
        data["repaired"] = [note._asdict() for note in self.repaired]
        data["rejected"] = [note._asdict() for note in self.rejected]
        return data


def file_sha256(path: Path) -> str:
    """SHA-256 of a file; for a Shapefile, of its .shp, .shx, .dbf, .prj and .cpg together."""
    digest = hashlib.sha256()
    parts = [path]
    if path.suffix.lower() == ".shp":
        parts = [p for s in _SIDECARS if (p := _sidecar(path, s)) is not None]
    for part in parts:
        digest.update(part.suffix.lower().encode())
        with part.open("rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()


def _sidecar(shp: Path, suffix: str) -> Path | None:
    for candidate in (shp.with_suffix(suffix), shp.with_suffix(suffix.upper())):
        if candidate.is_file():
            return candidate
    return None


def import_layer(
    conn: Connection,
    path: Path,
    spec: LayerSpec,
    schemes: Schemes,
    *,
    crs: str | None = None,
    encoding: str | None = None,
    code_field: str | None = None,
    source_layer: str | None = None,
    snapshot_date: dt.date | None = None,
    imported_by: str = "system",
    densify_m: float = 200.0,
    subdivide_vertices: int = 256,
    progress: Progress | None = None,
    total: Callable[[int | None], None] | None = None,
) -> ImportReport:
    """Import ``path`` as the next version of layer ``spec.id`` (registered if new).

    Parameters
    ----------
    crs, encoding
        Override the file's CRS (required when it has none) and text encoding.
    code_field
        The field with land-use codes; by default the scheme's usual names (DLBM, YDDM ...).
    source_layer
        The layer of a multi-layer file (GeoPackage).
    densify_m
        Split edges of a projected source longer than this before transforming (see
        :class:`layers.settings.PlanSettings`); 0 keeps the source vertices only.
    subdivide_vertices
        The vertex limit above which the metric parts of a feature are cut (layers/parts.py).
    progress, total
        Called with records processed per chunk, and once with the file's feature count.
    """
    started = time.perf_counter()
    path = Path(path)
    scheme = schemes.find(spec.scheme) if spec.scheme else None
    if scheme is not None:
        spec = spec._replace(scheme=scheme.name)
    with conn.begin_nested():
        ensure_layer(conn, spec)
        lock_layer(conn, spec.id)
        sha = file_sha256(path)
        current = conn.execute(sql(__name__, "current"), {"layer": spec.id}).one_or_none()
        if current is not None and current.source_sha256 == sha:
            return ImportReport(
                spec.id,
                "unchanged",
                current.version,
                current.id,
                path.name,
                sha,
                "",
                None,
                None,
                0,
                0,
                [],
                [],
                time.perf_counter() - started,
            )
        classifier = schemes.classifier(scheme, spec.plan_type)
        with open_vector(path, source_layer, crs=crs, encoding=encoding) as (source, records):
            src = _source_crs(path, source.crs, source.crs_wkt)
            field = classifier.code_field(source.fields or {}, code_field)
            if total is not None:
                total(source.feature_count)
            row = conn.execute(
                sql(__name__, "new_version"),
                {
                    "layer": spec.id,
                    "snapshot_date": snapshot_date,
                    "source_name": path.name,
                    "sha256": sha,
                    "crs": src.name,
                    "encoding": source.encoding,
                    "imported_by": imported_by,
                },
            ).one()
            loader = ChunkLoader(conn, row.id, src, classifier, field, densify_m)
            chunk: list[Record] = []
            for record in records:
                chunk.append(record)
                if len(chunk) == CHUNK:
                    loader.load(chunk)
                    if progress is not None:
                        progress(len(chunk))
                    chunk = []
            if chunk:
                loader.load(chunk)
                if progress is not None:
                    progress(len(chunk))
        if loader.loaded == 0:
            raise PlanImportError(
                f"{path}: no usable feature among {loader.read} "
                f"({len(loader.rejected)} rejected, e.g. {_first(loader.rejected)})"
            )
        conn.execute(sql(__name__, "finish"), {"n": loader.loaded, "id": row.id})
        conn.execute(text("ANALYZE plans.features"))
        make_parts(conn, row.id, subdivide_vertices)
    return ImportReport(
        spec.id,
        "imported",
        row.version,
        row.id,
        path.name,
        sha,
        src.name,
        source.encoding,
        field,
        loader.read,
        loader.loaded,
        loader.repaired,
        loader.rejected,
        time.perf_counter() - started,
    )


def import_plan(
    engine: Engine,
    path: Path,
    spec: LayerSpec,
    settings: PlanSettings,
    *,
    crs: str | None = None,
    encoding: str | None = None,
    code_field: str | None = None,
    source_layer: str | None = None,
    snapshot_date: dt.date | None = None,
    imported_by: str = "system",
    progress: Progress | None = None,
    total: Callable[[int | None], None] | None = None,
) -> ImportReport:
    """:func:`import_layer` in a transaction of its own, with the scheme tables, densifying
    and subdivision of ``settings``: the import as ``onemap plans import`` and the
    ``plan-import`` process run it. It commits at the end or not at all, so a process killed
    on the way leaves the previous version current and nothing of the new one."""
    schemes = load_schemes(settings.schemes_file)
    with engine.begin() as conn:
        return import_layer(
            conn,
            path,
            spec,
            schemes,
            crs=crs,
            encoding=encoding,
            code_field=code_field,
            source_layer=source_layer,
            snapshot_date=snapshot_date,
            imported_by=imported_by,
            densify_m=settings.densify_m,
            subdivide_vertices=settings.subdivide_vertices,
            progress=progress,
            total=total,
        )


def check_file(
    path: Path,
    spec: LayerSpec,
    schemes: Schemes,
    *,
    crs: str | None = None,
    encoding: str | None = None,
    code_field: str | None = None,
    source_layer: str | None = None,
) -> None:
    """Raise what :func:`import_layer` would raise on opening ``path``, without a database.

    The file is opened (layer choice, encoding, CRS) and its code field found, but no record
    is read: a caller that must refuse a file before writing anything calls this first.
    """
    scheme = schemes.find(spec.scheme) if spec.scheme else None
    classifier = schemes.classifier(scheme, spec.plan_type)
    with open_vector(path, source_layer, crs=crs, encoding=encoding) as (source, _):
        _source_crs(path, source.crs, source.crs_wkt)
        classifier.code_field(source.fields or {}, code_field)


def _first(rejected: Sequence[RejectNote]) -> str:
    return f"fid {rejected[0].fid}: {rejected[0].reason}" if rejected else "-"


def _source_crs(path: Path, name: str | None, wkt: str | None) -> CrsRef:
    spelled = name or wkt
    if spelled is None:
        raise PlanImportError(f"{path}: no CRS: name it with --crs (e.g. EPSG:4528)")
    return resolve(spelled)
