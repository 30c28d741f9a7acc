"""Fitting local-system parameters from common points (4-parameter plane, 7-parameter Helmert).

The surveying bureau's parameters are the reference (docs/domain.md); these least-squares fits
are for when only common points are given. Each fit turns into a system with ``to_system``.
"""

import math
from typing import Final, Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gis.errors import FitError
from gis.local.systems import BursaWolfSystem, Helmert2DSystem

__all__ = ["ARCSEC", "FourParamFit", "SevenParamFit", "fit_4param", "fit_7param", "geocentric"]

Floats = NDArray[np.float64]
ARCSEC: Final = math.pi / (180.0 * 3600.0)
"""One arc second in radians."""


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
