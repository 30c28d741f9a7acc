"""Harmonising source land-use codes: each scheme's code → a 2023 用地用海分类 class and a
coarse category (建设/农用/生态/水域/其他) that conflict rules test.

The mapping tables are data in ``layers/data/classification`` (GB/T 21010-2017, GB 50137-2011,
三调工作分类 → 2023; the 2023 table maps to itself), described by ``schemes.yaml``. What is
construction land comes from the table's ``construction`` column where it has one, else
from the 2023 class (07–15, 0601/0602; 16 留白 only in planned layers, docs/domain.md).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, NamedTuple

import yaml

from gis.io import read_table
from layers.errors import ClassificationError
from layers.models import CATEGORIES

__all__ = [
    "Classifier",
    "CodeClass",
    "Scheme",
    "Schemes",
    "load_schemes",
    "normalise_code",
]

CONSTRUCTION: Final = "建设"


class Scheme(NamedTuple):
    """A classification scheme: its name, how it is also spelled, its table, code fields."""

    id: str
    name: str
    title: str
    aliases: tuple[str, ...]
    table: str
    code_fields: tuple[str, ...]


class CodeClass(NamedTuple):
    """What a source code means in the common language: 2023 class, category, construction."""

    code_2023: str | None
    category: str
    construction: bool


def normalise_code(value: object) -> str | None:
    """A source code as text: stripped, letters upper-case, ``101.0`` → ``101``; None if blank.

    >>> normalise_code(" r2 "), normalise_code(101.0), normalise_code(""), normalise_code(None)
    ('R2', '101', None, None)
    """
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip().upper()
    return text or None


def _key(name: str) -> str:
    return "".join(name.split()).casefold()


@dataclass(frozen=True)
class Schemes:
    """The scheme registry and the category rules, as read from ``schemes.yaml``."""

    directory: Path
    schemes: tuple[Scheme, ...]
    construction_2023: tuple[str, ...]
    planned_construction_2023: tuple[str, ...]
    planned_types: frozenset[str]
    categories_2023: Mapping[str, str]
    overrides: Mapping[str, Mapping[str, str]]
    plan_type_categories: Mapping[str, str]
    default_category: str
    _by_alias: dict[str, Scheme] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for s in self.schemes:
            for alias in (s.id, s.name, *s.aliases):
                self._by_alias[_key(alias)] = s

    def find(self, name: str) -> Scheme:
        """The scheme spelled ``name`` (its id, name or an alias; case and spaces ignored)."""
        found = self._by_alias.get(_key(name))
        if found is None:
            known = ", ".join(s.name for s in self.schemes)
            raise ClassificationError(f"unknown classification scheme {name!r}: use one of {known}")
        return found

    def construction(self, code_2023: str | None, plan_type: str) -> bool:
        """Whether a 2023 class is construction land in a layer of ``plan_type``."""
        if code_2023 is None:
            return False
        return code_2023.startswith(self.construction_2023) or (
            plan_type in self.planned_types and code_2023.startswith(self.planned_construction_2023)
        )

    def open_category(self, code_2023: str | None) -> str:
        """Category of a 2023 class as non-construction land (longest prefix wins)."""
        if code_2023 is not None:
            for n in range(len(code_2023), 0, -1):
                found = self.categories_2023.get(code_2023[:n])
                if found is not None:
                    return found
        return self.default_category

    def classifier(self, scheme: Scheme | None, plan_type: str) -> Classifier:
        """The code → class function of ``scheme`` for a layer of ``plan_type``."""
        if scheme is None:
            category = self.plan_type_categories.get(plan_type, self.default_category)
            return Classifier(
                None, plan_type, {}, CodeClass(None, category, category == CONSTRUCTION)
            )
        return Classifier(scheme, plan_type, self._table(scheme, plan_type), None)

    def _table(self, scheme: Scheme, plan_type: str) -> dict[str, CodeClass]:
        overrides = self.overrides.get(scheme.id, {})
        table: dict[str, CodeClass] = {}
        for row in read_table(self.directory / scheme.table):
            code = row["code"]
            code_2023 = row.get("code_2023", code) or None
            flag = row.get("construction", "")
            # the source scheme's flag where it has one, else the 2023 class decides
            build = flag == "1" if flag in ("0", "1") else self.construction(code_2023, plan_type)
            category = CONSTRUCTION if build else overrides.get(code, self.open_category(code_2023))
            if category not in CATEGORIES:
                raise ClassificationError(f"{scheme.table}: {code}: unknown category {category!r}")
            table[code] = CodeClass(code_2023, category, build)
        return table


@dataclass(frozen=True)
class Classifier:
    """Maps the codes of one layer; ``fixed`` is the class of every feature of a layer
    without codes (control lines), by its plan type."""

    scheme: Scheme | None
    plan_type: str
    table: Mapping[str, CodeClass]
    fixed: CodeClass | None

    def classify(self, code: str | None) -> CodeClass | None:
        """The class of ``code``, or None when the scheme does not know it."""
        if self.fixed is not None:
            return self.fixed
        if code is None:
            return None
        found = self.table.get(code)
        if found is None and code.isdigit() and len(code) % 2:
            found = self.table.get("0" + code)  # a numeric field lost the leading zero
        return found

    def code_field(self, fields: Iterable[str], given: str | None = None) -> str | None:
        """The field holding codes: ``given`` if it exists, else the scheme's usual names."""
        names = list(fields)
        if given is not None:
            if given not in names:
                raise ClassificationError(
                    f"no field {given!r} in the file; it has {', '.join(names) or 'no fields'}"
                )
            return given
        if self.scheme is None:
            return None
        folded = {n.upper(): n for n in names}
        for candidate in self.scheme.code_fields:
            if candidate.upper() in folded:
                return folded[candidate.upper()]
        raise ClassificationError(
            f"none of the usual {self.scheme.name} code fields "
            f"({', '.join(self.scheme.code_fields)}) is in the file ({', '.join(names)}); "
            "name it with --code-field"
        )


@functools.cache
def load_schemes(path: Path) -> Schemes:
    """Read ``schemes.yaml`` (the tables it names are read when a classifier is made)."""
    try:
        data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ClassificationError(f"{path}: cannot be read ({exc})") from None
    try:
        schemes = tuple(
            Scheme(
                s["id"],
                s["name"],
                s.get("title", s["name"]),
                tuple(str(a) for a in s.get("aliases", ())),
                s["table"],
                tuple(s.get("code_fields", ())),
            )
            for s in data["schemes"]
        )
        return Schemes(
            directory=path.parent,
            schemes=schemes,
            construction_2023=tuple(str(c) for c in data["construction_2023"]),
            planned_construction_2023=tuple(str(c) for c in data["planned_construction_2023"]),
            planned_types=frozenset(data["planned_types"]),
            categories_2023={str(k): v for k, v in data["categories_2023"].items()},
            overrides={k: dict(v) for k, v in data.get("category_overrides", {}).items()},
            plan_type_categories=dict(data.get("plan_type_categories", {})),
            default_category=data.get("default_category", "其他"),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ClassificationError(f"{path}: missing or malformed entry {exc}") from None
