"""Run benchmarks: ``python -m bench [NAME ...]``; without names, every module in bench/.

``python -m bench NAME --option ...``: one benchmark with its own options, for a module that
has a ``main(argv)`` (``python -m bench basemap --help``)."""

import importlib
import pkgutil
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

import bench


def available() -> list[str]:
    """Benchmark modules found in this package (private modules excluded)."""
    return sorted(
        m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_")
    )


def _table(name: str, result: dict[str, object]) -> Table:
    table = Table(title=f"bench {name}", show_header=True)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in result.items():
        if isinstance(value, float):
            text = f"{value:.3e}" if 0 < abs(value) < 0.01 else f"{value:,.3f}"
        else:
            text = str(value)
        table.add_row(key, text)
    return table


def main(argv: Sequence[str]) -> int:
    """Run the named benchmarks (all when none), print a table each; 1 if any failed."""
    console = Console()
    if len(argv) > 1 and argv[0] in available() and argv[1].startswith("-"):
        module = importlib.import_module(f"bench.{argv[0]}")
        if hasattr(module, "main"):
            code: int = module.main(list(argv[1:]))
            return code
    names = list(argv) or available()
    unknown = [n for n in names if n not in available()]
    if unknown:
        console.print(f"[red]unknown benchmark(s): {', '.join(unknown)}[/]; have {available()}")
        return 2
    failed = []
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        result: dict[str, object] = module.run()
        console.print(_table(name, result))
        if result.get("passed") is False:
            failed.append(name)
    if failed:
        console.print(f"[red]failed: {', '.join(failed)}[/]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
