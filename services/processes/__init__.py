"""OGC API – Processes: the platform's analyses as processes, run synchronously or as
durable jobs in worker processes (docs/processes.md).

- :mod:`.base` is the contract every process implements; :mod:`.registry` lists the
  definitions (:mod:`.definitions`); :mod:`.execution` reads an execute request.
- :mod:`.manager` runs them in one server process: :mod:`.pool` (the worker processes),
  :mod:`.worker` (one worker's life), :mod:`.store` (the job rows, :mod:`.models`);
  :mod:`.documents` and :mod:`.failures` are what the routes answer
  (services/ogcapi/process_routes.py).
"""

from services.processes.base import (
    JobCancelled,
    JobContext,
    JsonDict,
    Port,
    Process,
    ProcessForbiddenError,
    ProcessInputError,
)

__all__ = [
    "JobCancelled",
    "JobContext",
    "JsonDict",
    "Port",
    "Process",
    "ProcessForbiddenError",
    "ProcessInputError",
]
