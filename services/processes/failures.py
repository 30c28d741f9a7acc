"""Why a job failed, as the exception document its results answer with.

The status follows the error: a bad input 400, a refusal 403, a domain error by the one
table of services/errors.py, a lost database 503, anything else 500 (logged by the worker,
never shown: the client reads a sentence). The document is the platform's error body
(``code``, ``type``, ``description``) with RFC 7807's ``title``, ``status`` and ``detail``,
as OGC API – Processes asks of its exceptions.
"""

from __future__ import annotations

from typing import Any, Final

import psycopg
from sqlalchemy.exc import DBAPIError, OperationalError

from services.errors import STATUS
from services.http.errors import CODES
from services.processes.base import ProcessForbiddenError, ProcessInputError

TYPES: Final = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"
NO_SUCH_PROCESS: Final = TYPES + "no-such-process"
NO_SUCH_JOB: Final = TYPES + "no-such-job"
RESULT_NOT_READY: Final = TYPES + "result-not-ready"

WORKER_STOPPED: Final = "the worker running it stopped"
"""The message of a job whose worker process died (killed, out of memory, server gone)."""


def document(status: int, description: str, kind: str | None = None) -> dict[str, Any]:
    """The exception body: ``kind`` is the exception type URI (else the code)."""
    code = CODES.get(status, "NoApplicableCode")
    return {"code": code, "type": kind or code, "description": description, "title": code,
            "status": status, "detail": description}  # fmt: skip


def failure_document(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """The status and exception document of a run that raised ``exc``."""
    status, description = _classify(exc)
    return status, document(status, description)


def _classify(exc: BaseException) -> tuple[int, str]:
    if isinstance(exc, ProcessInputError):
        return 400, str(exc)
    if isinstance(exc, ProcessForbiddenError):
        return 403, str(exc)
    for kind, status in STATUS:
        if isinstance(exc, kind):
            return status, str(exc)
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(orig, psycopg.errors.QueryCanceled):
        return 503, "the database stopped the job's statement (a timeout); run it again"
    if isinstance(exc, OperationalError | psycopg.OperationalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        return 503, "the database connection was lost while the job ran; run it again"
    return 500, "the process failed: internal error (logged on the server)"
