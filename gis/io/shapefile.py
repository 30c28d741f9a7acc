"""Shapefile specifics fiona leaves to us: sidecar files, truncation and text encoding.

A .shp cut short opens fine and its last records come back with no geometry and only a
GDAL log line, so the headers are checked first. The .dbf text encoding is taken from the
.cpg when it agrees with the bytes, else detected from a bounded sample of raw field bytes.
"""

from __future__ import annotations

import struct
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, NamedTuple

from gis.errors import EncodingError, VectorReadError
from gis.io.encoding import (
    DETECTION_ORDER,
    codec_for,
    detect,
    first_undecodable,
    reading_codec,
)

_SHP_FILE_CODE = 9994
_SCAN_BLOCK = 256 << 10  # bytes of records looked at per step
_SCAN_LIMIT = 64 << 20  # bytes of records looked at, at most, to find non-ASCII text
_ENOUGH_SAMPLES = 500  # non-ASCII text values that settle the question


class EncodingMismatchWarning(UserWarning):
    """A .cpg declares an encoding the .dbf bytes contradict; the detected one is used."""


class _DbfField(NamedTuple):
    name: bytes
    kind: bytes
    offset: int
    length: int


class _DbfHeader(NamedTuple):
    records: int
    header_length: int
    record_length: int
    fields: tuple[_DbfField, ...]


def sidecar(shp: Path, suffix: str) -> Path | None:
    """The file next to ``shp`` with ``suffix`` in either letter case, if it exists."""
    for candidate in (shp.with_suffix(suffix), shp.with_suffix(suffix.upper())):
        if candidate.is_file():
            return candidate
    return None


def check_complete(shp: Path) -> None:
    """Raise if the .shp, .shx or .dbf is shorter than its own header says."""
    shp_size = _check_shape_header(shp)
    shx = sidecar(shp, ".shx")
    if shx is not None:
        shx_size = _check_shape_header(shx)
        count = (shx_size - 100) // 8
        if count:
            with shx.open("rb") as handle:
                handle.seek(100 + (count - 1) * 8)
                offset, length = struct.unpack(">ii", handle.read(8))
            end = (offset + 4 + length) * 2
            if end > shp_size:
                raise VectorReadError(
                    f"{shp}: truncated: record {count} ends at byte {end}, "
                    f"the file has {shp_size} bytes"
                )
    dbf = sidecar(shp, ".dbf")
    if dbf is not None:
        with dbf.open("rb") as handle:
            header = _read_dbf_header(handle, dbf)
        complete = (dbf.stat().st_size - header.header_length) // max(header.record_length, 1)
        if complete < header.records:
            raise VectorReadError(
                f"{dbf}: truncated: the header declares {header.records} records, "
                f"record {complete + 1} is cut short"
            )


def choose_encoding(shp: Path, given: str | None) -> tuple[str, str]:
    """The codec to read the .dbf text with, and where it came from.

    Returns ``(codec, source)`` with source ``"caller"``, ``"cpg"`` or ``"detected"``. A
    caller's encoding the bytes contradict is an error; a contradicted .cpg only a warning,
    and the detected encoding is used instead.
    """
    dbf = sidecar(shp, ".dbf")
    samples = list(_dbf_text_samples(dbf)) if dbf is not None else []
    if given is not None:
        codec = codec_for(given)
        if codec is None:
            raise EncodingError(f"{shp}: unknown encoding {given!r}")
        bad = first_undecodable(samples, reading_codec(codec))
        if bad is not None:
            found = detect(samples)
            hint = f"; it reads as {found}" if found else ""
            raise EncodingError(
                f"{dbf}: {bad.where} is not {given} text (the encoding given): {bad.reason}{hint}"
            )
        if samples and codec != "utf-8" and detect(samples) == "utf-8":
            warnings.warn(
                f"{dbf}: the text is valid UTF-8 but is read as {given} as asked; "
                "expect mojibake if that is wrong",
                EncodingMismatchWarning,
                stacklevel=4,
            )
        return reading_codec(codec), "caller"
    cpg = sidecar(shp, ".cpg")
    declared = _read_cpg(cpg) if cpg is not None else None
    found = detect(samples)
    codec = codec_for(declared) if declared is not None else None
    if codec is not None:
        bad = first_undecodable(samples, reading_codec(codec))
        # Text with non-ASCII bytes that is valid UTF-8 is UTF-8 whatever the .cpg says:
        # GBK text is almost never valid UTF-8, while GB18030 decodes UTF-8 bytes as mojibake.
        if bad is None and not (samples and found == "utf-8" and codec != "utf-8"):
            return reading_codec(codec), "cpg"
        if found is not None:
            why = f"{bad.where} is not {declared} text" if bad else "the text is valid UTF-8"
            warnings.warn(
                f"{cpg}: declares {declared!r} but {why}; reading it as {found}",
                EncodingMismatchWarning,
                stacklevel=4,
            )
    if found is None:
        bad = first_undecodable(samples, "gb18030")
        where = f" ({bad.where}: {bad.reason})" if bad else ""
        raise EncodingError(
            f"{dbf}: text is neither UTF-8 nor GB18030{where}; name the encoding explicitly"
        )
    return found, "detected"


