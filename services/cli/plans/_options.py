"""Options and settings the ``onemap plans`` commands share."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from layers.settings import PlanSettings

__all__ = ["RULES", "USER", "plan_settings", "user_name"]

USER = typer.Option(None, "--user", help="Who is working (default: the OS user).")
RULES = typer.Option(None, "--rules", help="Rule file (default: layers/data/conflict_rules.yaml).")


def user_name(user: str | None) -> str:
    """The ``--user`` given, else ``cli:<OS user>``."""
    return user or f"cli:{getpass.getuser()}"


def plan_settings(rules: Path | None = None) -> PlanSettings:
    """The plan settings, with the ``--rules`` file when one is given."""
    from layers.settings import PlanSettings

    config = PlanSettings()
    return config.model_copy(update={"rules_file": rules}) if rules is not None else config
