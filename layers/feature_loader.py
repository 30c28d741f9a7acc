"""One import's features, a chunk at a time: transform, repair, classify, ``COPY``.

The chunk is handled as numpy arrays of shapely geometries: repaired as delivered, moved to
EPSG:4490 (densified first when the source is projected), repaired again if the transform
made it invalid, classified through the scheme's mapping table. Rows that cannot be used go
to ``plans.rejects`` with the reason; repairs are listed in ``plans.repairs``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence
from typing import Any, Final, NamedTuple

import numpy as np
import shapely
from numpy.typing import NDArray
from sqlalchemy import Connection

from gis.crs import STORAGE_SRID, CrsRef
from gis.errors import GisError
from gis.geometry import repair, repair_array, transform_geometry
from gis.io import Record
from gis.sql_files import sql, statement
from layers.classification import Classifier, normalise_code
from layers.errors import PlanImportError

__all__ = ["ChunkLoader", "RejectNote", "RepairNote"]

_POLYGON: Final = 3
_MULTIPOLYGON: Final = 6


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


class ChunkLoader:
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
        """Transform, repair, classify and store one chunk; count and list what happened."""
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
            self.conn.execute(sql(__name__, "unknown_2023"), {"codes": sorted(new)}).scalars().all()
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
        with self.dbapi.cursor() as cursor, cursor.copy(statement(__name__, name)) as copy:
            for row in rows:
                copy.write_row(row)
