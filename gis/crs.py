"""Coordinate reference systems of the platform: the only place EPSG codes live.

Storage is CGCS2000 geographic (EPSG:4490, x = longitude in PostGIS); metric work is in the
CGCS2000 3° Gauss-Krüger zone 40 (CM 120°E), with or without the zone prefix.

:func:`resolve` turns every spelling we meet (EPSG codes, OGC URNs and URLs, CRS84, ESRI .prj
WKT, ``GCJ02``/``BD09``, configured local systems) into one :class:`CrsRef`;
:func:`transform_xy` moves numpy coordinate arrays between any two of them. Rules it enforces:

- axis order is always x = easting/longitude (``always_xy=True``);
- no ballpark: when PROJ knows no real operation (Beijing 1954 / Xi'an 1980 → CGCS2000) it
  raises :class:`NoTransformationError` instead of shifting data tens of metres;
- WGS84 and CGCS2000 are taken as the same datum (< 1 m apart, DOMAIN.md §1): PROJ itself
  only offers a no-op ballpark between them, so we reuse the projection on the other datum;
- NaN/inf raise :class:`InvalidCoordinateError`; coordinates beyond a CRS's area of use (with
  :data:`AREA_MARGIN_DEG`) raise :class:`OutOfAreaError`.
"""

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
import pyproj
from numpy.typing import ArrayLike, NDArray
from pyproj.crs import ProjectedCRS
from pyproj.exceptions import CRSError, ProjError
from pyproj.transformer import TransformerGroup

from gis import local, offsets
from gis.errors import (
    GisError,
    InvalidCoordinateError,
    NoTransformationError,
    OutOfAreaError,
    UnknownCrsError,
)

__all__ = [
    "AREA_MARGIN_DEG",
    "BD09",
    "BEIJING1954",
    "CGCS2000",
    "CRS84",
    "GCJ02",
    "GK_CM120_SRID",
    "GK_ZONE40_SRID",
    "OGC_SERVED_CRS",
    "STORAGE_SRID",
    "WEB_MERCATOR_SRID",
    "WGS84_SRID",
    "XIAN1980",
    "CrsLike",
    "CrsRef",
    "GkFamily",
    "north_first",
    "resolve",
    "transform_xy",
    "transformer",
]

STORAGE_SRID: Final = 4490
"""CGCS2000 geographic 2D: every geometry column."""

GK_CM120_SRID: Final = 4549
"""CGCS2000 / 3-degree Gauss-Kruger CM 120E (false easting 500 000 m)."""

GK_ZONE40_SRID: Final = 4528
"""CGCS2000 / 3-degree Gauss-Kruger zone 40 (false easting 40 500 000 m)."""

WGS84_SRID: Final = 4326
"""WGS 84 geographic (lat, lon by EPSG; we always use x = lon)."""

WEB_MERCATOR_SRID: Final = 3857
"""Web Mercator: tiles and display only, never areas (≈ 48 % too large here)."""

CRS84: Final = "OGC:CRS84"
"""WGS 84 with lon, lat axis order: the GeoJSON and OGC API default."""

GCJ02: Final = "GCJ02"
"""Amap/Tencent offset coordinates (pseudo-CRS on WGS84)."""

BD09: Final = "BD09"
"""Baidu offset coordinates (pseudo-CRS on GCJ-02)."""

OGC_SERVED_CRS: Final = (
    CRS84,
    f"EPSG:{STORAGE_SRID}",
    f"EPSG:{WGS84_SRID}",
    f"EPSG:{GK_CM120_SRID}",
    f"EPSG:{GK_ZONE40_SRID}",
    f"EPSG:{WEB_MERCATOR_SRID}",
)
"""CRSs the OGC APIs offer for output and for bbox/filter input (Features Part 2), default first."""

AREA_MARGIN_DEG: Final = 0.5
"""Slack around a CRS's area of use: zone 40 is used a little west of 118.5°E (DOMAIN.md)."""


