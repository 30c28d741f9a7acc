"""A worker killed mid-import leaves nothing: ``plan-import``'s run in a real process of its
own, SIGKILLed while it writes a big file's features; the layer's previous version stays
current and whole, no row of the new one remains, and the next import goes through. A job
dismissed mid-import (its progress call raises) is rolled back the same way."""

from __future__ import annotations

import json
import multiprocessing
import os
import queue
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from services.processes.base import JobCancelled
from services.processes.definitions.plan_import import run
from tests.processes.plan_files import (
    PLANNER,
    Context,
    drop_layers,
    plan_counts,
    upload,
    versions,
)

LAYER = "upload-kill"
APPLICATION = "onemap-kill-test"
FEATURES = 30_000


def _squares(n: int, size: float = 0.001) -> bytes:
    """A GeoJSON of ``n`` small squares over Lianyungang, lon/lat."""
    features = []
    for i in range(n):
        x, y = 119.0 + (i % 400) * 0.0012, 34.4 + (i // 400) * 0.0012
        ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
        features.append(
            {
                "type": "Feature",
                "properties": {"BJBH": f"B{i:05d}"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


@dataclass
class _QueueContext:
    """The worker's context: progress goes to the parent through a queue. Past 20 % the
    run waits a while, so that the kill lands mid-transaction however fast the machine."""

    engine: Engine
    messages: Any
    caller: Any = PLANNER
    job_id: str | None = None

    def progress(self, percent: int, message: str = "") -> None:
        self.messages.put(percent)
        if 20 <= percent < 100:
            time.sleep(60)


def _worker(url: str, inputs: dict[str, Any], messages: Any, tmp: str) -> None:
    """Run in a spawned process, as a job's worker would: its own engine, then ``run``."""
    os.environ["PGAPPNAME"] = APPLICATION
    tempfile.tempdir = tmp
    from gis.engine import create_engine

    run(inputs, _QueueContext(create_engine(url), messages))
    messages.put("done")


def _state(engine: Engine) -> str | None:
    """The worker's session state (``idle in transaction`` between two chunks)."""
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT state FROM pg_stat_activity WHERE application_name = :a"),
            {"a": APPLICATION},
        ).scalar_one_or_none()


def _sessions(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :a"),
                {"a": APPLICATION},
            ).scalar_one()
        )


def test_a_worker_killed_mid_import_leaves_the_previous_version(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    big = _squares(FEATURES)
    small = _squares(50, size=0.0005)
    inputs = {"layer": LAYER, "plan_type": "dev_boundary"}
    worker = None
    try:
        first = run({**inputs, "file": upload(small, "application/geo+json")}, Context(engine))
        assert (first["version"], first["loaded"]) == (1, 50)
        before = versions(engine, LAYER)
        counts = plan_counts(engine)

        spawn = multiprocessing.get_context("spawn")
        messages = spawn.Queue()
        url = engine.url.render_as_string(hide_password=False)
        big_inputs = {**inputs, "file": upload(big, "application/geo+json")}
        worker = spawn.Process(target=_worker, args=(url, big_inputs, messages, str(tmp_path)))
        worker.start()
        seen: list[Any] = []
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                seen.append(messages.get(timeout=1))
            except queue.Empty:
                assert worker.is_alive(), f"the worker ended early: {seen}"
                continue
            if isinstance(seen[-1], int) and 20 <= seen[-1] < 100:
                break  # thousands of features of version 2 written, more to come
        else:
            raise AssertionError(f"the import never got half-way: {seen}")
        # Mid-way: the new version is invisible to everyone else (one open transaction).
        assert _state(engine) == "idle in transaction"
        assert versions(engine, LAYER) == before
        worker.kill()  # SIGKILL: no handler, no rollback of its own
        worker.join(timeout=30)
        assert worker.exitcode == -signal.SIGKILL
        assert "done" not in seen

        deadline = time.monotonic() + 60
        while _sessions(engine) and time.monotonic() < deadline:
            time.sleep(0.2)  # the server ends the dead worker's session and rolls it back
        assert _sessions(engine) == 0
        assert versions(engine, LAYER) == before
        assert plan_counts(engine) == counts
        left = [p.name for p in tmp_path.iterdir()]  # a killed process runs no cleanup
        assert left == [p for p in left if p.startswith(f"onemap-upload-{worker.pid}-")] != []

        again = run(
            {**inputs, "file": upload(_squares(60, 0.0005), "application/geo+json")},
            Context(engine),
        )
        assert (again["version"], again["loaded"]) == (2, 60)  # not locked, nothing in the way
        assert list(tmp_path.iterdir()) == []  # the dead worker's directory swept away
    finally:
        if worker is not None and worker.is_alive():
            worker.kill()
            worker.join(timeout=30)
        drop_layers(engine, LAYER)


class _Dismissed(Context):
    """A job dismissed once its import is under way: progress raises, as the worker's does."""

    def progress(self, percent: int, message: str = "") -> None:
        super().progress(percent, message)
        if 20 <= percent < 100:
            raise JobCancelled


def test_a_dismissed_import_is_rolled_back(engine: Engine) -> None:
    counts = plan_counts(engine)
    ctx = _Dismissed(engine)
    try:
        with pytest.raises(JobCancelled):
            run({"layer": LAYER, "plan_type": "dev_boundary",
                 "file": upload(_squares(10_000), "application/geo+json")}, ctx)  # fmt: skip
        assert 20 <= ctx.calls[-1][0] < 100
        assert plan_counts(engine) == counts  # not even the new layer's registration
    finally:
        drop_layers(engine, LAYER)
