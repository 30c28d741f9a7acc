"""Uploaded files: an OGC binary input value → a checked file on disk, or a refusal.

Nothing of an upload is trusted. The base64 must decode and stay under the size limit; the
bytes must be what the media type says (magic bytes); a zip is judged by its central
directory before a byte is unpacked — absolute or ``..`` paths, links, encrypted entries,
nested archives, too many entries, declared sizes or compression ratios over the limits —
and must hold exactly one layer (a ``.shp`` with its ``.shx`` and ``.dbf``, a ``.gpkg`` or a
``.geojson``). Only that layer's files are unpacked, counting the bytes actually written and
stopping at the limits whatever the headers declared, into a directory only this process
may read, removed on leaving whatever happens. Every refusal is a
:class:`~services.processes.base.ProcessInputError` naming the problem.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import lzma
import os
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any, Final, NamedTuple

from services.processes.base import ProcessInputError
from services.processes.file_kinds import (
    ZIP_MAGIC,
    check_geojson,
    check_geopackage,
    check_head,
    check_sqlite,
    looks_like,
)

__all__ = [
    "GEOJSON",
    "GPKG",
    "MEDIA_TYPES",
    "ZIP",
    "Checked",
    "Limits",
    "Upload",
    "decode",
    "examine",
    "file_name",
    "unpacked",
]

ZIP: Final = "application/zip"
GPKG: Final = "application/geopackage+sqlite3"
GEOJSON: Final = "application/geo+json"
MEDIA_TYPES: Final = {ZIP: ".zip", GPKG: ".gpkg", GEOJSON: ".geojson"}
"""The media types an upload may declare, and the suffix of the file each is written as."""
_ALIASES: Final = {"application/x-zip-compressed": ZIP, "application/x-zip": ZIP}
"""What browsers on Windows call a zip."""

_LAYERS: Final = (".shp", ".gpkg", ".geojson")
_SHP_NEEDS: Final = (".shx", ".dbf")
_SHP_MAY: Final = (".prj", ".cpg")
_ARCHIVES: Final = (".zip", ".7z", ".rar", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".zst", ".kmz")
_IGNORED: Final = frozenset({".ds_store", "thumbs.db", "desktop.ini"})
_METHODS: Final = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)
_RATIO_FLOOR: Final = 1 << 20
"""Entries smaller than this are not judged by their compression ratio (a blank .dbf of a few
kilobytes compresses a hundredfold and harms no one)."""
_BLOCK: Final = 1 << 20
_ZIP_ERRORS: Final = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    NotImplementedError,
    RuntimeError,
    ValueError,
    OSError,  # bz2's "Invalid data stream"
)
"""What reading a damaged or crafted archive raises (never around writing our own files)."""
_MB: Final = 1 << 20
_PREFIX: Final = "onemap-upload-"
"""Temporary directories are ``onemap-upload-<pid>-<random>``: the pid tells whose they are."""


class Limits(NamedTuple):
    """What an upload may weigh: ``max_bytes`` decoded, ``max_unpacked`` bytes out of a zip
    (all entries together), ``max_ratio`` uncompressed to compressed size of an entry, and
    ``max_entries`` in a zip. A zip bomb breaks one of them (200 MB of zeros deflate ≈ 1000×)."""

    max_bytes: int
    max_unpacked: int
    max_ratio: float = 200.0
    max_entries: int = 100


class Upload(NamedTuple):
    """An upload's decoded bytes and the media type it declares (not yet checked)."""

    media_type: str
    data: bytes


class Checked(NamedTuple):
    """An upload whose bytes are what they say: for a zip, the entries to unpack (the layer
    first, then its sidecar files) and the names they are written as."""

    upload: Upload
    members: tuple[tuple[str, str], ...] = ()


def _refuse(name: str, problem: str) -> ProcessInputError:
    return ProcessInputError(name, problem)


def _mb(n: int) -> str:
    return f"{n:,} bytes" if n < _MB else f"{n / _MB:,.1f} MB"


