"""Which local systems exist: the YAML config, read on first use, plus added systems.

:func:`gis.crs.resolve` looks names up in a :class:`LocalRegistry`: the one passed to it, else
the one made current by :func:`using` or :func:`registered`, else the default registry, built
from ``gis/data/local_systems.yaml`` on first lookup. Nothing is read or built at import, and a
scoped registration (``with registered(system): ...``) disappears when the block ends, so a
test's made-up system never leaks into another test.
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Final

import yaml
from pydantic import TypeAdapter, ValidationError

from gis.errors import GisError
from gis.local.systems import LocalSystem
from gis.package_data import data_dir

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "LocalRegistry",
    "config_path",
    "configure",
    "current",
    "get",
    "load_systems",
    "names",
    "register",
    "registered",
    "unregister",
    "using",
]

DEFAULT_CONFIG_PATH: Final = data_dir("gis") / "local_systems.yaml"


def load_systems(path: Path) -> dict[str, LocalSystem]:
    """Read and validate a local-systems YAML file (``systems:`` list), keyed by name."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        systems = TypeAdapter(list[LocalSystem]).validate_python(data.get("systems") or [])
    except (OSError, yaml.YAMLError, ValidationError, AttributeError) as exc:
        raise GisError(f"cannot load local coordinate systems from {path}: {exc}") from exc
    out: dict[str, LocalSystem] = {}
    for system in systems:
        if system.name.casefold() in out:
            raise GisError(f"{path}: local system {system.name!r} is defined twice")
        out[system.name.casefold()] = system
    return out


class LocalRegistry:
    """Local systems by case-insensitive name: a YAML file read lazily, plus added systems.

    The default config file may be missing (no local systems); any other ``path`` must exist.
    """

    def __init__(self, path: Path | None = None, systems: Iterable[LocalSystem] = ()) -> None:
        self.path: Final = DEFAULT_CONFIG_PATH if path is None else Path(path)
        self._loaded: dict[str, LocalSystem] | None = None
        self._extra: dict[str, LocalSystem] = {s.name.casefold(): s for s in systems}

    def systems(self) -> dict[str, LocalSystem]:
        """All systems keyed by case-folded name; added ones shadow configured ones."""
        if self._loaded is None:
            explicit = self.path != DEFAULT_CONFIG_PATH
            self._loaded = load_systems(self.path) if explicit or self.path.exists() else {}
        return {**self._loaded, **self._extra}

    def get(self, name: str) -> LocalSystem | None:
        """The system called ``name`` (case-insensitive), or None."""
        return self.systems().get(name.casefold())

    def names(self) -> list[str]:
        """Names of all known systems, sorted."""
        return sorted(s.name for s in self.systems().values())

    def register(self, system: LocalSystem, *, replace: bool = False) -> None:
        """Add a system by name; an existing name is an error unless ``replace``."""
        key = system.name.casefold()
        if not replace and key in self.systems():
            raise GisError(f"local system {system.name!r} already exists")
        self._extra[key] = system

    def unregister(self, name: str) -> None:
        """Remove an added system (configured ones stay)."""
        self._extra.pop(name.casefold(), None)

    def added(self) -> list[LocalSystem]:
        """The systems added to this registry (not read from its file)."""
        return list(self._extra.values())

    def including(self, *systems: LocalSystem) -> "LocalRegistry":
        """A new registry with this one's systems plus ``systems``; this one is unchanged."""
        child = LocalRegistry(self.path, [*self.added(), *systems])
        child._loaded = self._loaded
        return child


_default: LocalRegistry | None = None
_scoped: ContextVar[LocalRegistry | None] = ContextVar("onemap_local_systems", default=None)


def current() -> LocalRegistry:
    """The registry in scope (see :func:`using`), else the default one, built on first use."""
    global _default
    scoped = _scoped.get()
    if scoped is not None:
        return scoped
    if _default is None:
        _default = LocalRegistry()
    return _default


@contextmanager
def using(registry: LocalRegistry) -> Iterator[LocalRegistry]:
    """Make ``registry`` the current one inside the ``with`` block."""
    token = _scoped.set(registry)
    try:
        yield registry
    finally:
        _scoped.reset(token)


@contextmanager
def registered(*systems: LocalSystem) -> Iterator[LocalRegistry]:
    """The current registry plus ``systems``, in scope for the ``with`` block only.

    Same-named systems are shadowed, not replaced: after the block they are back.
    """
    with using(current().including(*systems)) as registry:
        yield registry


def configure(path: Path | None) -> None:
    """Read the default registry's systems from ``path`` (None: the default config) on next use.

    Systems added to it with :func:`register` are kept.
    """
    global _default
    _default = LocalRegistry(path, [] if _default is None else _default.added())


def config_path() -> Path:
    """The YAML file the current registry reads."""
    return current().path


def register(system: LocalSystem, *, replace: bool = False) -> None:
    """Add a system to the current registry; prefer :func:`registered`, which is scoped."""
    current().register(system, replace=replace)


def unregister(name: str) -> None:
    """Remove a system added to the current registry (configured ones stay)."""
    current().unregister(name)


def get(name: str) -> LocalSystem | None:
    """The system called ``name`` (case-insensitive) in the current registry, or None."""
    return current().get(name)


def names() -> list[str]:
    """Names of all systems in the current registry."""
    return current().names()
