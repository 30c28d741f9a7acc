"""Transforming coordinate arrays between any two resolvable CRSs, offsets and local ones too.

GCJ-02/BD-09 offsets and local systems are not PROJ CRSs: each is a step up to the CRS it is
defined on. :func:`transform_xy` climbs both sides to a common ancestor or to PROJ CRSs, and
runs one checked PROJ step in between.
"""

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from gis import local, offsets
from gis.crs.codes import GCJ02, WGS84_SRID
from gis.crs.resolver import CrsLike, CrsRef, resolve
from gis.crs.transformers import Floats, pyproj_step
from gis.errors import GisError, InvalidCoordinateError, UnknownCrsError

__all__ = ["transform_xy"]

_Step = Callable[[Floats, Floats], tuple[Floats, Floats]]


def _bd_to_gcj(x: Floats, y: Floats) -> tuple[Floats, Floats]:
    return offsets.bd09_to_gcj02(x, y)


def _parent(ref: CrsRef, systems: local.LocalRegistry) -> tuple[CrsRef, _Step, _Step] | None:
    """The CRS ``ref`` is defined on, with the steps up to it and back down."""
    if ref.kind == "gcj02":
        return resolve(WGS84_SRID), offsets.gcj02_to_wgs84, offsets.wgs84_to_gcj02
    if ref.kind == "bd09":
        return resolve(GCJ02), _bd_to_gcj, offsets.gcj02_to_bd09
    if ref.kind == "local":
        system = systems.get(ref.name)
        if system is None:
            raise UnknownCrsError(f"local system {ref.name!r} is no longer configured")
        return resolve(system.parent, systems), system.to_parent, system.from_parent
    return None


def _lineage(ref: CrsRef, systems: local.LocalRegistry) -> list[tuple[CrsRef, _Step, _Step]]:
    """``ref`` and its ancestors up to a PROJ CRS, each with its up/down steps."""
    chain: list[tuple[CrsRef, _Step, _Step]] = []
    node = ref
    for _ in range(16):
        link = _parent(node, systems)
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
    xs: ArrayLike,
    ys: ArrayLike,
    src: CrsLike,
    dst: CrsLike,
    *,
    check_area: bool = True,
    systems: local.LocalRegistry | None = None,
) -> tuple[Floats, Floats]:
    """Transform coordinate arrays (x = lon/easting) between any two resolvable CRSs.

    Offsets and local systems are chained through the CRS they are defined on; the area of
    use is checked wherever a PROJ transformation runs. Local systems are looked up in
    ``systems`` (default: :func:`gis.local.current`).

    >>> x, y = transform_xy([119.2], [34.6], "EPSG:4490", "GCJ02")
    >>> bool(abs(x[0] - 119.2) > 1e-4)
    True
    """
    registry = local.current() if systems is None else systems
    s, d = resolve(src, registry), resolve(dst, registry)
    x, y, shape = _coords(xs, ys)
    if s != d:
        up, down = _lineage(s, registry), _lineage(d, registry)
        down_names = [node.name for node, _, _ in down]
        meet = next((i for i, (node, _, _) in enumerate(up) if node.name in down_names), None)
        for _, step_up, _ in up[: len(up) - 1 if meet is None else meet]:
            x, y = step_up(x, y)
        if meet is None:
            x, y = pyproj_step(up[-1][0], down[-1][0], x, y, check_area)
            j = len(down) - 1
        else:
            j = down_names.index(up[meet][0].name)
        for _, _, step_down in reversed(down[:j]):
            x, y = step_down(x, y)
    return x.reshape(shape), y.reshape(shape)
