"""Resolving every CRS spelling we meet to one :class:`CrsRef`.

EPSG codes, OGC URNs and URLs, CRS84, WKT (:mod:`gis.crs.esri_wkt`), ``GCJ02``/``BD09`` and
local systems by name. Local systems are looked up in the registry passed in, else in the
current one of :mod:`gis.local`, read from ``gis/data/local_systems.yaml`` on first use.
"""

import functools
import re
from dataclasses import dataclass, field
from typing import Final, Literal

import pyproj
from pyproj.exceptions import CRSError

from gis import local
from gis.crs.codes import BD09, CRS84, GCJ02
from gis.crs.esri_wkt import wkt_epsg
from gis.errors import UnknownCrsError

__all__ = ["CrsLike", "CrsRef", "Kind", "from_epsg", "north_first", "resolve"]

Kind = Literal["pyproj", "gcj02", "bd09", "local"]


@dataclass(frozen=True)
class CrsRef:
    """A resolved CRS: canonical ``name`` (``EPSG:4490``, ``OGC:CRS84``, ``GCJ02``, ``BD09``
    or a local system's name), its ``kind`` and, when PROJ knows it, the ``pyproj.CRS``.

    Equality and hashing use the name only, so refs are cheap cache keys.
    """

    name: str
    kind: Kind
    crs: pyproj.CRS | None = field(default=None, compare=False, repr=False)

    @property
    def epsg(self) -> int | None:
        """The EPSG code (a PostGIS SRID), or None for CRS84, offsets and local systems."""
        head, _, code = self.name.partition(":")
        return int(code) if head == "EPSG" else None

    def __str__(self) -> str:
        return self.name


CrsLike = CrsRef | str | int
"""Anything :func:`resolve` accepts."""

_EPSG_RES: Final = (
    re.compile(r"(?:EPSG::?)?(\d{4,6})", re.IGNORECASE),
    re.compile(r"urn:ogc:def:crs:EPSG:[^:]*:(\d{4,6})", re.IGNORECASE),
    re.compile(r"https?://www\.opengis\.net/def/crs/EPSG/[^/]+/(\d{4,6})", re.IGNORECASE),
)
_CRS84_RE: Final = re.compile(
    r"OGC:CRS84|CRS:?84|urn:ogc:def:crs:OGC:[^:]*:CRS84"
    r"|https?://www\.opengis\.net/def/crs/OGC/[^/]+/CRS84",
    re.IGNORECASE,
)
_GCJ_RE: Final = re.compile(r"GCJ-?02", re.IGNORECASE)
_BD_RE: Final = re.compile(r"BD-?09", re.IGNORECASE)
_WKT_HEADS: Final = ("PROJCS[", "GEOGCS[", "PROJCRS[", "GEOGCRS[", "GEODCRS[", "BOUNDCRS[")


def resolve(spec: CrsLike, systems: local.LocalRegistry | None = None) -> CrsRef:
    """Resolve any supported CRS spelling to its :class:`CrsRef`.

    Names of local systems are looked up in ``systems`` (default: :func:`gis.local.current`).

    >>> resolve("urn:ogc:def:crs:EPSG::4490").name
    'EPSG:4490'
    >>> resolve("http://www.opengis.net/def/crs/OGC/1.3/CRS84").name
    'OGC:CRS84'
    >>> resolve("gcj-02").kind
    'gcj02'
    """
    if isinstance(spec, CrsRef):
        return spec
    if isinstance(spec, bool) or not isinstance(spec, int | str):
        raise UnknownCrsError(f"unknown CRS {spec!r}: give an EPSG code, URN, URL, WKT or name")
    if isinstance(spec, int):
        return from_epsg(spec, str(spec))
    builtin = _resolve_builtin(spec.strip())
    if builtin is not None:
        return builtin
    registry = local.current() if systems is None else systems
    system = registry.get(spec.strip())
    if system is not None:
        return CrsRef(system.name, "local")
    raise UnknownCrsError(
        f"unknown CRS {spec[:200]!r}: not an EPSG code, OGC URN/URL, CRS84, WKT, GCJ02/BD09, "
        f"or a local system configured in {registry.path}"
    )


@functools.lru_cache(maxsize=512)
def _resolve_builtin(text: str) -> CrsRef | None:
    for pattern in _EPSG_RES:
        if m := pattern.fullmatch(text):
            return from_epsg(int(m.group(1)), text)
    if _CRS84_RE.fullmatch(text):
        return CrsRef(CRS84, "pyproj", pyproj.CRS.from_user_input(CRS84))
    if _GCJ_RE.fullmatch(text):
        return CrsRef(GCJ02, "gcj02")
    if _BD_RE.fullmatch(text):
        return CrsRef(BD09, "bd09")
    if text.upper().startswith(_WKT_HEADS):
        return from_epsg(wkt_epsg(text), text[:80])
    return None


@functools.lru_cache(maxsize=256)
def from_epsg(code: int, spelled: str) -> CrsRef:
    try:
        crs = pyproj.CRS.from_epsg(code)
    except CRSError as exc:
        raise UnknownCrsError(f"unknown CRS {spelled!r}: EPSG:{code} is not in PROJ") from exc
    return CrsRef(f"EPSG:{code}", "pyproj", crs)


def north_first(spec: CrsLike) -> bool:
    """Whether the CRS's authority axis order puts latitude/northing first.

    OGC API Features Part 2 and CQL2 use the authority's order: EPSG:4490 and EPSG:4326 are
    (lat, lon), the CGCS2000 Gauss-Krüger systems EPSG:4549/4528 are (northing, easting);
    CRS84 and EPSG:3857 are (x, y). Everything inside the platform stays x first.

    >>> [north_first(c) for c in ("EPSG:4490", "OGC:CRS84", 4549, 3857)]
    [True, False, True, False]
    """
    ref = resolve(spec)
    if ref.crs is None:
        return False
    axes = ref.crs.axis_info
    return bool(axes) and axes[0].direction.lower() in {"north", "south"}
