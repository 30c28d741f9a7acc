"""Conflict runs and plan layer versions as OGC API collections, over real HTTP, checked
against SQL: ``conflicts.run{N}`` (numberMatched kept by ``counts.rows``, bbox subsets,
properties, CQL2) and ``plans.{layer}`` / ``plans.{layer}.v{n}`` for the sample's plans.

The sample's plans are imported (committed; a second import is a no-op) and one conflict run
(城规 × 土规) is made and committed before the app starts, then deleted after the module.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from layers.conflicts import run_conflicts
from layers.loader import load_plans
from layers.rules import load_rules
from layers.settings import PlanSettings
from services.ogcapi.service import RECHECK_S
from tests.conftest import SAMPLE
from tests.services.conftest import ogc_client


@pytest.fixture(scope="module")
def run_id(engine: Engine) -> Iterator[int]:
    """A committed conflict run of the sample's urban plan against its land-use plan."""
    load_plans(engine, SAMPLE, settings=PlanSettings())
    run = _committed_run(engine, "urban_plan", "landuse_plan")
    yield run
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM plans.conflict_runs WHERE id = :r"), {"r": run})


def _committed_run(engine: Engine, first: str, other: str) -> int:
    """A conflict run of ``first`` against ``other``, committed; its id."""
    settings = PlanSettings()
    with engine.begin() as conn:
        return run_conflicts(
            conn,
            first,
            [other],
            rules=load_rules(settings.rules_file),
            settings=settings,
            created_by="tests",
        ).run_id


@pytest.fixture(scope="module")
def api(
    run_id: int, url_env: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    """The app, started after the run exists; relative URLs start below ``/ogc``."""
    yield from ogc_client(url_env, tmp_path_factory.mktemp("ogc-conflicts-home"), timeout=60)


def _ids(api: httpx.Client, collection: str, **params: str) -> tuple[set[int], dict[str, Any]]:
    """Every feature id of a request, following next links; and the first page."""
    url = f"collections/{collection}/items"
    first = body = api.get(url, params={"limit": "1000", **params}).json()
    ids = {f["id"] for f in body["features"]}
    while following := [lk["href"] for lk in body["links"] if lk["rel"] == "next"]:
        body = api.get(following[0]).json()
        ids |= {f["id"] for f in body["features"]}
    return ids, first


def _sql_ids(engine: Engine, where: str, values: dict[str, object]) -> set[int]:
    with engine.connect() as conn:
        found = conn.execute(text(f"SELECT id FROM plans.conflict_patches WHERE {where}"), values)
        return set(found.scalars())


def test_a_run_is_a_collection_with_its_layers(api: httpx.Client, run_id: int) -> None:
    ids = {c["id"] for c in api.get("collections").json()["collections"]}
    assert f"conflicts.run{run_id}" in ids
    about = api.get(f"collections/conflicts.run{run_id}").json()
    assert "urban_plan" in about["description"] and "landuse_plan" in about["description"]
    assert about["extent"]["spatial"]["bbox"][0][0] > 118
    queryables = api.get(f"collections/conflicts.run{run_id}/queryables").json()
    assert {"type", "severity", "area_m2", "county_code", "geometry"} <= set(
        queryables["properties"]
    )


def test_number_matched_is_the_runs_patch_count(
    api: httpx.Client, engine: Engine, run_id: int
) -> None:
    expected = _sql_ids(engine, "run_id = :r", {"r": run_id})
    assert expected, "the sample's designed conflicts give patches"
    ids, first = _ids(api, f"conflicts.run{run_id}")
    assert first["numberMatched"] == len(expected)
    assert ids == expected
    small = api.get(f"collections/conflicts.run{run_id}/items", params={"limit": "2"}).json()
    assert small["numberMatched"] == len(expected) and small["numberReturned"] == 2


def test_a_bbox_subset_matches_sql(api: httpx.Client, engine: Engine, run_id: int) -> None:
    with engine.connect() as conn:
        x0, y0, x1, y1 = conn.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT"
                " ST_Extent(geom) AS e FROM plans.conflict_patches WHERE run_id = :r) s"
            ),
            {"r": run_id},
        ).one()
    box = (x0, y0, (x0 + x1) / 2, (y0 + y1) / 2)  # the south-west quarter
    expected = _sql_ids(
        engine,
        "run_id = :r AND ST_Intersects(geom, ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4490))",
        {"r": run_id, "x0": box[0], "y0": box[1], "x1": box[2], "y1": box[3]},
    )
    everything = _sql_ids(engine, "run_id = :r", {"r": run_id})
    ids, first = _ids(api, f"conflicts.run{run_id}", bbox=",".join(map(str, box)))
    assert ids == expected and ids < everything
    assert first["numberMatched"] == len(expected)


