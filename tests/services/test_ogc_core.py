"""OGC API – Features Part 1 over real HTTP: landing page, collections, items, paging, links,
numberMatched, bbox, datetime, equality filters, sortby, properties, skipGeometry, formats."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.services.conftest import OGC_LAYER

GEOJSON = "application/geo+json"


def _features(response: httpx.Response) -> list[dict[str, object]]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type"] == "FeatureCollection"
    return list(body["features"])


def _all_pages(ogc: httpx.Client, url: str) -> tuple[list[object], list[str]]:
    """Follow next links from ``url``; return the ids in order and every URL fetched."""
    ids: list[object] = []
    urls = [url]
    while True:
        body = ogc.get(urls[-1]).json()
        ids += [f["id"] for f in body["features"]]
        following = [link["href"] for link in body["links"] if link["rel"] == "next"]
        if not following:
            return ids, urls
        assert len(urls) < 50
        urls.append(following[0])


def test_landing_page_links_lead_somewhere(ogc: httpx.Client, ogc_base: str) -> None:
    body = ogc.get(ogc_base).json()
    rels = {link["rel"]: link["href"] for link in body["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= set(rels)
    for link in body["links"]:
        if link["type"].startswith("application/"):
            assert ogc.get(link["href"]).status_code == 200, link
    assert ogc.get(f"{ogc_base}/").status_code in (200, 307)


def test_conformance_claims_parts_1_to_4(ogc: httpx.Client) -> None:
    classes = set(ogc.get("conformance").json()["conformsTo"])
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter" in classes
    assert "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json" in classes
    part4 = "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/"
    for name in ("create-replace-delete", "update", "optimistic-locking-etags"):
        assert part4 + name in classes


def test_collections_come_from_the_registry_without_personal_data(ogc: httpx.Client) -> None:
    ids = {c["id"] for c in ogc.get("collections").json()["collections"]}
    assert {"admin_areas", "cells", "buildings"} <= ids
    assert {f"plans.{OGC_LAYER}", f"plans.{OGC_LAYER}.v1", f"plans.{OGC_LAYER}.v2"} <= ids
    assert not any("person" in i or "household" in i or "houses" in i for i in ids)
    assert ogc.get("collections/persons/items").status_code == 404
    assert ogc.get("collections/households").status_code == 404


def test_collection_has_extents_crs_list_and_storage_crs(ogc: httpx.Client, engine: Engine) -> None:
    body = ogc.get("collections/buildings").json()
    assert body["storageCrs"] == "http://www.opengis.net/def/crs/EPSG/0/4490"
    assert body["crs"][0] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    assert {c.rsplit("/", 1)[-1] for c in body["crs"]} == {
        "CRS84", "4490", "4326", "4549", "4528", "3857",
    }  # fmt: skip
    with engine.connect() as conn:
        x0, y0, x1, y1, t0, t1 = conn.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), a, b FROM (SELECT"
                " ST_Extent(geom) e, min(updated_at) a, max(updated_at) b FROM grid.buildings) s"
            )
        ).one()
    assert body["extent"]["spatial"]["bbox"][0] == pytest.approx([x0, y0, x1, y1])
    begin, end = body["extent"]["temporal"]["interval"][0]
    assert dt.datetime.fromisoformat(begin) == t0 and dt.datetime.fromisoformat(end) == t1
    assert {link["rel"] for link in body["links"]} >= {"self", "items"}


def test_items_are_geojson_with_exact_number_matched(ogc: httpx.Client, engine: Engine) -> None:
    response = ogc.get("collections/buildings/items", params={"limit": 5})
    assert response.headers["content-type"].startswith(GEOJSON)
    assert response.headers["content-crs"] == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    body = response.json()
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM grid.buildings")).scalar_one()
    assert body["numberMatched"] == count
    assert body["numberReturned"] == len(body["features"]) == min(5, count)
    feature = body["features"][0]
    assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Polygon"
    assert {"code", "use", "floors", "updated_at"} <= set(feature["properties"])
    assert dt.datetime.fromisoformat(body["timeStamp"])


def test_accept_any_gives_json_and_html_goes_to_pygeoapi(ogc: httpx.Client, engine: Engine) -> None:
    any_type = ogc.get("collections/cells/items", headers={"Accept": "*/*"})
    assert any_type.headers["content-type"].startswith(GEOJSON)
    json.loads(any_type.text)
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    html = ogc.get("collections/cells/items", headers={"Accept": browser})
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert ogc.get("collections/cells/items", params={"f": "html"}).status_code == 200
    assert ogc.get("collections", params={"f": "html"}).status_code == 200
    with engine.connect() as conn:
        key, code = conn.execute(
            text("SELECT id, code FROM grid.buildings ORDER BY id LIMIT 1")
        ).one()
    page = ogc.get(f"collections/buildings/items/{key}", params={"f": "html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert code in page.text
    missing = ogc.get("collections/buildings/items/999999999", params={"f": "html"})
    assert missing.status_code == 404


def test_counts_follow_edits_exactly(ogc: httpx.Client, engine: Engine) -> None:
    def matched() -> int:
        body = ogc.get("collections/buildings/items", params={"limit": 1}).json()
        return int(body["numberMatched"])

    before = matched()
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO grid.buildings (code, use, floors, geom) VALUES ('OGC-TEST-1',"
                " 'other', 1, ST_MakeEnvelope(118.501, 34.101, 118.5011, 34.1011, 4490))"
            )
        )
    try:
        assert matched() == before + 1
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM grid.buildings WHERE code = 'OGC-TEST-1'"))
    assert matched() == before


def _page_size(engine: Engine) -> int:
    """About seven pages of the sample's buildings, whatever its size."""
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM grid.buildings")).scalar_one()) // 7 + 1


