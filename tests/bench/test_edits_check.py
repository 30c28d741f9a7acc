"""bench/_edits_check.py catches lost updates: fabricated writes against fabricated audits."""

from bench._edits_check import Audited, EndState, Write, check

START = {7: 3, 8: 10}
"""Versions of the two buildings before the phase."""


def _audit(building: int, version: int, token: str, floors: int) -> Audited:
    return Audited("grid.buildings", str(building), "UPDATE", version, token, floors, version - 1)


def _clean() -> tuple[list[Write], list[Audited], dict[int, EndState]]:
    writes = [
        Write(7, "a-1", 5, 3, 4),
        Write(7, "b-1", 6, 4, 5),
        Write(8, "a-2", 9, 10, 11),
    ]
    audit = [_audit(7, 4, "a-1", 5), _audit(7, 5, "b-1", 6), _audit(8, 11, "a-2", 9)]
    final = {7: EndState(6, "b-1", 5), 8: EndState(9, "a-2", 11)}
    return writes, audit, final


def test_a_clean_phase_passes() -> None:
    found = check(*_clean(), START)
    assert found.passed, found.summary()
    assert (found.accepted, found.audited) == (3, 3)


def test_an_accepted_write_without_its_audit_row_is_a_lost_update() -> None:
    writes, audit, final = _clean()
    audit = [a for a in audit if a.token != "a-2"]
    found = check(writes, audit, final, START)
    assert not found.passed
    assert found.count("lost") == 1
    assert "a-2" in found.summary()["examples"]["lost"][0]  # type: ignore[index]


def test_a_write_applied_over_a_version_it_never_read_is_caught() -> None:
    """Both writers read v3 and both were told yes: the second overwrote the first."""
    writes, audit, final = _clean()
    writes[1] = Write(7, "b-1", 6, 3, 5)
    found = check(writes, audit, final, START)
    assert found.count("not_on_its_base") == 1 and not found.passed


def test_a_row_left_other_than_its_last_accepted_write_is_caught() -> None:
    writes, audit, _ = _clean()
    final = {7: EndState(5, "a-1", 5), 8: EndState(9, "a-2", 11)}
    found = check(writes, audit, final, START)
    assert found.count("final") == 1 and not found.passed


def test_reused_versions_gaps_and_writes_nobody_was_told_of_are_caught() -> None:
    writes, audit, final = _clean()
    audit.append(_audit(7, 5, "c-1", 8))  # a refused writer's change applied anyway
    audit.append(_audit(8, 13, "d-1", 2))  # v12 never audited
    found = check(writes, audit, final, START)
    assert found.count("version_reused") == 1
    assert found.count("unacknowledged") == 2
    assert found.count("version_gap") == 1
    assert not found.passed


def test_an_answer_showing_a_later_write_is_reported_not_failed() -> None:
    writes, audit, final = _clean()
    writes[0] = Write(7, "a-1", 5, 3, 5)  # the read-back after commit saw b-1's version
    found = check(writes, audit, final, START)
    assert found.passed
    assert found.count("answered_later") == 1
