"""Coordinate reference systems of the platform: the only place EPSG codes live.

Storage is CGCS2000 geographic (EPSG:4490, x = longitude in PostGIS); metric work is in the
CGCS2000 3° Gauss-Krüger zone 40 (CM 120°E), with or without the zone prefix.

:func:`resolve` turns every spelling we meet (EPSG codes, OGC URNs and URLs, CRS84, ESRI .prj
WKT, ``GCJ02``/``BD09``, configured local systems) into one :class:`CrsRef`;
:func:`transform_xy` moves numpy coordinate arrays between any two of them. Rules it enforces:

- axis order is always x = easting/longitude (``always_xy=True``);
- no ballpark: when PROJ knows no real operation (Beijing 1954 / Xi'an 1980 → CGCS2000) it
  raises :class:`NoTransformationError` instead of shifting data tens of metres;
- WGS84 and CGCS2000 are taken as the same datum (< 1 m apart, docs/domain.md): PROJ itself
  only offers a no-op ballpark between them, so we reuse the projection on the other datum;
- NaN/inf raise :class:`InvalidCoordinateError`; coordinates beyond a CRS's area of use (with
  :data:`AREA_MARGIN_DEG`) raise :class:`OutOfAreaError`.

Modules: :mod:`~gis.crs.codes` (EPSG codes), :mod:`~gis.crs.resolver` (spellings → CrsRef),
:mod:`~gis.crs.esri_wkt` (.prj WKT), :mod:`~gis.crs.transformers` (pyproj, area checks),
:mod:`~gis.crs.chains` (offsets and local systems).
"""

from gis.crs.chains import transform_xy
from gis.crs.codes import (
    AREA_MARGIN_DEG,
    BD09,
    BEIJING1954,
    CGCS2000,
    CRS84,
    GCJ02,
    GK_CM120_SRID,
    GK_ZONE40_SRID,
    OGC_SERVED_CRS,
    STORAGE_SRID,
    WEB_MERCATOR_SRID,
    WGS84_SRID,
    XIAN1980,
    GkFamily,
)
from gis.crs.resolver import CrsLike, CrsRef, north_first, resolve
from gis.crs.transformers import transform_box, transformer

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
    "transform_box",
    "transform_xy",
    "transformer",
]