def test_next_links_page_by_key_through_every_feature(ogc: httpx.Client, engine: Engine) -> None:
    ids, urls = _all_pages(ogc, f"collections/buildings/items?limit={_page_size(engine)}")
    with engine.connect() as conn:
        expected = conn.execute(text("SELECT id FROM grid.buildings ORDER BY id")).scalars().all()
    assert ids == expected
    assert all("cursor=" in u and "offset=" not in u for u in urls[1:])


def test_prev_links_walk_back_to_the_first_page(ogc: httpx.Client) -> None:
    first = ogc.get("collections/buildings/items", params={"limit": 3}).json()
    second = ogc.get(next(lk["href"] for lk in first["links"] if lk["rel"] == "next")).json()
    back = ogc.get(next(lk["href"] for lk in second["links"] if lk["rel"] == "prev")).json()
    assert [f["id"] for f in back["features"]] == [f["id"] for f in first["features"]]
    assert not any(lk["rel"] == "prev" for lk in back["links"])


def test_offset_pages_and_past_the_end(ogc: httpx.Client, engine: Engine) -> None:
    with engine.connect() as conn:
        ids = conn.execute(text("SELECT id FROM grid.buildings ORDER BY id")).scalars().all()
    page = ogc.get("collections/buildings/items", params={"limit": 2, "offset": 3}).json()
    assert [f["id"] for f in page["features"]] == ids[3:5]
    follow = ogc.get(next(lk["href"] for lk in page["links"] if lk["rel"] == "next")).json()
    assert [f["id"] for f in follow["features"]] == ids[5:7]
    empty = ogc.get("collections/buildings/items", params={"offset": len(ids) + 50}).json()
    assert empty["features"] == [] and empty["numberReturned"] == 0
    assert empty["numberMatched"] == len(ids)
    assert not any(lk["rel"] == "next" for lk in empty["links"])


def test_sortby_with_nulls_pages_consistently(ogc: httpx.Client, engine: Engine) -> None:
    with engine.connect() as conn:
        expected = (
            conn.execute(
                text("SELECT id FROM grid.buildings ORDER BY floors DESC, name ASC, id ASC")
            )
            .scalars()
            .all()
        )
    size = _page_size(engine)
    ids, _ = _all_pages(ogc, f"collections/buildings/items?limit={size}&sortby=-floors,%2Bname")
    assert ids == expected


