"""Fail-over for real: a synchronous replica of a primary that dies mid-edit (SIGKILL of the
whole cluster) is promoted and holds every edit the client saw committed; the app keeps
serving reads through the fail-over and, pointed at the promoted node, writes; a new replica
is made of the new primary (gis/replica.py, services/readrouting).

The primary killed is not the session's cluster: it is a replica of it, promoted to stand
alone (so with the module's city, keys included), on a port of its own.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL, make_url

from gis.pgserver import LocalServer
from gis.replica import Replica, Replicas
from gis.settings import DatabaseSettings, ReplicaSettings
from services.ogcapi.validators import tag_version
from services.settings import Settings
from tests.conftest import SERVER_URLS
from tests.replica_support import crash, free_ports, scalar, until
from tests.services.conftest import city_settings, serve

MERGE = "application/merge-patch+json"
EDITS_BEFORE_CRASH = 15


@dataclasses.dataclass
class Cluster:
    """The throwaway primary ``a`` (a promoted replica of the session cluster), its
    synchronous replica ``b``, and the city database's URLs on a node."""

    a: LocalServer
    b: Replica
    a_replicas: Replicas
    session_port: int
    owner: URL
    login: URL

    def owner_on(self, port: int) -> URL:
        return self.owner.set(port=port)

    def settings_on(self, base: Settings, port: int, replicas: list[int]) -> Settings:
        database = base.database.model_copy(
            update={
                "database_url": self.owner.set(port=port).render_as_string(hide_password=False),
                "app_database_url": self.login.set(port=port).render_as_string(hide_password=False),
            }
        )
        reading = ReplicaSettings(replicas=[str(p) for p in replicas], replica_check_interval=0.2)
        return dataclasses.replace(base, database=database, replicas=reading)


@pytest.fixture(scope="module")
def cluster(city: Engine, db_settings: DatabaseSettings, admin: str) -> Iterator[Cluster]:
    """Made after the admin key (so that every node has it)."""
    if db_settings.database_url:
        pytest.skip("replicas are made of the local cluster (ONEMAP_DATABASE_URL is set)")
    session = Replicas(LocalServer(db_settings))
    port_a, port_b = free_ports(session.primary.port, 2)
    a = session.create("t_fo_a", port_a)
    primary_a = session.server(a)
    try:
        session.promote("t_fo_a")
        a_replicas = Replicas(LocalServer(primary_a.settings))
        b = a_replicas.create("t_fo_b", port_b, sync=True)
        owner = city.url
        login = make_url(SERVER_URLS[owner.render_as_string(hide_password=False)])
        yield Cluster(
            LocalServer(primary_a.settings), b, a_replicas, session.primary.port, owner, login
        )
    finally:
        names = [r.name for r in session.all()]
        if "t_fo_c" in names:  # a replica of b, if its test failed half-way
            Replicas(LocalServer(session.server(session.get("t_fo_b")).settings)).remove("t_fo_c")
        if "t_fo_b" in names:
            Replicas(LocalServer(primary_a.settings)).remove("t_fo_b")
        session.remove("t_fo_a")


@pytest.fixture(scope="module")
def admin(city_key: Callable[..., str]) -> str:
    return city_key("admin", name="灾备")


@pytest.fixture(scope="module")
def building(city: Engine) -> int:
    with city.connect() as conn:
        return int(conn.execute(text("SELECT max(id) FROM grid.buildings")).scalar_one())


def _headers(key: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **more}


def _edit_until_failure(http: httpx.Client, key: str, building: int, seen: list[int]) -> None:
    """PATCH the building again and again; each version the server answered 204 for is a
    commit the client saw. Stops at the first failure (the primary is gone)."""
    path = f"collections/buildings/items/{building}"
    try:
        answer = http.get(path, headers=_headers(key))
        etag = answer.headers["ETag"]
        for n in range(10_000):
            answer = http.patch(
                path,
                json={"properties": {"floors": n % 150 + 1}},
                headers=_headers(
                    key, **{"If-Match": etag, "Content-Type": MERGE, "Prefer": "return=minimal"}
                ),
            )
            if answer.status_code != 204:
                return
            etag = answer.headers["ETag"]
            version = tag_version(etag)
            assert version is not None
            seen.append(version)
    except httpx.HTTPError:
        return


