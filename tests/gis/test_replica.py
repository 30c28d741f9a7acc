"""Replicas of the local cluster, for real: pg_basebackup, a slot, streaming, a replica that
stops and catches up, refusals that touch nothing (gis/replica.py)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from gis.errors import DatabaseError
from gis.pgserver import LocalServer
from gis.replica import Replica, Replicas
from gis.settings import DatabaseSettings
from tests.replica_support import free_ports, scalar, until

NAME = "t_gis"


@pytest.fixture(scope="module")
def primary(engine: Engine, db_settings: DatabaseSettings) -> LocalServer:
    if db_settings.database_url:
        pytest.skip("replicas are made of the local cluster (ONEMAP_DATABASE_URL is set)")
    return LocalServer(db_settings)


@pytest.fixture(scope="module")
def replicas(primary: LocalServer) -> Iterator[Replicas]:
    made = Replicas(primary)
    yield made
    for replica in made.all():
        if replica.name.startswith("t_gis"):
            made.remove(replica.name)


@pytest.fixture(scope="module")
def replica(replicas: Replicas, primary: LocalServer) -> Replica:
    (port,) = free_ports(primary.port, 1)
    return replicas.create(NAME, port)


@pytest.fixture
def table(engine: Engine) -> Iterator[str]:
    """A table of the session database made for one test (tables replicate; temp ones not)."""
    name = f"replica_probe_{secrets.token_hex(3)}"
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE public.{name} (v text)"))
    yield name
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS public.{name}"))


def _on(engine: Engine, replica: Replica) -> URL:
    """The session database on the replica, as its owner."""
    return engine.url.set(port=replica.port)


def _written(engine: Engine, table: str, value: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(f"INSERT INTO public.{table} VALUES (:v)"), {"v": value})


def _seen(url: URL, table: str, value: str) -> bool | None:
    try:
        found = scalar(url, f"SELECT count(*) FROM public.{table} WHERE v = :v", {"v": value})
    except Exception:  # the table itself may not be replayed yet
        return None
    return True if found else None


def test_a_replica_streams_from_its_slot_and_replays_an_edit(
    replicas: Replicas, replica: Replica, engine: Engine, table: str
) -> None:
    (status,) = [s for s in replicas.status() if s.name == NAME]
    assert status.running and status.role == "standby" and status.state == "streaming"
    assert status.slot == f"onemap_{NAME}" and status.slot_active is True
    assert not status.sync and status.sync_state == "async"
    _written(engine, table, "edit-1")
    until(lambda: _seen(_on(engine, replica), table, "edit-1"), "the replica replays the edit")
    with pytest.raises(Exception, match="read-only"):
        scalar(_on(engine, replica), f"INSERT INTO public.{table} VALUES ('x') RETURNING 1")


def test_a_stopped_replica_keeps_its_wal_in_the_slot_and_catches_up(
    replicas: Replicas, replica: Replica, engine: Engine, table: str
) -> None:
    assert replicas.stop(NAME) is True
    assert replicas.stop(NAME) is False
    (status,) = [s for s in replicas.status() if s.name == NAME]
    assert not status.running and status.slot_active is False and status.state is None
    _written(engine, table, "while-stopped")
    (status,) = [s for s in replicas.status() if s.name == NAME]
    assert status.slot_retained_bytes and status.slot_retained_bytes > 0
    assert replicas.start(NAME) is True
    until(lambda: _seen(_on(engine, replica), table, "while-stopped"), "the replica catches up")


def test_create_refuses_with_one_sentence_and_touches_nothing(
    replicas: Replicas, replica: Replica, primary: LocalServer, tmp_path: Path
) -> None:
    before = sorted(p.name for p in replicas.directory.iterdir())
    (port,) = free_ports(primary.port, 1)
    with pytest.raises(DatabaseError, match="already exists"):
        replicas.create(NAME, port)
    with pytest.raises(DatabaseError, match=rf"port {primary.port} .* in use"):
        replicas.create("t_gis_other", primary.port)
    with pytest.raises(DatabaseError, match="not a usable replica name"):
        replicas.create("Bad-Name", port)
    stopped = Replicas(LocalServer(DatabaseSettings(home=tmp_path, pg_port=port)))
    with pytest.raises(DatabaseError, match=r"primary .* is not running: start it"):
        stopped.create("t_gis_other", port)
    assert sorted(p.name for p in replicas.directory.iterdir()) == before
    assert not (tmp_path / "replicas").exists()
    with pytest.raises(DatabaseError, match="no replica named 'nope'"):
        replicas.promote("nope")


def test_remove_drops_the_slot_and_the_directory(
    replicas: Replicas, replica: Replica, primary: LocalServer, engine: Engine
) -> None:
    directory = replicas.server(replica).data_dir
    replicas.remove(NAME)
    assert not directory.exists() and NAME not in [r.name for r in replicas.all()]
    owner = engine.url.set(database="postgres")
    slots = scalar(owner, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = :s",
                   {"s": replica.slot})  # fmt: skip
    assert slots == 0


def test_replica_urls_are_ports_hosts_or_urls_and_a_bad_one_is_named() -> None:
    from sqlalchemy import make_url

    from gis.engine import replica_urls
    from gis.settings import ReplicaSettings

    base = make_url("postgresql+psycopg://onemap_server:pw@127.0.0.1:55432/onemap")
    entries = ["55433", "db2.example:5432", "postgresql://u:secret@db3:6432/city"]
    found = replica_urls(base, ReplicaSettings(replicas=entries))
    assert [(u.host, u.port, u.username, u.database) for u in found] == [
        ("127.0.0.1", 55433, "onemap_server", "onemap"),
        ("db2.example", 5432, "onemap_server", "onemap"),
        ("db3", 6432, "u", "city"),
    ]
    assert found[0].password == "pw" and found[2].drivername == "postgresql+psycopg"
    with pytest.raises(DatabaseError, match=r"ONEMAP_DB_REPLICAS entry 'db4' is not a port"):
        replica_urls(base, ReplicaSettings(replicas=["db4"]))
    with pytest.raises(DatabaseError, match="ONEMAP_DB_REPLICAS") as caught:
        replica_urls(base, ReplicaSettings(replicas=["mysql://u:secret@h/d"]))
    assert "secret" not in str(caught.value)


def test_wal_positions_doctests() -> None:
    import doctest

    from gis import replication

    assert doctest.testmod(replication).failed == 0
    with pytest.raises(ValueError, match="not a WAL position"):
        replication.parse_lsn("not/a-mark'")