def test_properties_and_filters_match_sql(api: httpx.Client, engine: Engine, run_id: int) -> None:
    with engine.connect() as conn:
        row = (
            conn.execute(
                text(
                    "SELECT id, type, severity, a_feature_id, b_feature_id, a_code, area_m2,"
                    " area_mu, area_ha, county_code FROM plans.conflict_patches"
                    " WHERE run_id = :r ORDER BY area_m2 DESC LIMIT 1"
                ),
                {"r": run_id},
            )
            .mappings()
            .one()
        )
        hard = conn.execute(
            text(
                "SELECT count(*) FROM plans.conflict_patches"
                " WHERE run_id = :r AND severity = 'hard'"
            ),
            {"r": run_id},
        ).scalar_one()
    feature = api.get(f"collections/conflicts.run{run_id}/items/{row['id']}").json()
    props = feature["properties"]
    for name in ("type", "severity", "a_feature_id", "b_feature_id", "a_code", "county_code"):
        assert props[name] == row[name], name
    for name in ("area_m2", "area_mu", "area_ha"):
        assert props[name] == pytest.approx(row[name], rel=1e-9), name
    assert feature["geometry"]["type"] == "MultiPolygon"
    filtered = api.get(
        f"collections/conflicts.run{run_id}/items", params={"filter": "severity = 'hard'"}
    ).json()
    assert filtered["numberMatched"] == hard
    other = api.get(f"collections/conflicts.run{run_id + 10_000}/items")
    assert other.status_code == 404


def test_plan_layer_versions_are_collections(api: httpx.Client, engine: Engine) -> None:
    with engine.connect() as conn:
        versions = conn.execute(
            text(
                "SELECT v.layer_id, v.version, count(f.id) FROM plans.layer_versions v"
                " JOIN plans.features f ON f.layer_version_id = v.id"
                " WHERE v.layer_id IN ('urban_plan', 'landuse_plan') GROUP BY 1, 2"
            )
        ).all()
    assert versions
    latest: dict[str, tuple[int, int]] = {}
    for layer, number, count in versions:
        body = api.get(f"collections/plans.{layer}.v{number}/items", params={"limit": "1"})
        assert body.json()["numberMatched"] == count
        if number >= latest.get(layer, (0, 0))[0]:
            latest[layer] = (number, count)
    for layer, (_, count) in latest.items():
        body = api.get(f"collections/plans.{layer}/items", params={"limit": "1"}).json()
        assert body["numberMatched"] == count


def test_a_run_made_while_serving_is_published_without_refresh(
    api: httpx.Client, engine: Engine
) -> None:
    """A running server notices a new run (and its deletion) by itself, within a few
    seconds: no ``onemap ogc refresh`` between ``onemap plans conflicts`` and QGIS."""
    new = _committed_run(engine, "landuse_plan", "urban_plan")
    collection = f"conflicts.run{new}"

    def published() -> bool:
        return collection in {c["id"] for c in api.get("collections").json()["collections"]}

    try:
        assert _eventually(published)
        body = api.get(f"collections/{collection}/items").json()
        assert body["numberMatched"] == len(_sql_ids(engine, "run_id = :r", {"r": new})) > 0
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM plans.conflict_runs WHERE id = :r"), {"r": new})
    assert _eventually(lambda: not published())
    assert api.get(f"collections/{collection}/items").status_code == 404


def _eventually(check: Callable[[], bool], seconds: float = 3 * RECHECK_S) -> bool:
    """Whether ``check`` holds before ``seconds`` have passed (polled every 0.2 s)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True
