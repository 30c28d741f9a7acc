"""The layering the code relies on, checked on the source: who may import whom, what the
domain packages may not do (build settings, pull rich), and how long a module may grow."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED: dict[str, set[str]] = {
    "gis": {"gis"},
    "grid": {"gis", "grid"},
    "layers": {"gis", "grid", "layers"},
    "services": {"gis", "grid", "layers", "services"},
    "samples": {"gis", "grid", "layers", "samples"},
}
"""The packages each package may import at module level (ours only; ``bench`` and the tests
sit above them all)."""
DOMAIN = ("gis", "grid", "layers")
MAX_LINES = 420
"""About 400: a module of one job reads in one sitting."""
FROZEN = "services/migrations"
"""Alembic scripts carry the SQL they ran, however long, and import nothing of ours."""
LONG_NOTE = "Why this module is long:"


def modules(*packages: str) -> Iterator[Path]:
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            if not path.relative_to(ROOT).as_posix().startswith(FROZEN):
                yield path


def _ours(name: str) -> str | None:
    top = name.split(".")[0]
    return top if top in {*ALLOWED, "bench", "tests"} else None


def imports(path: Path, *, top_level_only: bool) -> Iterator[tuple[int, str]]:
    """``(line, module)`` of every import (only module-level ones if asked)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
        elif top_level_only and isinstance(node, ast.If):  # TYPE_CHECKING blocks
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and inner.module and inner.level == 0:
                    yield inner.lineno, inner.module


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_packages_import_only_what_sits_below(package: str) -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in modules(package)
        for line, name in imports(path, top_level_only=True)
        if (top := _ours(name)) is not None and top not in ALLOWED[package]
    ]
    assert not wrong, "\n".join(wrong)


def test_the_domain_never_reaches_up_even_lazily() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for package in DOMAIN
        for path in modules(package)
        for line, name in imports(path, top_level_only=False)
        if (top := _ours(name)) is not None and top not in ALLOWED[package]
    ]
    assert not wrong, "\n".join(wrong)


def test_the_domain_does_not_pull_rich() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in modules(*DOMAIN)
        for line, name in imports(path, top_level_only=False)
        if name.split(".")[0] == "rich"
    ]
    assert not wrong, "\n".join(wrong)


def test_the_domain_never_builds_settings_itself() -> None:
    """Settings are built once at the edge (CLI, app, tests) and passed down: a call such as
    ``GridSettings()`` inside gis, grid or layers would read the environment behind the
    caller's back."""
    wrong = []
    for path in modules(*DOMAIN):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id.endswith("Settings")
            ):
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.func.id}()")
    assert not wrong, "\n".join(wrong)


def test_modules_stay_small_or_say_why() -> None:
    long = []
    for path in modules(*ALLOWED):
        source = path.read_text(encoding="utf-8")
        lines = source.count("\n")
        docstring = ast.get_docstring(ast.parse(source)) or ""
        if lines > MAX_LINES and LONG_NOTE not in docstring:
            long.append(f"{path.relative_to(ROOT)}: {lines} lines")
    assert not long, f"over {MAX_LINES} lines with no '{LONG_NOTE}' note:\n" + "\n".join(long)


def test_importing_the_app_builds_nothing() -> None:
    """No CRS objects, settings or SQL are made when the service's modules are imported."""
    probe = (
        "import services.app, services.cli, services.ogcapi.crs as crs, gis.sql_files as f\n"
        "assert crs.served.cache_info().currsize == 0, 'served CRSs built at import'\n"
        "assert f.statements.cache_info().currsize == 0, 'SQL read at import'\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
