"""The app reads from a streaming replica and writes to the primary, over real HTTP: an edit
is replayed and served by the replica; a client's read right after its own write sees it
even with the replica's replay paused (read-your-writes); a replica that is down leaves the
reads to the primary (services/readrouting)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from gis.pgserver import LocalServer
from gis.replica import Replica, Replicas
from gis.settings import DatabaseSettings, ReplicaSettings
from tests.replica_support import free_ports, scalar, until
from tests.services.conftest import city_settings, serve

NAME = "t_routing"
MERGE = "application/merge-patch+json"


@pytest.fixture(scope="module")
def replica(city: Engine, db_settings: DatabaseSettings) -> Iterator[Replica]:
    """A replica of the session cluster, made once the module's city is loaded."""
    if db_settings.database_url:
        pytest.skip("replicas are made of the local cluster (ONEMAP_DATABASE_URL is set)")
    replicas = Replicas(LocalServer(db_settings))
    (port,) = free_ports(replicas.primary.port, 1)
    made = replicas.create(NAME, port)
    yield made
    replicas.remove(NAME)


@pytest.fixture(scope="module")
def keys(city_key: Callable[..., str]) -> dict[str, str]:
    return {"writer": city_key("admin", name="写者"), "reader": city_key("admin", name="读者")}


