"""The import pipeline: a plan file in any format, CRS and encoding → a new layer version.

Records stream from :func:`gis.io.open_vector` in chunks; each chunk is transformed to
EPSG:4490, repaired (``make_valid`` linework, polygons kept polygonal, what changed listed),
classified through the scheme's mapping table (source code → 2023 class and category), and
written with ``COPY``. Rows that cannot be used — no geometry, not a polygon, collapsed by
repair, outside the CRS's area, unknown or missing code — go to ``plans.rejects`` with the
reason; nothing is dropped silently. Everything happens inside one savepoint of the caller's
transaction: a failure leaves the previous version as it was.

The file's SHA-256 (with a Shapefile's sidecar files) decides whether it changed: an
unchanged file makes no version and says so.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final, NamedTuple

import numpy as np
import shapely
from numpy.typing import NDArray
from sqlalchemy import Connection, text

from gis.crs import STORAGE_SRID, CrsRef, resolve
from gis.errors import GisError
from gis.geometry import repair, repair_array, transform_geometry
from gis.io import Record, open_vector
from layers._sql import raw, sql
from layers.classification import Classifier, Schemes, normalise_code
from layers.errors import PlanImportError
from layers.parts import make_parts
from layers.registry import LayerSpec, ensure_layer, lock_layer

__all__ = ["ImportReport", "RejectNote", "RepairNote", "file_sha256", "import_layer"]

CHUNK: Final = 2000
_SIDECARS: Final = (".shp", ".shx", ".dbf", ".prj", ".cpg")
_POLYGON, _MULTIPOLYGON = 3, 6

Progress = Callable[[int], None]
"""Called with the number of source records just processed."""


class RepairNote(NamedTuple):
    """A feature whose geometry was repaired, and what was done. ``stage`` is ``source``
    (invalid as delivered) or ``transform`` (valid as delivered, invalid once transformed to
    EPSG:4490: near-coincident vertices moved by the projection)."""

    fid: str
    notes: str
    stage: str


class RejectNote(NamedTuple):
    """A source row left out of the version, with its code and the reason."""

    fid: str
    code: str | None
    reason: str


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
        current = conn.execute(sql(__file__, "current"), {"layer": spec.id}).one_or_none()
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
                sql(__file__, "new_version"),
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
            loader = _Loader(conn, row.id, src, classifier, field, densify_m)
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
        conn.execute(sql(__file__, "finish"), {"n": loader.loaded, "id": row.id})
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


def _repair(geoms: NDArray[np.object_]) -> tuple[NDArray[np.object_], dict[int, list[str]]]:
    """:func:`gis.geometry.repair_array`, one geometry at a time when the array call fails
    (it refuses some nested collections from ``make_valid``: "indices should be sorted")."""
    try:
        return repair_array(geoms)
    except ValueError:
        fixed = geoms.copy()
        notes: dict[int, list[str]] = {}
        for i in np.flatnonzero(~(shapely.is_valid(geoms) | shapely.is_missing(geoms))).tolist():
            fixed[i], notes[i] = repair(geoms[i])
        return fixed, notes


def _first(rejected: Sequence[RejectNote]) -> str:
    return f"fid {rejected[0].fid}: {rejected[0].reason}" if rejected else "-"


def _source_crs(path: Path, name: str | None, wkt: str | None) -> CrsRef:
    spelled = name or wkt
    if spelled is None:
        raise PlanImportError(f"{path}: no CRS: name it with --crs (e.g. EPSG:4528)")
    return resolve(spelled)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return value


def _properties(record: Record) -> str:
    return json.dumps(
        {k: _clean(v) for k, v in record.properties.items()}, ensure_ascii=False, default=str
    )


class _Loader:
    """Transforms, repairs, classifies and COPYs the chunks of one import."""

    def __init__(
        self,
        conn: Connection,
        version_id: int,
        src: CrsRef,
        classifier: Classifier,
        field: str | None,
        densify_m: float,
    ) -> None:
        self.conn = conn
        projected = src.crs.is_projected if src.crs is not None else src.kind == "local"
        self.densify_m = densify_m if projected else 0.0
        self.version_id = version_id
        self.src = src
        self.classifier = classifier
        self.field = field
        self.read = 0
        self.loaded = 0
        self.repaired: list[RepairNote] = []
        self.rejected: list[RejectNote] = []
        self.dbapi: Any = conn.connection.driver_connection
        self._checked_2023: set[str] = set()

    def load(self, records: list[Record]) -> None:
        n = len(records)
        self.read += n
        codes = [
            normalise_code(r.properties.get(self.field)) if self.field else None for r in records
        ]
        reasons: list[str | None] = [None] * n
        source = np.array([r.geometry for r in records], dtype=object)
        present = ~shapely.is_missing(source)
        source[present] = shapely.force_2d(source[present])
        repaired, notes = _repair(source)  # invalid as delivered: listed as repairs
        geoms, failed = self._transform(repaired)
        for i, why in failed.items():
            reasons[i] = why
        first = set(notes)
        fixed, moved = _repair(geoms)  # valid as delivered, not after the transform
        for i, msgs in moved.items():
            notes[i] = [*notes.get(i, []), "after the transform to EPSG:4490: " + "; ".join(msgs)]
        types = shapely.get_type_id(fixed)
        empty = shapely.is_empty(fixed)
        classes = [self.classifier.classify(c) for c in codes]
        for i in range(n):
            if reasons[i] is not None:
                continue
            if records[i].geometry is None:
                reasons[i] = "no geometry"
            elif types[i] not in (_POLYGON, _MULTIPOLYGON):
                reasons[i] = f"not a polygon ({geoms[i].geom_type})"
            elif empty[i]:
                reasons[i] = (
                    "geometry collapses to nothing when repaired"
                    if i in notes
                    else "empty geometry"
                )
            elif classes[i] is None:
                reasons[i] = self._code_reason(codes[i])
        ok = np.array([r is None for r in reasons], dtype=bool)
        multi = fixed.copy()
        single = ok & (types == _POLYGON)
        if single.any():
            multi[single] = shapely.multipolygons(
                fixed[single], indices=np.arange(int(single.sum()))
            )
        multi = shapely.set_srid(multi, STORAGE_SRID)
        ewkb = shapely.to_wkb(multi, hex=True, include_srid=True)
        self._check_2023({c.code_2023 for c in classes if c is not None and c.code_2023})
        rows = []
        for i in np.flatnonzero(ok).tolist():
            found = classes[i]
            assert found is not None  # rows without a class were rejected above
            row = (found.code_2023, found.category, _properties(records[i]), ewkb[i])
            rows.append((self.version_id, records[i].fid, codes[i], *row))
        self._copy("copy_features", rows)
        self.loaded += len(rows)
        repairs = [
            (
                self.version_id,
                records[i].fid,
                "; ".join(notes[i]),
                "source" if i in first else "transform",
            )
            for i in sorted(notes)
            if ok[i]
        ]
        self._copy("copy_repairs", repairs)
        self.repaired += [RepairNote(fid, text_, stage) for _, fid, text_, stage in repairs]
        self._reject(records, codes, reasons, geoms)

    def _transform(self, geoms: NDArray[np.object_]) -> tuple[NDArray[np.object_], dict[int, str]]:
        present = np.flatnonzero(~shapely.is_missing(geoms))
        out = np.full(len(geoms), None, dtype=object)
        failed: dict[int, str] = {}
        if present.size:
            flat = geoms[present]
            if self.densify_m > 0:
                flat = shapely.segmentize(flat, self.densify_m)
            try:
                out[present] = transform_geometry(flat, self.src, STORAGE_SRID)
            except GisError:
                for j, i in enumerate(present.tolist()):  # find the rows at fault
                    try:
                        out[i] = transform_geometry(flat[j], self.src, STORAGE_SRID)
                    except GisError as exc:
                        failed[i] = f"cannot be transformed to EPSG:{STORAGE_SRID} ({exc})"
        return out, failed

    def _code_reason(self, code: str | None) -> str:
        scheme = self.classifier.scheme
        name = scheme.name if scheme is not None else "-"
        if code is None:
            return f"no code in field {self.field}"
        return f"unknown {name} code {code!r}"

    def _check_2023(self, codes: set[str]) -> None:
        new = codes - self._checked_2023
        if not new:
            return
        bad = (
            self.conn.execute(sql(__file__, "unknown_2023"), {"codes": sorted(new)}).scalars().all()
        )
        if bad:
            raise PlanImportError(
                f"the mapping table maps to 2023 codes missing from plans.landuse_codes: {bad}"
            )
        self._checked_2023 |= new

    def _reject(
        self,
        records: list[Record],
        codes: list[str | None],
        reasons: list[str | None],
        geoms: NDArray[np.object_],
    ) -> None:
        bad = [i for i, r in enumerate(reasons) if r is not None]
        if not bad:
            return
        kept = np.array([geoms[i] for i in bad], dtype=object)
        kept = shapely.set_srid(kept, STORAGE_SRID)
        ewkb = shapely.to_wkb(kept, hex=True, include_srid=True)
        rows = [
            (
                self.version_id,
                records[i].fid,
                codes[i],
                reasons[i],
                _properties(records[i]),
                ewkb[j],
            )
            for j, i in enumerate(bad)
        ]
        self._copy("copy_rejects", rows)
        self.rejected += [RejectNote(records[i].fid, codes[i], str(reasons[i])) for i in bad]

    def _copy(self, name: str, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        with self.dbapi.cursor() as cursor, cursor.copy(raw(__file__, name)) as copy:
            for row in rows:
                copy.write_row(row)
