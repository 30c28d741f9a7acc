"""Vector I/O with real fiona and openpyxl: Chinese text in every format, errors that name
the file and the record, and reading in constant memory."""

from __future__ import annotations

import doctest
import tracemalloc
from pathlib import Path

import pytest
from shapely.geometry import MultiPolygon, Point, Polygon

import gis.io.encoding
import gis.io.point_tables
import gis.io.schema
from gis.errors import (
    CoordinateColumnsError,
    CoordinateError,
    EncodingError,
    FieldNameError,
    LayerChoiceError,
    MissingCrsError,
    VectorReadError,
    VectorWriteError,
)
from gis.io import (
    EncodingMismatchWarning,
    Record,
    VectorSchema,
    list_layers,
    open_vector,
    read_vector,
    write_vector,
)

STREET = "海州区新海街道"
FARMLAND = "永久基本农田"
ZONE_40 = "EPSG:4528"  # CGCS2000 3-degree GK zone 40, with the zone in the false easting


def _square(x: float, y: float, size: float = 10.0) -> Polygon:
    return Polygon([(x, y), (x + size, y), (x + size, y + size), (x, y + size)])


def _parcels(count: int = 4) -> list[Record]:
    """Parcels in zone 40 near Haizhou, alternating Polygon and MultiPolygon."""
    records = []
    for i in range(count):
        square = _square(40_512_000 + 20 * i, 3_830_000)
        geometry = square if i % 2 == 0 else MultiPolygon([square, _square(40_512_000, 3_830_100)])
        properties = {"名称": STREET, "地类名称代码": FARMLAND, "编号": i, "面积": 100.5 + i}
        records.append(Record(str(i), properties, geometry))
    return records


def _read_all(path: Path, **options: str) -> list[Record]:
    _, records = read_vector(path, **options)
    return list(records)


def test_doctests() -> None:
    for module in (gis.io.encoding, gis.io.schema, gis.io.point_tables):
        assert doctest.testmod(module).failed == 0


@pytest.mark.parametrize(("encoding", "name_written"), [("UTF-8", "地类名"), ("GBK", "地类名称代")])
@pytest.mark.parametrize("keep_cpg", [True, False])
def test_shapefile_round_trip_keeps_chinese(
    tmp_path: Path, encoding: str, name_written: str, keep_cpg: bool
) -> None:
    path = tmp_path / "parcels.shp"
    report = write_vector(path, _parcels(), crs=ZONE_40, encoding=encoding)
    assert path.with_suffix(".cpg").read_text() == encoding
    # 地类名称代码 is 18 bytes in UTF-8, 12 in GBK: cut to 10 bytes at a character boundary
    assert report.renamed == {"地类名称代码": name_written}
    if not keep_cpg:
        path.with_suffix(".cpg").unlink()
    source, records = read_vector(path)
    rows = list(records)
    assert source.encoding == ("utf-8" if encoding == "UTF-8" else "gb18030")
    assert source.encoding_source == ("cpg" if keep_cpg else "detected")
    assert source.crs == ZONE_40
    assert source.feature_count == len(rows) == 4
    assert source.bounds is not None and source.bounds.minx == 40_512_000
    assert [r.properties["名称"] for r in rows] == [STREET] * 4
    assert [r.properties[name_written] for r in rows] == [FARMLAND] * 4
    assert [r.properties["编号"] for r in rows] == [0, 1, 2, 3]
    # one Shapefile shape type holds both forms; each record keeps its own
    assert [r.geometry.geom_type for r in rows if r.geometry] == ["Polygon", "MultiPolygon"] * 2
    assert rows[1].geometry is not None and rows[1].geometry.equals(_parcels()[1].geometry)


def test_wrong_encoding_hint_names_file_and_record(tmp_path: Path) -> None:
    path = tmp_path / "gbk.shp"
    write_vector(path, _parcels(), crs=ZONE_40, encoding="GBK")
    with pytest.raises(EncodingError, match=r"gbk\.dbf: .*record 1 .*not UTF-8.*reads as gb18030"):
        read_vector(path, encoding="UTF-8")
    assert _read_all(path, encoding="GBK")[0].properties["名称"] == STREET  # caller overrides


def test_cpg_contradicted_by_the_bytes_warns_and_reads_right(tmp_path: Path) -> None:
    path = tmp_path / "mislabelled.shp"
    write_vector(path, _parcels(), crs=ZONE_40, encoding="UTF-8")
    path.with_suffix(".cpg").write_text("936")  # GBK: would turn 海州区 into 娴峰窞鍖
    with pytest.warns(EncodingMismatchWarning, match="valid UTF-8"):
        source, records = read_vector(path)
    assert source.encoding == "utf-8"
    assert next(records).properties["名称"] == STREET
    records.close()


def test_missing_prj_needs_a_crs(tmp_path: Path) -> None:
    path = tmp_path / "noprj.shp"
    write_vector(path, _parcels(), crs=ZONE_40)
    path.with_suffix(".prj").unlink()
    with pytest.raises(MissingCrsError, match=r"noprj\.shp: has no CRS"):
        read_vector(path)
    source, records = read_vector(path, crs="EPSG:4549")
    assert (source.crs, source.crs_wkt) == ("EPSG:4549", None)
    assert len(list(records)) == 4


