"""Loading a sample city (``onemap samples load``): grid.gpkg + CSV tables, in one transaction.

The format is what :mod:`samples.grid` writes (see its manifest.json): ``grid.gpkg`` with
the layers admin_areas, cells and buildings (EPSG:4490), and ``workers.csv``,
``houses.csv``, ``households.csv``, ``persons.csv`` (UTF-8).

Rows are streamed: each file is checked row by row (a bad row raises
:class:`SampleFileError` naming the file and line or feature), personal fields are
protected through :class:`grid.privacy.Keyring` on the way in (the database never sees
them plain), and the rows go to temporary staging tables by ``COPY``. Links are then
resolved by natural keys in SQL — one ``INSERT ... SELECT`` per table, no lookup per row
in Python — with per-row audit switched off (:data:`grid.audit.BULK_LOAD_STATEMENT`);
buildings are linked to cells once at the end (:func:`grid.linking.link_buildings`).
Everything runs inside the caller's transaction: a bad file leaves the database as it was.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any, Final

import shapely
from sqlalchemy import Connection, func, select, text
from sqlalchemy.exc import DBAPIError

from gis.crs import STORAGE_SRID
from gis.errors import GisError
from gis.io import read_table, read_vector
from gis.sql_files import statement
from grid.audit import BULK_LOAD_STATEMENT
from grid.codes import citizen_id_problems
from grid.errors import GridError
from grid.linking import link_buildings
from grid.models import BUILDING_USES, LEVELS, RESIDENCE_TYPES, AdminArea
from grid.privacy import Keyring

GRID_TABLES: Final = (
    "persons", "households", "houses", "buildings", "cells", "workers", "admin_areas",
)  # fmt: skip
GPKG: Final = "grid.gpkg"
CSV_FILES: Final = ("workers.csv", "houses.csv", "households.csv", "persons.csv")
_CHUNK: Final = 5000
_CRS: Final = f"EPSG:{STORAGE_SRID}"

Progress = Callable[[str, int], None]
"""Called with a table name and the number of rows just read from its file."""


class SampleError(GridError):
    """A sample directory is incomplete, or the database already holds grid data."""


class SampleFileError(SampleError):
    """A file of the sample holds a row that cannot be loaded; names the file and line."""


def _q(name: str) -> Any:
    return text(statement(__name__, name))


def _require(directory: Path, name: str) -> Path:
    path = directory / name
    if not path.is_file():
        hint = ""
        if name == GPKG and (directory / "cells.geojson").exists():
            hint = " (this is the old GeoJSON sample format: regenerate it with "
            hint += "`onemap samples generate`)"
        raise SampleError(f"{directory}: the sample has no {name}{hint}")
    return path


def load_sample(
    conn: Connection,
    directory: Path,
    keyring: Keyring,
    replace: bool,
    progress: Progress | None = None,
) -> Counter[str]:
    """Load the sample in ``directory`` inside the caller's transaction; return row counts."""
    directory = Path(directory)
    if not directory.is_dir():
        raise SampleError(f"{directory} is not a directory")
    for name in (GPKG, *CSV_FILES):
        _require(directory, name)
    existing = conn.execute(select(func.count()).select_from(AdminArea)).scalar_one()
    if existing and not replace:
        raise SampleError("the database already holds grid data: load with --replace to replace it")
    conn.execute(text(BULK_LOAD_STATEMENT))
    if replace:
        tables = ", ".join(f"grid.{name}" for name in GRID_TABLES)
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    raw: Any = conn.connection.driver_connection
    with raw.cursor() as cursor:
        cursor.execute(statement(__name__, "stage"))
    loader = _Loader(conn, raw, directory, keyring, progress or (lambda table, rows: None))
    return loader.run()


