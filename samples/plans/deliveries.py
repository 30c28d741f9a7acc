"""The plan layers as departments deliver them: formats, CRSs, encodings, field names.

============== ============================ ========= ============ =======================
layer          format                        CRS       encoding     codes
============== ============================ ========= ============ =======================
landuse_plan   ESRI Shapefile (.cpg, .prj)   EPSG:4528 GBK          GB/T 21010-2017 DLBM
urban_plan     ESRI Shapefile (.cpg, .prj)   EPSG:4549 UTF-8        GB 50137-2011 YDDM
eco_redline    GeoPackage                    EPSG:4490 UTF-8        —
basic_farmland GeoPackage                    EPSG:4490 UTF-8        (三调 farmland DLBM)
dev_boundary   GeoJSON (RFC 7946)            CRS84     UTF-8        —
current_use    GeoPackage                    EPSG:4528 UTF-8        2023 用地用海分类 DLBM
============== ============================ ========= ============ =======================

Field names and values follow the national database standards loosely (标识码 BSM, 地类编码
DLBM, 行政区代码 XZQDM ...); text values are Chinese. Writing goes through ``gis.io``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final, NamedTuple

import numpy as np
import shapely
from numpy.typing import NDArray

from gis.crs import GK_CM120_SRID, GK_ZONE40_SRID, STORAGE_SRID, WGS84_SRID
from gis.geometry import transform_geometry
from gis.io import Record, VectorSchema, write_vector

Geoms = NDArray[np.object_]


class Delivery(NamedTuple):
    """How one plan layer is delivered."""

    key: str
    file: str
    id_field: str
    epsg: int
    encoding: str
    code_field: str | None
    name_field: str | None
    scheme: str | None
    title: str
    department: str


DELIVERIES: Final = {
    d.key: d
    for d in (
        Delivery(
            "landuse_plan",
            "plans/landuse_plan.shp",
            "BSM",
            GK_ZONE40_SRID,
            "GBK",
            "DLBM",
            "DLMC",
            "GB/T 21010-2017",
            "连云港市土地利用总体规划（2006—2020年）调整完善·规划地类",
            "连云港市国土资源局",
        ),
        Delivery(
            "urban_plan",
            "plans/urban_plan.shp",
            "BSM",
            GK_CM120_SRID,
            "UTF-8",
            "YDDM",
            "YDMC",
            "GB 50137-2011",
            "连云港市城市总体规划（2015—2030年）·城乡用地规划",
            "连云港市规划局",
        ),
        Delivery(
            "eco_redline",
            "plans/eco_redline.gpkg",
            "HXBH",
            STORAGE_SRID,
            "UTF-8",
            None,
            None,
            None,
            "江苏省国家级生态保护红线（连云港市）",
            "连云港市自然资源和规划局",
        ),
        Delivery(
            "basic_farmland",
            "plans/basic_farmland.gpkg",
            "BSM",
            STORAGE_SRID,
            "UTF-8",
            "DLBM",
            "DLMC",
            "用地用海分类 2023",
            "连云港市永久基本农田",
            "连云港市自然资源和规划局",
        ),
        Delivery(
            "dev_boundary",
            "plans/dev_boundary.geojson",
            "BJBH",
            WGS84_SRID,
            "UTF-8",
            None,
            None,
            None,
            "连云港市国土空间总体规划（2021—2035年）·城镇开发边界",
            "连云港市自然资源和规划局",
        ),
        Delivery(
            "current_use",
            "plans/current_use.gpkg",
            "BSM",
            GK_ZONE40_SRID,
            "UTF-8",
            "DLBM",
            "DLMC",
            "用地用海分类 2023",
            "连云港市国土变更调查（2023年度）·地类图斑",
            "连云港市自然资源和规划局",
        ),
    )
}
"""The six deliveries by plan type (layers/data/classification/plan-types.csv codes)."""

SCHEMAS: Final = {
    "landuse_plan": {
        "BSM": "str:14",
        "XZQDM": "str:6",
        "XZQMC": "str:12",
        "DLBM": "str:4",
        "DLMC": "str:30",
        "GHMJ": "float:18.2",
        "GHQX": "str:9",
        "备注": "str:40",
    },
    "urban_plan": {
        "BSM": "str:12",
        "YDDM": "str:4",
        "YDMC": "str:45",
        "XZQDM": "str:6",
        "XZQMC": "str:18",
        "GHMC": "str:90",
        "YDMJ": "float:18.2",
        "GHQX": "str:9",
    },
    "eco_redline": {
        "HXBH": "str",
        "HXMC": "str",
        "HXLX": "str",
        "XZQDM": "str",
        "XZQMC": "str",
        "MJ": "float",
        "PZWH": "str",
    },
    "basic_farmland": {
        "BSM": "str",
        "TBBH": "str",
        "DLBM": "str",
        "DLMC": "str",
        "XZQDM": "str",
        "XZQMC": "str",
        "ZLDJ": "int",
        "JBNTMJ": "float",
        "HDND": "int",
    },
    "dev_boundary": {
        "BJBH": "str",
        "BJMC": "str",
        "XZQDM": "str",
        "XZQMC": "str",
        "MJ": "float",
        "GHQX": "str",
    },
    "current_use": {
        "BSM": "str",
        "TBBH": "str",
        "DLBM": "str",
        "DLMC": "str",
        "QSXZ": "str",
        "QSXZMC": "str",
        "XZQDM": "str",
        "XZQMC": "str",
        "TBMJ": "float",
        "SJNF": "int",
    },
}
"""Field types in fiona notation; Shapefile text widths are bytes in the file's encoding."""


class Written(NamedTuple):
    """A written layer: where, how many features, and its geometries exactly as written
    (in the file's CRS, including any invalid ones)."""

    delivery: Delivery
    path: Path
    features: int
    geometries: Geoms
    ids: list[str]


def write_layer(
    out: Path, key: str, geoms_4549: Geoms, properties: Sequence[dict[str, Any]]
) -> Written:
    """Transform ``geoms_4549`` to the delivery's CRS and write them with ``properties``."""
    delivery = DELIVERIES[key]
    geoms = transform_geometry(np.asarray(geoms_4549, dtype=object), GK_CM120_SRID, delivery.epsg)
    if delivery.epsg == WGS84_SRID:  # RFC 7946: counter-clockwise exteriors
        geoms = shapely.orient_polygons(geoms, exterior_cw=False)
    path = out / delivery.file
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = VectorSchema("MultiPolygon" if path.suffix != ".shp" else "Polygon", SCHEMAS[key])
    report = write_vector(
        path,
        _records(geoms, properties),
        crs=f"EPSG:{delivery.epsg}",
        schema=schema,
        encoding=delivery.encoding if path.suffix == ".shp" else None,
    )
    ids = [str(p[delivery.id_field]) for p in properties]
    return Written(delivery, path, report.features, geoms, ids)


def _records(geoms: Geoms, properties: Sequence[dict[str, Any]]) -> Iterator[Record]:
    for i, (geom, props) in enumerate(zip(geoms, properties, strict=True)):
        yield Record(str(i), props, geom)
