"""The routes of OGC API – Processes – Part 1 under ``/ogc``: processes, execution, jobs.

Who may do what (services/processes/base.py): a process a caller may not run is missing
from their list; anonymous callers get 404 for it (it does not exist for them), callers
with a key 403. A job is its caller's (by key; an anonymous job, whoever holds its id) and
every admin's: for anybody else it does not exist (404). Execution reads and checks the
whole request (size, JSON, inputs against their schemas, the process's own checks, the
caller's reach) before anything is written; only then is a job queued (``Prefer:
respond-async``, or a process that is not quick) or run on a worker while the request waits.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlencode

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from services.auth.keys import Principal
from services.auth.routes import principal_of
from services.http.errors import CODES
from services.ogcapi.errors import (
    BadRequestError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    OgcError,
    PayloadTooLargeError,
    UnavailableError,
    UnsupportedMediaTypeError,
)
from services.ogcapi.route_base import JSON, RouteBase, json_response
from services.ogcapi.service import OgcService
from services.processes import documents
from services.processes.base import JsonDict, Process, ProcessForbiddenError, ProcessInputError
from services.processes.execution import (
    ExecuteRequest,
    RequestError,
    delivered,
    execute_request,
    preference,
    read_body,
    selected,
)
from services.processes.failures import NO_SUCH_JOB, NO_SUCH_PROCESS, RESULT_NOT_READY
from services.processes.manager import ProcessManager
from services.processes.pool import PoolClosedError
from services.processes.store import JobRecord
from services.processes.worker import Outcome

DEFAULT_JOBS: Final = 20
MAX_JOBS: Final = 1000
STATUSES: Final = ("accepted", "running", "successful", "failed", "dismissed")
JOB_PARAMETERS: Final = frozenset({"f", "limit", "offset", "processID", "status"})


def _typed(kind: type[OgcError], description: str, type_uri: str | None = None) -> OgcError:
    """An OGC error whose body carries the Processes exception type (RFC 7807 members)."""
    code = CODES.get(kind.status, "NoApplicableCode")
    extra = {"type": type_uri or code, "title": code, "status": kind.status,
             "detail": description}  # fmt: skip
    return kind(description, extra=extra)


def _no_such_process(process_id: str) -> OgcError:
    return _typed(NotFoundError, f"no process {process_id[:100]!r} (some processes need an "
                  "API key): /processes lists those you may run", NO_SUCH_PROCESS)  # fmt: skip


def _no_such_job(job_id: str) -> OgcError:
    return _typed(NotFoundError, f"no job {job_id[:100]!r}", NO_SUCH_JOB)


class ProcessRoutes(RouteBase):
    """Handlers of ``/processes`` and ``/jobs``, bound to the service and job manager."""

    def __init__(self, service: OgcService, manager: ProcessManager, engine: Engine) -> None:
        super().__init__(service)
        self.manager = manager
        self.engine = engine

    @staticmethod
    def _json_only(request: Request) -> None:
        chosen = (request.query_params.get("f") or "json").strip().lower()
        if chosen != "json":
            raise _typed(
                BadRequestError, f"f={chosen[:30]!r}: processes and jobs are JSON (f=json)"
            )

    def _process(self, request: Request, caller: Principal) -> Process:
        """The process of the path, if the caller may run it (else 404 or 403)."""
        process_id = request.path_params["pid"]
        process = self.manager.processes.get(process_id)
        if process is None:
            raise _no_such_process(process_id)
        if not process.allowed(caller):
            if caller.role == "public":
                raise _no_such_process(process_id)
            raise _typed(ForbiddenError, f"a {caller.role} key may not run {process.id}")
        return process

    # --- processes ------------------------------------------------------------------------

    async def processes(self, request: Request) -> Response:
        async def work() -> Response:
            self._json_only(request)
            caller = principal_of(request)
            runnable = [p for p in self.manager.processes.values() if p.allowed(caller)]
            return json_response(documents.process_list(runnable, self._base(request)))

        return await self._guard(work)

    async def process(self, request: Request) -> Response:
        async def work() -> Response:
            self._json_only(request)
            process = self._process(request, principal_of(request))
            return json_response(documents.description(process, self._base(request)))

        return await self._guard(work)

    async def execute(self, request: Request) -> Response:
        async def work() -> Response:
            caller = principal_of(request)
            process = self._process(request, caller)
            wanted = await self._request(request, process, caller)
            asked = preference(request.headers.get("prefer"))
            if asked == "respond-async" or (asked is None and not process.sync):
                return await self._queue(request, process, wanted, caller, asked)
            return await self._run(request, process, wanted, caller, asked)

        return await self._guard(work)

    async def _request(
        self, request: Request, process: Process, caller: Principal
    ) -> ExecuteRequest:
        """The execute request, read and checked whole; nothing is written before."""
        kind = request.headers.get("content-type", JSON).split(";", 1)[0].strip().lower()
        if kind != JSON:
            raise _typed(
                UnsupportedMediaTypeError, f"an execute request is {JSON}, not {kind[:60]!r}"
            )
        body = await request.body()
        limit = self.manager.config.max_execute_bytes
        if len(body) > limit:
            raise _typed(PayloadTooLargeError, f"an execute request takes at most {limit} bytes")
        try:
            if len(body) > INLINE_BYTES:  # an upload: decoding and checking it takes a while
                wanted = await run_in_threadpool(_read_and_check, body, process, caller)
            else:
                wanted = _read_and_check(body, process, caller)
            if process.authorise is not None:
                await run_in_threadpool(self._authorise, process, wanted.inputs, caller)
        except ProcessInputError as exc:
            raise _typed(BadRequestError, str(exc)) from None
        except RequestError as exc:
            raise _typed(BadRequestError, str(exc)) from None
        except ProcessForbiddenError as exc:
            raise _typed(ForbiddenError, str(exc)) from None
        return wanted

    def _authorise(self, process: Process, inputs: JsonDict, caller: Principal) -> None:
        assert process.authorise is not None
        with self.engine.connect() as conn:
            process.authorise(conn, inputs, caller)

    async def _queue(
        self,
        request: Request,
        process: Process,
        wanted: ExecuteRequest,
        caller: Principal,
        asked: str | None,
    ) -> Response:
        record = await self.manager.queue(process, wanted, caller)
        base = self._base(request)
        headers = {"Location": f"{base}/jobs/{record.id}"}
        if asked is not None:
            headers["Preference-Applied"] = asked
        document = documents.status_info(record, base)
        return Response(json.dumps(document), 201, headers=headers, media_type=JSON)

    async def _run(
        self,
        request: Request,
        process: Process,
        wanted: ExecuteRequest,
        caller: Principal,
        asked: str | None,
    ) -> Response:
        try:
            outcome = await self.manager.execute(process, wanted, caller)
        except (PoolClosedError, RuntimeError) as exc:
            raise _typed(UnavailableError, f"the job workers cannot run it now: {exc}") from None
        headers = {"Link": f'<{self._base(request)}/jobs/{outcome.job_id}>; rel="monitor"'}
        if asked is not None:
            headers["Preference-Applied"] = asked
        return _ended(outcome, wanted, process, headers)

    # --- jobs -----------------------------------------------------------------------------

    async def _job(self, request: Request) -> JobRecord:
        """The job of the path, if the caller may see it (else 404)."""
        job_id = request.path_params["jid"]
        try:
            canonical = str(uuid.UUID(job_id))
        except ValueError:
            raise _no_such_job(job_id) from None
        record = await self.manager.store.get(canonical)
        if record is None or not record.visible_to(principal_of(request)):
            raise _no_such_job(job_id)
        return record

    async def jobs(self, request: Request) -> Response:
        async def work() -> Response:
            self._json_only(request)
            params = request.query_params
            unknown = sorted(set(params) - JOB_PARAMETERS)
            if unknown:
                raise _typed(
                    BadRequestError,
                    f"unknown parameter {unknown[0][:50]!r}: the job list takes "
                    f"{', '.join(sorted(JOB_PARAMETERS))}",
                )
            limit = _integer(params.get("limit"), "limit", DEFAULT_JOBS, 1)
            limit = min(limit, MAX_JOBS)
            offset = _integer(params.get("offset"), "offset", 0, 0)
            statuses = [s for v in params.getlist("status") for s in v.split(",") if s]
            bad = [s for s in statuses if s not in STATUSES]
            if bad:
                raise _typed(
                    BadRequestError, f"status {bad[0][:30]!r} is not one of {', '.join(STATUSES)}"
                )
            process_id = params.get("processID")
            found = await self.manager.store.page(
                principal_of(request), limit, offset, process_id, statuses or None
            )
            kept = [(k, v) for k, v in params.multi_items() if k not in ("limit", "offset")]
            more = None
            if len(found) == limit:
                more = urlencode([*kept, ("limit", limit), ("offset", offset + limit)])
            document = documents.job_list(found, self._base(request), str(params), more)
            return json_response(document)

        return await self._guard(work)

    async def job(self, request: Request) -> Response:
        async def work() -> Response:
            self._json_only(request)
            record = await self._job(request)
            return json_response(documents.status_info(record, self._base(request)))

        return await self._guard(work)

    async def results(self, request: Request) -> Response:
        async def work() -> Response:
            self._json_only(request)
            record = await self._job(request)
            found = await self.manager.store.results(record.id)
            if found is None:
                raise _no_such_job(record.id)
            if found.status in ("accepted", "running"):
                raise _typed(NotFoundError, f"job {record.id} is {found.status}: its results "
                             "are not ready", RESULT_NOT_READY)  # fmt: skip
            if found.status == "dismissed":
                raise _dismissed(record.id, found.message)
            if found.status == "failed":
                failure = json.loads(found.failure or "{}")
                status = int(failure.get("status", 500))
                return Response(found.failure, status, media_type=JSON)
            if found.delivery is None:
                return Response(found.outputs, media_type=JSON)
            outputs = json.loads(found.outputs or "{}")
            chosen = selected(outputs, delivered(found.delivery))
            return json_response(chosen)

        return await self._guard(work)

    async def dismiss(self, request: Request) -> Response:
        async def work() -> Response:
            self._json_only(request)
            record = await self._job(request)
            await self.manager.dismiss(record.id, principal_of(request))
            again = await self.manager.store.get(record.id)
            return json_response(documents.status_info(again or record, self._base(request)))

        return await self._guard(work)


def _integer(value: str | None, name: str, default: int, least: int) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise _typed(BadRequestError, f"{name} must be an integer, not {value[:30]!r}") from None
    if number < least:
        raise _typed(BadRequestError, f"{name} must be at least {least}")
    return number


def _dismissed(job_id: str, message: str) -> OgcError:
    return _typed(ConflictError, f"job {job_id} was dismissed ({message}): it has no results")


def _ended(
    outcome: Outcome, wanted: ExecuteRequest, process: Process, headers: Mapping[str, str]
) -> Response:
    """A synchronous execution's answer: the outputs, or the job's failure."""
    if outcome.status == "successful":
        if wanted.response == "document" and wanted.outputs == tuple(process.outputs):
            return Response(outcome.body, headers=dict(headers), media_type=JSON)
        outputs: dict[str, Any] = json.loads(outcome.body)
        body = json.dumps(selected(outputs, wanted), ensure_ascii=False)
        return Response(body, headers=dict(headers), media_type=JSON)
    if outcome.status == "dismissed":
        raise _dismissed(outcome.job_id, outcome.message)
    return Response(outcome.body, outcome.http_status, headers=dict(headers), media_type=JSON)


INLINE_BYTES = 65_536
"""Execute requests up to this size are read and checked on the event loop (a red line, a
few inputs: well under a millisecond); larger ones, which carry files, in the thread pool."""


def _read_and_check(body: bytes, process: Process, caller: Principal) -> ExecuteRequest:
    """The execute request parsed and validated, then the process's own checks."""
    wanted = execute_request(read_body(body), process)
    if process.check is not None:
        process.check(wanted.inputs, caller)
    return wanted