def test_bbox_datetime_and_equality_filters(ogc: httpx.Client, engine: Engine) -> None:
    with engine.connect() as conn:
        x0, y0, x1, y1 = conn.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom)"
                " e FROM (SELECT geom FROM grid.buildings ORDER BY id LIMIT 3) s) s"
            )
        ).one()
        inside = conn.execute(
            text("SELECT id FROM grid.buildings WHERE ST_Intersects(geom,"
                 " ST_MakeEnvelope(:a, :b, :c, :d, 4490)) ORDER BY id"),
            {"a": x0, "b": y0, "c": x1, "d": y1},
        ).scalars().all()  # fmt: skip
        use, n_use = conn.execute(
            text("SELECT use, count(*) FROM grid.buildings GROUP BY use ORDER BY 2 DESC LIMIT 1")
        ).one()
        newest = conn.execute(text("SELECT max(updated_at) FROM grid.buildings")).scalar_one()
    body = ogc.get(
        "collections/buildings/items", params={"bbox": f"{x0},{y0},{x1},{y1}", "limit": 10000}
    ).json()
    assert [f["id"] for f in body["features"]] == inside and body["numberMatched"] == len(inside)
    same_use = ogc.get("collections/buildings/items", params={"use": use, "limit": 10000}).json()
    assert same_use["numberMatched"] == n_use
    assert {f["properties"]["use"] for f in same_use["features"]} == {use}
    stamp = newest.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    later = (newest + dt.timedelta(days=1)).date().isoformat()
    assert (
        ogc.get("collections/buildings/items", params={"datetime": f"{later}/.."}).json()[
            "numberReturned"
        ]
        == 0
    )
    assert (
        ogc.get("collections/buildings/items", params={"datetime": f"../{stamp}"}).json()[
            "numberMatched"
        ]
        > 0
    )
    assert (
        ogc.get("collections/buildings/items", params={"datetime": stamp}).json()["numberMatched"]
        >= 1
    )


def test_properties_and_skip_geometry(ogc: httpx.Client) -> None:
    body = ogc.get(
        "collections/buildings/items",
        params={"properties": "code,floors", "skipGeometry": "true", "limit": 2},
    ).json()
    for feature in body["features"]:
        assert feature["geometry"] is None
        assert set(feature["properties"]) == {"code", "floors"}
    none = ogc.get("collections/cells/items", params={"properties": "", "limit": 1}).json()
    assert none["features"][0]["properties"] == {}


def test_single_item_and_its_links(ogc: httpx.Client, engine: Engine) -> None:
    with engine.connect() as conn:
        key, code = conn.execute(
            text("SELECT id, code FROM grid.buildings ORDER BY id LIMIT 1")
        ).one()
        area = conn.execute(text("SELECT code FROM grid.admin_areas LIMIT 1")).scalar_one()
    response = ogc.get(f"collections/buildings/items/{key}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GEOJSON)
    body = response.json()
    assert body["type"] == "Feature" and body["id"] == key and body["properties"]["code"] == code
    assert {link["rel"] for link in body["links"]} == {"self", "alternate", "collection"}
    assert ogc.get(f"collections/admin_areas/items/{area}").json()["id"] == area


def test_plan_layer_latest_and_each_version(ogc: httpx.Client) -> None:
    latest = ogc.get(f"collections/plans.{OGC_LAYER}/items").json()
    first = ogc.get(f"collections/plans.{OGC_LAYER}.v1/items").json()
    assert latest["numberMatched"] == 4 and first["numberMatched"] == 3
    assert {f["properties"]["attributes"]["v"] for f in latest["features"]} == {2}
    one = first["features"][0]
    assert ogc.get(f"collections/plans.{OGC_LAYER}.v1/items/{one['id']}").status_code == 200
    assert ogc.get(f"collections/plans.{OGC_LAYER}.v2/items/{one['id']}").status_code == 404
    with_code = ogc.get(f"collections/plans.{OGC_LAYER}/items", params={"code_2023": "0101"})
    assert with_code.json()["numberMatched"] == 4


def test_openapi_document_is_generated_with_our_parameters(ogc: httpx.Client) -> None:
    response = ogc.get("openapi", params={"f": "json"})
    assert response.status_code == 200
    document = response.json()
    items = document["paths"]["/collections/buildings/items"]["get"]["parameters"]
    names = {p.get("name") for p in items}
    assert {"limit", "cursor", "filter", "filter-lang", "crs", "bbox-crs", "sortby"} <= names
    limit = next(p for p in items if p.get("name") == "limit")
    assert limit["schema"]["maximum"] == 10_000
    assert document["servers"][0]["url"].endswith("/ogc")
