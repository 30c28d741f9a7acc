"""Building the plan layers of a synthetic city and writing them as delivered."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import shapely
from numpy.typing import NDArray

from gis.crs import GK_CM120_SRID, STORAGE_SRID
from gis.geometry import geodesic_area, transform_geometry
from samples.plans import attributes
from samples.plans.codes import gb50137, gbt21010
from samples.plans.defects import Sliver, bowtie, make_slivers, spike
from samples.plans.deliveries import Written, write_layer
from samples.plans.design import Design, apply, control_lines, ordinary
from samples.plans.fabric import Fabric, build_fabric, split_halves
from samples.plans.landuse import HIGHWAY, LAKE, WATER, Codes, Zoning, baseline, zone
from samples.plans.scales import Scale

Geoms = NDArray[np.object_]
Ints = NDArray[np.intp]


class UrbanPlan(NamedTuple):
    """城规 features: geometry (EPSG:4549), the atom each lies in, and its letter."""

    geoms: Geoms
    atom: Ints
    codes: NDArray[np.str_]


class PlanCity(NamedTuple):
    """Everything the plan layers were made from, for the manifest and the rasters."""

    fabric: Fabric
    zoning: Zoning
    design: Design
    urban: UrbanPlan
    slivers: list[Sliver]
    written: dict[str, Written]


def fabric_for(rng_seed: np.random.SeedSequence, target: int) -> Fabric:
    """A fabric whose atom count is within 15 % of ``target`` (carving adds atoms)."""
    ask = target
    for _ in range(4):
        fabric = build_fabric(np.random.Generator(np.random.PCG64(rng_seed)), ask)
        ratio = len(fabric.atoms) / target
        if abs(ratio - 1) < 0.15:
            break
        ask = max(10, round(ask / ratio))
    return fabric


def build(out: Path, seeds: list[np.random.SeedSequence], scale: Scale) -> PlanCity:
    """Generate the plan layers into ``out/plans`` (``seeds``: five independent streams)."""
    rng_zone, rng_codes, rng_design, rng_attr = (
        np.random.Generator(np.random.PCG64(s)) for s in seeds[1:5]
    )
    fabric = fabric_for(seeds[0], scale.atoms)
    z = zone(rng_zone, fabric)
    codes = baseline(rng_codes, fabric, z)
    covered = np.flatnonzero(z.covered)
    half_a, half_b = split_halves(fabric.atoms[covered])
    split = np.zeros(len(fabric.atoms), dtype=bool)
    split[covered] = ~shapely.is_missing(half_b)
    control = control_lines(rng_design, fabric, z, codes)
    design = apply(rng_design, fabric, z, codes, control, split, scale.per_design, scale.defects)
    urban = _urban_features(covered, half_a, half_b, design)
    urban, slivers = _slivers(rng_design, fabric, z, design, urban, scale.slivers)
    written = _write(out, rng_attr, fabric, z, codes, design, urban)
    return PlanCity(fabric, z, design, urban, slivers, written)


def _urban_features(covered: Ints, half_a: Geoms, half_b: Geoms, design: Design) -> UrbanPlan:
    has_b = ~shapely.is_missing(half_b)
    geoms = np.concatenate([half_a, half_b[has_b]])
    atom = np.concatenate([covered, covered[has_b]])
    letters = np.concatenate([design.codes.urban_a[covered], design.codes.urban_b[covered[has_b]]])
    order = np.argsort(atom, kind="stable")  # the two halves of an atom next to each other
    return UrbanPlan(geoms[order], atom[order], letters[order])


def _slivers(
    rng: np.random.Generator,
    fabric: Fabric,
    z: Zoning,
    design: Design,
    urban: UrbanPlan,
    count: int,
) -> tuple[UrbanPlan, list[Sliver]]:
    land, letters = gbt21010(), gb50137()
    lu, ctl = design.codes.landuse, design.control
    busy = np.zeros(len(fabric.atoms), dtype=bool)
    for idx in (*design.designed.values(), design.bowtie, design.spike, design.unknown):
        busy[idx] = True
    usable = ordinary(fabric, z)[urban.atom] & ~busy[urban.atom]

    def conflicting(g: int, atom: int) -> bool:
        cs, cg = letters.codes[str(urban.codes[g])], land.codes[str(lu[atom])]
        if bool(cs.construction) != bool(cg.construction):
            return True
        if cs.construction and (ctl.basic_farmland[atom] or ctl.eco[atom]):
            return True
        if cs.urban and ctl.boundary[urban.atom[g]] and not ctl.boundary[atom]:
            return True
        return bool(cs.construction and cs.code_2023[:2] != cg.code_2023[:2])

    geoms, made = make_slivers(
        rng, urban.geoms, fabric.atoms, urban.atom, usable, conflicting, count
    )
    return UrbanPlan(geoms, urban.atom, urban.codes), made


def ellipsoidal(geoms_4549: Geoms) -> NDArray[np.float64]:
    """Ellipsoidal areas (m², CGCS2000) of metric geometries."""
    return np.asarray(geodesic_area(transform_geometry(geoms_4549, GK_CM120_SRID, STORAGE_SRID)))


def _write(
    out: Path,
    rng: np.random.Generator,
    fabric: Fabric,
    z: Zoning,
    base: Codes,
    design: Design,
    urban: UrbanPlan,
) -> dict[str, Written]:
    atoms, county, ctl, codes = fabric.atoms, z.county, design.control, design.codes
    area = ellipsoidal(atoms)
    landuse_geoms = atoms.copy()
    for i in design.bowtie.tolist():
        landuse_geoms[i] = bowtie(atoms[i])
    for i in design.spike.tolist():
        landuse_geoms[i] = spike(atoms[i])
    noted = rng.random(len(atoms)) < 0.05
    written = {}
    written["landuse_plan"] = write_layer(
        out, "landuse_plan", landuse_geoms, attributes.landuse(codes.landuse, county, area, noted)
    )
    written["urban_plan"] = write_layer(
        out,
        "urban_plan",
        urban.geoms,
        attributes.urban(urban.codes, county[urban.atom], shapely.area(urban.geoms)),
    )
    eco = np.flatnonzero(ctl.eco)
    written["eco_redline"] = write_layer(
        out,
        "eco_redline",
        atoms[eco],
        attributes.redline(z.theme[eco], z.hill[eco], fabric.source[eco], county[eco], area[eco]),
    )
    bf = np.flatnonzero(ctl.basic_farmland)
    farm_codes = base.landuse[bf]  # the farmland class, also where a plan now builds on it
    written["basic_farmland"] = write_layer(
        out,
        "basic_farmland",
        atoms[bf],
        attributes.farmland(farm_codes, county[bf], area[bf], rng.integers(4, 10, bf.size)),
    )
    towns, shapes = _boundaries(atoms, z.town, ctl.boundary)
    written["dev_boundary"] = write_layer(
        out, "dev_boundary", shapes, attributes.boundary(towns, ellipsoidal(shapes))
    )
    state = z.built | np.isin(z.theme, [WATER, LAKE, HIGHWAY])
    written["current_use"] = write_layer(
        out, "current_use", atoms, attributes.current(codes.current, county, area, state)
    )
    return written


def _boundaries(
    atoms: Geoms, town: NDArray[np.int16], inside: NDArray[np.bool_]
) -> tuple[Ints, Geoms]:
    """One development-boundary (multi)polygon per town: the union of its boundary atoms."""
    towns = np.unique(town[inside])
    shapes = np.empty(towns.size, dtype=object)
    for k, t in enumerate(towns.tolist()):
        shapes[k] = shapely.union_all(atoms[inside & (town == t)])
    return towns.astype(np.intp), shapes