@pytest.fixture(scope="module")
def base(city: Engine, replica: Replica, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = city_settings(city, tmp_path_factory.mktemp("routing-home"))
    # a paused replica stays in bounds (by time): only the write marks send reads elsewhere
    reading = ReplicaSettings(
        replicas=[str(replica.port)], replica_check_interval=0.2, replica_max_lag_seconds=3600
    )
    yield from serve(dataclasses.replace(settings, replicas=reading))


@pytest.fixture(scope="module")
def http(base: str) -> Iterator[httpx.Client]:
    """The writer's client (its cookie jar gets the write mark)."""
    with httpx.Client(base_url=f"{base}/ogc/", timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def other(base: str) -> Iterator[httpx.Client]:
    """Another client, with a cookie jar of its own."""
    with httpx.Client(base_url=f"{base}/ogc/", timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def building(city: Engine) -> int:
    with city.connect() as conn:
        return int(conn.execute(text("SELECT min(id) FROM grid.buildings")).scalar_one())


def _on_replica(city: Engine, replica: Replica) -> URL:
    return city.url.set(port=replica.port)


def _read(http: httpx.Client, key: str, building: int, **headers: str) -> httpx.Response:
    answer = http.get(
        f"collections/buildings/items/{building}",
        headers={"Authorization": f"Bearer {key}", **headers},
    )
    assert answer.status_code == 200, answer.text
    return answer


def _floors(answer: httpx.Response) -> int:
    return int(answer.json()["properties"]["floors"])


def _patch(http: httpx.Client, key: str, building: int, floors: int) -> httpx.Response:
    etag = _read(http, key, building).headers["ETag"]
    answer = http.patch(
        f"collections/buildings/items/{building}",
        json={"properties": {"floors": floors}},
        headers={"Authorization": f"Bearer {key}", "If-Match": etag, "Content-Type": MERGE},
    )
    assert answer.status_code == 200, answer.text
    return answer


def _served(answer: httpx.Response) -> str:
    return answer.headers["X-Served-By"]


def _caught_up(city: Engine, replica: Replica) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    target = scalar(city.url, "SELECT pg_current_wal_lsn()::text")
    until(
        lambda: (
            scalar(
                _on_replica(city, replica),
                "SELECT pg_last_wal_replay_lsn() >= CAST(:t AS pg_lsn)",
                {"t": target},
            )
            or None
        ),
        "the replica replays what the primary wrote",
    )


def test_an_edit_is_replayed_and_served_by_the_replica(
    http: httpx.Client,
    other: httpx.Client,
    city: Engine,
    replica: Replica,
    keys: dict[str, str],
    building: int,
) -> None:
    _caught_up(city, replica)
    before = _floors(_read(other, keys["reader"], building))
    written = _patch(http, keys["writer"], building, before % 150 + 1)
    assert _served(written) == "primary" and "X-Onemap-Lsn" in written.headers
    floors = before % 150 + 1

    def served_by_replica() -> httpx.Response | None:
        answer = _read(other, keys["reader"], building)
        return answer if _served(answer) == "replica-1" and _floors(answer) == floors else None

    until(served_by_replica, "the reader is served the edit by the replica")
    on_replica = scalar(
        _on_replica(city, replica), "SELECT floors FROM grid.buildings WHERE id = :b",
        {"b": building},
    )  # fmt: skip
    assert on_replica == floors


def test_a_client_reads_its_own_write_while_the_replica_is_paused(
    http: httpx.Client,
    other: httpx.Client,
    city: Engine,
    replica: Replica,
    keys: dict[str, str],
    building: int,
) -> None:
    _caught_up(city, replica)
    replica_owner = _on_replica(city, replica)
    scalar(replica_owner.set(database="postgres"), "SELECT pg_wal_replay_pause()")
    try:
        before = _floors(_read(other, keys["reader"], building))
        floors = before % 150 + 1
        written = _patch(http, keys["writer"], building, floors)
        mine = _read(http, keys["writer"], building)
        assert _floors(mine) == floors and _served(mine) == "primary"
        stale = scalar(replica_owner, "SELECT floors FROM grid.buildings WHERE id = :b",
                       {"b": building})  # fmt: skip
        assert stale == before, "the replica replayed the write although paused"
        plain = _read(other, keys["reader"], building)  # no mark: the paused replica answers
        assert _served(plain) == "replica-1" and _floors(plain) == before
        # another client: no mark of its own, but the writer's mark handed over in the header
        # (as a second worker process would get it from the client)
        mark = written.headers["X-Onemap-Lsn"]
        handed = _read(other, keys["reader"], building, **{"X-Onemap-Lsn": mark})
        assert _floors(handed) == floors and _served(handed) == "primary"
        # the cookie carries the mark too (a browser sends it back)
        cookie = http.cookies.get("onemap_lsn")
        assert cookie is not None
        with httpx.Client(base_url=http.base_url, timeout=60) as browser:
            browser.cookies.set("onemap_lsn", cookie)
            by_cookie = _read(browser, keys["reader"], building)
            assert _floors(by_cookie) == floors and _served(by_cookie) == "primary"
        # a mark that is not one is ignored, never an error
        odd = _read(other, keys["reader"], building, **{"X-Onemap-Lsn": "not/a-mark'"})
        assert odd.status_code == 200
    finally:
        scalar(replica_owner.set(database="postgres"), "SELECT pg_wal_replay_resume()")

    def back_on_replica() -> httpx.Response | None:
        answer = _read(http, keys["writer"], building)
        return answer if _served(answer) == "replica-1" else None

    assert _floors(until(back_on_replica, "the writer's reads return to the replica")) == floors


def test_reads_fall_back_to_the_primary_while_the_replica_is_down(
    other: httpx.Client, city: Engine, replica: Replica, keys: dict[str, str], building: int,
    db_settings: DatabaseSettings,
) -> None:  # fmt: skip
    _caught_up(city, replica)
    replicas = Replicas(LocalServer(db_settings))
    until(
        lambda: True if _served(_read(other, keys["reader"], building)) == "replica-1" else None,
        "reads are served by the replica",
    )
    assert replicas.stop(NAME)
    try:
        for _ in range(3):
            answer = _read(other, keys["reader"], building)
            assert _served(answer) == "primary"
        items = other.get(
            "collections/buildings/items",
            params={"limit": 2},
            headers={"Authorization": f"Bearer {keys['reader']}"},
        )
        assert items.status_code == 200 and items.headers["X-Served-By"] == "primary"
    finally:
        replicas.start(NAME)
    until(
        lambda: True if _served(_read(other, keys["reader"], building)) == "replica-1" else None,
        "reads return to the replica once it is back",
    )
