"""The conflict rule table (``layers/data/conflict_rules.yaml``): classes and conflict types.

A class is a test on a feature's harmonised attributes (category, 2023 code prefixes, the
source code, the layer's scheme); a conflict type pairs a class of layer A with a class of
layer B, for layers of given plan types, with an operation (intersection or difference) and
a severity. :func:`class_sql` compiles a class for one layer into a SQL condition on
``plans.features`` (alias ``f``) with bound values: the layer-level tests (scheme) are
decided in Python, so the SQL only tests columns.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from layers.errors import RuleError

__all__ = [
    "ClassTest",
    "Orientation",
    "Rules",
    "SiteRule",
    "TypeRule",
    "class_matches",
    "class_sql",
    "load_rules",
    "orientations",
]

_TESTS = frozenset(
    {"category", "code_2023", "source_code", "scheme", "not", "any_of", "description"}
)


@dataclass(frozen=True)
class ClassTest:
    """A feature class as the rule file writes it: every test given must hold.

    ``category``, ``code_2023`` (prefixes) and ``scheme`` are lists of accepted values,
    ``source_code`` a regular expression; ``negated`` must not hold, one of ``any_of`` must.
    Read from the file's mapping by :meth:`parse` (after :func:`_check_test` accepted it).
    """

    category: tuple[Any, ...] | None = None
    code_2023: tuple[Any, ...] | None = None
    source_code: str | None = None
    scheme: tuple[Any, ...] | None = None
    negated: ClassTest | None = None
    any_of: tuple[ClassTest, ...] | None = None
    description: str | None = None

    @classmethod
    def parse(cls, test: Mapping[str, Any]) -> ClassTest:
        def values(key: str) -> tuple[Any, ...] | None:
            return tuple(test[key]) if key in test else None

        return cls(
            category=values("category"),
            code_2023=values("code_2023"),
            source_code=str(test["source_code"]) if "source_code" in test else None,
            scheme=values("scheme"),
            negated=cls.parse(test["not"]) if "not" in test else None,
            any_of=tuple(cls.parse(t) for t in test["any_of"]) if "any_of" in test else None,
            description=test.get("description"),
        )

    def as_dict(self) -> dict[str, Any]:
        """The mapping the rule file holds (what a conflict run stores)."""
        found: dict[str, Any] = {}
        for key in ("category", "code_2023", "source_code", "scheme"):
            value = getattr(self, key)
            if value is not None:
                found[key] = list(value) if isinstance(value, tuple) else value
        if self.negated is not None:
            found["not"] = self.negated.as_dict()
        if self.any_of is not None:
            found["any_of"] = [t.as_dict() for t in self.any_of]
        if self.description is not None:
            found["description"] = self.description
        return found


class Side(BaseModel):
    """One side of a conflict type: the plan types it applies to and the feature class."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    plan_types: list[str]
    class_: str = Field(alias="class")


class TypeRule(BaseModel):
    """A conflict type: class in A × class in B → this type, with its severity."""

    model_config = ConfigDict(extra="forbid")

    label: str
    severity: Literal["hard", "major", "minor"]
    operation: Literal["intersection", "difference"] = "intersection"
    a: Side
    b: Side
    pair: Literal["different_use"] | None = None
    sliver_class: str = "construction"