@dataclass(frozen=True)
class GkFamily:
    """A Chinese datum with its Gauss-Krüger EPSG code series (3° and 6° zones).

    Codes run in steps of one: ``zone3_base + zone`` (zones 25–45, false easting with zone
    prefix), ``cm3_base + (CM − 75)/3`` (false easting 500 000 m), and likewise for 6° zones
    13–23.
    """

    name: str
    geographic: int
    zone3_base: int
    cm3_base: int
    zone6_base: int
    cm6_base: int

    def gk3_zone(self, zone: int) -> int:
        """EPSG code of the 3° zone with zone-prefixed false easting (zone·10⁶ + 500 000)."""
        if not 25 <= zone <= 45:
            raise UnknownCrsError(f"no {self.name} 3-degree Gauss-Kruger zone {zone} (25–45)")
        return self.zone3_base + zone

    def gk3_cm(self, cm: int) -> int:
        """EPSG code of the 3° zone on central meridian ``cm`` with false easting 500 000."""
        if cm % 3 or not 75 <= cm <= 135:
            raise UnknownCrsError(f"no {self.name} 3-degree Gauss-Kruger CM {cm}E")
        return self.cm3_base + (cm - 75) // 3

    def gk6_zone(self, zone: int) -> int:
        """EPSG code of the 6° zone with zone-prefixed false easting."""
        if not 13 <= zone <= 23:
            raise UnknownCrsError(f"no {self.name} 6-degree Gauss-Kruger zone {zone} (13–23)")
        return self.zone6_base + zone

    def gk6_cm(self, cm: int) -> int:
        """EPSG code of the 6° zone on central meridian ``cm`` with false easting 500 000."""
        if (cm - 75) % 6 or not 75 <= cm <= 135:
            raise UnknownCrsError(f"no {self.name} 6-degree Gauss-Kruger CM {cm}E")
        return self.cm6_base + (cm - 75) // 6


CGCS2000: Final = GkFamily("CGCS2000", STORAGE_SRID, 4488, 4534, 4478, 4502)
"""China Geodetic Coordinate System 2000: 4528 = zone 40, 4549 = CM 120E."""
BEIJING1954: Final = GkFamily("Beijing 1954", 4214, 2376, 2422, 21400, 21453)
"""Beijing 1954 (Krasovsky): 2416 = zone 40, 2437 = CM 120E; no PROJ link to CGCS2000."""
XIAN1980: Final = GkFamily("Xian 1980", 4610, 2324, 2370, 2314, 2338)
"""Xi'an 1980 (IAG 75): 2364 = zone 40, 2385 = CM 120E; no PROJ link to CGCS2000."""

Kind = Literal["pyproj", "gcj02", "bd09", "local"]
Floats = NDArray[np.float64]
_Step = Callable[[Floats, Floats], tuple[Floats, Floats]]


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


