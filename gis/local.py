"""Named local coordinate systems (城市独立坐标系, old-datum links) and fitting their parameters.

Lianyungang's survey work likely uses an independent city system, and old data is on Beijing
1954 or Xi'an 1980, for which PROJ has no real link to CGCS2000. The parameters of such
systems come from the local surveying bureau (DOMAIN.md §1: practice, never constants), so
they live in ``config/local_systems.yaml`` and are resolved by name through
:func:`gis.crs.resolve`. Each system is defined relative to a ``parent`` CRS:

- ``tmerc``: a transverse Mercator on the parent's geographic lon/lat (own CM, k, offsets);
- ``helmert2d``: a 4-parameter plane similarity of a projected parent (PROJ ``helmert`` with
  ``theta``: parent (E, N) → local (E, N));
- ``bursa_wolf``: a 7-parameter geocentric Helmert from ``source`` (a CRS on the old datum,
  geographic or projected) to the parent geographic CRS (normally CGCS2000).

Axis order is always (easting, northing). Chinese survey software often writes X = northing
and Y = easting: swap such pairs before using them here.

The registry loads the YAML lazily on first use; :func:`configure` points it elsewhere and
:func:`register` adds systems programmatically (tests, fitted sets).
"""

import functools
import math
from pathlib import Path
from typing import Annotated, Final, Literal, NamedTuple

import numpy as np
import pyproj
import yaml
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from gis.errors import FitError, GisError

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "BursaWolfSystem",
    "FourParamFit",
    "Helmert2DSystem",
    "LocalSystem",
    "SevenParamFit",
    "TmercSystem",
    "config_path",
    "configure",
    "fit_4param",
    "fit_7param",
    "geocentric",
    "get",
    "load_systems",
    "names",
    "register",
    "unregister",
]

Floats = NDArray[np.float64]
ARCSEC: Final = math.pi / (180.0 * 3600.0)
"""One arc second in radians."""
DEFAULT_CONFIG_PATH: Final = (
    Path(__file__).resolve().parent.parent / "config" / "local_systems.yaml"
)


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
_SYSTEMS: Final = TypeAdapter(list[LocalSystem])