def test_truncated_shapefile_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cut.shp"
    write_vector(path, _parcels(50), crs=ZONE_40)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(VectorReadError, match=r"cut\.shp: truncated"):
        read_vector(path)


def test_truncated_dbf_names_the_record(tmp_path: Path) -> None:
    path = tmp_path / "cut.shp"
    write_vector(path, _parcels(50), crs=ZONE_40)
    dbf = path.with_suffix(".dbf")
    dbf.write_bytes(dbf.read_bytes()[:-200])
    with pytest.raises(VectorReadError, match=r"cut\.dbf: truncated: .* record \d+ is cut short"):
        read_vector(path)


def test_garbage_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "junk.gpkg"
    path.write_bytes(b"not a geopackage at all" * 10)
    with pytest.raises(VectorReadError, match=r"junk\.gpkg"):
        read_vector(path)
    with pytest.raises(VectorReadError, match="no such file"):
        read_vector(tmp_path / "absent.geojson")


def test_geopackage_layers_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "plans.gpkg"
    write_vector(path, _parcels(), crs=ZONE_40, layer="永久基本农田")
    report = write_vector(path, _parcels(2), crs=ZONE_40, layer="城镇开发边界")
    assert report.schema.geometry == "MultiPolygon"  # mixed input, singles promoted
    assert sorted(list_layers(path)) == sorted(["永久基本农田", "城镇开发边界"])
    with pytest.raises(LayerChoiceError, match="holds 2 layers"):
        read_vector(path)
    with pytest.raises(LayerChoiceError, match="no layer 'roads'"):
        read_vector(path, "roads")
    with open_vector(path, "永久基本农田") as (source, records):
        rows = list(records)
    assert (source.layer, source.crs, source.geometry_type) == (
        "永久基本农田",
        ZONE_40,
        "MultiPolygon",
    )
    assert [r.properties["地类名称代码"] for r in rows] == [FARMLAND] * 4
    assert all(isinstance(r.geometry, MultiPolygon) for r in rows)
    assert rows[0].geometry is not None and rows[0].geometry.equals(_parcels()[0].geometry)


def test_geojson_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "points.geojson"
    records = [
        Record(str(i), {"名称": STREET, "n": i}, Point(119.18 + i / 100, 34.6)) for i in range(3)
    ]
    write_vector(path, records, crs="EPSG:4490")
    source, stream = read_vector(path)
    rows = list(stream)
    assert source.crs == "EPSG:4490" and source.geometry_type == "Point"
    assert [r.properties["名称"] for r in rows] == [STREET] * 3
    for row, written in zip(rows, records, strict=True):
        assert row.geometry is not None and row.geometry.equals_exact(written.geometry, 1e-9)


def test_write_refuses_text_the_encoding_cannot_hold(tmp_path: Path) -> None:
    rows = [
        Record("1", {"名称": STREET}, Point(0, 0)),
        Record("2", {"名称": "𠮷野家"}, Point(1, 1)),
    ]
    with pytest.raises(VectorWriteError, match=r"record 2: field '名称'.*cannot be written in gbk"):
        write_vector(tmp_path / "a.shp", rows, crs=ZONE_40, encoding="GBK")
    assert not (tmp_path / "a.shp").exists()  # no half-written file left behind
    write_vector(tmp_path / "b.shp", rows, crs=ZONE_40, encoding="GB18030")
    assert _read_all(tmp_path / "b.shp")[1].properties["名称"] == "𠮷野家"


def test_strict_field_names_and_schema_mismatch(tmp_path: Path) -> None:
    with pytest.raises(FieldNameError, match="'地类名称代码' is 18 bytes in utf-8"):
        write_vector(tmp_path / "a.shp", _parcels(), crs=ZONE_40, strict_field_names=True)
    rows = [*_parcels(2), Record("9", {"新字段": 1}, None)]
    with pytest.raises(
        VectorWriteError, match=r"record 3: fields \['新字段'\] are not in the schema"
    ):
        write_vector(tmp_path / "b.gpkg", rows, crs=ZONE_40, sample_size=2)
    schema = VectorSchema("Point", {"n": "int"})
    with pytest.raises(VectorWriteError, match="record 1: field 'n': 'x' is not a int"):
        write_vector(
            tmp_path / "c.gpkg", [Record("1", {"n": "x"}, Point(0, 0))], crs=ZONE_40, schema=schema
        )
    with pytest.raises(VectorWriteError, match="one kind of geometry"):
        write_vector(tmp_path / "d.shp", [Record("1", {}, Point(0, 0)), *_parcels(1)], crs=ZONE_40)


# --- tables with coordinate columns -------------------------------------------------------


