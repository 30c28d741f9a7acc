"""Harmonising codes: the mapping tables reach the 2023 classes, and construction land and the
use class of every code in the sample agree with the manifest's own code tables."""

from __future__ import annotations

from typing import Any

import pytest

from gis.io import read_table
from layers.classification import Schemes, normalise_code
from layers.errors import ClassificationError
from layers.settings import CONFIG

CODES_2023 = {r["code"] for r in read_table(CONFIG / "classification" / "landuse-2023.csv")}


@pytest.mark.parametrize("table", ["gbt21010-2017.csv", "gb50137-2011.csv", "sandiao-2019.csv"])
def test_every_mapping_reaches_a_2023_class(table: str) -> None:
    rows = list(read_table(CONFIG / "classification" / table))
    assert rows
    missing = {r["code"]: r["code_2023"] for r in rows if r["code_2023"] not in CODES_2023 | {""}}
    assert missing == {}


@pytest.mark.parametrize(
    ("layer", "scheme", "plan_type"),
    [
        ("landuse_plan", "GB/T 21010-2017", "landuse_plan"),
        ("urban_plan", "GB 50137-2011", "urban_plan"),
    ],
)
def test_sample_codes_agree_with_the_manifest(
    schemes: Schemes, manifest: dict[str, Any], layer: str, scheme: str, plan_type: str
) -> None:
    classifier = schemes.classifier(schemes.find(scheme), plan_type)
    table = manifest["plans"]["conflicts"]["classification"][layer]["codes"]
    for code, expected in table.items():
        found = classifier.classify(code)
        assert found is not None, code
        assert found.construction is expected["construction"], code
        assert (found.category == "建设") is expected["construction"], code
        assert (found.code_2023 or "")[:2] == expected["use_class_2023"], code


def test_unknown_codes_of_the_manifest_are_unknown(
    schemes: Schemes, manifest: dict[str, Any]
) -> None:
    classifier = schemes.classifier(schemes.find("GB/T 21010-2017"), "landuse_plan")
    for row in manifest["plans"]["layers"]["landuse_plan"]["unknown_codes"]:
        assert classifier.classify(row["code"]) is None


def test_categories_follow_the_2023_classes(schemes: Schemes) -> None:
    current = schemes.classifier(schemes.find("用地用海分类 2023"), "current_use")
    planned = schemes.classifier(schemes.find("用地用海分类"), "landuse_plan")
    assert current.classify("0101") == (("0101", "农用", False))
    assert current.classify("0602") == (("0602", "建设", True))  # docs/domain.md: + 0601/0602
    assert current.classify("1701").category == "水域"  # type: ignore[union-attr]
    assert current.classify("0505").category == "生态"  # type: ignore[union-attr]
    assert current.classify("16").construction is False  # type: ignore[union-attr]
    assert planned.classify("16").construction is True  # type: ignore[union-attr]  # 留白, planned
    sandiao = schemes.classifier(schemes.find("三调"), "current_use")
    assert sandiao.classify("0201K") == (("0201", "农用", False))
    assert sandiao.classify("1006") == (("0601", "农用", False))  # 农村道路: not construction
    gb = schemes.classifier(schemes.find("gb50137"), "urban_plan")
    assert gb.classify("E2") == ((None, "农用", False))
    assert gb.classify("r2") is None and gb.classify(normalise_code(" r2 ")) is not None


def test_layers_without_codes_take_their_plan_types_category(schemes: Schemes) -> None:
    assert schemes.classifier(None, "eco_redline").classify(None).category == "生态"  # type: ignore[union-attr]
    assert schemes.classifier(None, "basic_farmland").classify("x").category == "农用"  # type: ignore[union-attr]


def test_a_numeric_field_that_lost_its_zero_still_maps(schemes: Schemes) -> None:
    classifier = schemes.classifier(schemes.find("GB/T 21010-2017"), "landuse_plan")
    assert classifier.classify(normalise_code(101.0)) == classifier.classify("0101")


def test_unknown_scheme_and_missing_code_field_are_errors(schemes: Schemes) -> None:
    with pytest.raises(ClassificationError, match="unknown classification scheme"):
        schemes.find("GB 99999")
    classifier = schemes.classifier(schemes.find("GB 50137-2011"), "urban_plan")
    assert classifier.code_field(["BSM", "yddm"]) == "yddm"
    with pytest.raises(ClassificationError, match="--code-field"):
        classifier.code_field(["BSM", "NAME"])
    with pytest.raises(ClassificationError, match="no field 'X'"):
        classifier.code_field(["BSM"], "X")
