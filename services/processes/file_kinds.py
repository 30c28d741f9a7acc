"""What an upload's bytes are, by their magic numbers: a zip, a GeoPackage (an SQLite file
with GeoPackage's ``application_id``), a Shapefile's .shp, GeoJSON (JSON with a GeoJSON
``type``). A refusal says what the bytes look like instead."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path, PurePosixPath
from typing import Final

from services.processes.base import ProcessInputError

__all__ = [
    "ZIP_MAGIC",
    "check_geojson",
    "check_geopackage",
    "check_head",
    "check_sqlite",
    "looks_like",
]

ZIP_MAGIC: Final = b"PK\x03\x04"
_SQLITE_MAGIC: Final = b"SQLite format 3\x00"
_GPKG_IDS: Final = (b"GPKG", b"GP10", b"GP11")
"""SQLite ``application_id`` values (header bytes 68-71) of GeoPackage 1.2+, 1.0 and 1.1."""
_SHP_MAGIC: Final = b"\x00\x00\x27\x0a"
"""A .shp or .shx starts with the file code 9994, big-endian."""
_GEOJSON_TYPES: Final = frozenset(
    {
        "FeatureCollection",
        "Feature",
        "Polygon",
        "MultiPolygon",
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "GeometryCollection",
    }
)
_BLANK: Final = b"\xef\xbb\xbf \t\r\n"
"""What may precede a JSON text: a UTF-8 byte order mark and white space."""


def looks_like(data: bytes) -> str:
    """What ``data`` seems to be instead, as the end of a refusal (``": it looks like ..."``)."""
    head = data[:100]
    if head.startswith(ZIP_MAGIC):
        seen = "a zip archive"
    elif head.startswith(_SQLITE_MAGIC):
        seen = "an SQLite database"
    elif head.lstrip(_BLANK)[:1] in (b"{", b"["):
        seen = "JSON text"
    else:
        return f": it starts with bytes {head[:8].hex(' ')}"
    return f": it looks like {seen}"


def check_geopackage(name: str, what: str, head: bytes) -> None:
    """Refuse a file (``what``, by its first 100 bytes) that is no GeoPackage: any SQLite
    file has the first magic, only a GeoPackage the ``application_id``."""
    if not head.startswith(_SQLITE_MAGIC):
        raise ProcessInputError(name, f"{what} is not a GeoPackage{looks_like(head)}")
    if head[68:72] not in _GPKG_IDS:
        raise ProcessInputError(
            name,
            f"{what} is an SQLite database but not a GeoPackage "
            f"(application_id {head[68:72].hex()}, not GPKG)",
        )


def check_geojson(name: str, data: bytes) -> None:
    """Refuse ``data`` unless it parses as JSON with a GeoJSON ``type`` (whole, in memory:
    only uploads under the size limit are parsed here)."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ProcessInputError(
            name, f"is not GeoJSON: not UTF-8 text ({exc.reason}){looks_like(data)}"
        ) from None
    except RecursionError:
        raise ProcessInputError(name, "is not GeoJSON: nested too deeply") from None
    except ValueError as exc:
        raise ProcessInputError(
            name, f"is not GeoJSON: not JSON ({exc}){looks_like(data)}"
        ) from None
    kind = document.get("type") if isinstance(document, dict) else None
    if kind not in _GEOJSON_TYPES:
        raise ProcessInputError(
            name,
            f"is not GeoJSON: its type is {kind!r}, not FeatureCollection, Feature or a geometry",
        )


def check_head(name: str, member: str, head: bytes) -> None:
    """Refuse a zip's layer entry whose first bytes do not match its suffix (the rest of it
    is judged once unpacked, when it is opened as the importer will)."""
    suffix = PurePosixPath(member).suffix.lower()
    if suffix == ".shp" and not head.startswith(_SHP_MAGIC):
        raise ProcessInputError(name, f"{member} is not a Shapefile{looks_like(head)}")
    if suffix == ".gpkg":
        check_geopackage(name, member, head)
    if suffix in (".geojson", ".json") and head.lstrip(_BLANK)[:1] != b"{":
        raise ProcessInputError(name, f"{member} is not GeoJSON{looks_like(head)}")


def check_sqlite(name: str, path: Path) -> None:
    """Refuse a GeoPackage whose SQLite pages are damaged (``PRAGMA quick_check``), before
    GDAL reads it: on a damaged file fiona 1.10 with GDAL 3.9 crashed the whole process (a
    segmentation fault on an error message that is not UTF-8). SQLite itself is hardened
    against such files; the file is opened read-only and left unchanged."""
    try:
        with closing(
            sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro&immutable=1", uri=True)
        ) as db:
            db.text_factory = bytes
            found = [row[0] for row in db.execute("PRAGMA quick_check(5)")]
    except sqlite3.Error as exc:
        why = "; ".join(line.strip("* ") for line in str(exc).splitlines())
        raise ProcessInputError(name, f"{path.name} is a damaged GeoPackage ({why})") from None
    except UnicodeDecodeError:  # SQLite's own message quotes the damaged bytes
        raise ProcessInputError(name, f"{path.name} is a damaged GeoPackage") from None
    if found != [b"ok"]:
        problems = "; ".join(p.decode("utf-8", "replace").strip("* ") for p in found)
        raise ProcessInputError(name, f"{path.name} is a damaged GeoPackage ({problems})")
