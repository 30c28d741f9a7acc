"""What commands share for output: a rich progress bar on stderr, ``--json`` on stdout.

Progress goes to stderr so that stdout carries only the result, a table or JSON that
scripts can read.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

from services.cli._common import console

if TYPE_CHECKING:
    from rich.progress import Progress

__all__ = ["JSON", "emit_json", "progress_bar"]

JSON = typer.Option(False, "--json", help="Print JSON on stdout instead of tables.")


def emit_json(value: Any) -> None:
    """Print ``value`` as indented JSON on stdout (dates and other values as text)."""
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def progress_bar() -> Progress:
    """A progress bar on stderr: spinner, description, bar, n of total, elapsed time."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