def _csv(path: Path, text: str, encoding: str = "utf-8-sig") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_with_chinese_headers_and_bom(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "点位.csv", f"名称,经度(°),纬度(°)\n{STREET},119.1788,34.6015\n,,\n空,,\n"
    )
    source, records = read_vector(path, crs="EPSG:4490")
    rows = list(records)
    assert (source.encoding, source.coordinate_fields) == ("utf-8", ("经度(°)", "纬度(°)"))
    assert rows[0].properties["名称"] == STREET and rows[0].geometry == Point(119.1788, 34.6015)
    assert rows[1].geometry is None  # a row without location is kept, not dropped
    assert len(rows) == 2


def test_csv_in_gbk_is_detected(tmp_path: Path) -> None:
    path = _csv(tmp_path / "gbk.csv", f"lng;lat;地类\n119.2;34.6;{FARMLAND}\n", "gbk")
    source, records = read_vector(path, crs="EPSG:4490")
    assert source.encoding == "gb18030"
    assert next(records).properties["地类"] == FARMLAND
    records.close()


def test_csv_named_columns_and_errors(tmp_path: Path) -> None:
    path = _csv(tmp_path / "survey.csv", "点号,X坐标,Y坐标\n1,3830000.5,40512000.25\n")
    with pytest.raises(CoordinateColumnsError, match=r"survey\.csv: no coordinate columns"):
        read_vector(path, crs=ZONE_40)
    # Chinese survey tables write X for the northing: the caller says which is which
    rows = _read_all(path, crs=ZONE_40, x_field="Y坐标", y_field="X坐标")
    assert rows[0].geometry == Point(40512000.25, 3830000.5)
    with pytest.raises(MissingCrsError, match=r"survey\.csv: a table carries no CRS"):
        read_vector(path, x_field="Y坐标", y_field="X坐标")


@pytest.mark.parametrize(
    ("cell", "problem"),
    [("119°12′", "not a number"), ("nan", "must be finite"), ("inf", "must be finite")],
)
def test_csv_bad_coordinate_names_the_line(tmp_path: Path, cell: str, problem: str) -> None:
    path = _csv(tmp_path / "bad.csv", f"lon,lat\n119.2,34.6\n{cell},34.6\n")
    _, records = read_vector(path, crs="EPSG:4490")
    assert next(records).geometry == Point(119.2, 34.6)  # rows before the bad one arrive
    with pytest.raises(CoordinateError, match=rf"bad\.csv: line 3: lon is .*{problem}"):
        next(records)


def test_xlsx_points(tmp_path: Path) -> None:
    import openpyxl

    path = tmp_path / "巡查点.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "点位"
    for row in (
        ["\ufeff经度", "纬度", "名称"],
        [119.1788, 34.6015, STREET],
        [],
        ["119.2", "34.6", FARMLAND],
        ["x", 34.6, "坏"],
    ):
        sheet.append(row)
    workbook.create_sheet("说明").append(["坐标系", "CGCS2000"])
    workbook.save(path)
    assert list_layers(path) == ["点位", "说明"]
    with pytest.raises(LayerChoiceError, match="name one"):
        read_vector(path, crs="EPSG:4490")
    source, records = read_vector(path, "点位", crs="EPSG:4490")
    assert source.coordinate_fields == ("经度", "纬度")
    first, second = next(records), next(records)
    assert (first.properties["名称"], first.geometry) == (STREET, Point(119.1788, 34.6015))
    assert second.geometry == Point(119.2, 34.6)
    with pytest.raises(CoordinateError, match=r"巡查点\.xlsx: sheet '点位' row 5: 经度 is 'x'"):
        next(records)


# --- streaming -----------------------------------------------------------------------------


def _peak(path: Path, crs: str | None = None) -> tuple[int, int]:
    """Records read and the peak of traced Python memory while opening and reading them."""
    tracemalloc.start()
    try:
        count = sum(1 for _ in read_vector(path, crs=crs)[1])
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_csv_streams_in_constant_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    address = f"江苏省连云港市{STREET}通灌南路"
    with path.open("w", encoding="utf-8-sig") as handle:
        handle.write("编号,地址,经度,纬度\n")
        handle.writelines(f"{i},{address}{i},{119 + i * 1e-6:.6f},34.6\n" for i in range(100_000))
    size = path.stat().st_size
    count, peak = _peak(path, crs="EPSG:4490")
    assert count == 100_000
    assert peak < size / 5, (peak, size)  # a list of the records would be several times size


def test_shapefile_streams_in_constant_memory(tmp_path: Path) -> None:
    peaks = []
    for count in (5_000, 20_000):
        path = tmp_path / f"p{count}.shp"
        rows = (
            Record(str(i), {"名称": STREET, "n": i}, Point(119 + i * 1e-6, 34.6))
            for i in range(count)
        )
        assert write_vector(path, rows, crs="EPSG:4490", encoding="GBK").features == count
        read, peak = _peak(path)
        assert read == count
        peaks.append(peak)
    # four times the records, about the same peak: nothing accumulates per record
    assert peaks[1] < 1.5 * peaks[0], peaks
    # the measure sees records that are kept: holding the last file's costs several times more
    tracemalloc.start()
    try:
        kept = list(read_vector(path)[1])
        held = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(kept) == count
    assert 3 * peaks[1] < held, (peaks, held)
