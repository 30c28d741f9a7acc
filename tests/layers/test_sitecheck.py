"""Site checks of designed sites, built from the source files (not from the database): on a
designed 建设占用永久基本农田 patch (界址点 in zone-40 GK with X = northing), on an eco red line
patch (GeoJSON), outside the development boundary (a local coordinate system), and a
compliant site; and the impact on the grid of a road corridor, against direct SQL."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fiona
import numpy as np
import pyproj
import pytest
import shapely
from shapely.geometry import mapping, shape
from sqlalchemy import Connection, text

from gis import local
from gis.geometry import transform_geometry
from layers.classification import Schemes
from layers.errors import SiteError, UnknownLayerError
from layers.impact import impact_of_geometry, impact_of_run, impact_of_site
from layers.importer import ImportReport
from layers.registry import version
from layers.rules import Rules
from layers.settings import PlanSettings
from layers.sitecheck import (
    SiteReport,
    check_site,
    site_from_file,
    site_from_geojson,
    site_from_points,
)


def _layer(
    sample_dir: Path, manifest: dict[str, Any], key: str
) -> list[tuple[dict[str, Any], Any]]:
    """(properties, geometry in EPSG:4549) of every feature of a source file, by row."""
    with fiona.open(sample_dir / manifest["plans"]["layers"][key]["file"]) as src:
        crs = pyproj.CRS.from_user_input(src.crs_wkt)
        rows = [(dict(f.properties), shape(f.geometry)) for f in src]
    geoms = transform_geometry(np.array([g for _, g in rows], dtype=object), crs.to_wkt(), 4549)
    return [(p, shapely.make_valid(g)) for (p, _), g in zip(rows, geoms, strict=True)]


def _square(centre: Any, half: float) -> Any:
    return shapely.box(centre.x - half, centre.y - half, centre.x + half, centre.y + half)


def _check(
    conn: Connection,
    site: Any,
    rules: Rules,
    schemes: Schemes,
    settings: PlanSettings,
    use: str | None = None,
) -> SiteReport:
    return check_site(
        conn, site, rules=rules, schemes=schemes, settings=settings, name="t", use=use
    )


def _items(report: SiteReport) -> dict[str, str]:
    return {f"{i.check}:{i.layer_id}": i.verdict for i in report.items}


def test_a_site_on_basic_farmland_fails(
    conn: Connection,
    plans: dict[str, ImportReport],
    manifest: dict[str, Any],
    sample_dir: Path,
    rules: Rules,
    schemes: Schemes,
    plan_settings: PlanSettings,
    tmp_path: Path,
) -> None:
    patch = manifest["plans"]["conflicts"]["types"]["build_on_basic_farmland"]["patches"][0]
    landuse = _layer(sample_dir, manifest, patch["a_layer"])[patch["a_row"]][1]
    farmland = _layer(sample_dir, manifest, "basic_farmland")[patch["b_row"]][1]
    centre = shapely.point_on_surface(landuse.intersection(farmland).buffer(-80))
    square = transform_geometry(_square(centre, 30.0), 4549, 4528)
    path = tmp_path / "界址点.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["点号", "X", "Y"])  # survey convention: X = northing, Y = easting
        for n, (e, north) in enumerate(list(square.exterior.coords)[:-1], start=1):
            writer.writerow([f"J{n}", f"{north:.3f}", f"{e:.3f}"])
    site = site_from_file(path, crs="EPSG:4528")
    assert any("X = northing" in note for note in site.notes)
    report = _check(conn, site, rules, schemes, plan_settings)
    assert report.verdict == "fail"
    assert report.area_m2 == pytest.approx(3600.0, rel=2e-3)
    item = next(i for i in report.items if i.check == "basic_farmland")
    assert (item.verdict, item.share) == ("fail", pytest.approx(1.0, abs=1e-6))
    assert item.features[0]["fid"] == str(patch["b_row"] + 1)  # GeoPackage fid
    assert item.layer_version_id == version(conn, "basic_farmland").id
    stored = conn.execute(
        text(
            "SELECT c.verdict, count(i.*), count(DISTINCT i.layer_version_id)"
            " FROM plans.site_checks c JOIN plans.site_check_items i ON i.site_check_id = c.id"
            " WHERE c.id = :id GROUP BY 1"
        ),
        {"id": report.id},
    ).one()
    assert stored[0] == "fail" and stored[1] == len(report.items) and stored[2] >= 5


def test_a_site_on_the_eco_red_line_fails(
    conn: Connection,
    plans: dict[str, ImportReport],
    manifest: dict[str, Any],
    sample_dir: Path,
    rules: Rules,
    schemes: Schemes,
    plan_settings: PlanSettings,
) -> None:
    patch = manifest["plans"]["conflicts"]["types"]["build_on_eco_redline"]["patches"][0]
    plan = _layer(sample_dir, manifest, patch["a_layer"])[patch["a_row"]][1]
    eco = _layer(sample_dir, manifest, "eco_redline")[patch["b_row"]][1]
    centre = shapely.point_on_surface(plan.intersection(eco).buffer(-80))
    lonlat = transform_geometry(_square(centre, 50.0), 4549, "OGC:CRS84")
    report = _check(
        conn, site_from_geojson(json.dumps(mapping(lonlat))), rules, schemes, plan_settings
    )
    assert report.verdict == "fail" and _items(report)["eco_redline:eco_redline"] == "fail"


@pytest.fixture
def city_system() -> Iterator[str]:
    """A made-up city system (城市独立坐标系): transverse Mercator on CM 119.3°E."""
    system = local.TmercSystem(
        name="test-city",
        parent="EPSG:4490",
        lon_0=119.3,
        k=1.0,
        x_0=50_000.0,
        y_0=-3_780_000.0,
        ellps="GRS80",
    )
    with local.registered(system):
        yield system.name


def test_urban_use_outside_the_development_boundary_warns(
    conn: Connection,
    plans: dict[str, ImportReport],
    manifest: dict[str, Any],
    sample_dir: Path,
    rules: Rules,
    schemes: Schemes,
    plan_settings: PlanSettings,
    city_system: str,
) -> None:
    urban = _layer(sample_dir, manifest, "urban_plan")
    boundary = shapely.union_all([g for _, g in _layer(sample_dir, manifest, "dev_boundary")])
    hard = shapely.union_all(
        [g for k in ("basic_farmland", "eco_redline") for _, g in _layer(sample_dir, manifest, k)]
    )
    patch = next(
        p
        for p in manifest["plans"]["conflicts"]["types"]["urban_build_outside_dev_boundary"][
            "patches"
        ]
        if not urban[p["a_row"]][1].intersects(hard)
    )
    centre = shapely.point_on_surface(urban[patch["a_row"]][1].difference(boundary).buffer(-80))
    local_square = transform_geometry(_square(centre, 40.0), 4549, city_system)
    site = site_from_points(list(local_square.exterior.coords)[:-1], city_system)
    report = _check(conn, site, rules, schemes, plan_settings, use="0901")
    verdicts = _items(report)
    assert verdicts["dev_boundary:dev_boundary"] == "warn"
    assert verdicts["basic_farmland:basic_farmland"] == "pass"
    assert verdicts["eco_redline:eco_redline"] == "pass"
    assert report.verdict == "warn"
    outside = next(i for i in report.items if i.check == "dev_boundary")
    assert outside.share == pytest.approx(1.0, abs=1e-6)
    rural = _check(conn, site, rules, schemes, plan_settings, use="0703")  # 农村宅基地
    assert "dev_boundary:dev_boundary" not in _items(rural)  # the check is for urban uses


def test_a_compliant_site_passes(
    conn: Connection,
    plans: dict[str, ImportReport],
    manifest: dict[str, Any],
    sample_dir: Path,
    rules: Rules,
    schemes: Schemes,
    plan_settings: PlanSettings,
) -> None:
    homes_u = shapely.union_all(
        [g for p, g in _layer(sample_dir, manifest, "urban_plan") if p["YDDM"].startswith("R")]
    )
    homes_l = shapely.union_all(
        [g for p, g in _layer(sample_dir, manifest, "landuse_plan") if p["DLBM"] == "0701"]
    )
    fields = shapely.union_all(
        [g for p, g in _layer(sample_dir, manifest, "current_use") if p["DLBM"].startswith("01")]
    )
    hard = shapely.union_all(
        [g for k in ("basic_farmland", "eco_redline") for _, g in _layer(sample_dir, manifest, k)]
    )
    boundary = shapely.union_all([g for _, g in _layer(sample_dir, manifest, "dev_boundary")])
    ok = homes_u.intersection(homes_l).intersection(boundary).difference(hard).difference(fields)
    largest = max(shapely.get_parts(ok), key=lambda g: g.area)
    centre = shapely.point_on_surface(largest.buffer(-60))
    lonlat = transform_geometry(_square(centre, 25.0), 4549, 4490)
    report = _check(
        conn,
        site_from_geojson(mapping(lonlat), "EPSG:4490"),
        rules,
        schemes,
        plan_settings,
        use="0701",
    )
    assert report.verdict == "pass", [(i.check, i.layer_id, i.message) for i in report.items]
    assert {i.layer_id for i in report.items} == {
        "basic_farmland",
        "eco_redline",
        "dev_boundary",
        "landuse_plan",
        "urban_plan",
        "current_use",
    }
    shop = _check(
        conn,
        site_from_geojson(mapping(lonlat), "EPSG:4490"),
        rules,
        schemes,
        plan_settings,
        use="1001",
    )
    assert _items(shop)["planned_use:urban_plan"] == "warn"  # industry on planned housing


def test_bad_red_lines_are_refused(
    schemes: Schemes, conn: Connection, rules: Rules, plan_settings: PlanSettings
) -> None:
    with pytest.raises(SiteError, match="at least 3"):
        site_from_points([(0.0, 0.0), (1.0, 1.0)], "EPSG:4528")
    with pytest.raises(SiteError, match="outside"):
        site_from_points(
            [(3_830_000.0, 40_518_000.0), (3_830_100.0, 40_518_000.0), (3_830_100.0, 40_518_100.0)],
            "EPSG:4528",
            axes="xy",
        )
    with pytest.raises(SiteError, match="GeoJSON"):
        site_from_geojson("{not json")
    site = site_from_geojson(mapping(shapely.box(119.2, 34.6, 119.201, 34.601)))
    with pytest.raises(SiteError, match="unknown 2023"):
        _check(conn, site, rules, schemes, plan_settings, use="9999")


# --- impact on the grid ------------------------------------------------------------------


SAME = "b2.community_code IS NOT DISTINCT FROM b.community_code"


def _direct(conn: Connection, wkt: str) -> dict[str, tuple[int, int, int, int]]:
    rows = conn.execute(
        text(
            "WITH b AS (SELECT b.id, c.community_code FROM grid.buildings b"
            " LEFT JOIN grid.cells c ON c.id = b.cell_id"
            " WHERE ST_Intersects(b.geom, ST_GeomFromText(:wkt, 4490)))"
            " SELECT b.community_code,"
            f" (SELECT count(*) FROM b b2 WHERE {SAME}),"
            " (SELECT count(*) FROM grid.houses h JOIN b b2 ON b2.id = h.building_id"
            f"   WHERE {SAME}),"
            " (SELECT count(*) FROM grid.households hh JOIN grid.houses h ON h.id = hh.house_id"
            f"   JOIN b b2 ON b2.id = h.building_id WHERE {SAME}),"
            " (SELECT count(*) FROM grid.persons p"
            "   JOIN grid.households hh ON hh.id = p.household_id"
            "   JOIN grid.houses h ON h.id = hh.house_id JOIN b b2 ON b2.id = h.building_id"
            f"   WHERE {SAME})"
            " FROM b GROUP BY b.community_code"
        ),
        {"wkt": wkt},
    ).all()
    return {r[0]: tuple(r[1:]) for r in rows}


def test_impact_of_a_road_corridor_matches_direct_sql(
    conn: Connection, plans: dict[str, ImportReport]
) -> None:
    x, y = conn.execute(  # a building in the middle of the list: the road passes it
        text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM grid.buildings"
            " ORDER BY code OFFSET (SELECT count(*) / 2 FROM grid.buildings) LIMIT 1) s"
        )
    ).one()
    centre = transform_geometry(shapely.Point(x, y), 4490, 4549)
    road = shapely.LineString([(centre.x - 3_000, centre.y), (centre.x + 3_000, centre.y)]).buffer(
        100
    )
    corridor = transform_geometry(road, 4549, 4490)
    impact = impact_of_geometry(conn, corridor)
    direct = _direct(conn, corridor.wkt)
    assert impact.buildings > 0 and impact.persons > 0
    assert {
        c.community_code: (c.buildings, c.houses, c.households, c.persons)
        for c in impact.by_community
    } == direct
    assert impact.households == sum(v[2] for v in direct.values())
    inside = impact_of_geometry(conn, corridor, mode="inside")
    assert inside.buildings <= impact.buildings
    fields = set(CommunityImpactFields)
    assert fields.isdisjoint({"name", "citizen_id", "phone", "address"})


CommunityImpactFields = (
    "community_code",
    "community_name",
    "street_code",
    "buildings",
    "houses",
    "households",
    "persons",
)


def test_impact_of_runs_and_sites(
    conn: Connection,
    plans: dict[str, ImportReport],
    rules: Rules,
    schemes: Schemes,
    plan_settings: PlanSettings,
) -> None:
    from layers.conflicts import run_conflicts
    from layers.impact import CommunityImpact

    assert CommunityImpact._fields == CommunityImpactFields  # counts only, no personal field
    run = run_conflicts(conn, "urban_plan", ["dev_boundary"], rules=rules, settings=plan_settings)
    of_run = impact_of_run(conn, run.run_id)
    union = conn.execute(
        text("SELECT ST_AsText(ST_Union(geom)) FROM plans.conflict_patches WHERE run_id = :r"),
        {"r": run.run_id},
    ).scalar_one()
    assert of_run.buildings == sum(v[0] for v in _direct(conn, union).values())
    site = site_from_geojson(mapping(shapely.box(119.2, 34.6, 119.21, 34.61)), "EPSG:4490")
    report = _check(conn, site, rules, schemes, plan_settings)
    assert impact_of_site(conn, report.id) == impact_of_geometry(conn, site.geometry)
    with pytest.raises(UnknownLayerError):
        impact_of_run(conn, 10**9)
