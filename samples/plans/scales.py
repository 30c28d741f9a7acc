"""How big each synthetic city is: plan features, designed conflicts, raster resolutions."""

from __future__ import annotations

from typing import Final, NamedTuple


class Scale(NamedTuple):
    """Size parameters of one scale.

    ``atoms`` is the target number of land-use plan (土规) features; the urban plan has about
    as many (two per atom inside its coverage). ``per_design`` atoms are changed per
    conflict design (eight designs), ``defects`` bowtie geometries (half as many spikes,
    at least three unknown codes), ``slivers`` shifted edges. The DEM covers the whole city
    on a lon/lat grid of ``dem_deg``; the imagery is ``imagery_m`` metres per pixel over the
    Haizhou–Lianyun core (``imagery_city`` False) or the whole city.
    """

    atoms: int
    per_design: int
    defects: int
    slivers: int
    dem_deg: float
    imagery_m: float
    imagery_city: bool


SCALES: Final = {
    "small": Scale(500, 3, 2, 6, 0.0025, 20.0, False),
    "medium": Scale(20_000, 40, 4, 12, 0.0005, 20.0, True),
    "large": Scale(200_000, 300, 8, 20, 0.00025, 10.0, True),
}
"""``small`` is committed in the repository (all plans and rasters ≤ ~4 MB) and generates in
seconds, so the tests use it; fewer atoms cannot hold every design (rivers and roads carve
most of them)."""
