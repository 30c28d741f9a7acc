"""The clients of ``bench edits``, all in one asyncio process: simulated grid workers editing
buildings over HTTP (GET for the ETag, PATCH with If-Match), and the same read-then-write
loop as bare statements on psycopg connections, at the same concurrency on the same rows.

Each client loops until the deadline: pick one of its buildings, read it, write a new
``floors`` (never the value it read: an unchanged row gets no new version) and a token of its
own in ``name`` (bench/_edits_check.py finds the write's audit row by it); when the write is
refused (412, 409, or no row at the version read) read again and retry the same building.
No request is cancelled at the deadline: a client finishes the one in flight, so every write
the server applied has an answer, and the phase lasts until the last client stops.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import psycopg

from bench._edits_check import Write
from bench._http1 import Connection, HttpError
from services.ogcapi.validators import tag_version

MERGE: Final = "application/merge-patch+json"
READ_SQL: Final = "SELECT version, floors FROM grid.buildings WHERE id = %s"
WRITE_SQL: Final = (
    "UPDATE grid.buildings SET floors = %s, name = %s WHERE id = %s AND version = %s"
    " RETURNING version"
)
MAX_FLOORS: Final = 200  # grid.buildings' floors_range check
NARROW: Final = "?properties=version,floors&skipGeometry=true"
"""What an editing form reads (the bare side reads the same two columns); the PATCH asks
``Prefer: return=minimal``: 204 and the new ETag, the version in it."""


@dataclass(frozen=True)
class Client:
    """One simulated editor: a token prefix, its API key (HTTP side), its buildings."""

    label: str
    buildings: tuple[int, ...]
    key: str | None = None


@dataclass
class Phase:
    """What the clients of one phase saw."""

    writes: list[Write] = field(default_factory=list)
    write_ms: list[float] = field(default_factory=list)
    """Accepted writes: the write request alone (PATCH, or the UPDATE statement)."""
    edit_ms: list[float] = field(default_factory=list)
    """Accepted writes: from the first read of the edit to its acceptance (retries included)."""
    refused_ms: list[float] = field(default_factory=list)
    refusals: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    reads: int = 0
    seconds: float = 0.0
    cpu_s: dict[str, float] = field(default_factory=dict)
    """CPU seconds each party spent in the phase (:func:`cpu_seconds`)."""


Read = Callable[[int], Awaitable[tuple[int, int, str]]]
"""building → (version, floors, ETag or "")."""
WriteCall = Callable[[int, int, str, int, str], Awaitable[tuple[str, int | None]]]
"""(building, version read, ETag, floors, token) → ("ok" or the refusal, version answered)."""


def _new_floors(rng: random.Random, current: int) -> int:
    value = rng.randint(1, MAX_FLOORS - 1)
    return value + 1 if value >= current else value


async def _editor(
    client: Client, read: Read, write: WriteCall, deadline: float, tag: str, phase: Phase
) -> None:
    rng = random.Random(f"{client.label}{tag}")
    n = 0
    while time.monotonic() < deadline:
        building = rng.choice(client.buildings)
        started = time.perf_counter()
        while True:
            n += 1
            token = f"{client.label}-{tag}{n}"
            try:
                version, floors, etag = await read(building)
                phase.reads += 1
                value = _new_floors(rng, floors)
                sent = time.perf_counter()
                outcome, answered = await write(building, version, etag, value, token)
                done = time.perf_counter()
            except (HttpError, psycopg.Error) as exc:
                phase.errors.append(f"{token} building {building}: {exc!r}"[:300])
                break
            if outcome == "ok":
                assert answered is not None
                phase.writes.append(Write(building, token, value, version, answered))
                phase.write_ms.append((done - sent) * 1000)
                phase.edit_ms.append((done - started) * 1000)
                break
            if outcome.startswith("error"):
                phase.errors.append(f"{token} building {building}: {outcome}")
                break
            phase.refused_ms.append((done - sent) * 1000)
            phase.refusals[outcome] += 1
            if time.monotonic() >= deadline:
                break


Cpu = Callable[[], dict[str, float]]


def cpu_seconds(parties: Mapping[str, Callable[[], Iterable[int]]]) -> Cpu:
    """A snapshot of the CPU seconds (user + system, from /proc) used so far by each party's
    processes, plus this process (``client``); empty where /proc cannot be read. A process
    that ends between two snapshots takes its time with it (a pool's short-lived backend)."""
    tick = os.sysconf("SC_CLK_TCK")

    def used(pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return 0.0
        return (int(fields[11]) + int(fields[12])) / tick

    def snapshot() -> dict[str, float]:
        if not Path("/proc/self/stat").exists():
            return {}
        found = {"client": used(os.getpid())}
        for name, pids in parties.items():
            found[name] = sum(used(p) for p in pids())
        return found

    return snapshot


def descendants(root: int) -> list[int]:
    """``root`` and every process below it (Linux /proc)."""
    parent: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parent.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parent.get(pid, []))
    return found


async def _run(
    clients: Sequence[Client],
    make: Callable[[int, Client], tuple[Read, WriteCall]],
    seconds: float,
    tag: str,
    cpu: Cpu | None = None,
) -> Phase:
    phase = Phase()
    calls = [make(i, c) for i, c in enumerate(clients)]
    before = cpu() if cpu else {}
    start = time.monotonic()
    deadline = start + seconds
    await asyncio.gather(
        *(_editor(c, r, w, deadline, tag, phase) for c, (r, w) in zip(clients, calls, strict=True))
    )
    phase.seconds = time.monotonic() - start
    after = cpu() if cpu else {}
    phase.cpu_s = {k: round(after[k] - before[k], 2) for k in before}
    return phase


# --- over HTTP ------------------------------------------------------------------------------


def _http_calls(http: Connection, client: Client) -> tuple[Read, WriteCall]:
    auth = {"Authorization": f"Bearer {client.key}", "Accept": "application/geo+json"}

    async def read(building: int) -> tuple[int, int, str]:
        answer = await http.request("GET", f"collections/buildings/items/{building}{NARROW}", auth)
        if answer.status != 200:
            raise HttpError(f"GET answered {answer.status}: {answer.text[:200]}")
        properties = answer.json()["properties"]
        return int(properties["version"]), int(properties["floors"]), answer.headers["etag"]

    async def write(
        building: int, version: int, etag: str, floors: int, token: str
    ) -> tuple[str, int | None]:
        body = json.dumps({"properties": {"floors": floors, "name": token}}).encode()
        headers = {**auth, "If-Match": etag, "Content-Type": MERGE, "Prefer": "return=minimal"}
        answer = await http.request(
            "PATCH", f"collections/buildings/items/{building}", headers, body
        )
        if answer.status == 204:
            return "ok", tag_version(answer.headers["etag"])
        if answer.status in (409, 412):
            return str(answer.status), None
        return f"error {answer.status}: {answer.text[:200]}", None

    return read, write


async def over_http(
    base: str, clients: Sequence[Client], warmup: float, seconds: float, tag: str, cpu: Cpu
) -> tuple[Phase, Phase]:
    """A warm-up (connections opened, keys checked: its writes are checked, not timed),
    then the timed phase; each simulated worker has its own keep-alive connection.

    The client is bench/_http1.py, not httpx: on two shared cores a client that spends more
    CPU per request than the server measures the client (httpx: ~8 ms per accepted edit)."""
    connections = [Connection(f"{base}/ogc/") for _ in clients]
    try:

        def make(i: int, client: Client) -> tuple[Read, WriteCall]:
            return _http_calls(connections[i], client)

        warm = await _run(clients, make, warmup, f"{tag}w")
        timed = await _run(clients, make, seconds, f"{tag}t", cpu)
    finally:
        for connection in connections:
            await connection.close()
    return warm, timed


# --- bare statements ------------------------------------------------------------------------


def _bare_calls(conn: psycopg.AsyncConnection[Any]) -> tuple[Read, WriteCall]:
    async def read(building: int) -> tuple[int, int, str]:
        row = await (await conn.execute(READ_SQL, (building,))).fetchone()
        assert row is not None
        return int(row[0]), int(row[1]), ""

    async def write(
        building: int, version: int, _: str, floors: int, token: str
    ) -> tuple[str, int | None]:
        cursor = await conn.execute(WRITE_SQL, (floors, token, building, version))
        row = await cursor.fetchone()
        return ("ok", int(row[0])) if row is not None else ("stale", None)

    return read, write


async def bare(
    conninfo: str, clients: Sequence[Client], warmup: float, seconds: float, tag: str, cpu: Cpu
) -> tuple[Phase, Phase]:
    """The same loop as plain statements: one autocommit psycopg connection per client
    (opened before the clock starts, statements prepared after the fifth run as psycopg
    does), the audit trigger firing as it does for the service's writes."""

    async def connect(client: Client) -> psycopg.AsyncConnection[Any]:
        conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
        await conn.execute(
            "SELECT set_config('onemap.actor', %s, false)", (f"bench bare {client.label}",)
        )
        return conn

    conns = await asyncio.gather(*(connect(c) for c in clients))
    try:

        def make(i: int, _: Client) -> tuple[Read, WriteCall]:
            return _bare_calls(conns[i])

        warm = await _run(clients, make, warmup, f"{tag}w")
        timed = await _run(clients, make, seconds, f"{tag}t", cpu)
    finally:
        for conn in conns:
            await conn.close()
    return warm, timed