class SiteRule(BaseModel):
    """A site-compliance check against layers of some plan types."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    label: str
    plan_types: list[str]
    check: Literal["overlap", "outside", "planned_use"]
    verdict: Literal["warn", "fail"]
    class_: str = Field(default="any", alias="class")
    when_use: str | None = None


class _RuleFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int
    classes: dict[str, dict[str, Any]]
    types: dict[str, TypeRule]
    site_checks: dict[str, SiteRule] = Field(default_factory=dict)


@dataclass(frozen=True)
class Rules:
    """A loaded rule file: where it came from (path, SHA-256), its classes and types."""

    path: Path
    sha256: str
    classes: Mapping[str, ClassTest]
    types: Mapping[str, TypeRule]
    site_checks: Mapping[str, SiteRule]

    def describe(self) -> dict[str, Any]:
        """The rules as stored with a run: every type and the classes they use."""
        return {
            "types": {k: t.model_dump(by_alias=True) for k, t in self.types.items()},
            "classes": {k: v.as_dict() for k, v in self.classes.items()},
        }


class Orientation(NamedTuple):
    """A type applied to a (first, second) layer pair; ``swapped``: A is the second layer."""

    type: str
    rule: TypeRule
    swapped: bool


def load_rules(path: Path) -> Rules:
    """Read and check a rule file: every class a type names must exist and be well-formed."""
    try:
        raw = path.read_bytes()
        data = yaml.safe_load(raw.decode("utf-8"))
        parsed = _RuleFile.model_validate(data)
    except OSError as exc:
        raise RuleError(f"{path}: cannot be read ({exc.strerror})") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise RuleError(f"{path}: not YAML ({exc})") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RuleError(f"{path}: {where}: {first['msg']}") from None
    for name, test in parsed.classes.items():
        _check_test(path, name, test)
    for name, rule in parsed.types.items():
        for side in (rule.a, rule.b):
            if side.class_ not in parsed.classes:
                raise RuleError(f"{path}: type {name}: unknown class {side.class_!r}")
    for name, check in parsed.site_checks.items():
        for used in (check.class_, check.when_use):
            if used is not None and used not in parsed.classes:
                raise RuleError(f"{path}: site check {name}: unknown class {used!r}")
    classes = {name: ClassTest.parse(test) for name, test in parsed.classes.items()}
    return Rules(path, hashlib.sha256(raw).hexdigest(), classes, parsed.types, parsed.site_checks)


def _check_test(path: Path, name: str, test: Any) -> None:
    if not isinstance(test, dict):
        raise RuleError(f"{path}: class {name}: a test is a mapping, not {test!r}")
    unknown = set(test) - _TESTS
    if unknown:
        raise RuleError(f"{path}: class {name}: unknown test(s) {sorted(unknown)}")
    for key in ("category", "code_2023", "scheme"):
        if key in test and not isinstance(test[key], list):
            raise RuleError(f"{path}: class {name}: {key} must be a list")
    if "source_code" in test:
        try:
            re.compile(test["source_code"])
        except (re.error, TypeError) as exc:
            raise RuleError(f"{path}: class {name}: source_code is not a regex ({exc})") from None
    if "not" in test:
        _check_test(path, name, test["not"])
    for alternative in test.get("any_of", []):
        _check_test(path, name, alternative)


def orientations(rules: Rules, first_type: str, second_type: str) -> list[Orientation]:
    """The types that apply to layers of these plan types, in the order of the rule file."""
    found = []
    for name, rule in rules.types.items():
        if first_type in rule.a.plan_types and second_type in rule.b.plan_types:
            found.append(Orientation(name, rule, False))
        if second_type in rule.a.plan_types and first_type in rule.b.plan_types:
            found.append(Orientation(name, rule, True))
    return found


def class_sql(
    rules: Rules, name: str, scheme: str | None, params: dict[str, Any], prefix: str = "c"
) -> str:
    """SQL condition for class ``name`` on ``plans.features f`` of a layer in ``scheme``.

    Values go into ``params`` (bound, never spliced); every leaf is two-valued (NULL → false)
    so ``not`` means what it says.
    """
    counter = itertools.count(len(params))

    def bind(value: Any) -> str:
        key = f"{prefix}{next(counter)}"
        params[key] = value
        return f":{key}"

    def compile_(test: ClassTest) -> str:
        parts: list[str] = []
        if test.scheme is not None:
            parts.append("true" if scheme in test.scheme else "false")
        if test.category is not None:
            parts.append(
                f"coalesce(f.category = ANY(CAST({bind(list(test.category))} AS text[])), false)"
            )
        if test.code_2023 is not None:
            likes = [re.sub(r"([%_\\])", r"\\\1", str(c)) + "%" for c in test.code_2023]
            parts.append(f"coalesce(f.code_2023 LIKE ANY(CAST({bind(likes)} AS text[])), false)")
        if test.source_code is not None:
            parts.append(f"coalesce(f.source_code ~ {bind(test.source_code)}, false)")
        if test.negated is not None:
            parts.append(f"NOT ({compile_(test.negated)})")
        if test.any_of is not None:
            alternatives = [compile_(t) for t in test.any_of]
            parts.append("(" + (" OR ".join(alternatives) or "false") + ")")
        return "(" + " AND ".join(parts) + ")" if parts else "true"

    return compile_(rules.classes[name])


def class_matches(
    rules: Rules,
    name: str,
    *,
    category: str | None,
    code_2023: str | None,
    source_code: str | None = None,
    scheme: str | None = None,
) -> bool:
    """Whether a feature (or a project's use) with these attributes is in class ``name``:
    the same tests as :func:`class_sql`, in Python."""

    def holds(test: ClassTest) -> bool:
        if test.scheme is not None and scheme not in test.scheme:
            return False
        if test.category is not None and category not in test.category:
            return False
        if test.code_2023 is not None and not (
            code_2023 is not None and code_2023.startswith(tuple(str(c) for c in test.code_2023))
        ):
            return False
        if test.source_code is not None and not (
            source_code is not None and re.search(test.source_code, source_code)
        ):
            return False
        if test.negated is not None and holds(test.negated):
            return False
        return not (test.any_of is not None and not any(holds(t) for t in test.any_of))

    return holds(rules.classes[name])