def resolve(spec: CrsLike) -> CrsRef:
    """Resolve any supported CRS spelling to its :class:`CrsRef`.

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
        return _from_epsg(spec, str(spec))
    builtin = _resolve_builtin(spec.strip())
    if builtin is not None:
        return builtin
    system = local.get(spec.strip())
    if system is not None:
        return CrsRef(system.name, "local")
    raise UnknownCrsError(
        f"unknown CRS {spec[:200]!r}: not an EPSG code, OGC URN/URL, CRS84, WKT, GCJ02/BD09, "
        f"or a local system configured in {local.config_path()}"
    )


@functools.lru_cache(maxsize=512)
def _resolve_builtin(text: str) -> CrsRef | None:
    for pattern in _EPSG_RES:
        if m := pattern.fullmatch(text):
            return _from_epsg(int(m.group(1)), text)
    if _CRS84_RE.fullmatch(text):
        return CrsRef(CRS84, "pyproj", pyproj.CRS.from_user_input(CRS84))
    if _GCJ_RE.fullmatch(text):
        return CrsRef(GCJ02, "gcj02")
    if _BD_RE.fullmatch(text):
        return CrsRef(BD09, "bd09")
    if text.upper().startswith(_WKT_HEADS):
        return _from_epsg(_wkt_epsg(text), text[:80])
    return None


@functools.lru_cache(maxsize=256)
def _from_epsg(code: int, spelled: str) -> CrsRef:
    try:
        crs = pyproj.CRS.from_epsg(code)
    except CRSError as exc:
        raise UnknownCrsError(f"unknown CRS {spelled!r}: EPSG:{code} is not in PROJ") from exc
    return CrsRef(f"EPSG:{code}", "pyproj", crs)


# --- WKT from .prj files ---------------------------------------------------------------------

_WKT_NAME_RE: Final = re.compile(r'\s*(PROJCS|GEOGCS)\[\s*"([^"]+)"', re.IGNORECASE)
_WKT_DATUM_RE: Final = re.compile(r'DATUM\[\s*"([^"]+)"', re.IGNORECASE)
_WKT_PROJECTION_RE: Final = re.compile(r'PROJECTION\[\s*"([^"]+)"', re.IGNORECASE)
_WKT_PARAM_RE: Final = re.compile(r'PARAMETER\[\s*"([^"]+)"\s*,\s*([-+\d.eE]+)\s*\]', re.I)
_GK_NAME_RE: Final = re.compile(
    r"(CGCS2000|Beijing_1954|Xian_1980)_(3_Degree_)?GK_(?:Zone_(\d+)(N?)|CM_(\d+)E)",
    re.IGNORECASE,
)


def _family(text: str) -> GkFamily | None:
    key = re.sub(r"[^a-z0-9]", "", text.lower())
    if "2000" in key and ("china" in key or "cgcs" in key):
        return CGCS2000
    if "beijing1954" in key:
        return BEIJING1954
    if "xian1980" in key:
        return XIAN1980
    return None


def _gk_from_name(name: str) -> int | None:
    """EPSG code from an ESRI Gauss-Krüger name such as ``CGCS2000_3_Degree_GK_CM_120E``."""
    m = _GK_NAME_RE.fullmatch(name)
    family = _family(m.group(1)) if m else None
    if m is None or family is None:
        return None
    three, zone, no_prefix, cm = m.group(2), m.group(3), m.group(4), m.group(5)
    if cm is not None:
        return family.gk3_cm(int(cm)) if three else family.gk6_cm(int(cm))
    if three:
        return family.gk3_zone(int(zone))
    return family.gk6_cm(int(zone) * 6 - 3) if no_prefix else family.gk6_zone(int(zone))


def _gk_from_parameters(family: GkFamily, wkt: str, six: bool) -> int | None:
    """EPSG code from the projection parameters: central meridian and false easting."""
    projection = _WKT_PROJECTION_RE.search(wkt)
    if projection is None or projection.group(1).lower() not in {
        "gauss_kruger",
        "transverse_mercator",
    }:
        return None
    p = {k.lower(): float(v) for k, v in _WKT_PARAM_RE.findall(wkt)}
    cm, fe = p.get("central_meridian"), p.get("false_easting")
    if cm is None or fe is None or cm != int(cm) or p.get("false_northing", 0.0) != 0.0:
        return None
    if p.get("scale_factor", 1.0) != 1.0 or p.get("latitude_of_origin", 0.0) != 0.0:
        return None
    if fe == 500_000.0:
        return family.gk6_cm(int(cm)) if six else family.gk3_cm(int(cm))
    zone, rest = divmod(fe, 1_000_000.0)
    if rest != 500_000.0:
        return None
    if 25 <= zone <= 45 and zone * 3 == cm:
        return family.gk3_zone(int(zone))
    if 13 <= zone <= 23 and zone * 6 - 3 == cm:
        return family.gk6_zone(int(zone))
    return None


def _wkt_epsg(wkt: str) -> int:
    """EPSG code of a WKT CRS; Chinese ESRI .prj files are read by name and parameters,
    because PROJ's identification of ESRI WKT is not always reliable."""
    head = _WKT_NAME_RE.match(wkt)
    if head is not None:
        kind, name = head.group(1).upper(), head.group(2)
        datum = _WKT_DATUM_RE.search(wkt)
        family = _family(datum.group(1) if datum else name) or _family(name)
        if family is not None and kind == "GEOGCS":
            return family.geographic
        if family is not None:
            by_name = _gk_from_name(name)
            six = by_name is not None and "3_degree" not in name.lower()
            by_params = _gk_from_parameters(family, wkt, six)
            if by_name is not None and by_params is not None and by_name != by_params:
                raise UnknownCrsError(
                    f"WKT {name!r}: its name means EPSG:{by_name} but its parameters mean "
                    f"EPSG:{by_params}; fix the .prj file"
                )
            if by_params is not None or by_name is not None:
                return by_params or by_name or 0
    try:
        code = pyproj.CRS.from_wkt(wkt).to_epsg(min_confidence=70)
    except CRSError as exc:
        raise UnknownCrsError(f"unreadable WKT {wkt[:80]!r}: {exc}") from exc
    if code is None:
        raise UnknownCrsError(
            f"WKT {wkt[:80]!r} matches no EPSG code: configure it as a local system"
        )
    return int(code)


