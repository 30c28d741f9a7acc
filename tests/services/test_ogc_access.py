"""Who sees what, over real HTTP against the real app and PostGIS: houses, households and
persons exist only for callers with a key, masked; a grid worker sees only their cells;
an admin's unmasked read is logged before it is answered."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.services.conftest import CITY_SECRET

KEYED = ("houses", "households", "persons")
MASKED_ID = re.compile(r"^[0-9]{6}[*]{8}[0-9]{3}[0-9X]$")


@pytest.fixture(scope="module")
def http(city_base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{city_base}/ogc/", timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def worker(city: Engine) -> int:
    """A worker with persons in their cells."""
    with city.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT worker_id FROM grid.persons_located WHERE worker_id IS NOT NULL"
                    " GROUP BY worker_id ORDER BY count(*) DESC LIMIT 1"
                )
            ).scalar_one()
        )


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _ids(document: dict[str, Any]) -> set[str]:
    return {c["id"] for c in document["collections"]}


def test_anonymous_callers_do_not_know_personal_collections_exist(http: httpx.Client) -> None:
    listed = http.get("collections").json()
    assert {"buildings", "cells"} <= _ids(listed) and not set(KEYED) & _ids(listed)
    for cid in KEYED:
        for path in (
            f"collections/{cid}",
            f"collections/{cid}/items",
            f"collections/{cid}/items/1",
            f"collections/{cid}/queryables",
        ):
            answer = http.get(path)
            assert answer.status_code == 404, (path, answer.text)
            assert answer.json()["code"] == "NotFound"
    document = http.get("openapi", params={"f": "json"}).json()
    assert not [p for p in document["paths"] if "/persons" in p or "/households" in p]


def test_a_key_shows_the_personal_collections_masked(
    http: httpx.Client, city: Engine, city_key: Callable[..., str]
) -> None:
    key = city_key("planner")
    assert set(KEYED) <= _ids(http.get("collections", headers=_auth(key)).json())
    page = http.get("collections/persons/items", params={"limit": 50}, headers=_auth(key))
    assert page.status_code == 200, page.text
    assert "Authorization" in page.headers["Vary"]
    people = [f["properties"] for f in page.json()["features"]]
    assert people and all("*" in p["name"] for p in people)
    with city.connect() as conn:  # kept by the database (migration 0011), exact
        everyone = conn.execute(text("SELECT count(*) FROM grid.persons")).scalar_one()
    assert page.json()["numberMatched"] == everyone
    assert all(MASKED_ID.match(p["citizen_id"]) for p in people if p["citizen_id"])
    assert all("****" in p["phone"] for p in people if p["phone"])
    assert not any(k.endswith(("_enc", "_hash")) or k == "birth_date" for p in people for k in p)
    document = http.get("openapi", params={"f": "json"}, headers=_auth(key)).json()
    assert "/collections/persons/items" in document["paths"]
    person = document["paths"]["/collections/persons/items/{featureId}"]
    assert {"get", "put", "patch", "delete", "options"} <= set(person)
    body = person["patch"]["requestBody"]["content"]["application/merge-patch+json"]["schema"]
    name = body["$ref"].rsplit("/", 1)[-1]
    assert (
        "citizen_id"
        in document["components"]["schemas"][name]["properties"]["properties"]["properties"]
    )
    # the same URL without the key: the collection is gone again
    assert http.get("collections/persons/items").status_code == 404


def test_keyed_collections_are_json_only(http: httpx.Client, city_key: Callable[..., str]) -> None:
    key = city_key("admin")
    answer = http.get("collections/persons/items", params={"f": "html"}, headers=_auth(key))
    assert answer.status_code == 406 and "served as JSON" in answer.text  # a page for a page


def test_a_grid_worker_sees_only_the_rows_of_their_cells(
    http: httpx.Client, city: Engine, city_key: Callable[..., str], worker: int
) -> None:
    key = city_key("grid_worker", worker)
    for cid, view in (
        ("persons", "persons_located"),
        ("houses", "houses_located"),
        ("households", "households_located"),
    ):
        with city.connect() as conn:
            mine = conn.execute(
                text(f"SELECT count(*) FROM grid.{view} WHERE worker_id = :w"), {"w": worker}
            ).scalar_one()
            other = conn.execute(
                text(f"SELECT min(id) FROM grid.{view} WHERE worker_id IS DISTINCT FROM :w"),
                {"w": worker},
            ).scalar_one()
        page = http.get(f"collections/{cid}/items", params={"limit": 10000}, headers=_auth(key))
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["numberMatched"] == mine == len(body["features"]) > 0
        assert {f["properties"]["worker_id"] for f in body["features"]} == {worker}
        hidden = http.get(f"collections/{cid}/items/{other}", headers=_auth(key))
        assert hidden.status_code == 404, hidden.text


def test_only_an_admin_with_a_reason_reads_unmasked_and_the_read_is_logged(
    http: httpx.Client, city: Engine, city_key: Callable[..., str]
) -> None:
    from pydantic import SecretStr

    from grid.privacy import Keyring
    from grid.settings import PrivacySettings

    admin, planner = city_key("admin", name="区网格中心 admin"), city_key("planner")
    reason = {"X-Reveal-Reason": urllib.parse.quote("案件 2026-118 核查户籍")}
    refused = http.get("collections/persons/items", headers={**_auth(planner), **reason})
    assert refused.status_code == 403
    short = http.get("collections/persons/items", headers={**_auth(admin), "X-Reveal-Reason": "x"})
    assert short.status_code == 400
    with city.connect() as conn:
        logged_before = conn.execute(text("SELECT count(*) FROM audit.access_log")).scalar_one()
    page = http.get(
        "collections/persons/items", params={"limit": 3}, headers={**_auth(admin), **reason}
    )
    assert page.status_code == 200, page.text
    assert page.headers["Cache-Control"] == "no-store" and "ETag" not in page.headers
    people = page.json()["features"]
    keyring = Keyring.from_settings(PrivacySettings(secret_key=SecretStr(CITY_SECRET)))
    with city.connect() as conn:
        logged = conn.execute(
            text("SELECT accessed_by, reason, row_id FROM audit.access_log ORDER BY id OFFSET :n"),
            {"n": logged_before},
        ).all()
        for person in people:
            enc = conn.execute(
                text("SELECT citizen_id_enc, name FROM grid.persons WHERE id = :id"),
                {"id": person["id"]},
            ).one()
            assert person["properties"]["name"] == enc.name
            if enc.citizen_id_enc:
                plain = keyring.decrypt(enc.citizen_id_enc)
                assert person["properties"]["citizen_id"] == plain
    assert sorted(int(r.row_id) for r in logged) == sorted(p["id"] for p in people)
    assert {(r.accessed_by, r.reason) for r in logged} == {
        ("区网格中心 admin", "案件 2026-118 核查户籍")
    }
    other = http.get("collections/buildings/items", headers={**_auth(admin), **reason})
    assert other.status_code == 400


ROLES = ("public", "planner", "grid_worker", "admin")
TABLES = ("buildings", "houses", "households", "persons", "cells", "admin_areas")
VIEWS = {
    "houses": "houses_located",
    "households": "households_located",
    "persons": "persons_located",
    "buildings": "buildings",
    "cells": "cells",
}


def _expected(role: str, collection: str, operation: str) -> int:
    """The status each role gets, before anything would be written (the bodies change
    nothing, the If-Match names version 0): who may is decided before what is sent."""
    keyed = collection in ("houses", "households", "persons")
    if role == "public" and keyed:
        return 404
    if operation == "GET":
        return 200
    takes = {
        "POST": collection not in ("cells", "admin_areas"),
        "PATCH": collection != "admin_areas",
        "DELETE": collection not in ("cells", "admin_areas"),
    }[operation]
    if not takes:
        return 405
    if role == "public":
        return 401
    if role == "planner" or (role == "grid_worker" and collection == "cells"):
        return 403
    return 412 if operation == "DELETE" else 400


def test_every_role_collection_and_operation(
    http: httpx.Client, city: Engine, city_key: Callable[..., str], worker: int
) -> None:
    keys = {
        "planner": city_key("planner"),
        "grid_worker": city_key("grid_worker", worker),
        "admin": city_key("admin"),
    }
    rows: dict[str, str] = {}
    with city.connect() as conn:
        for name in TABLES:
            if name == "admin_areas":
                rows[name] = conn.execute(
                    text("SELECT min(code) FROM grid.admin_areas")
                ).scalar_one()
                continue
            # a row of the worker's cells: a worker's change gets past the rights
            where = "worker_id = :w"
            if name == "buildings":
                where = "cell_id IN (SELECT id FROM grid.cells WHERE worker_id = :w)"
            rows[name] = str(
                conn.execute(
                    text(f"SELECT min(id) FROM grid.{VIEWS[name]} WHERE {where}"), {"w": worker}
                ).scalar_one()
            )
    found, wanted = {}, {}
    for role in ROLES:
        auth = {"Authorization": f"Bearer {keys[role]}"} if role in keys else {}
        for name in TABLES:
            item = f"collections/{name}/items/{rows[name]}"
            sent = {
                "GET": http.get(f"collections/{name}/items", params={"limit": 1}, headers=auth),
                "POST": http.post(
                    f"collections/{name}/items", json={"type": "Feature"}, headers=auth
                ),
                "PATCH": http.patch(
                    item,
                    json={},
                    headers={
                        **auth,
                        "If-Match": '"v0"',
                        "Content-Type": "application/merge-patch+json",
                    },
                ),
                "DELETE": http.delete(item, headers={**auth, "If-Match": '"v0"'}),
            }
            for operation, answer in sent.items():
                found[(role, name, operation)] = answer.status_code
                wanted[(role, name, operation)] = _expected(role, name, operation)
                if answer.status_code != 200:
                    assert answer.json()["code"], (role, name, operation)
    assert {k: v for k, v in found.items() if v != wanted[k]} == {}
