"""EPSG codes and CRS names of the platform: the only place EPSG codes live.

Storage is CGCS2000 geographic (EPSG:4490, x = longitude in PostGIS); metric work is in the
CGCS2000 3° Gauss-Krüger zone 40 (CM 120°E), with or without the zone prefix. The Chinese
datums' Gauss-Krüger code series are :class:`GkFamily` values.
"""

from dataclasses import dataclass
from typing import Final

from gis.errors import UnknownCrsError

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
    "GkFamily",
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
"""Slack around a CRS's area of use: zone 40 is used a little west of 118.5°E (docs/domain.md)."""


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
