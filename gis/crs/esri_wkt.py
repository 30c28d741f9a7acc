"""EPSG code of a WKT CRS, above all of the ESRI WKT in Chinese shapefiles' .prj files.

PROJ's identification of ESRI WKT is not always reliable for the Chinese datums, so the
Gauss-Krüger systems are read by name (``CGCS2000_3_Degree_GK_CM_120E``) and by projection
parameters, and the two must agree; anything else is left to PROJ.
"""

import re
from typing import Final

import pyproj
from pyproj.exceptions import CRSError

from gis.crs.codes import BEIJING1954, CGCS2000, XIAN1980, GkFamily
from gis.errors import UnknownCrsError

__all__ = ["wkt_epsg"]

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


def wkt_epsg(wkt: str) -> int:
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
