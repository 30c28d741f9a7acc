"""Fixtures of the multi-plan tests: the sample city's plan layers imported once per session
(committed, as ``onemap samples load`` leaves them), the manifest, rules and settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from layers.classification import Schemes, load_schemes
from layers.importer import ImportReport
from layers.loader import load_plans
from layers.rules import Rules, load_rules
from layers.settings import PlanSettings
from tests.conftest import SAMPLE


@pytest.fixture(scope="session")
def manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def plan_settings() -> PlanSettings:
    return PlanSettings()


@pytest.fixture(scope="session")
def rules(plan_settings: PlanSettings) -> Rules:
    return load_rules(plan_settings.rules_file)


@pytest.fixture(scope="session")
def schemes(plan_settings: PlanSettings) -> Schemes:
    return load_schemes(plan_settings.schemes_file)


@pytest.fixture(scope="session")
def plans(engine: Engine, plan_settings: PlanSettings) -> dict[str, ImportReport]:
    """The sample's plan layers, imported through the pipeline (by layer id)."""
    return {r.layer_id: r for r in load_plans(engine, SAMPLE, settings=plan_settings)}
