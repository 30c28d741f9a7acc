"""Named local coordinate systems (城市独立坐标系, old-datum links) and fitting their parameters.

Lianyungang's survey work likely uses an independent city system, and old data is on Beijing
1954 or Xi'an 1980, for which PROJ has no real link to CGCS2000. The parameters of such
systems come from the local surveying bureau (docs/domain.md: practice, never constants), so
they live in ``gis/data/local_systems.yaml`` and are resolved by name through
:func:`gis.crs.resolve`. Each system is defined relative to a ``parent`` CRS:

- ``tmerc``: a transverse Mercator on the parent's geographic lon/lat (own CM, k, offsets);
- ``helmert2d``: a 4-parameter plane similarity of a projected parent (PROJ ``helmert`` with
  ``theta``: parent (E, N) → local (E, N));
- ``bursa_wolf``: a 7-parameter geocentric Helmert from ``source`` (a CRS on the old datum,
  geographic or projected) to the parent geographic CRS (normally CGCS2000).

Axis order is always (easting, northing). Chinese survey software often writes X = northing
and Y = easting: swap such pairs before using them here.

The system kinds are in :mod:`gis.local.systems`, the registry of names in
:mod:`gis.local.registry` (YAML read lazily on first use; :func:`registered` adds systems for
one ``with`` block), the parameter fits in :mod:`gis.local.fitting`.
"""

from gis.local.fitting import FourParamFit, SevenParamFit, fit_4param, fit_7param, geocentric
from gis.local.registry import (
    DEFAULT_CONFIG_PATH,
    LocalRegistry,
    config_path,
    configure,
    current,
    get,
    load_systems,
    names,
    register,
    registered,
    unregister,
    using,
)
from gis.local.systems import BursaWolfSystem, Helmert2DSystem, LocalSystem, TmercSystem

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "BursaWolfSystem",
    "FourParamFit",
    "Helmert2DSystem",
    "LocalRegistry",
    "LocalSystem",
    "SevenParamFit",
    "TmercSystem",
    "config_path",
    "configure",
    "current",
    "fit_4param",
    "fit_7param",
    "geocentric",
    "get",
    "load_systems",
    "names",
    "register",
    "registered",
    "unregister",
    "using",
]