# --- pyproj transformers --------------------------------------------------------------------


def _datum_name(crs: pyproj.CRS) -> str:
    datum = crs.datum
    return datum.name if datum is not None else ""


def _is_cgcs2000(crs: pyproj.CRS) -> bool:
    return _datum_name(crs) == "China 2000"


def _in_family(crs: pyproj.CRS) -> bool:
    """Whether the datum is CGCS2000 or WGS84: the pair we treat as one datum."""
    return _is_cgcs2000(crs) or _datum_name(crs).startswith("World Geodetic System 1984")


def _rebase(crs: pyproj.CRS, geodetic: pyproj.CRS) -> pyproj.CRS:
    """The same coordinates defined on ``geodetic``'s datum (WGS84 ≈ CGCS2000)."""
    if crs.is_geographic:
        return geodetic
    if crs.is_projected and crs.coordinate_operation is not None:
        return ProjectedCRS(
            conversion=crs.coordinate_operation,
            geodetic_crs=geodetic,
            cartesian_cs=crs.coordinate_system,
            name=f"{crs.name} (on {geodetic.name})",
        )
    return crs


def _no_operation(src: CrsRef, dst: CrsRef, group: TransformerGroup | None) -> str:
    missing = ""
    if group is not None and group.unavailable_operations:
        missing = (
            f" ({len(group.unavailable_operations)} operation(s) need grid files that are not"
            " installed)"
        )
    src_name = src.crs.name if src.crs is not None else src.name
    dst_name = dst.crs.name if dst.crs is not None else dst.name
    return (
        f"no real transformation from {src} ({src_name}) to {dst} ({dst_name}){missing}: "
        "PROJ only has a ballpark, which can be tens of metres wrong, and it is refused. "
        "Configure a local system in config/local_systems.yaml: a 7-parameter set (kind: "
        "bursa_wolf, source: the old CRS, parent: EPSG:4490) or a 4-parameter set (kind: "
        "helmert2d) with parameters from the local surveying bureau, or fit them from common "
        "points with gis.local.fit_7param / fit_4param; then use the system's name as the CRS."
    )


@functools.lru_cache(maxsize=128)
def _pyproj_transformer(src: CrsRef, dst: CrsRef) -> pyproj.Transformer:
    """PROJ transformer without ballpark, with WGS84 taken as CGCS2000.

    WGS84 ↔ CGCS2000: the target's projection is rebased onto the source datum (a pure
    conversion). WGS84 ↔ any other datum: WGS84 is rebased onto CGCS2000 first, so Beijing
    1954 → WGS84 is refused like Beijing 1954 → CGCS2000, rather than silently using one of
    EPSG's oil-industry sets (one covers the Yellow Sea offshore, ±15 m).
    """
    if src.crs is None or dst.crs is None:
        raise NoTransformationError(f"{src} → {dst}: not both PROJ CRSs; use transform_xy")
    a, b = src.crs, dst.crs
    cgcs2000 = pyproj.CRS.from_epsg(STORAGE_SRID)
    if _in_family(a) and _in_family(b):
        if _datum_name(a) != _datum_name(b):
            b = _rebase(b, a.geodetic_crs or cgcs2000)
    elif _in_family(a) and not _is_cgcs2000(a):
        a = _rebase(a, cgcs2000)
    elif _in_family(b) and not _is_cgcs2000(b):
        b = _rebase(b, cgcs2000)
    group = TransformerGroup(a, b, always_xy=True, allow_ballpark=False)
    if not group.transformers:
        raise NoTransformationError(_no_operation(src, dst, group))
    try:
        return pyproj.Transformer.from_crs(
            a, b, always_xy=True, allow_ballpark=False, only_best=True
        )
    except ProjError as exc:
        raise NoTransformationError(_no_operation(src, dst, group)) from exc


