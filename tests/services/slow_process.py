"""A process served only in the tests (``ONEMAP_PROCESSES_EXTRA_MODULES``): it counts the
grid's cells inside one transaction that sleeps in the database (``pg_sleep``) step by step,
reporting progress, so that a test can see a job run, dismiss it, or kill its worker or its
server while it is in the middle of a statement. Anybody may run it, anonymous callers too
(their jobs are known by id only). It can be told to fail at the end, the way a run
refuses an input or crashes, to see both reported."""

from __future__ import annotations

from typing import Final

from sqlalchemy import text

from services.auth.keys import Principal
from services.processes.base import JobContext, JsonDict, Port, Process, ProcessInputError

PROCESS_ID: Final = "test-sleep"


def run(inputs: JsonDict, ctx: JobContext) -> JsonDict:
    steps = int(inputs.get("steps", 1))
    pause = float(inputs["seconds"]) / steps
    with ctx.engine.begin() as conn:
        backend = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        for step in range(steps):
            conn.execute(text("SELECT pg_sleep(:s)"), {"s": pause})
            ctx.progress(int(100 * (step + 1) / steps), f"step {step + 1} of {steps}")
        cells = conn.execute(text("SELECT count(*) FROM grid.cells")).scalar_one()
        if inputs.get("fail") == "input":
            raise ProcessInputError("fail", "the run refused its input")
        if inputs.get("fail") == "crash":
            raise RuntimeError("a secret detail that must not reach the client")
    return {"cells": int(cells), "steps": steps, "backend": int(backend)}


def allowed(caller: Principal) -> bool:
    return True


PROCESS: Final = Process(
    id=PROCESS_ID,
    title="Sleep (tests)",
    description="Counts the cells after sleeping in the database, step by step.",
    inputs={
        "seconds": Port("Seconds", {"type": "number", "minimum": 0, "maximum": 600}),
        "steps": Port("Steps", {"type": "integer", "minimum": 1, "maximum": 1000}, min_occurs=0),
        "fail": Port(
            "Fail",
            {"enum": ["input", "crash"]},
            "Fail at the end, after counting: refusing an input (400) or crashing (500).",
            min_occurs=0,
        ),
    },
    outputs={
        "cells": Port("Cells", {"type": "integer"}),
        "steps": Port("Steps", {"type": "integer"}),
        "backend": Port("Backend", {"type": "integer"}, "The run's database session."),
    },
    run=run,
    allowed=allowed,
    sync=False,
    example={"inputs": {"seconds": 1, "steps": 2}},
)
