"""Coordinate reference systems of the platform: the only place EPSG codes live.

Storage is CGCS2000 geographic (EPSG:4490, x = longitude in PostGIS); metric work is in the
CGCS2000 3° Gauss-Krüger zone 40 (CM 120°E), with or without the zone prefix.
"""

from typing import Final

STORAGE_SRID: Final = 4490
"""CGCS2000 geographic 2D: every geometry column."""

GK_CM120_SRID: Final = 4549
"""CGCS2000 / 3-degree Gauss-Kruger CM 120E (false easting 500 000 m)."""

GK_ZONE40_SRID: Final = 4528
"""CGCS2000 / 3-degree Gauss-Kruger zone 40 (false easting 40 500 000 m)."""