def decode(value: Any, limits: Limits, name: str = "file") -> Upload:
    """The bytes of an input given as ``{"value": <base64>, "mediaType": ..., "encoding":
    "base64"}`` (or, for GeoJSON, with an object as ``value``, or as a bare GeoJSON object).

    Links (``href``) are refused: the server fetches nothing on a caller's behalf. The size
    is checked on the base64 text's length before it is decoded, and again after.
    """
    if isinstance(value, dict) and "value" not in value and "href" not in value and "type" in value:
        value = {"value": value, "mediaType": GEOJSON}
    if not isinstance(value, dict):
        raise _refuse(
            name, 'give the file as {"value": "<base64>", "mediaType": "...", "encoding": "base64"}'
        )
    if "href" in value:
        raise _refuse(
            name, 'links are not fetched: send the file\'s bytes base64-encoded as "value"'
        )
    declared = str(value.get("mediaType") or "").split(";")[0].strip().lower()
    media_type = _ALIASES.get(declared, declared)
    if media_type not in MEDIA_TYPES:
        known = ", ".join(MEDIA_TYPES)
        raise _refuse(name, f"mediaType {declared or 'missing'!r}: use one of {known}")
    raw = value.get("value")
    if media_type == GEOJSON and isinstance(raw, dict):
        data = json.dumps(raw, ensure_ascii=False).encode("utf-8")
        _check_size(name, len(data), limits)
        return Upload(media_type, data)
    encoding = str(value.get("encoding") or "base64").lower()
    if encoding != "base64":
        raise _refuse(name, f'encoding {encoding!r}: binary files are sent as "base64"')
    if not isinstance(raw, str):
        raise _refuse(name, '"value" must be the file\'s bytes as base64 text')
    text = "".join(raw.split())  # line breaks of `base64` without -w0 are harmless
    _check_size(name, len(text) // 4 * 3 - text[-2:].count("="), limits)
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _refuse(name, f"is not base64 text ({exc})") from None
    if not data:
        raise _refuse(name, "is empty")
    _check_size(name, len(data), limits)
    return Upload(media_type, data)


def _check_size(name: str, size: int, limits: Limits) -> None:
    if size > limits.max_bytes:
        raise _refuse(name, f"is {_mb(size)}, over the upload limit of {_mb(limits.max_bytes)}")


def examine(upload: Upload, limits: Limits, name: str = "file") -> Checked:
    """Check, in memory, that ``upload`` is what its media type says; for a zip, read its
    central directory and choose the one layer it holds. Nothing is written."""
    data = upload.data
    if upload.media_type == GPKG:
        check_geopackage(name, "the upload", data[:100])
        return Checked(upload)
    if upload.media_type == GEOJSON:
        check_geojson(name, data)
        return Checked(upload)
    if not data.startswith(ZIP_MAGIC):
        raise _refuse(name, f"is not a zip archive{looks_like(data)}")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = _choose_layer(name, archive, limits)
            layer = archive.getinfo(members[0][0])
            with archive.open(layer) as handle:
                head = handle.read(100)
    except ProcessInputError:
        raise
    except _ZIP_ERRORS as exc:
        raise _refuse(
            name, f"is not a readable zip archive (truncated or damaged: {exc})"
        ) from None
    check_head(name, members[0][1], head)
    return Checked(upload, members)


def _entry_name(info: zipfile.ZipInfo) -> str:
    """The entry's name as its author wrote it: zips made on Chinese Windows store GBK names
    without the UTF-8 flag, which :mod:`zipfile` reads as code page 437."""
    if info.flag_bits & 0x800 or info.filename.isascii():
        return info.filename
    raw = info.filename.encode("cp437")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030", errors="replace")


def _check_entry(name: str, info: zipfile.ZipInfo, entry: str, limits: Limits) -> None:
    """Refuse an entry that could write outside the directory, is a link or special file,
    is encrypted or compressed in a way we do not read, or expands like a bomb."""
    parts = re.split(r"[\\/]", entry)
    if "\x00" in entry or entry.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", entry):
        raise _refuse(name, f"zip entry {entry!r} has an absolute path")
    if ".." in parts:
        raise _refuse(name, f"zip entry {entry!r} points outside the archive ('..')")
    mode = info.external_attr >> 16
    if info.create_system == 3 and stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
        kind = "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"
        raise _refuse(name, f"zip entry {entry!r} is {kind}")
    if info.flag_bits & 0x1:
        raise _refuse(name, f"zip entry {entry!r} is encrypted")
    if info.compress_type not in _METHODS:
        raise _refuse(
            name,
            f"zip entry {entry!r} uses compression method {info.compress_type}, "
            "which is not read here (use deflate)",
        )
    if PurePosixPath(entry.lower()).suffix in _ARCHIVES:
        raise _refuse(
            name, f"zip entry {entry!r} is an archive inside the archive: upload the layer itself"
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size >= _RATIO_FLOOR and ratio > limits.max_ratio:
        raise _refuse(
            name,
            f"zip entry {entry!r} expands {ratio:.0f}-fold "
            f"({_mb(info.file_size)}), over the bound of {limits.max_ratio:.0f}: "
            "refused as a zip bomb",
        )


def _choose_layer(
    name: str, archive: zipfile.ZipFile, limits: Limits
) -> tuple[tuple[str, str], ...]:
    """The layer's entry and its sidecars, each with the plain name it is unpacked as."""
    infos = archive.infolist()
    if len(infos) > limits.max_entries:
        raise _refuse(
            name, f"the zip has {len(infos)} entries, over the limit of {limits.max_entries}"
        )
    files: dict[str, tuple[PurePosixPath, zipfile.ZipInfo]] = {}  # by folded path
    for info in infos:
        entry = _entry_name(info)
        _check_entry(name, info, entry, limits)
        path = PurePosixPath(entry.replace("\\", "/"))
        if info.is_dir() or _ignored(path):
            continue
        if path.as_posix().lower() in files:
            raise _refuse(name, f"the zip holds {entry!r} twice")
        files[path.as_posix().lower()] = (path, info)
    declared = sum(info.file_size for info in infos)
    if declared > limits.max_unpacked:
        raise _refuse(
            name,
            f"the zip would unpack to {_mb(declared)}, over the limit of "
            f"{_mb(limits.max_unpacked)}",
        )
    layers = [k for k in files if PurePosixPath(k).suffix in _LAYERS]
    layers = layers or [k for k in files if PurePosixPath(k).suffix == ".json"]
    if len(layers) != 1:
        found = ", ".join(sorted(files[k][0].as_posix() for k in layers)) or "none"
        raise _refuse(
            name,
            "the zip must hold exactly one layer (a .shp with its .shx and .dbf, a .gpkg or "
            f"a .geojson); it holds {found}",
        )
    path, info = files[layers[0]]
    plain = _plain(path.name)
    members = [(info.filename, plain)]
    if path.suffix.lower() == ".shp":
        for suffix in (*_SHP_NEEDS, *_SHP_MAY):
            sidecar = files.get(PurePosixPath(layers[0]).with_suffix(suffix).as_posix())
            if sidecar is not None:
                members.append((sidecar[1].filename, Path(plain).stem + suffix))
            elif suffix in _SHP_NEEDS:
                raise _refuse(
                    name,
                    f"{path.name} comes without its {suffix} "
                    "(a Shapefile needs its .shp, .shx and .dbf together)",
                )
    return tuple(members)


def _ignored(path: PurePosixPath) -> bool:
    """Folders and files a zip tool adds (macOS resource forks, Finder and Explorer files)."""
    return "__MACOSX" in path.parts or path.name.startswith("._") or path.name.lower() in _IGNORED


def _plain(file_name: str) -> str:
    """A file name safe to write in our directory: no folders, no control characters."""
    cleaned = re.sub(r"[\x00-\x1f\x7f/\\:]", "_", file_name).strip(" .")
    return cleaned[-120:] or "upload"


def file_name(given: str | None, upload: Upload, default_stem: str) -> str:
    """The name a single-file upload is written (and recorded) as, with the media type's
    suffix: the caller's name if given, else ``default_stem``."""
    suffix = MEDIA_TYPES[upload.media_type]
    name = _plain(PurePosixPath((given or "").replace("\\", "/")).name) if given else default_stem
    return name if name.lower().endswith((suffix, ".json")) else name + suffix


@contextmanager
def unpacked(
    checked: Checked, limits: Limits, single_name: str, name: str = "file"
) -> Iterator[Path]:
    """The checked upload as a file in a new private directory (mode 0700), removed on
    leaving whatever happens: a zip's layer with its sidecars, else the bytes themselves as
    ``single_name``; a GeoPackage's SQLite pages checked whole."""
    _sweep()
    directory = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-"))
    try:
        if not checked.members:
            path = directory / _plain(single_name)
            with path.open("xb") as handle:
                handle.write(checked.upload.data)
        else:
            path = _unzip(checked, limits, directory, name)
        if path.suffix.lower() == ".gpkg":
            check_sqlite(name, path)
        yield path
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _sweep() -> None:
    """Remove the directories of processes that died without removing theirs: a worker
    killed mid-import runs no ``finally``, and its unpacked upload would stay forever."""
    for path in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*-*"):
        pid = path.name.removeprefix(_PREFIX).split("-", 1)[0]
        try:
            ours = path.stat().st_uid == os.getuid()
        except OSError:
            continue
        if ours and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _unzip(checked: Checked, limits: Limits, directory: Path, name: str) -> Path:
    """Unpack the chosen entries counting what is written: an entry that yields more than
    its header declared, or a total over the limit, stops the unpacking and is refused."""
    total = 0
    with zipfile.ZipFile(io.BytesIO(checked.upload.data)) as archive:
        for entry, target in checked.members:
            info = archive.getinfo(entry)
            written = 0
            with (directory / target).open("xb") as out:
                for block in _blocks(archive, info, name):
                    written += len(block)
                    total += len(block)
                    if written > info.file_size:
                        raise _refuse(
                            name,
                            f"zip entry {entry!r} unpacks to more than its header declares: "
                            "refused as a zip bomb",
                        )
                    if total > limits.max_unpacked:
                        raise _refuse(
                            name,
                            f"the zip unpacks to more than {_mb(limits.max_unpacked)}: "
                            "refused as a zip bomb",
                        )
                    out.write(block)
    return directory / checked.members[0][1]


def _blocks(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> Iterator[bytes]:
    """The entry's bytes block by block, a damaged stream (bad CRC, cut short) refused."""
    try:
        with archive.open(info) as source:
            while block := source.read(_BLOCK):
                yield block
    except _ZIP_ERRORS as exc:
        raise _refuse(name, f"is not a readable zip archive (damaged: {exc})") from None