def test_a_killed_primary_loses_no_committed_edit_and_the_app_fails_over(
    admin: str, cluster: Cluster, building: int, city: Engine, tmp_path: Path
) -> None:
    base = city_settings(city, tmp_path / "home")
    before_a = cluster.settings_on(base, cluster.a.port, [cluster.b.port])
    seen: list[int] = []
    for url in serve(before_a):
        with httpx.Client(base_url=f"{url}/ogc/", timeout=60) as http:
            editor = threading.Thread(
                target=_edit_until_failure, args=(http, admin, building, seen)
            )
            editor.start()
            until(lambda: True if len(seen) >= EDITS_BEFORE_CRASH else None, "edits commit")
            crash(cluster.a)  # mid-edit: the editor is writing all the time
            editor.join(timeout=120)
            assert not editor.is_alive()
            promoted = cluster.a_replicas.promote(cluster.b.name)
            assert promoted.promoted
            on_b = cluster.owner_on(cluster.b.port)
            versions = scalar(
                on_b,
                "SELECT array_agg(version) FROM audit.changes"
                " WHERE table_name = 'grid.buildings' AND row_id = :b",
                {"b": str(building)},
            )
            missing = sorted(set(seen) - set(versions or []))
            assert len(seen) >= EDITS_BEFORE_CRASH and not missing, f"lost commits {missing}"
            last = scalar(on_b, "SELECT version FROM grid.buildings WHERE id = :b", {"b": building})
            assert last >= max(seen)
            # the app as it was configured: the primary is dead, reads go on from the replica
            read = http.get(f"collections/buildings/items/{building}", headers=_headers(admin))
            assert read.status_code == 200, read.text
            assert read.headers["X-Served-By"] == "replica-1"
            assert read.json()["properties"]["version"] == last
            refused = http.patch(
                f"collections/buildings/items/{building}",
                json={"properties": {"floors": 3}},
                headers=_headers(admin, **{"If-Match": read.headers["ETag"],
                                           "Content-Type": MERGE}),
            )  # fmt: skip
            assert refused.status_code == 503, refused.text
    # reconfigured: the promoted node is the primary
    after = cluster.settings_on(base, cluster.b.port, [])
    for url in serve(after):
        with httpx.Client(base_url=f"{url}/ogc/", timeout=60) as http:
            path = f"collections/buildings/items/{building}"
            read = http.get(path, headers=_headers(admin))
            assert read.status_code == 200 and read.json()["properties"]["version"] == last
            written = http.patch(
                path,
                json={"properties": {"floors": 9}},
                headers=_headers(admin, **{"If-Match": read.headers["ETag"],
                                           "Content-Type": MERGE}),
            )  # fmt: skip
            assert written.status_code == 200, written.text
            assert written.json()["properties"]["version"] == last + 1


def test_a_new_replica_is_made_of_the_promoted_node(cluster: Cluster, building: int) -> None:
    b_primary = LocalServer(cluster.a_replicas.server(cluster.b).settings)
    assert b_primary.status().running and not b_primary.standby()
    of_b = Replicas(b_primary)
    (port,) = free_ports(cluster.session_port, 1)
    c = of_b.create("t_fo_c", port)
    (status,) = [s for s in of_b.status() if s.name == "t_fo_c"]
    assert status.state == "streaming" and status.primary_port == b_primary.port
    version = scalar(
        cluster.owner_on(b_primary.port), "SELECT version FROM grid.buildings WHERE id = :b",
        {"b": building},
    )  # fmt: skip
    until(
        lambda: scalar(
            cluster.owner_on(c.port), "SELECT version = :v FROM grid.buildings WHERE id = :b",
            {"b": building, "v": version},
        ) or None,
        "the new replica has the promoted node's rows",
    )  # fmt: skip
    of_b.remove("t_fo_c")
