"""Writing the grid part of a generated city: grid.gpkg (through gis.io), the CSV tables,
the grid-worker inputs; each file described for the manifest.

CSV files are UTF-8 without BOM, ``\\n`` line ends, values in a fixed form, so the same seed
gives byte-identical files. GeoPackage files carry write timestamps and may differ.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from gis.crs import STORAGE_SRID
from gis.io import Record, VectorSchema, write_vector
from gis.io.xlsx_writer import write_sheet as _write_xlsx
from grid.loader import GPKG
from samples.grid.assembly import City
from samples.grid.inputs import COLLECTION_COLUMNS

CRS: Final = f"EPSG:{STORAGE_SRID}"

Column = NDArray[Any]


def _records(columns: Mapping[str, Column], geoms: Sequence[Any]) -> Iterator[Record]:
    lists = {k: v.tolist() for k, v in columns.items()}
    keys = list(lists)
    for i, geom in enumerate(geoms):
        yield Record(str(i + 1), {k: lists[k][i] for k in keys}, geom)


def write_grid_layers(out: Path, city: City, cell_worker: Column) -> dict[str, Any]:
    """admin_areas, cells and buildings layers of grid.gpkg (EPSG:4490)."""
    path = out / GPKG
    path.unlink(missing_ok=True)
    a, c, b = city.admin, city.cells, city.buildings
    layers: dict[str, Any] = {}
    specs: list[tuple[str, str, dict[str, Column], dict[str, str], Sequence[Any]]] = [
        ("admin_areas", "MultiPolygon",
         {"code": np.asarray(a.code), "name": np.asarray(a.name), "level": np.asarray(a.level),
          "parent_code": np.asarray(a.parent, dtype=object), "source": np.asarray(a.source),
          "kind": np.asarray(a.kind)},
         {"code": "str:12", "name": "str", "level": "str:9", "parent_code": "str:12",
          "source": "str:10", "kind": "str:10"}, a.geom),
        ("cells", "Polygon",
         {"code": c.code, "name": c.name, "community_code": c.community, "worker": cell_worker},
         {"code": "str:15", "name": "str", "community_code": "str:12", "worker": "str:6"},
         list(c.geom)),
        ("buildings", "Polygon",
         {"code": b.code, "name": b.name, "use": b.use, "floors": b.floors,
          "address": b.address, "community_code": b.community, "cell_code": b.cell},
         {"code": "str:17", "name": "str", "use": "str:12", "floors": "int", "address": "str",
          "community_code": "str:12", "cell_code": "str:15"}, list(b.geom)),
    ]  # fmt: skip
    for name, geometry, columns, fields, geoms in specs:
        report = write_vector(
            path, _records(columns, geoms), crs=CRS, layer=name,
            schema=VectorSchema(geometry, fields),
        )  # fmt: skip
        layers[name] = {"crs": CRS, "geometry": geometry, "features": report.features,
                        "fields": list(fields)}  # fmt: skip
    return {"format": "GPKG", "encoding": "UTF-8", "layers": layers}


def write_csv(path: Path, columns: Mapping[str, Column]) -> dict[str, Any]:
    """A UTF-8 CSV of equal-length columns; returns its manifest entry."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lists = [v.tolist() for v in columns.values()]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(list(columns))
        writer.writerows(zip(*lists, strict=True))
    return {"format": "CSV", "encoding": "UTF-8", "rows": len(lists[0]) if lists else 0,
            "columns": list(columns)}  # fmt: skip


def write_sheet(path: Path, rows: list[list[Any]], sheet: str) -> dict[str, Any]:
    """The collection workbook: one sheet, header in row 1."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_xlsx(path, COLLECTION_COLUMNS, rows, sheet=sheet)
    return {
        "format": "XLSX",
        "sheet": sheet,
        "rows": len(rows),
        "columns": list(COLLECTION_COLUMNS),
    }
