"""The kinds of local coordinate system and the PROJ pipelines that carry them.

Each system is defined relative to a ``parent`` CRS and knows its two steps, ``to_parent``
and ``from_parent``, on numpy arrays in (easting, northing) or (lon, lat) order; the chains
in :mod:`gis.crs` link those steps up to a CRS PROJ knows.
"""

import functools
from typing import Annotated, Literal

import numpy as np
import pyproj
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator

from gis.errors import GisError

__all__ = ["BursaWolfSystem", "Helmert2DSystem", "LocalSystem", "TmercSystem"]

Floats = NDArray[np.float64]


@functools.lru_cache(maxsize=64)
def _pipeline(definition: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_pipeline(definition)


@functools.lru_cache(maxsize=64)
def _to_geodetic(source: str) -> pyproj.Transformer | None:
    """Conversion from a projected ``source`` to its own lon/lat; None if already lon/lat."""
    crs = pyproj.CRS.from_user_input(source)
    geodetic = crs.geodetic_crs
    if geodetic is None:
        raise GisError(f"{source} has no geodetic CRS")
    if crs.is_geographic:
        return None
    return pyproj.Transformer.from_crs(crs, geodetic, always_xy=True)


@functools.lru_cache(maxsize=64)
def _ellipsoid(spec: str) -> tuple[float, float]:
    """(a, 1/f) of a PROJ CRS spec; local systems are not accepted here."""
    ellipsoid = pyproj.CRS.from_user_input(spec).ellipsoid
    if ellipsoid is None:
        raise GisError(f"{spec} has no ellipsoid")
    return ellipsoid.semi_major_metre, ellipsoid.inverse_flattening


def _run(definition: str, x: Floats, y: Floats, inverse: bool) -> tuple[Floats, Floats]:
    direction = "INVERSE" if inverse else "FORWARD"
    ox, oy = _pipeline(definition).transform(x, y, direction=direction)
    return np.asarray(ox, dtype=np.float64), np.asarray(oy, dtype=np.float64)


class _System(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$")
    description: str = ""
    parent: str = Field(min_length=1, description="CRS this system is defined on")


class TmercSystem(_System):
    """Transverse Mercator on the parent's lon/lat: a city system with its own CM and k."""

    kind: Literal["tmerc"] = "tmerc"
    lon_0: float
    lat_0: float = 0.0
    k: float = Field(default=1.0, gt=0.0)
    x_0: float = 0.0
    y_0: float = 0.0
    ellps: str | None = None
    a: float | None = None
    rf: float | None = None

    @model_validator(mode="after")
    def _one_ellipsoid(self) -> "TmercSystem":
        if (self.ellps is None) == (self.a is None or self.rf is None):
            raise ValueError("give either ellps (a PROJ ellipsoid name) or both a and rf")
        return self

    @property
    def pipeline(self) -> str:
        """PROJ pipeline parent lon/lat (degrees) → local (E, N)."""
        ellipsoid = f"+ellps={self.ellps}" if self.ellps else f"+a={self.a!r} +rf={self.rf!r}"
        return (
            "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad +step +proj=tmerc "
            f"+lat_0={self.lat_0!r} +lon_0={self.lon_0!r} +k={self.k!r} +x_0={self.x_0!r} "
            f"+y_0={self.y_0!r} {ellipsoid}"
        )

    def to_parent(self, x: Floats, y: Floats) -> tuple[Floats, Floats]:
        """Local (E, N) → parent (lon, lat)."""
        return _run(self.pipeline, x, y, inverse=True)

    def from_parent(self, x: Floats, y: Floats) -> tuple[Floats, Floats]:
        """Parent (lon, lat) → local (E, N)."""
        return _run(self.pipeline, x, y, inverse=False)


class Helmert2DSystem(_System):
    """4-parameter similarity: E' = dE + s(E cosθ + N sinθ), N' = dN + s(−E sinθ + N cosθ).

    This is PROJ's ``+proj=helmert +x=dE +y=dN +s=<factor> +theta=<arcsec>`` (with theta,
    ``s`` is a factor, not ppm), mapping the projected parent's (E, N) to local (E, N).
    """

    kind: Literal["helmert2d"] = "helmert2d"
    de: float = Field(alias="dE", description="east shift, metres")
    dn: float = Field(alias="dN", description="north shift, metres")
    scale: float = Field(gt=0.0, description="scale factor (1.0000123, not ppm)")
    rotation_arcsec: float

    @property
    def pipeline(self) -> str:
        """PROJ operation parent (E, N) → local (E, N)."""
        return (
            f"+proj=helmert +x={self.de!r} +y={self.dn!r} +s={self.scale!r} "
            f"+theta={self.rotation_arcsec!r}"
        )

    def to_parent(self, x: Floats, y: Floats) -> tuple[Floats, Floats]:
        """Local (E, N) → parent (E, N)."""
        return _run(self.pipeline, x, y, inverse=True)

    def from_parent(self, x: Floats, y: Floats) -> tuple[Floats, Floats]:
        """Parent (E, N) → local (E, N)."""
        return _run(self.pipeline, x, y, inverse=False)


class BursaWolfSystem(_System):
    """``source`` coordinates (old datum) linked to the parent by a 7-parameter Helmert.

    X' = T + (1 + s·10⁻⁶)·R·X on geocentric coordinates, with PROJ's small-angle R. The
    ``convention`` must be stated: ``position_vector`` (EPSG 9606, PROJ ``towgs84``) and
    ``coordinate_frame`` (EPSG 9607) differ in the sign of the rotations. Heights are taken
    as 0 (2D work; the resulting error is far below the parameters' own accuracy).
    """

    kind: Literal["bursa_wolf"] = "bursa_wolf"
    source: str = Field(min_length=1, description="PROJ spec of the old-datum CRS")
    tx: float
    ty: float
    tz: float
    rx: float = Field(description="arc seconds")
    ry: float = Field(description="arc seconds")
    rz: float = Field(description="arc seconds")
    s: float = Field(description="scale difference, ppm")
    convention: Literal["position_vector", "coordinate_frame"]

    @property
    def pipeline(self) -> str:
        """PROJ pipeline source geographic lon/lat → parent lon/lat (degrees)."""
        a1, rf1 = _ellipsoid(self.source)
        a2, rf2 = _ellipsoid(self.parent)
        return (
            "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
            f"+step +proj=cart +a={a1!r} +rf={rf1!r} "
            f"+step +proj=helmert +x={self.tx!r} +y={self.ty!r} +z={self.tz!r} "
            f"+rx={self.rx!r} +ry={self.ry!r} +rz={self.rz!r} +s={self.s!r} "
            f"+convention={self.convention} "
            f"+step +inv +proj=cart +a={a2!r} +rf={rf2!r} "
            "+step +proj=unitconvert +xy_in=rad +xy_out=deg"
        )

    def to_parent(self, x: Floats, y: Floats) -> tuple[Floats, Floats]:
        """Source coordinates → parent (lon, lat)."""
        to_geo = _to_geodetic(self.source)
        if to_geo is not None:
            x, y = (np.asarray(v, dtype=np.float64) for v in to_geo.transform(x, y))
        return _run(self.pipeline, x, y, inverse=False)

    def from_parent(self, x: Floats, y: Floats) -> tuple[Floats, Floats]:
        """Parent (lon, lat) → source coordinates."""
        lon, lat = _run(self.pipeline, x, y, inverse=True)
        to_geo = _to_geodetic(self.source)
        if to_geo is None:
            return lon, lat
        ox, oy = to_geo.transform(lon, lat, direction="INVERSE")
        return np.asarray(ox, dtype=np.float64), np.asarray(oy, dtype=np.float64)


LocalSystem = Annotated[
    TmercSystem | Helmert2DSystem | BursaWolfSystem, Field(discriminator="kind")
]
