"""The conflict run's worker processes: the same patches with one or two workers, a chunk's
peak memory reported, a cancelled run stops its workers and leaves nothing."""

from __future__ import annotations

import multiprocessing
from typing import Any

import pydantic
import pytest
from sqlalchemy import Connection, Engine, text

from layers.conflicts import ChunkStat, RunResult, run_conflicts
from layers.importer import ImportReport
from layers.rules import Rules
from layers.settings import PlanSettings


class CancelledError(Exception):
    pass


def _run(conn: Connection, rules: Rules, workers: int, **kwargs: Any) -> RunResult:
    settings = PlanSettings(conflict_workers=workers)
    return run_conflicts(
        conn, "urban_plan", ["landuse_plan"], rules=rules, settings=settings, **kwargs
    )


def _stored(conn: Connection, run_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """What a run stored, without its ids: patches and slivers, sorted."""
    patches = conn.execute(
        text(
            "SELECT type, a_feature_id, b_feature_id, a_code, b_code, pieces,"
            " round(area_m2::numeric, 4), county_code, ST_AsText(ST_Normalize(geom), 7)"
            " FROM plans.conflict_patches WHERE run_id = :r ORDER BY 1, 2, 3"
        ),
        {"r": run_id},
    ).all()
    slivers = conn.execute(
        text(
            "SELECT type, a_feature_id, b_feature_id, county_code, by_area, by_width,"
            " round(area_m2::numeric, 4), ST_AsText(ST_Normalize(geom), 7)"
            " FROM plans.conflict_slivers WHERE run_id = :r ORDER BY 1, 2, 3, 7"
        ),
        {"r": run_id},
    ).all()
    return {"patches": [tuple(p) for p in patches], "slivers": [tuple(s) for s in slivers]}


def test_one_worker_and_two_cut_the_same_patches(
    engine: Engine, plans: dict[str, ImportReport], rules: Rules
) -> None:
    with engine.connect() as conn, conn.begin() as transaction:
        seen: dict[int, list[ChunkStat]] = {1: [], 2: []}
        found = {}
        for workers in (1, 2):
            run = _run(conn, rules, workers, on_chunk=seen[workers].append)
            found[workers] = _stored(conn, run.run_id)
            assert run.chunks == sorted(run.chunks, key=lambda c: (c.chunk == "", c.chunk))
        transaction.rollback()
    assert found[1]["patches"] and found[1] == found[2]
    assert {c.chunk for c in seen[1]} == {c.chunk for c in seen[2]}
    for stats in seen.values():
        for stat in stats:  # every chunk says what its process held at most, and where
            assert stat.peak_mb is not None and stat.peak_mb > 0  # the time went
            assert set(stat.stages) == {"read", "pair", "cut", "filter", "write"}
    assert not multiprocessing.active_children()  # the pool is gone


def test_a_run_cancelled_between_chunks_stops_its_workers_and_leaves_nothing(
    engine: Engine, plans: dict[str, ImportReport], rules: Rules
) -> None:
    calls: list[tuple[int, int]] = []

    def cancel(done: int, total: int) -> None:
        calls.append((done, total))
        if done == 1:
            raise CancelledError

    with engine.connect() as conn, conn.begin() as transaction:
        before = conn.execute(text("SELECT count(*) FROM plans.conflict_runs")).scalar_one()
        with pytest.raises(CancelledError):
            _run(conn, rules, 2, on_progress=cancel)
        assert not multiprocessing.active_children()
        # the caller's transaction is still usable and holds nothing of the run
        assert conn.execute(text("SELECT count(*) FROM plans.conflict_runs")).scalar_one() == before
        assert conn.execute(
            text("SELECT to_regclass('pg_temp.conflict_piece') IS NULL")
        ).scalar_one()
        transaction.rollback()
    assert calls[0][0] == 0 and calls[-1][0] == 1 and calls[-1][1] > 1


def test_workers_are_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONEMAP_PLANS_CONFLICT_WORKERS", "3")
    assert PlanSettings().conflict_workers == 3
    with pytest.raises(pydantic.ValidationError):
        PlanSettings(conflict_workers=0)