def transformer(src: CrsLike, dst: CrsLike) -> pyproj.Transformer:
    """The cached pyproj transformer (x = lon/easting, never a ballpark) between PROJ CRSs.

    Offsets and local systems have no single pyproj transformer: use :func:`transform_xy`.

    >>> x, y = transformer(STORAGE_SRID, GK_ZONE40_SRID).transform(120.0, 0.0)
    >>> round(x, 3), round(y, 3)
    (40500000.0, 0.0)
    """
    return _pyproj_transformer(resolve(src), resolve(dst))


@functools.lru_cache(maxsize=128)
def _geodetic_ref(ref: CrsRef) -> CrsRef:
    geodetic = ref.crs.geodetic_crs if ref.crs is not None else None
    if geodetic is None:
        raise NoTransformationError(f"{ref} has no geodetic CRS")
    code = geodetic.to_epsg()
    if code is not None:
        return _from_epsg(code, str(code))
    return CrsRef(f"{ref.name}#geodetic", "pyproj", geodetic)


@functools.lru_cache(maxsize=128)
def _area(ref: CrsRef) -> tuple[float, float, float, float, str] | None:
    aou = ref.crs.area_of_use if ref.crs is not None else None
    if aou is None:
        return None
    return aou.west, aou.south, aou.east, aou.north, aou.name.rstrip(".")


def _check_area(
    lon: Floats, lat: Floats, refs: tuple[CrsRef, ...], x: Floats, y: Floats, src: CrsRef
) -> None:
    m = AREA_MARGIN_DEG
    for ref in refs:
        area = _area(ref)
        if area is None:
            continue
        w, s, e, n, label = area
        in_lon = (lon >= w - m) & (lon <= e + m) if w <= e else (lon >= w - m) | (lon <= e + m)
        bad = ~(in_lon & (lat >= s - m) & (lat <= n + m))
        if bad.any():
            i = int(np.argmax(bad))
            raise OutOfAreaError(
                f"coordinate ({float(x[i])!r}, {float(y[i])!r}) in {src} (lon {lon[i]:.6f}, lat "
                f"{lat[i]:.6f}) is outside the area of use of {ref} ({label}: lon {w}…{e}, "
                f"lat {s}…{n}, margin {m}°)"
            )


def _check_finite(ox: Floats, oy: Floats, x: Floats, y: Floats, a: CrsRef, b: CrsRef) -> None:
    bad = ~(np.isfinite(ox) & np.isfinite(oy))
    if bad.any():
        i = int(np.argmax(bad))
        raise OutOfAreaError(
            f"coordinate ({float(x[i])!r}, {float(y[i])!r}) in {a} has no valid position in "
            f"{b}: it lies outside where the operation is defined"
        )


