"""The JSON documents of OGC API – Processes – Part 1 (1.0): the process list, a process's
description, a job's status and the job list, written from the registry and the rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Final

from services.processes.base import Port, Process
from services.processes.store import JobRecord

REL: Final = "http://www.opengis.net/def/rel/ogc/1.0"
JSON: Final = "application/json"
JOB_CONTROL: Final = ("sync-execute", "async-execute", "dismiss")
TRANSMISSION: Final = ("value",)
FINISHED: Final = frozenset({"successful", "failed"})


def _link(href: str, rel: str, title: str, kind: str = JSON) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": kind, "title": title}


def summary(process: Process, base_url: str) -> dict[str, Any]:
    """A process as the list shows it (processSummary)."""
    url = f"{base_url}/processes/{process.id}"
    return {
        "id": process.id,
        "title": process.title,
        "description": process.description,
        "version": process.version,
        "keywords": list(process.keywords),
        "jobControlOptions": list(JOB_CONTROL),
        "outputTransmission": list(TRANSMISSION),
        "links": [
            _link(url, "self", "process description"),
            _link(f"{url}/execution", f"{REL}/execute", "execute the process"),
        ],
    }


def _port(port: Port, *, occurs: bool) -> dict[str, Any]:
    found: dict[str, Any] = {"title": port.title, "description": port.description,
                             "schema": port.schema}  # fmt: skip
    if port.keywords:
        found["keywords"] = list(port.keywords)
    if occurs:
        found["minOccurs"] = port.min_occurs
        found["maxOccurs"] = port.max_occurs
    return found


def description(process: Process, base_url: str) -> dict[str, Any]:
    """The full description: every input and output with its JSON schema, and an example
    execute request that works on the sample city."""
    found = summary(process, base_url)
    found["inputs"] = {k: _port(p, occurs=True) for k, p in process.inputs.items()}
    found["outputs"] = {k: _port(p, occurs=False) for k, p in process.outputs.items()}
    found["example"] = process.example
    found["links"].append(_link(f"{base_url}/processes", "up", "the processes"))
    return found


def process_list(found: Iterable[Process], base_url: str) -> dict[str, Any]:
    return {
        "processes": [summary(p, base_url) for p in found],
        "links": [_link(f"{base_url}/processes", "self", "the processes")],
    }


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def status_info(job: JobRecord, base_url: str) -> dict[str, Any]:
    """A job's statusInfo, with links to itself, its results once it ended, its process."""
    url = f"{base_url}/jobs/{job.id}"
    links = [_link(url, "self", "this job's status"),
             _link(f"{base_url}/jobs", "up", "the jobs")]  # fmt: skip
    if job.status in FINISHED:
        links.append(_link(f"{url}/results", f"{REL}/results", "the job's results"))
    links.append(_link(f"{base_url}/processes/{job.process_id}", "process", "its process"))
    return {
        "jobID": job.id,
        "processID": job.process_id,
        "type": "process",
        "status": job.status,
        "message": job.message,
        "progress": job.progress,
        "created": _iso(job.created),
        "started": _iso(job.started),
        "finished": _iso(job.finished),
        "updated": _iso(job.updated),
        "links": links,
    }


def job_list(
    jobs: list[JobRecord], base_url: str, query: str, next_query: str | None
) -> dict[str, Any]:
    """A page of jobs, newest first, with a next link while a full page came back."""
    url = f"{base_url}/jobs"
    links = [_link(f"{url}?{query}" if query else url, "self", "these jobs")]
    if next_query is not None:
        links.append(_link(f"{url}?{next_query}", "next", "the next jobs"))
    return {"jobs": [status_info(j, base_url) for j in jobs], "links": links}
