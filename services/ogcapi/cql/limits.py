"""Bounds on a ``filter``: its languages, nesting, exact integers, and the limits from settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from services.settings import OgcSettings

LANGUAGES: Final = ("cql2-text", "cql2-json")
MAX_NESTING: Final = 128
"""Parentheses and prefix operators open at once in cql2-text, operators inside operators in
the tree (cql2-rs refuses cql2-json nested deeper than 128 JSON levels itself)."""
EXACT_INTEGERS: Final = 2**53
"""Beyond this a float (what cql2-rs reads numbers as) no longer holds every integer."""


def _setting_default(name: str) -> int:
    default = OgcSettings.model_fields[name].default
    assert isinstance(default, int)
    return default


@dataclass(frozen=True)
class FilterLimits:
    """How large a ``filter`` may be; the defaults are ``OgcSettings``' defaults."""

    chars: int = _setting_default("max_filter_chars")
    terms: int = _setting_default("max_filter_terms")
    vertices: int = _setting_default("max_filter_vertices")

    @classmethod
    def of(cls, ogc: OgcSettings) -> FilterLimits:
        return cls(ogc.max_filter_chars, ogc.max_filter_terms, ogc.max_filter_vertices)
