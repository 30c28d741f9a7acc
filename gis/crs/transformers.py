"""Cached pyproj transformers that never fall back to a ballpark, and area-of-use checks.

WGS84 and CGCS2000 are taken as one datum (< 1 m apart, docs/domain.md): PROJ only offers a
no-op ballpark between them, so the projection is reused on the other datum. Where PROJ has
no real operation (Beijing 1954 / Xi'an 1980 → CGCS2000) :class:`NoTransformationError` is
raised instead of shifting data tens of metres.
"""

import functools

import numpy as np
import pyproj
from numpy.typing import NDArray
from pyproj.crs import ProjectedCRS
from pyproj.exceptions import ProjError
from pyproj.transformer import TransformerGroup

from gis.crs.codes import AREA_MARGIN_DEG, STORAGE_SRID
from gis.crs.resolver import CrsLike, CrsRef, from_epsg, resolve
from gis.errors import NoTransformationError, OutOfAreaError

__all__ = ["Floats", "pyproj_step", "transform_box", "transformer"]

Floats = NDArray[np.float64]


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
        "Configure a local system in gis/data/local_systems.yaml: a 7-parameter set (kind: "
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

    >>> x, y = transformer(4490, 4528).transform(120.0, 0.0)  # to zone 40 with prefix
    >>> round(x, 3), round(y, 3)
    (40500000.0, 0.0)
    """
    return _pyproj_transformer(resolve(src), resolve(dst))


def transform_box(
    src: CrsLike, dst: CrsLike, box: tuple[float, float, float, float], densify: int = 21
) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) of ``src`` as the box of ``dst`` that holds it, edges
    densified, on the cached transformer (rasterio's ``transform_bounds`` builds a PROJ
    operation per call: ~50 ms between CGCS2000 and Web Mercator, more than a tile's render)."""
    left, bottom, right, top = transformer(src, dst).transform_bounds(*box, densify_pts=densify)
    return float(left), float(bottom), float(right), float(top)


@functools.lru_cache(maxsize=128)
def _geodetic_ref(ref: CrsRef) -> CrsRef:
    geodetic = ref.crs.geodetic_crs if ref.crs is not None else None
    if geodetic is None:
        raise NoTransformationError(f"{ref} has no geodetic CRS")
    code = geodetic.to_epsg()
    if code is not None:
        return from_epsg(code, str(code))
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


def pyproj_step(a: CrsRef, b: CrsRef, x: Floats, y: Floats, check: bool) -> tuple[Floats, Floats]:
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