class _Loader:
    def __init__(
        self, conn: Connection, raw: Any, directory: Path, keyring: Keyring, progress: Progress
    ) -> None:
        self.conn, self.raw, self.directory = conn, raw, directory
        self.keyring, self.progress = keyring, progress

    # --- COPY helpers -------------------------------------------------------------------

    def _copy(self, table: str, columns: Sequence[str], rows: Iterator[tuple[Any, ...]]) -> int:
        count = 0
        with (
            self.raw.cursor() as cursor,
            cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
                count += 1
        return count

    def _layer(
        self,
        layer: str,
        geometry: tuple[str, ...],
        convert: Callable[[int, dict[str, Any]], tuple[Any, ...]],
    ) -> Iterator[tuple[Any, ...]]:
        """Rows of a grid.gpkg layer: converted properties + WKB, checked feature by feature."""
        path = self.directory / GPKG
        try:
            source, records = read_vector(path, layer)
        except GisError as exc:
            raise SampleFileError(f"{GPKG} layer {layer}: {exc}") from None
        if source.crs != _CRS:
            records.close()
            raise SampleFileError(f"{GPKG} layer {layer}: CRS is {source.crs}, expected {_CRS}")
        number = 0
        with records:
            while chunk := list(islice(records, _CHUNK)):
                geoms = []
                rows = []
                for record in chunk:
                    number += 1
                    where = f"{GPKG} layer {layer} feature {number}"
                    g = record.geometry
                    if g is None or g.geom_type not in geometry:
                        kind = "no geometry" if g is None else f"a {g.geom_type}"
                        raise SampleFileError(
                            f"{where}: has {kind}, expected {' or '.join(geometry)}"
                        )
                    try:
                        rows.append(convert(number, record.properties))
                    except (KeyError, ValueError, TypeError) as exc:
                        raise SampleFileError(f"{where}: {_reason(exc)}") from None
                    geoms.append(g)
                wkb = shapely.to_wkb(geoms, output_dimension=2)
                for row, blob in zip(rows, wkb.tolist(), strict=True):
                    yield (*row, blob)
                self.progress(layer, len(chunk))

    def _csv(
        self, name: str, table: str, convert: Callable[[int, dict[str, str]], tuple[Any, ...]]
    ) -> Iterator[tuple[Any, ...]]:
        """Rows of a CSV file, converted and checked line by line (line 1 is the header)."""
        done = 0
        try:
            for line, row in enumerate(read_table(self.directory / name), start=2):
                try:
                    yield convert(line - 1, row)
                except (KeyError, ValueError, TypeError) as exc:
                    raise SampleFileError(f"{name} line {line}: {_reason(exc)}") from None
                done += 1
                if done == _CHUNK:
                    self.progress(table, done)
                    done = 0
        except GisError as exc:
            raise SampleFileError(str(exc)) from None
        self.progress(table, done)

    def _check(self, query: str, what: str, invalid: bool = False) -> None:
        row = self.conn.execute(_q(query)).first()
        if row is None:
            return
        if invalid:
            raise SampleFileError(
                f"{what} feature {row.n} ({row.code}): invalid geometry ({row.reason})"
            )
        raise SampleFileError(f"{what} line/feature {row.n}: {row.key!r} appears more than once")

    def _insert(self, query: str, what: str, **params: Any) -> int:
        try:
            return int(self.conn.execute(_q(query), params).rowcount)
        except DBAPIError as exc:
            diag = getattr(exc.orig, "diag", None)
            message = getattr(diag, "message_primary", None) or str(exc.orig).splitlines()[0]
            detail = getattr(diag, "message_detail", None)
            raise SampleFileError(
                f"{what}: {message}" + (f" ({detail})" if detail else "")
            ) from None

    # --- the tables ---------------------------------------------------------------------

    def run(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        self._copy("s_admin", ("n", "code", "name", "level", "parent_code", "wkb"),
                   self._layer("admin_areas", ("Polygon", "MultiPolygon"), _admin_row))  # fmt: skip
        self._check("repeated_admin", f"{GPKG} layer admin_areas")
        self._check("invalid_admin", f"{GPKG} layer admin_areas", invalid=True)
        counts["admin_areas"] = self._insert("insert_admin", f"{GPKG} layer admin_areas")

        base = self.conn.execute(_q("next_ids")).one()
        worker_columns = ("n", "key", "name", "community_code", "phone_enc", "phone_hash",
                          "phone_masked")  # fmt: skip
        self._copy(
            "s_workers", worker_columns, self._csv("workers.csv", "workers", self._worker_row)
        )
        self._check("repeated_workers", "workers.csv")
        counts["workers"] = self._insert("insert_workers", "workers.csv", base=base.workers)

        self._copy("s_cells", ("n", "code", "name", "community_code", "worker", "wkb"),
                   self._layer("cells", ("Polygon",), _cell_row))  # fmt: skip
        self._check("repeated_cells", f"{GPKG} layer cells")
        self._check("invalid_cells", f"{GPKG} layer cells", invalid=True)
        counts["cells"] = self._insert("insert_cells", f"{GPKG} layer cells", base=base.workers)

        self._copy("s_buildings", ("n", "code", "name", "use", "floors", "address",
                                   "community_code", "wkb"),
                   self._layer("buildings", ("Polygon",), _building_row))  # fmt: skip
        self._check("repeated_buildings", f"{GPKG} layer buildings")
        self._check("invalid_buildings", f"{GPKG} layer buildings", invalid=True)
        counts["buildings"] = self._insert("insert_buildings", f"{GPKG} layer buildings")
        self.progress("linking", 0)
        link_buildings(self.conn)
        self.progress("linking", 1)

        self._copy("s_houses", ("n", "key", "building", "unit", "floor", "room", "area_m2"),
                   self._csv("houses.csv", "houses", _house_row))  # fmt: skip
        self._check("repeated_houses", "houses.csv")
        counts["houses"] = self._insert("insert_houses", "houses.csv", base=base.houses)

        self._copy("s_households", ("n", "household_no", "house", "residence"),
                   self._csv("households.csv", "households", _household_row))  # fmt: skip
        self._check("repeated_households", "households.csv")
        counts["households"] = self._insert("insert_households", "households.csv",
                                            base=base.houses)  # fmt: skip

        self._copy("s_persons", ("n", "household_no", "name", "sex", "birth_date", "relation",
                                 "citizen_id_enc", "citizen_id_hash", "citizen_id_masked",
                                 "phone_enc", "phone_hash", "phone_masked"),
                   self._csv("persons.csv", "persons", self._person_row))  # fmt: skip
        counts["persons"] = self._insert("insert_persons", "persons.csv")
        self.conn.execute(_q("sync_sequences"))
        self.conn.execute(_q("analyze"))
        return counts

    def _worker_row(self, n: int, row: dict[str, str]) -> tuple[Any, ...]:
        phone = self.keyring.protect_phone(row["phone"]) if row.get("phone") else None
        return (
            n, _text(row, "key"), _text(row, "name"), _code(row, "community_code", 12),
            *(phone if phone else (None, None, None)),
        )  # fmt: skip

    def _person_row(self, n: int, row: dict[str, str]) -> tuple[Any, ...]:
        cid = row["citizen_id"]
        problems = citizen_id_problems(cid)
        if problems:
            raise ValueError(f"citizen ID {'; '.join(problems)}")
        sex = row["sex"]
        if sex not in ("M", "F"):
            raise ValueError(f"sex {sex!r} is not M or F")
        protected = self.keyring.protect_citizen_id(cid)
        phone = self.keyring.protect_phone(row["phone"]) if row.get("phone") else None
        return (
            n, row["household_no"], _text(row, "name"), sex,
            dt.date.fromisoformat(row["birth_date"]), row.get("relation") or None,
            *protected, *(phone if phone else (None, None, None)),
        )  # fmt: skip


def _reason(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"no {exc.args[0]!r} column"
    return str(exc)


def _text(row: dict[str, Any], column: str) -> str:
    value = row[column]
    if value is None or str(value).strip() == "":
        raise ValueError(f"{column} is empty")
    return str(value)


def _code(row: dict[str, Any], column: str, digits: int) -> str:
    value = str(row[column] or "")
    if not re.fullmatch(rf"[0-9]{{{digits}}}", value):
        raise ValueError(f"{column} {value!r} is not a {digits}-digit code")
    return value


def _int(row: dict[str, Any], column: str, low: int, high: int) -> int:
    value = row[column]
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{column} {value!r} is not a whole number") from None
    if not low <= number <= high:
        raise ValueError(f"{column} {number} is outside {low}..{high}")
    return number


def _admin_row(n: int, p: dict[str, Any]) -> tuple[Any, ...]:
    level = p["level"]
    if level not in LEVELS:
        raise ValueError(f"level {level!r} is not one of {', '.join(LEVELS)}")
    return n, _code(p, "code", 12), _text(p, "name"), level, p.get("parent_code") or ""


def _cell_row(n: int, p: dict[str, Any]) -> tuple[Any, ...]:
    return (n, _code(p, "code", 15), p.get("name") or "", _code(p, "community_code", 12),
            p.get("worker") or "")  # fmt: skip


def _building_row(n: int, p: dict[str, Any]) -> tuple[Any, ...]:
    use = p["use"]
    if use not in BUILDING_USES:
        raise ValueError(f"use {use!r} is not one of {', '.join(BUILDING_USES)}")
    return (n, _text(p, "code"), p.get("name") or "", use, _int(p, "floors", 1, 200),
            p.get("address") or "", p.get("community_code") or "")  # fmt: skip


def _house_row(n: int, row: dict[str, str]) -> tuple[Any, ...]:
    floor = _int(row, "floor", -5, 200)
    if floor == 0:
        raise ValueError("floor 0 does not exist (floors are 1.. above ground, -1.. below)")
    area = float(row["area_m2"]) if row.get("area_m2") else None
    if area is not None and not area > 0:
        raise ValueError(f"area_m2 {area} is not positive")
    return (
        n,
        _text(row, "key"),
        row["building"],
        _text(row, "unit"),
        floor,
        _text(row, "room"),
        area,
    )


def _household_row(n: int, row: dict[str, str]) -> tuple[Any, ...]:
    residence = row.get("residence") or "registered"
    if residence not in RESIDENCE_TYPES:
        raise ValueError(f"residence {residence!r} is not one of {', '.join(RESIDENCE_TYPES)}")
    return n, _text(row, "household_no"), row["house"], residence