def load_systems(path: Path) -> dict[str, LocalSystem]:
    """Read and validate a local-systems YAML file (``systems:`` list), keyed by name."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        systems = _SYSTEMS.validate_python(data.get("systems") or [])
    except (OSError, yaml.YAMLError, ValidationError, AttributeError) as exc:
        raise GisError(f"cannot load local coordinate systems from {path}: {exc}") from exc
    out: dict[str, LocalSystem] = {}
    for system in systems:
        if system.name.casefold() in out:
            raise GisError(f"{path}: local system {system.name!r} is defined twice")
        out[system.name.casefold()] = system
    return out


class _Registry:
    """Configured systems, loaded on first use, plus programmatic registrations."""

    def __init__(self) -> None:
        self.path: Path = DEFAULT_CONFIG_PATH
        self.loaded: dict[str, LocalSystem] | None = None
        self.extra: dict[str, LocalSystem] = {}

    def systems(self) -> dict[str, LocalSystem]:
        if self.loaded is None:
            explicit = self.path != DEFAULT_CONFIG_PATH
            self.loaded = load_systems(self.path) if explicit or self.path.exists() else {}
        return {**self.loaded, **self.extra}


_REGISTRY: Final = _Registry()


def configure(path: Path | None) -> None:
    """Read local systems from ``path`` (None: the default config) on next use."""
    _REGISTRY.path = DEFAULT_CONFIG_PATH if path is None else Path(path)
    _REGISTRY.loaded = None


def config_path() -> Path:
    """The YAML file local systems are read from."""
    return _REGISTRY.path


def register(system: LocalSystem, *, replace: bool = False) -> None:
    """Add a system by name (tests, freshly fitted parameters); names are case-insensitive."""
    key = system.name.casefold()
    if not replace and key in _REGISTRY.systems():
        raise GisError(f"local system {system.name!r} already exists")
    _REGISTRY.extra[key] = system


def unregister(name: str) -> None:
    """Remove a programmatically registered system (configured ones stay)."""
    _REGISTRY.extra.pop(name.casefold(), None)


def get(name: str) -> LocalSystem | None:
    """The system called ``name`` (case-insensitive), or None."""
    return _REGISTRY.systems().get(name.casefold())


def names() -> list[str]:
    """Names of all known local systems."""
    return sorted(s.name for s in _REGISTRY.systems().values())


# --- fitting ----------------------------------------------------------------------------------


class FourParamFit(NamedTuple):
    """A fitted plane similarity in PROJ helmert form, with residuals (m) per point."""

    de: float
    dn: float
    scale: float
    rotation_arcsec: float
    residuals: Floats
    rms: float

    def to_system(self, name: str, parent: str, description: str = "") -> Helmert2DSystem:
        """The local system these parameters define on the projected ``parent``."""
        return Helmert2DSystem(
            name=name,
            parent=parent,
            description=description,
            de=self.de,
            dn=self.dn,
            scale=self.scale,
            rotation_arcsec=self.rotation_arcsec,
        )


class SevenParamFit(NamedTuple):
    """A fitted Bursa-Wolf set (m, arcsec, ppm) in ``convention``, with 3D residuals (m)."""

    tx: float
    ty: float
    tz: float
    rx: float
    ry: float
    rz: float
    s: float
    convention: Literal["position_vector", "coordinate_frame"]
    residuals: Floats
    rms: float

    def to_system(
        self, name: str, source: str, parent: str, description: str = ""
    ) -> BursaWolfSystem:
        """The local system linking ``source`` to ``parent`` with these parameters."""
        return BursaWolfSystem(
            name=name,
            parent=parent,
            source=source,
            description=description,
            tx=self.tx,
            ty=self.ty,
            tz=self.tz,
            rx=self.rx,
            ry=self.ry,
            rz=self.rz,
            s=self.s,
            convention=self.convention,
        )


def _points(src: ArrayLike, dst: ArrayLike, dim: int, minimum: int) -> tuple[Floats, Floats]:
    a = np.asarray(src, dtype=np.float64)
    b = np.asarray(dst, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != dim or a.shape != b.shape:
        raise FitError(f"points must be two (N, {dim}) arrays of equal shape")
    if len(a) < minimum:
        raise FitError(f"need at least {minimum} common points, got {len(a)}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise FitError("common points contain NaN or inf")
    return a, b


def _solve(design: Floats, obs: Floats, unknowns: int) -> Floats:
    solution, _, rank, _ = np.linalg.lstsq(design, obs, rcond=None)
    if rank < unknowns:
        raise FitError("common points are degenerate (coincident or collinear)")
    return np.asarray(solution, dtype=np.float64)


def _check_rms(residuals: Floats, max_rms: float | None) -> float:
    rms = float(np.sqrt(np.mean(residuals**2)))
    if max_rms is not None and rms > max_rms:
        worst = int(np.argmax(residuals))
        raise FitError(
            f"RMS residual {rms:.4f} m exceeds {max_rms} m (worst: point #{worst}, "
            f"{residuals[worst]:.4f} m): check the point pairs (X/Y swapped?)"
        )
    return rms


def fit_4param(
    src_pts: ArrayLike, dst_pts: ArrayLike, *, max_rms: float | None = None
) -> FourParamFit:
    """Least-squares plane similarity from ≥ 2 common (E, N) points, src → dst.

    Solved linearly (a = s·cosθ, b = s·sinθ) on centred coordinates, so it is exact.

    >>> fit = fit_4param([[0, 0], [100, 0]], [[10, 20], [110, 20]])
    >>> round(fit.de, 6), round(fit.dn, 6), round(fit.scale, 9), round(fit.rms, 9)
    (10.0, 20.0, 1.0, 0.0)
    """
    src, dst = _points(src_pts, dst_pts, 2, 2)
    c = src.mean(axis=0)
    d = src - c
    n = len(src)
    design = np.zeros((2 * n, 4))
    design[0::2, 0] = 1.0
    design[0::2, 2] = d[:, 0]
    design[0::2, 3] = d[:, 1]
    design[1::2, 1] = 1.0
    design[1::2, 2] = d[:, 1]
    design[1::2, 3] = -d[:, 0]
    t0x, t0y, a1, b = _solve(design, (dst - src).ravel(), 4)
    de = t0x - a1 * c[0] - b * c[1]
    dn = t0y + b * c[0] - a1 * c[1]
    a = 1.0 + a1
    pred_e = de + a * src[:, 0] + b * src[:, 1]
    pred_n = dn - b * src[:, 0] + a * src[:, 1]
    residuals = np.hypot(pred_e - dst[:, 0], pred_n - dst[:, 1])
    rms = _check_rms(residuals, max_rms)
    theta = math.atan2(b, a)
    return FourParamFit(float(de), float(dn), math.hypot(a, b), theta / ARCSEC, residuals, rms)


def geocentric(
    lon: ArrayLike, lat: ArrayLike, h: ArrayLike = 0.0, *, a: float, rf: float
) -> Floats:
    """(N, 3) geocentric X, Y, Z (m) of lon/lat (degrees) and height on ellipsoid (a, 1/f)."""
    lam = np.radians(np.asarray(lon, dtype=np.float64))
    phi = np.radians(np.asarray(lat, dtype=np.float64))
    e2 = (2.0 - 1.0 / rf) / rf
    n = a / np.sqrt(1.0 - e2 * np.sin(phi) ** 2)
    hh = np.asarray(h, dtype=np.float64)
    x = (n + hh) * np.cos(phi) * np.cos(lam)
    y = (n + hh) * np.cos(phi) * np.sin(lam)
    z = (n * (1.0 - e2) + hh) * np.sin(phi)
    return np.column_stack(np.broadcast_arrays(x, y, z))


def fit_7param(
    src_xyz: ArrayLike,
    dst_xyz: ArrayLike,
    *,
    max_rms: float | None = None,
    convention: Literal["position_vector", "coordinate_frame"] = "position_vector",
) -> SevenParamFit:
    """Least-squares Bursa-Wolf set from ≥ 3 common geocentric points, src → dst.

    PROJ's model X' = T + k·(I + Ω)·X is linear in (T, k, W = k·Ω); it is solved on centred
    coordinates, so the fit is exact for PROJ's small-angle formula. Points from one city
    give strongly correlated parameters: judge the fit by its residuals, not the values.
    """
    src, dst = _points(src_xyz, dst_xyz, 3, 3)
    c = src.mean(axis=0)
    d = src - c
    n = len(src)
    dx, dy, dz = d[:, 0], d[:, 1], d[:, 2]
    design = np.zeros((3 * n, 7))  # unknowns: t0 (3), wx, wy, wz, q = k - 1
    design[0::3, 0] = design[1::3, 1] = design[2::3, 2] = 1.0
    design[0::3, 4], design[0::3, 5], design[0::3, 6] = dz, -dy, dx
    design[1::3, 3], design[1::3, 5], design[1::3, 6] = -dz, dx, dy
    design[2::3, 3], design[2::3, 4], design[2::3, 6] = dy, -dx, dz
    sol = _solve(design, (dst - src).ravel(), 7)
    wx, wy, wz, q = sol[3:]
    w = np.array([[0.0, -wz, wy], [wz, 0.0, -wx], [-wy, wx, 0.0]])
    t = sol[:3] - q * c - w @ c
    pred = src + t + q * src + src @ w.T
    residuals = np.linalg.norm(pred - dst, axis=1)
    rms = _check_rms(residuals, max_rms)
    k = 1.0 + q
    sign = 1.0 if convention == "position_vector" else -1.0
    rx, ry, rz = (float(sign * v / k / ARCSEC) for v in (wx, wy, wz))
    tx, ty, tz = (float(v) for v in t)
    return SevenParamFit(tx, ty, tz, rx, ry, rz, float(q * 1e6), convention, residuals, rms)
