"""The lost-update check of ``bench edits``: accepted writes against the audit and the rows.

Every write the bench makes carries a token of its own (in the building's ``name``, beside
the new ``floors``), so its audit row is found by the token, not by the version an answer
names. A write is *accepted* when the server said so (HTTP 200, or ``UPDATE … RETURNING``
gave a row). The check holds the writes of one phase against the ``audit.changes`` rows the
phase added and the rows as they are afterwards:

* every accepted write has exactly one audit row, with the value it wrote (``lost``,
  ``duplicated``, ``wrong_value``);
* that row's before image is the version the write read (``not_on_its_base``): a write that
  landed on a version it did not see has overwritten one it never saw, a lost update;
* per building, no version is audited twice and the versions follow on from the one
  before the phase without a gap (``version_reused``, ``version_gap``);
* no audit row of the phase without an accepted write (``unacknowledged``: applied, though
  the writer was told no or never heard back) and none on other rows (``stray``);
* each building ends as its last accepted write (highest version) left it (``final``);
* the version each answer named is the audited one (``answered_earlier`` is a failure;
  ``answered_later``, an answer that shows a later write made by someone else, is reported,
  not failed: the write itself is intact).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final


@dataclass(frozen=True)
class Write:
    """One accepted write as its client saw it."""

    building: int
    token: str
    floors: int
    base: int
    """The version the write was based on (``If-Match``, ``WHERE version = $n``)."""
    answered: int
    """The version the answer named (the PATCH answer's feature, ``RETURNING version``)."""


@dataclass(frozen=True)
class Audited:
    """One ``audit.changes`` row of the phase."""

    table: str
    row_id: str
    operation: str
    version: int | None
    token: str | None
    floors: int | None
    before_version: int | None


@dataclass(frozen=True)
class EndState:
    """A building as the phase left it."""

    floors: int
    name: str | None
    version: int


FAILURES: Final = (
    "lost",
    "duplicated",
    "wrong_value",
    "not_on_its_base",
    "version_reused",
    "version_gap",
    "unacknowledged",
    "stray",
    "final",
    "answered_earlier",
)
"""Findings that fail the benchmark; ``answered_later`` is reported only."""
EXAMPLES: Final = 5


@dataclass
class Findings:
    """Counts and a few examples of each problem found."""

    accepted: int = 0
    audited: int = 0
    problems: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, kind: str, example: str) -> None:
        self.problems[kind].append(example)

    def count(self, kind: str) -> int:
        return len(self.problems.get(kind, []))

    @property
    def passed(self) -> bool:
        return all(self.count(k) == 0 for k in FAILURES)

    def summary(self) -> dict[str, object]:
        """Counts of every kind (zeros included) and the first examples of each found."""
        kinds = (*FAILURES, "answered_later")
        return {
            "accepted": self.accepted,
            "audited": self.audited,
            **{k: self.count(k) for k in kinds},
            "examples": {k: v[:EXAMPLES] for k, v in self.problems.items() if v},
            "passed": self.passed,
        }


def check(
    writes: Iterable[Write],
    audit: Iterable[Audited],
    final: Mapping[int, EndState],
    start: Mapping[int, int],
    table: str = "grid.buildings",
) -> Findings:
    """Hold one phase's accepted ``writes`` against its ``audit`` rows and ``final`` rows;
    ``start``: each building's version before the phase."""
    writes = list(writes)
    found = Findings(accepted=len(writes))
    ours: list[Audited] = []
    for row in audit:
        if row.table != table or row.operation != "UPDATE" or row.version is None:
            found.add("stray", f"{row.operation} {row.table} {row.row_id} v{row.version}")
        else:
            ours.append(row)
    found.audited = len(ours)
    by_token: dict[str, list[Audited]] = defaultdict(list)
    for row in ours:
        by_token[row.token or ""].append(row)
    tokens = {w.token for w in writes}
    version_of: dict[str, int] = {}
    for w in writes:
        rows = by_token.get(w.token, [])
        if not rows:
            found.add(
                "lost",
                f"building {w.building}: {w.token} (floors {w.floors}, "
                f"based on v{w.base}, answered v{w.answered}) has no audit row",
            )
            continue
        if len(rows) > 1:
            found.add("duplicated", f"{w.token}: {len(rows)} audit rows")
        row = rows[0]
        version_of[w.token] = int(row.version or 0)
        if row.row_id != str(w.building) or row.floors != w.floors:
            found.add(
                "wrong_value",
                f"{w.token}: audit has building {row.row_id} floors "
                f"{row.floors}, wrote building {w.building} floors {w.floors}",
            )
        if row.before_version != w.base:
            found.add(
                "not_on_its_base", f"{w.token}: applied on v{row.before_version}, read v{w.base}"
            )
        if w.answered < version_of[w.token]:
            found.add(
                "answered_earlier",
                f"{w.token}: answered v{w.answered}, audited v{version_of[w.token]}",
            )
        elif w.answered > version_of[w.token]:
            found.add(
                "answered_later",
                f"{w.token}: answered v{w.answered}, audited v{version_of[w.token]}",
            )
    for row in ours:
        if (row.token or "") not in tokens:
            found.add(
                "unacknowledged",
                f"building {row.row_id} v{row.version}: {row.token!r} was not accepted",
            )
    versions: dict[str, list[int]] = defaultdict(list)
    for row in ours:
        versions[row.row_id].append(int(row.version or 0))
    for building, seen in sorted(versions.items()):
        counts = Counter(seen)
        for version, n in sorted(counts.items()):
            if n > 1:
                found.add("version_reused", f"building {building} v{version}: {n} audit rows")
        first = start.get(int(building), 0) + 1
        missing = sorted(set(range(first, max(counts) + 1)) - set(counts))
        if missing or min(counts) < first:
            found.add(
                "version_gap",
                f"building {building}: versions {min(counts)}–"
                f"{max(counts)} after v{first - 1}, missing {missing[:5]}",
            )
    _final(writes, version_of, final, found)
    return found


def _final(
    writes: list[Write],
    version_of: Mapping[str, int],
    final: Mapping[int, EndState],
    found: Findings,
) -> None:
    last: dict[int, tuple[int, Write]] = {}
    for w in writes:
        version = version_of.get(w.token)
        if version is not None and (w.building not in last or version > last[w.building][0]):
            last[w.building] = (version, w)
    for building, (version, w) in sorted(last.items()):
        row = final.get(building)
        if row is None:
            found.add("final", f"building {building} is gone")
        elif (row.floors, row.name, row.version) != (w.floors, w.token, version):
            found.add(
                "final",
                f"building {building} is v{row.version} floors {row.floors} "
                f"{row.name!r}; last accepted: v{version} floors {w.floors} "
                f"{w.token!r}",
            )