def _read_cpg(cpg: Path) -> str | None:
    with cpg.open("rb") as handle:
        text = handle.read(64).decode("ascii", errors="replace").strip()
    return text or None


def _check_shape_header(path: Path) -> int:
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(100)
    if len(head) < 100:
        raise VectorReadError(f"{path}: truncated: {size} bytes, shorter than the 100-byte header")
    code, words = struct.unpack(">i20xi", head[:28])
    if code != _SHP_FILE_CODE:
        raise VectorReadError(f"{path}: not a shapefile component (file code {code})")
    if words * 2 > size:
        raise VectorReadError(
            f"{path}: truncated: the header declares {words * 2} bytes, the file has {size}"
        )
    return size


def _read_dbf_header(handle: BinaryIO, path: Path) -> _DbfHeader:
    head = handle.read(32)
    if len(head) < 32:
        raise VectorReadError(f"{path}: truncated: shorter than a dBASE header")
    records, header_length, record_length = struct.unpack("<IHH", head[4:12])
    raw = handle.read(max(header_length - 32, 0))
    fields: list[_DbfField] = []
    offset = 1  # each record starts with a deletion flag
    for start in range(0, len(raw) - 31, 32):
        entry = raw[start : start + 32]
        if entry[0] == 0x0D:
            break
        kind = entry[11:12]
        length = entry[16] + (entry[17] << 8 if kind == b"C" else 0)
        fields.append(_DbfField(entry[:11].split(b"\0", 1)[0], kind, offset, length))
        offset += length
    if not fields or header_length < 33:
        raise VectorReadError(f"{path}: not a dBASE file (no field descriptors)")
    return _DbfHeader(records, header_length, record_length, tuple(fields))


def _dbf_text_samples(dbf: Path) -> Iterator[tuple[str, bytes]]:
    """Labelled non-ASCII text values from the first records of ``dbf``, then field names.

    Values come first so that a wrong encoding is reported at a record. Blocks of records
    are read until enough non-ASCII text is seen or a byte limit is reached, so a file whose
    first thousand values are ASCII is still detected, in bounded memory.
    """
    with dbf.open("rb") as handle:
        header = _read_dbf_header(handle, dbf)
        yield from _dbf_values(handle, header)
    for field in header.fields:
        if not field.name.isascii():
            yield f"field name {_name(field.name)}", field.name


def _name(raw: bytes) -> str:
    """A field name for messages, whatever its encoding."""
    for codec in DETECTION_ORDER:
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            pass
    return f"{raw.hex(' ')} (hex)"


def _dbf_values(handle: BinaryIO, header: _DbfHeader) -> Iterator[tuple[str, bytes]]:
    text_fields = [f for f in header.fields if f.kind == b"C"]
    size = max(header.record_length, 1)
    per_block = max(_SCAN_BLOCK // size, 1)
    handle.seek(header.header_length)
    number, scanned, found = 0, 0, 0
    while number < header.records and scanned < _SCAN_LIMIT:
        block = handle.read(min(per_block, header.records - number) * size)
        scanned += len(block)
        if not block:
            return
        if block.isascii():
            number += len(block) // size
            continue
        for start in range(0, len(block) - size + 1, size):
            number += 1
            for field in text_fields:
                value = block[start + field.offset : start + field.offset + field.length]
                if not value.isascii():
                    found += 1
                    yield f"record {number} field {_name(field.name)}", value.rstrip(b" \0")
            if found >= _ENOUGH_SAMPLES:
                return
