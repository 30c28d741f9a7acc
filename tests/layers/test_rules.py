"""The conflict rule table: every type of docs/plans.md, classes compiled alike in SQL and
Python, and rule files that do not say what they must are refused with a reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from layers.errors import RuleError
from layers.rules import ClassTest, Rules, class_matches, class_sql, load_rules, orientations


def test_every_designed_type_is_a_rule(rules: Rules, manifest: dict[str, Any]) -> None:
    designed = manifest["plans"]["conflicts"]["types"]
    assert set(designed) <= set(rules.types)
    for key, spec in designed.items():
        rule = rules.types[key]
        assert rule.severity == spec["severity"] and rule.operation == spec["operation"]
        for a, b in spec["layers"]:
            assert a in rule.a.plan_types and b in rule.b.plan_types, key


def test_orientations_work_either_way_round(rules: Rules) -> None:
    forward = {(o.type, o.swapped) for o in orientations(rules, "urban_plan", "landuse_plan")}
    assert forward == {
        ("urbanplan_build_on_landuse_nonbuild", False),
        ("landuse_build_on_urbanplan_nonbuild", True),
        ("build_use_mismatch", True),
    }
    assert orientations(rules, "eco_redline", "dev_boundary") == []


def test_class_sql_binds_every_value(rules: Rules) -> None:
    params: dict[str, Any] = {}
    condition = class_sql(rules, "urban_construction", "GB 50137-2011", params)
    assert "建设" not in condition and "^H" not in condition
    assert sorted(map(str, params.values())) == sorted(
        map(
            str,
            [
                ["建设"],
                "^H",
                [c + "%" for c in _negated_any_of(rules, "urban_construction")[1].code_2023 or ()],
            ],
        )
    )
    assert class_sql(rules, "any", None, {}) == "true"


@pytest.mark.parametrize(
    ("category", "code", "source", "scheme", "expected"),
    [
        ("建设", "070102", "R2", "GB 50137-2011", True),
        ("建设", "0703", "H14", "GB 50137-2011", False),
        ("建设", "0703", "0702", "GB/T 21010-2017", False),
        ("建设", None, None, None, True),
        ("农用", "0101", "0101", None, False),
    ],
)
def test_urban_construction_in_python(
    rules: Rules,
    category: str,
    code: str | None,
    source: str | None,
    scheme: str | None,
    expected: bool,
) -> None:
    got = class_matches(
        rules,
        "urban_construction",
        category=category,
        code_2023=code,
        source_code=source,
        scheme=scheme,
    )
    assert got is expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "version: 1\nclasses: {}\ntypes: {t: {label: x, severity: hard,"
            " a: {plan_types: [a], class: c}, b: {plan_types: [b], class: c}}}",
            "unknown class 'c'",
        ),
        ("version: 1\nclasses: {c: {source_code: '('}}\ntypes: {}", "not a regex"),
        ("version: 1\nclasses: {c: {colour: red}}\ntypes: {}", "unknown test"),
        (
            "version: 1\nclasses: {}\ntypes: {t: {label: x, severity: fatal,"
            " a: {plan_types: [a], class: c}, b: {plan_types: [b], class: c}}}",
            "severity",
        ),
        ("[not, a, mapping", "not YAML"),
    ],
)
def test_bad_rule_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleError, match=message):
        load_rules(path)


def _negated_any_of(rules: Rules, name: str) -> tuple[ClassTest, ...]:
    negated = rules.classes[name].negated
    assert negated is not None and negated.any_of is not None
    return negated.any_of
