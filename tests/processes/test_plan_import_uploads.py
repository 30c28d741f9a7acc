"""Hostile and broken uploads to ``plan-import``: each is refused by :func:`check` on the
server and again by :func:`run` in the worker (or, when only unpacking or opening the file
shows it, by :func:`run` alone), naming the problem, with the plan tables' row counts
unchanged and no temporary file left behind."""

from __future__ import annotations

import functools
import io
import sqlite3
import stat
import struct
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from services.processes.base import ProcessInputError
from services.processes.definitions.plan_import import check, run
from tests.processes.plan_files import (
    PLANNER,
    PLANS,
    Context,
    drop_layers,
    plan_counts,
    shapefile_entries,
    upload,
    zip_bytes,
)

LAYER = "upload-hostile"
BOMB_MB = 200


def _shapefile(name: str = "urban_plan") -> list[tuple[str, bytes]]:
    return shapefile_entries(PLANS / f"{name}.shp")


def _with_info(entries: list[tuple[str, bytes]], info: zipfile.ZipInfo, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries:
            archive.writestr(name, content)
        archive.writestr(info, data)
    return buffer.getvalue()


def _symlink() -> bytes:
    """The .prj of a Shapefile as a symbolic link to /etc/passwd."""
    info = zipfile.ZipInfo("urban_plan.prj")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    entries = [e for e in _shapefile() if not e[0].endswith(".prj")]
    return _with_info(entries, info, b"/etc/passwd")


@functools.cache
def _bomb() -> bytes:
    """A Shapefile whose .dbf is 200 MB of zeros, deflated as it is written (≈ 200 kB)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in _shapefile():
            if not name.endswith(".dbf"):
                archive.writestr(name, content)
        with archive.open("urban_plan.dbf", "w") as entry:
            block = bytes(1 << 20)
            for _ in range(BOMB_MB):
                entry.write(block)
    return buffer.getvalue()


def _lying_header() -> bytes:
    """A Shapefile whose .dbf inflates to 20 MB while its headers declare 100 bytes (under
    any ratio check): only counting what is actually unpacked can catch it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in _shapefile():
            archive.writestr(name, bytes(20 << 20) if name.endswith(".dbf") else content)
        start = archive.start_dir
    data = bytearray(buffer.getvalue())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("urban_plan.dbf")
    struct.pack_into("<I", data, info.header_offset + 22, 100)  # local header
    offset = start
    while data[offset : offset + 4] == b"PK\x01\x02":  # central directory
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, offset + 28)
        if data[offset + 46 : offset + 46 + name_len] == b"urban_plan.dbf":
            struct.pack_into("<I", data, offset + 24, 100)
        offset += 46 + name_len + extra_len + comment_len
    return bytes(data)


def _sqlite_not_geopackage(tmp: Path) -> bytes:
    path = tmp / "plain.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x)")
    return path.read_bytes()


def _nested() -> bytes:
    return zip_bytes([("inner.zip", zip_bytes(_shapefile())), ("readme.txt", b"see inner.zip")])


