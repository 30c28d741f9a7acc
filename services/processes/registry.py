"""The processes the platform serves: one definition module each, listed here by name.

A definition module (services/processes/definitions/) exposes ``PROCESS``; a site adds its
own modules with ``ONEMAP_PROCESSES_EXTRA_MODULES``. The server and every worker process
build the same registry from the same settings, so a job names its process by id only.
Each port's schema is checked as a JSON schema when the registry is built: a definition
with a broken schema stops the server at start, not a client's request.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from services.processes.base import Process
from services.settings import ProcessSettings

DEFINITIONS: Final = (
    "services.processes.definitions.site_check",
    "services.processes.definitions.grid_impact",
    "services.processes.definitions.conflicts",
    "services.processes.definitions.coverage_check",
    "services.processes.definitions.grid_stats",
    "services.processes.definitions.plan_import",
)
"""The platform's own processes, in the order ``/processes`` lists them."""


class RegistryError(RuntimeError):
    """A definition module that cannot be served (missing, no ``PROCESS``, bad schema)."""


def modules(settings: ProcessSettings) -> tuple[str, ...]:
    """Every definition module to load: ours, then the site's."""
    return (*DEFINITIONS, *settings.extra_modules)


def load(names: Iterable[str]) -> Mapping[str, Process]:
    """The processes of ``names`` by id (read-only)."""
    found: dict[str, Process] = {}
    for name in names:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise RegistryError(f"process definitions {name!r} cannot be imported: {exc}") from exc
        process = getattr(module, "PROCESS", None)
        if not isinstance(process, Process):
            raise RegistryError(f"{name} has no PROCESS (a services.processes.base.Process)")
        if process.id in found:
            raise RegistryError(f"two processes are called {process.id!r} ({name})")
        _check_schemas(process)
        found[process.id] = process
    return MappingProxyType(found)


def processes(settings: ProcessSettings) -> Mapping[str, Process]:
    """The registry the server and its workers serve."""
    return load(modules(settings))


def _check_schemas(process: Process) -> None:
    for kind, ports in (("input", process.inputs), ("output", process.outputs)):
        for name, port in ports.items():
            try:
                Draft202012Validator.check_schema(port.schema)
            except SchemaError as exc:
                raise RegistryError(
                    f"{process.id}: the schema of {kind} {name!r} is not a JSON schema: "
                    f"{exc.message}"
                ) from None
