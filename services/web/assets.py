"""Where the pages' templates and static files are, and whether the vendored files are intact.

Found with :mod:`importlib.resources`, so a non-editable install serves the same files. The
manifest (``static/vendor/manifest.json``) names each vendored file's npm package, version
and sha256; :func:`problems` checks the files against it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Final

from starlette.staticfiles import StaticFiles

PACKAGE: Final = "services.web"
VENDOR: Final = "vendor"
MANIFEST: Final = "manifest.json"


def _directory(name: str) -> Path:
    """A folder of this package as a real path (Jinja and StaticFiles need one)."""
    found = Path(str(files(PACKAGE) / name))
    if not found.is_dir():
        raise RuntimeError(f"{PACKAGE}/{name} is not a folder on disk: install unzipped")
    return found


def templates_dir() -> Path:
    """Our pygeoapi templates: searched before pygeoapi's own."""
    return _directory("templates")


def static_dir() -> Path:
    """Our static files, served at ``/ogc/static`` before pygeoapi's own."""
    return _directory("static")


def static_files() -> StaticFiles:
    """The app for ``/ogc/static``: our folder first (the vendored files), then pygeoapi's
    own css, js and img, which its templates and ours link to."""
    return StaticFiles(directory=static_dir(), packages=[("pygeoapi", "static")])


def vendor_dir() -> Path:
    return static_dir() / VENDOR


@dataclass(frozen=True)
class Vendored:
    """One manifest entry: ``path`` below ``static/vendor`` comes from ``package@version``."""

    path: str
    package: str
    version: str
    source: str
    sha256: str


def manifest(directory: Path | None = None) -> list[Vendored]:
    """The entries of the manifest in ``directory`` (default: the package's)."""
    root = directory or vendor_dir()
    document = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    return [Vendored(path=path, **entry) for path, entry in sorted(document["files"].items())]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def problems(directory: Path | None = None) -> list[str]:
    """What is wrong with the vendored files: missing, changed, or not in the manifest."""
    root = directory or vendor_dir()
    entries = manifest(root)
    found: list[str] = []
    for entry in entries:
        path = root / entry.path
        if not path.is_file():
            found.append(f"{entry.path}: missing")
        elif sha256(path) != entry.sha256:
            found.append(f"{entry.path}: sha256 differs from {entry.package}@{entry.version}")
    listed = {entry.path for entry in entries} | {MANIFEST}
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    found.extend(f"{path}: not in the manifest" for path in sorted(on_disk - listed))
    return found