def _truncated() -> bytes:
    data = zip_bytes(_shapefile())
    return data[: len(data) // 2]


def _without(suffix: str) -> bytes:
    return zip_bytes([e for e in _shapefile() if not e[0].endswith(suffix)])


def _replaced(suffix: str, change: Callable[[bytes], bytes]) -> bytes:
    return zip_bytes([(n, change(d) if n.endswith(suffix) else d) for n, d in _shapefile()])


def _renamed(prefix: str) -> bytes:
    return zip_bytes([(prefix + name, data) for name, data in _shapefile()])


def _damaged_geopackage() -> bytes:
    """The sample's red lines with a b-tree page overwritten (GDAL crashed on such a file)."""
    data = bytearray((PLANS / "eco_redline.gpkg").read_bytes())
    data[65536 : 65536 + 64] = b"\xff" * 64
    return bytes(data)


BOUNDARY = (PLANS / "dev_boundary.geojson").read_bytes()
GPKG = "application/geopackage+sqlite3"
GEOJSON = "application/geo+json"

Case = Callable[[Path], dict[str, Any]]
HOSTILE: dict[str, tuple[Case, str]] = {
    "bad base64": (
        lambda _: {"value": "UEsDBA**not base64**", "mediaType": "application/zip"},
        "is not base64",
    ),
    "no media type": (lambda _: {"value": "UEsDBA=="}, "mediaType 'missing'"),
    "other media type": (
        lambda _: {"value": "UEsDBA==", "mediaType": "application/pdf"},
        "mediaType 'application/pdf'",
    ),
    "a link": (lambda _: {"href": "http://127.0.0.1/etc/passwd"}, "links are not fetched"),
    "empty": (lambda _: {"value": "", "mediaType": "application/zip"}, "is empty"),
    "a GeoPackage sent as a zip": (
        lambda _: upload((PLANS / "eco_redline.gpkg").read_bytes()),
        "not a zip archive: it looks like an SQLite database",
    ),
    "a zip sent as a GeoPackage": (
        lambda _: upload(zip_bytes(_shapefile()), GPKG),
        "not a GeoPackage: it looks like a zip archive",
    ),
    "an SQLite file that is no GeoPackage": (
        lambda tmp: upload(_sqlite_not_geopackage(tmp), GPKG),
        "SQLite database but not a GeoPackage",
    ),
    "a zip sent as GeoJSON": (lambda _: upload(zip_bytes(_shapefile()), GEOJSON), "not GeoJSON"),
    "JSON that is no GeoJSON": (lambda _: upload(b'{"rows": [1, 2]}', GEOJSON), "its type is None"),
    "deeply nested JSON": (lambda _: upload(b"[" * 100_000 + b"]" * 100_000, GEOJSON), "GeoJSON"),
    "a PNG as the .shp": (
        lambda _: upload(_replaced(".shp", lambda _: b"\x89PNG\r\n\x1a\n" + bytes(200))),
        "urban_plan.shp is not a Shapefile",
    ),
    "a zip bomb": (lambda _: upload(_bomb()), "refused as a zip bomb"),
    "sizes that lie": (lambda _: upload(_lying_header()), "not a readable zip archive"),
    "a path out of the archive": (lambda _: upload(_renamed("../../")), "points outside"),
    "a Windows path out of the archive": (lambda _: upload(_renamed("..\\..\\")), "outside"),
    "an absolute path": (lambda _: upload(_renamed("/tmp/")), "absolute path"),
    "a drive letter": (lambda _: upload(_renamed("C:/")), "absolute path"),
    "a symbolic link": (lambda _: upload(_symlink()), "is a symbolic link"),
    "a nested zip": (lambda _: upload(_nested()), "archive inside the archive"),
    "two layers": (
        lambda _: upload(zip_bytes([*_shapefile(), *_shapefile("landuse_plan")])),
        "exactly one layer.*it holds landuse_plan.shp, urban_plan.shp",
    ),
    "a Shapefile and a GeoJSON": (
        lambda _: upload(zip_bytes([*_shapefile(), ("boundary.geojson", BOUNDARY)])),
        "exactly one layer",
    ),
    "no layer at all": (lambda _: upload(zip_bytes([("a.txt", b"a")])), "it holds none"),
    "a .shp without its .dbf": (lambda _: upload(_without(".dbf")), "without its .dbf"),
    "a .shp without its .shx": (lambda _: upload(_without(".shx")), "without its .shx"),
    "a truncated zip": (lambda _: upload(_truncated()), "not a readable zip archive"),
    "a truncated .shp": (
        lambda _: upload(_replaced(".shp", lambda d: d[: len(d) // 2])),
        "urban_plan.shp: truncated",
    ),
    "too many entries": (
        lambda _: upload(zip_bytes([*_shapefile(), *((f"x/{i}.txt", b"") for i in range(100))])),
        "over the limit of 100",
    ),
    "a damaged GeoPackage": (
        lambda _: upload(_damaged_geopackage(), GPKG),
        "upload-hostile.gpkg is a damaged GeoPackage",
    ),
    "a damaged GeoPackage in a zip": (
        lambda _: upload(zip_bytes([("红线/eco_redline.gpkg", _damaged_geopackage())])),
        "eco_redline.gpkg is a damaged GeoPackage",
    ),
    "the same entry twice": (
        lambda _: upload(zip_bytes([*_shapefile(), ("URBAN_PLAN.PRJ", b"")])),
        "twice",
    ),
}

WORKER_ONLY = {
    "sizes that lie",
    "a truncated .shp",
    "a damaged GeoPackage",
    "a damaged GeoPackage in a zip",
}
"""What only unpacking or opening the file shows: the worker refuses it, the server cannot."""


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Where the process makes its temporary directories during the test."""
    where = tmp_path / "tmp"
    where.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(where))
    yield where


def _refused_everywhere(
    engine: Engine, inputs: dict[str, Any], words: str, tmp: Path, *, by_check: bool = True
) -> str:
    """Refused by check (unless ``by_check`` is False: then check lets it through) and by
    run, nothing written, nothing left in ``tmp``; the message."""
    before = plan_counts(engine)
    if by_check:
        with pytest.raises(ProcessInputError, match=words) as refused:
            check(inputs, PLANNER)
        assert refused.value.input == "file"
    else:
        check(inputs, PLANNER)
    with pytest.raises(ProcessInputError, match=words) as by_run:
        run(inputs, Context(engine))
    assert by_run.value.input == "file"
    assert plan_counts(engine) == before
    assert list(tmp.iterdir()) == []
    assert "onemap-upload-" not in str(by_run.value)
    return str(by_run.value)


@pytest.mark.parametrize("case,words", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_uploads_are_refused_with_nothing_written(
    engine: Engine, private_tmp: Path, tmp_path: Path, case: Case, words: str
) -> None:
    inputs = {"file": case(tmp_path), "layer": LAYER, "plan_type": "urban_plan",
              "scheme": "GB 50137-2011"}  # fmt: skip
    by_check = not any(case is HOSTILE[k][0] for k in WORKER_ONLY)
    _refused_everywhere(engine, inputs, words, private_tmp, by_check=by_check)


def test_the_bomb_is_a_real_one() -> None:
    data = _bomb()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        declared = archive.getinfo("urban_plan.dbf").file_size
    assert declared == BOMB_MB << 20 and len(data) < 1 << 20


def test_uploads_over_the_limit_are_refused_before_decoding(
    engine: Engine, private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = zip_bytes(_shapefile())
    monkeypatch.setenv("ONEMAP_PROCESSES_MAX_UPLOAD_MB", str(len(data) / 2 / (1 << 20)))
    inputs = {"file": upload(data), "layer": LAYER, "plan_type": "urban_plan",
              "scheme": "GB 50137-2011"}  # fmt: skip
    message = _refused_everywhere(engine, inputs, "over the upload limit", private_tmp)
    assert f"{len(data):,} bytes" in message  # measured on the base64 text, before decoding


def test_zips_over_the_unpacked_limit_are_refused(
    engine: Engine, private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = zip_bytes(_shapefile())
    monkeypatch.setenv("ONEMAP_PROCESSES_MAX_UNPACKED_MB", "0.1")
    inputs = {"file": upload(data), "layer": LAYER, "plan_type": "urban_plan",
              "scheme": "GB 50137-2011"}  # fmt: skip
    _refused_everywhere(engine, inputs, "would unpack to .*over the limit", private_tmp)


def test_a_good_upload_leaves_no_temporary_file(engine: Engine, private_tmp: Path) -> None:
    inputs = {"file": upload(zip_bytes(_shapefile())), "layer": LAYER, "plan_type": "urban_plan",
              "scheme": "GB 50137-2011"}  # fmt: skip
    try:
        check(inputs, PLANNER)
        assert run(inputs, Context(engine))["loaded"] == 498
        assert list(private_tmp.iterdir()) == []
    finally:
        drop_layers(engine, LAYER)
