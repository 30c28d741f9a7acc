"""OGC API – Features Part 4 over real HTTP: create, replace, update (merge patch) and
delete grid rows with keys, roles, per-cell rights and If-Match; history and revert; every
refusal a 4xx with an OGC body and nothing written."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from grid.codes import citizen_id_check_digit
from tests.conftest import pg_dump

MERGE = "application/merge-patch+json"
GEOJSON = "application/geo+json"


@pytest.fixture(scope="module")
def http(city_base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{city_base}/ogc/", timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def places(city: Engine) -> dict[str, Any]:
    """Two workers, a building in each one's cells, and rows below the first's building."""
    with city.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.worker_id, min(b.id) AS building FROM grid.buildings b"
                " JOIN grid.cells c ON c.id = b.cell_id WHERE NOT b.straddles"
                " AND c.worker_id IS NOT NULL AND EXISTS (SELECT 1 FROM grid.houses h"
                " JOIN grid.households hh ON hh.house_id = h.id WHERE h.building_id = b.id)"
                " GROUP BY c.worker_id ORDER BY c.worker_id LIMIT 2"
            )
        ).all()
        (w1, b1), (w2, b2) = rows
        house = conn.execute(
            text("SELECT min(id) FROM grid.houses WHERE building_id = :b"), {"b": b1}
        ).scalar_one()
        other_household = conn.execute(
            text("SELECT min(id) FROM grid.households_located WHERE worker_id = :w"), {"w": w2}
        ).scalar_one()
        person = conn.execute(
            text("SELECT min(id) FROM grid.persons_located WHERE worker_id = :w"), {"w": w1}
        ).scalar_one()
    return {
        "w1": w1,
        "w2": w2,
        "b1": b1,
        "b2": b2,
        "house": house,
        "person": person,
        "other_household": other_household,
    }


@pytest.fixture(scope="module")
def keys(city_key: Callable[..., str], places: dict[str, Any]) -> dict[str, str]:
    return {
        "w1": city_key("grid_worker", places["w1"], name="网格员甲"),
        "w2": city_key("grid_worker", places["w2"], name="网格员乙"),
        "planner": city_key("planner", name="规划局"),
        "admin": city_key("admin", name="管理员"),
    }


def _h(key: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **more}


def _get(http: httpx.Client, path: str, key: str) -> httpx.Response:
    answer = http.get(path, headers=_h(key))
    assert answer.status_code == 200, answer.text
    return answer


def _version(city: Engine, table: str, row: int) -> int:
    with city.connect() as conn:
        return int(
            conn.execute(
                text(f"SELECT version FROM grid.{table} WHERE id = :id"), {"id": row}
            ).scalar_one()
        )


def _audit(city: Engine, table: str, row: int) -> list[Any]:
    with city.connect() as conn:
        return conn.execute(
            text(
                "SELECT version, operation, changed_by FROM audit.changes"
                " WHERE table_name = :t AND row_id = :r ORDER BY id"
            ),
            {"t": f"grid.{table}", "r": str(row)},
        ).all()


def test_a_worker_patches_a_building_with_if_match_and_the_change_is_audited(
    http: httpx.Client, city: Engine, keys: dict[str, str], places: dict[str, Any]
) -> None:
    path = f"collections/buildings/items/{places['b1']}"
    read = _get(http, path, keys["w1"])
    etag, before = read.headers["ETag"], read.json()["properties"]["version"]
    assert etag.startswith(f'"v{before}-')
    patched = http.patch(
        path,
        json={"properties": {"floors": 7, "name": "甲栋"}},
        headers=_h(keys["w1"], **{"If-Match": etag, "Content-Type": MERGE}),
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["properties"]["floors"] == 7
    assert patched.json()["properties"]["version"] == before + 1
    assert patched.headers["ETag"].startswith(f'"v{before + 1}-')
    last = _audit(city, "buildings", places["b1"])[-1]
    assert (last.version, last.operation) == (before + 1, "UPDATE")
    assert "网格员甲" in last.changed_by and str(places["w1"]) in last.changed_by
    stale = http.patch(
        path,
        json={"properties": {"floors": 9}},
        headers=_h(keys["w1"], **{"If-Match": etag, "Content-Type": MERGE}),
    )
    assert stale.status_code == 412 and stale.json()["currentVersion"] == before + 1
    missing = http.patch(
        path, json={"properties": {"floors": 9}}, headers=_h(keys["w1"], **{"Content-Type": MERGE})
    )
    assert missing.status_code == 428
    assert _version(city, "buildings", places["b1"]) == before + 1


def test_prefer_return_minimal_answers_204_with_the_new_etag(
    http: httpx.Client, city: Engine, keys: dict[str, str], places: dict[str, Any]
) -> None:
    path = f"collections/buildings/items/{places['b1']}"
    etag = _get(http, path, keys["w1"]).headers["ETag"]
    headers = {"If-Match": etag, "Content-Type": MERGE, "Prefer": "return=minimal"}
    answer = http.patch(path, json={"properties": {"floors": 6}}, headers=_h(keys["w1"], **headers))
    assert answer.status_code == 204 and answer.content == b""
    assert answer.headers["Preference-Applied"] == "return=minimal"
    assert answer.headers["ETag"] == _get(http, path, keys["w1"]).headers["ETag"] != etag


def test_two_clients_with_the_same_etag_one_wins(
    http: httpx.Client, city: Engine, keys: dict[str, str], places: dict[str, Any]
) -> None:
    path = f"collections/buildings/items/{places['b1']}"
    etag = _get(http, path, keys["w1"]).headers["ETag"]
    results: list[int] = []

    def edit(key: str, floors: int) -> None:
        answer = http.patch(
            path,
            json={"properties": {"floors": floors}},
            headers=_h(key, **{"If-Match": etag, "Content-Type": MERGE}),
        )
        results.append(answer.status_code)

    threads = [
        threading.Thread(target=edit, args=(k, f)) for k, f in ((keys["w1"], 3), (keys["admin"], 4))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 412]


def test_a_worker_cannot_write_outside_their_cells(
    http: httpx.Client, city: Engine, keys: dict[str, str], places: dict[str, Any]
) -> None:
    theirs = f"collections/buildings/items/{places['b2']}"
    etag = _get(http, theirs, keys["w1"]).headers["ETag"]
    refused = http.patch(
        theirs,
        json={"properties": {"floors": 2}},
        headers=_h(keys["w1"], **{"If-Match": etag, "Content-Type": MERGE}),
    )
    assert refused.status_code == 403 and "worker" in refused.json()["description"]
    # moving one's own building into the other worker's cell
    mine = f"collections/buildings/items/{places['b1']}"
    read = _get(http, mine, keys["w1"])
    other = _get(http, theirs, keys["w1"]).json()["geometry"]
    before = _version(city, "buildings", places["b1"])
    moved = http.put(
        mine,
        json={**read.json(), "geometry": other},
        headers=_h(keys["w1"], **{"If-Match": read.headers["ETag"]}),
    )
    assert moved.status_code == 403, moved.text
    assert _version(city, "buildings", places["b1"]) == before
    # a person moved into a household of the other worker's cell
    person = f"collections/persons/items/{places['person']}"
    read = _get(http, person, keys["w1"])
    moved = http.patch(
        person,
        json={"properties": {"household_id": places["other_household"]}},
        headers=_h(keys["w1"], **{"If-Match": read.headers["ETag"], "Content-Type": MERGE}),
    )
    assert moved.status_code == 403, moved.text


def test_roles_that_may_not_edit_are_refused(
    http: httpx.Client, keys: dict[str, str], places: dict[str, Any]
) -> None:
    path = f"collections/buildings/items/{places['b1']}"
    etag = _get(http, path, keys["planner"]).headers["ETag"]
    body = {"properties": {"floors": 5}}
    anonymous = http.patch(path, json=body, headers={"If-Match": etag, "Content-Type": MERGE})
    assert anonymous.status_code == 401 and "Bearer" in anonymous.headers["WWW-Authenticate"]
    planner = http.patch(
        path, json=body, headers=_h(keys["planner"], **{"If-Match": etag, "Content-Type": MERGE})
    )
    assert planner.status_code == 403
    cell = http.patch(
        "collections/cells/items/1",
        json={"properties": {"name": "x"}},
        headers=_h(keys["w1"], **{"If-Match": '"v1"', "Content-Type": MERGE}),
    )
    assert cell.status_code == 403
    plans = http.post(
        "collections/admin_areas/items", json={"type": "Feature"}, headers=_h(keys["admin"])
    )
    assert plans.status_code == 405 and "GET" in plans.headers["Allow"]


def test_options_tell_each_caller_what_they_may_do(
    http: httpx.Client, keys: dict[str, str], places: dict[str, Any]
) -> None:
    def allow(path: str, key: str | None = None) -> set[str]:
        answer = http.options(path, headers=_h(key) if key else {})
        assert answer.status_code == 204, answer.text
        return {m.strip() for m in answer.headers["Allow"].split(",")}

    assert allow("collections/buildings/items") == {"GET", "HEAD", "OPTIONS"}
    assert "POST" in allow("collections/buildings/items", keys["w1"])
    assert {"PUT", "PATCH", "DELETE"} <= allow("collections/persons/items/1", keys["w1"])
    assert allow("collections/cells/items/1", keys["w1"]) == {"GET", "HEAD", "OPTIONS"}
    assert allow("collections/cells/items/1", keys["admin"]) == {
        "GET",
        "HEAD",
        "OPTIONS",
        "PUT",
        "PATCH",
    }


def _citizen_id(birth: str, serial: str) -> str:
    first = f"320703{birth}{serial}"
    return first + citizen_id_check_digit(first)


def test_create_a_house_and_a_person_then_delete_and_revert(
    http: httpx.Client, city: Engine, keys: dict[str, str], places: dict[str, Any]
) -> None:
    house = {
        "type": "Feature",
        "geometry": None,
        "properties": {"building_id": places["b1"], "unit": "9", "floor": 3, "room": "301"},
    }
    made = http.post("collections/houses/items", json=house, headers=_h(keys["w1"]))
    assert made.status_code == 201, made.text
    assert made.headers["Location"].endswith(f"/collections/houses/items/{made.json()['id']}")
    assert made.headers["ETag"].startswith('"v1-')
    again = http.get(made.headers["Location"], headers=_h(keys["w1"]))
    assert again.status_code == 200 and again.json()["properties"]["room"] == "301"
    elsewhere = {**house, "properties": {**house["properties"], "building_id": places["b2"]}}
    refused = http.post("collections/houses/items", json=elsewhere, headers=_h(keys["w1"]))
    assert refused.status_code == 403, refused.text

    with city.connect() as conn:
        household = conn.execute(
            text("SELECT min(id) FROM grid.households WHERE house_id = :h"), {"h": places["house"]}
        ).scalar_one()
    plain_id, phone = _citizen_id("19900101", "777"), "13912345678"
    person = {
        "type": "Feature",
        "geometry": None,
        "properties": {
            "household_id": household,
            "name": "测试人",
            "sex": "F",
            "birth_date": "1990-01-01",
            "citizen_id": plain_id,
            "phone": phone,
            "relation": "女",
        },
    }
    made = http.post("collections/persons/items", json=person, headers=_h(keys["w1"]))
    assert made.status_code == 201, made.text
    shown = made.json()["properties"]
    assert shown["citizen_id"] != plain_id and shown["citizen_id"].endswith(plain_id[-4:])
    assert shown["name"] == "测**" and shown["phone"] == "139****5678"
    fid = made.json()["id"]
    path = f"collections/persons/items/{fid}"
    gone = http.delete(path, headers=_h(keys["w1"], **{"If-Match": made.headers["ETag"]}))
    assert gone.status_code == 204, gone.text
    assert http.get(path, headers=_h(keys["w1"])).status_code == 404
    history = http.get(f"{path}/history", headers=_h(keys["planner"]))
    assert history.status_code == 200, history.text
    steps = history.json()["versions"]
    assert [s["operation"] for s in steps] == ["INSERT", "DELETE"]
    assert history.json()["exists"] is False
    text_of_history = json.dumps(history.json(), ensure_ascii=False)
    assert plain_id not in text_of_history and phone not in text_of_history
    assert "测试人" not in text_of_history
    denied = http.post(f"{path}/revert", json={"version": 1}, headers=_h(keys["w1"]))
    assert denied.status_code == 403
    back = http.post(f"{path}/revert", json={"version": 1}, headers=_h(keys["planner"]))
    assert back.status_code == 200, back.text
    assert back.json()["properties"]["version"] == 3
    assert _audit(city, "persons", fid)[-1].changed_by == "规划局"


def test_history_lists_who_changed_which_fields(
    http: httpx.Client, keys: dict[str, str], places: dict[str, Any]
) -> None:
    path = f"collections/buildings/items/{places['b1']}"
    history = http.get(f"{path}/history", headers=_h(keys["w1"]))
    assert history.status_code == 200, history.text
    updates = [s for s in history.json()["versions"] if s["operation"] == "UPDATE"]
    assert updates and "floors" in updates[0]["changed"]
    assert all(s["changedBy"] for s in updates)
    anonymous = http.get(f"{path}/history")
    assert anonymous.status_code == 401  # it names the workers who changed the building
    hidden = http.get(f"collections/persons/items/{places['person']}/history")
    assert hidden.status_code == 404


def test_revert_a_building_with_if_match(
    http: httpx.Client, city: Engine, keys: dict[str, str], places: dict[str, Any]
) -> None:
    path = f"collections/buildings/items/{places['b1']}"
    read = _get(http, path, keys["admin"])
    first = http.get(f"{path}/history", headers=_h(keys["admin"])).json()["versions"][0]
    without = http.post(
        f"{path}/revert", json={"version": first["version"] or 1}, headers=_h(keys["admin"])
    )
    assert without.status_code == 428
    done = http.post(
        f"{path}/revert",
        json={"version": 1},
        headers=_h(keys["admin"], **{"If-Match": read.headers["ETag"]}),
    )
    assert done.status_code == 200, done.text
    assert done.json()["properties"]["version"] == read.json()["properties"]["version"] + 1


@pytest.mark.parametrize(
    ("body", "content_type", "status", "words"),
    [
        (b"{not json", MERGE, 400, "not JSON"),
        (b"[1, 2]", MERGE, 400, "JSON object"),
        (json.dumps({"properties": {"floors": "many"}}).encode(), MERGE, 400, "floors"),
        (
            json.dumps({"properties": {"colour": "red", "floors": 0.5}}).encode(),
            MERGE,
            400,
            "colour",
        ),
        (json.dumps({"id": 1, "properties": {}}).encode(), MERGE, 400, "cannot be changed"),
        (json.dumps({"properties": {"version": 99}}).encode(), MERGE, 400, "If-Match"),
        (
            json.dumps({"geometry": {"type": "Point", "coordinates": [119.2, 34.6]}}).encode(),
            MERGE,
            400,
            "Polygon",
        ),
        (
            json.dumps(
                {
                    "geometry": {
                        "type": "Polygon",
                        "coordinates": [
                            [
                                [119.2, 34.6],
                                [119.201, 34.601],
                                [119.201, 34.6],
                                [119.2, 34.601],
                                [119.2, 34.6],
                            ]
                        ],
                    }
                }
            ).encode(),
            MERGE,
            400,
            "invalid",
        ),
        (
            json.dumps(
                {
                    "geometry": {
                        "type": "Polygon",
                        "coordinates": [[[10, 10], [10.1, 10], [10.1, 10.1], [10, 10]]],
                    }
                }
            ).encode(),
            MERGE,
            400,
            "outside Lianyungang",
        ),
        (b"floors=3", "application/x-www-form-urlencoded", 415, "cannot be read"),
        (b"{" + b" " * 1_100_000 + b"}", MERGE, 413, "at most"),
    ],
)
def test_bad_bodies_are_refused_and_nothing_is_written(
    http: httpx.Client,
    city: Engine,
    keys: dict[str, str],
    places: dict[str, Any],
    body: bytes,
    content_type: str,
    status: int,
    words: str,
) -> None:
    path = f"collections/buildings/items/{places['b1']}"
    read = _get(http, path, keys["admin"])
    before = _version(city, "buildings", places["b1"])
    answer = http.patch(
        path,
        content=body,
        headers=_h(
            keys["admin"], **{"If-Match": read.headers["ETag"], "Content-Type": content_type}
        ),
    )
    assert answer.status_code == status, answer.text
    assert words in answer.json()["description"]
    assert _version(city, "buildings", places["b1"]) == before


def test_every_problem_of_a_body_is_listed(
    http: httpx.Client, keys: dict[str, str], places: dict[str, Any]
) -> None:
    body = {
        "type": "Feature",
        "geometry": None,
        "properties": {"building_id": "one", "floor": "x", "room": 301, "colour": "red"},
    }
    answer = http.post("collections/houses/items", json=body, headers=_h(keys["w1"]))
    assert answer.status_code == 400, answer.text
    fields = {p["field"] for p in answer.json()["problems"]}
    assert {"building_id", "floor", "room", "colour"} <= fields


def test_if_match_that_names_no_version_is_refused(
    http: httpx.Client, keys: dict[str, str], places: dict[str, Any]
) -> None:
    """Not one of our tags: 400; ``*`` (any version): 428, as if none was sent."""
    path = f"collections/buildings/items/{places['b1']}"
    for tag, status in (('"nonsense"', 400), ("v3", 400), ('"v3", "v4-ab"', 400), ("*", 428)):
        answer = http.patch(
            path,
            json={"properties": {"floors": 2}},
            headers=_h(keys["admin"], **{"If-Match": tag, "Content-Type": MERGE}),
        )
        assert answer.status_code == status, (tag, answer.text)


def test_geometry_in_another_crs_is_stored_in_cgcs2000(
    http: httpx.Client, keys: dict[str, str], places: dict[str, Any]
) -> None:
    path = f"collections/buildings/items/{places['b1']}"
    gk = http.get(
        path,
        params={"crs": "http://www.opengis.net/def/crs/EPSG/0/4549"},
        headers=_h(keys["admin"]),
    )
    assert gk.status_code == 200, gk.text
    ring = gk.json()["geometry"]["coordinates"][0]
    # EPSG:4549 (CGCS2000 3-degree Gauss-Krüger, CM 120°E) is northing first: one metre east
    assert 3.7e6 < ring[0][0] < 3.9e6 and 3.0e5 < ring[0][1] < 5.0e5
    moved = [[north, east + 1.0] for north, east in ring]
    read = _get(http, path, keys["admin"])
    answer = http.patch(
        path,
        json={"geometry": {"type": "Polygon", "coordinates": [moved]}},
        headers=_h(
            keys["admin"],
            **{
                "If-Match": read.headers["ETag"],
                "Content-Type": MERGE,
                "Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/4549>",
            },
        ),
    )
    assert answer.status_code == 200, answer.text
    (lon_before, lat_before) = read.json()["geometry"]["coordinates"][0][0]
    (lon_after, lat_after) = answer.json()["geometry"]["coordinates"][0][0]
    assert 0.000010 < lon_after - lon_before < 0.000012  # 1 m at 34.6° N is 1.09e-5°
    assert abs(lat_after - lat_before) < 2e-7


def test_owslib_creates_updates_and_deletes(
    city_base: str, keys: dict[str, str], places: dict[str, Any]
) -> None:
    from owslib.ogcapi.features import Features

    api = Features(f"{city_base}/ogc")
    # OWSLib 0.3x updates a module-wide header dict with the ones given to the constructor,
    # so every later client would send them: give this one its own dict instead
    api.headers = {**api.headers, **_h(keys["w1"])}
    house = {
        "type": "Feature",
        "geometry": None,
        "properties": {"building_id": places["b1"], "unit": "8", "floor": 2, "room": "OWS"},
    }
    assert api.collection_item_create("houses", house)
    found = api.collection_items("houses", room="OWS")["features"]
    assert len(found) == 1
    fid = str(found[0]["id"])
    etag = httpx.get(
        f"{city_base}/ogc/collections/houses/items/{fid}", headers=_h(keys["w1"])
    ).headers["ETag"]
    api.headers["If-Match"] = etag
    replaced = {**house, "properties": {**house["properties"], "room": "OWS-2"}}
    assert api.collection_item_update("houses", fid, replaced)
    assert api.collection_item("houses", fid)["properties"]["room"] == "OWS-2"
    api.headers["If-Match"] = httpx.get(
        f"{city_base}/ogc/collections/houses/items/{fid}", headers=_h(keys["w1"])
    ).headers["ETag"]
    assert api.collection_item_delete("houses", fid)


def test_a_dump_after_the_writes_holds_no_plain_personal_data(city: Engine) -> None:
    content = pg_dump(city)
    assert "320703" in content  # the dump is real: codes are there
    assert _citizen_id("19900101", "777") not in content and "13912345678" not in content
    assert "320703199207181316" not in content  # a citizen ID of the sample city


def test_a_write_is_seen_at_once_by_every_server_process(
    city: Engine, keys: dict[str, str], places: dict[str, Any], tmp_path: Path
) -> None:
    """``onemap serve --workers 2``: after a write through one process, every answer from
    either process has the new ETag and count (nothing is cached per process)."""
    import os
    import sys
    import time

    from tests.conftest import SERVER_URLS
    from tests.services.conftest import CITY_SECRET, ROOT, free_port

    port = free_port()
    owner = city.url.render_as_string(hide_password=False)
    env = {
        **os.environ,
        "ONEMAP_DATABASE_URL": owner,
        "ONEMAP_APP_DATABASE_URL": SERVER_URLS[owner],
        "ONEMAP_SECRET_KEY": CITY_SECRET,
        "ONEMAP_HOME": str(tmp_path),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "services.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}/ogc"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "serve did not start"
            time.sleep(0.2)
        key = keys["w1"]
        item = f"{base}/collections/buildings/items/{places['b1']}"
        houses = f"{base}/collections/houses/items"

        def fresh_reads() -> tuple[set[str], set[int]]:
            """ETags and counts from 12 new connections (spread over both processes)."""
            tags, counts = set(), set()
            for _ in range(12):
                with httpx.Client(headers=_h(key)) as once:
                    tags.add(once.get(item).headers["ETag"])
                    counts.add(once.get(houses, params={"limit": 1}).json()["numberMatched"])
            return tags, counts

        (etag,), (count,) = fresh_reads()
        patched = httpx.patch(
            item,
            json={"properties": {"floors": 11}},
            headers=_h(key, **{"If-Match": etag, "Content-Type": MERGE}),
        )
        assert patched.status_code == 200, patched.text
        made = httpx.post(
            houses,
            headers=_h(key),
            json={
                "type": "Feature",
                "geometry": None,
                "properties": {
                    "building_id": places["b1"],
                    "unit": "W",
                    "floor": 1,
                    "room": "two-processes",
                },
            },
        )
        assert made.status_code == 201, made.text
        assert fresh_reads() == ({patched.headers["ETag"]}, {count + 1})
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_connection_dropped_mid_write_writes_nothing(
    http: httpx.Client, city: Engine, keys: dict[str, str], places: dict[str, Any]
) -> None:
    """The row is locked by another session, so the PATCH waits inside its transaction; its
    backend is then killed: the answer is a 503, and no version or audit row was added."""
    import time

    path = f"collections/buildings/items/{places['b1']}"
    etag = _get(http, path, keys["admin"]).headers["ETag"]
    before, audited = (
        _version(city, "buildings", places["b1"]),
        len(_audit(city, "buildings", places["b1"])),
    )
    answers: list[httpx.Response] = []
    with city.connect() as holder:
        holder.begin()
        holder.execute(
            text("SELECT 1 FROM grid.buildings WHERE id = :id FOR UPDATE"), {"id": places["b1"]}
        )
        writer = threading.Thread(
            target=lambda: answers.append(
                http.patch(
                    path,
                    json={"properties": {"floors": 12}},
                    headers=_h(keys["admin"], **{"If-Match": etag, "Content-Type": MERGE}),
                )
            )
        )
        writer.start()
        killed = 0
        for _ in range(100):
            killed = holder.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    " AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
            if killed:
                break
            time.sleep(0.05)
        holder.rollback()
        writer.join(timeout=30)
    assert killed == 1
    assert answers and answers[0].status_code == 503, answers[0].text if answers else None
    assert answers[0].json()["code"] == "ServiceUnavailable"
    assert _version(city, "buildings", places["b1"]) == before
    assert len(_audit(city, "buildings", places["b1"])) == audited
    again = _get(http, path, keys["admin"])  # the pool recovered
    assert again.headers["ETag"] == etag


def test_an_admin_redraws_a_cell_and_renames_it(
    http: httpx.Client, city: Engine, keys: dict[str, str], places: dict[str, Any]
) -> None:
    """A cell's boundary goes through the redraw that keeps the tiling (grid/cells.py): a
    smaller one is taken; one that leaves the community or overlaps a neighbour is refused,
    and nothing is written."""
    import shapely
    from shapely.geometry import mapping, shape

    with city.connect() as conn:
        cell = conn.execute(text("SELECT min(id) FROM grid.cells")).scalar_one()
    path = f"collections/cells/items/{cell}"
    read = _get(http, path, keys["admin"])
    boundary = shape(read.json()["geometry"])
    headers = {"If-Match": read.headers["ETag"], "Content-Type": MERGE}
    grown = mapping(shapely.buffer(boundary, 0.0005, join_style="mitre"))
    refused = http.patch(path, json={"geometry": grown}, headers=_h(keys["admin"], **headers))
    assert refused.status_code == 400
    assert "overlaps" in refused.json()["description"] or "leaves" in refused.json()["description"]
    assert _version(city, "cells", cell) == read.json()["properties"]["version"]
    smaller = mapping(shapely.buffer(boundary, -0.00001, join_style="mitre"))
    body = {"geometry": smaller, "properties": {"name": "测试网格"}}
    done = http.patch(path, json=body, headers=_h(keys["admin"], **headers))
    assert done.status_code == 200, done.text
    assert done.json()["properties"]["name"] == "测试网格"
    assert done.json()["properties"]["version"] > read.json()["properties"]["version"]
    assert shape(done.json()["geometry"]).area < boundary.area