def _pyproj_step(a: CrsRef, b: CrsRef, x: Floats, y: Floats, check: bool) -> tuple[Floats, Floats]:
    """Transform between two PROJ CRSs, checking both areas of use in lon/lat."""
    direct = _pyproj_transformer(a, b)
    assert a.crs is not None and b.crs is not None
    if a.crs.is_geographic or not check:
        if check:
            _check_area(x, y, (a, b), x, y, a)
        ox, oy = direct.transform(x, y)
    elif b.crs.is_geographic:
        ox, oy = direct.transform(x, y)
        _check_finite(ox, oy, x, y, a, b)
        _check_area(ox, oy, (a, b), x, y, a)
    else:  # projected → projected: through lon/lat, which the area check needs anyway
        g = _geodetic_ref(a)
        lon, lat = _pyproj_transformer(a, g).transform(x, y)
        _check_finite(lon, lat, x, y, a, g)
        _check_area(lon, lat, (a, b), x, y, a)
        ox, oy = _pyproj_transformer(g, b).transform(lon, lat)
    ox, oy = np.asarray(ox, dtype=np.float64), np.asarray(oy, dtype=np.float64)
    _check_finite(ox, oy, x, y, a, b)
    return ox, oy


# --- chains through offsets and local systems ---------------------------------------------


def _bd_to_gcj(x: Floats, y: Floats) -> tuple[Floats, Floats]:
    return offsets.bd09_to_gcj02(x, y)


def _parent(ref: CrsRef) -> tuple[CrsRef, _Step, _Step] | None:
    """The CRS ``ref`` is defined on, with the steps up to it and back down."""
    if ref.kind == "gcj02":
        return resolve(WGS84_SRID), offsets.gcj02_to_wgs84, offsets.wgs84_to_gcj02
    if ref.kind == "bd09":
        return resolve(GCJ02), _bd_to_gcj, offsets.gcj02_to_bd09
    if ref.kind == "local":
        system = local.get(ref.name)
        if system is None:
            raise UnknownCrsError(f"local system {ref.name!r} is no longer configured")
        return resolve(system.parent), system.to_parent, system.from_parent
    return None


def _lineage(ref: CrsRef) -> list[tuple[CrsRef, _Step, _Step]]:
    """``ref`` and its ancestors up to a PROJ CRS, each with its up/down steps."""
    chain: list[tuple[CrsRef, _Step, _Step]] = []
    node = ref
    for _ in range(16):
        link = _parent(node)
        if link is None:
            return [*chain, (node, _identity, _identity)]
        chain.append((node, link[1], link[2]))
        node = link[0]
    raise GisError(f"local system {ref} has a cyclic or too deep chain of parents")


def _identity(x: Floats, y: Floats) -> tuple[Floats, Floats]:
    return x, y


def _coords(xs: ArrayLike, ys: ArrayLike) -> tuple[Floats, Floats, tuple[int, ...]]:
    bx, by = np.broadcast_arrays(np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64))
    x, y = bx.ravel().copy(), by.ravel().copy()
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        i = int(np.argmax(bad))
        raise InvalidCoordinateError(
            f"coordinate #{i} ({float(x[i])!r}, {float(y[i])!r}) is not finite: drop or fix it "
            "before transforming"
        )
    return x, y, bx.shape


def transform_xy(
    xs: ArrayLike, ys: ArrayLike, src: CrsLike, dst: CrsLike, *, check_area: bool = True
) -> tuple[Floats, Floats]:
    """Transform coordinate arrays (x = lon/easting) between any two resolvable CRSs.

    Offsets and local systems are chained through the CRS they are defined on; the area of
    use is checked wherever a PROJ transformation runs.

    >>> x, y = transform_xy([119.2], [34.6], "EPSG:4490", "GCJ02")
    >>> bool(abs(x[0] - 119.2) > 1e-4)
    True
    """
    s, d = resolve(src), resolve(dst)
    x, y, shape = _coords(xs, ys)
    if s != d:
        up, down = _lineage(s), _lineage(d)
        down_names = [node.name for node, _, _ in down]
        meet = next((i for i, (node, _, _) in enumerate(up) if node.name in down_names), None)
        for _, step_up, _ in up[: len(up) - 1 if meet is None else meet]:
            x, y = step_up(x, y)
        if meet is None:
            x, y = _pyproj_step(up[-1][0], down[-1][0], x, y, check_area)
            j = len(down) - 1
        else:
            j = down_names.index(up[meet][0].name)
        for _, _, step_down in reversed(down[:j]):
            x, y = step_down(x, y)
    return x.reshape(shape), y.reshape(shape)


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
