"""bench/ogc.py compares like with like: same answers, and no ratio against a failed peer."""

from typing import Any

from bench import _ogc_compare as compare


def _answer(ids: list[int], matched: int | None = 500, status: int = 200) -> dict[str, Any]:
    return {"status": status, "ids": [str(i) for i in ids], "matched": matched}


def _figures(rps: float, requests: int = 100, errors: int = 0, **extra: Any) -> dict[str, Any]:
    return {"status": 200, "rps": rps, "p50_ms": 10.0, "p99_ms": 20.0, "errors": errors,
            "requests": requests, "answer": None, **extra}  # fmt: skip


def test_difference_names_the_first_one() -> None:
    ours = _answer([1, 2, 3])
    assert compare.difference(ours, _answer([1, 2, 3])) is None
    assert compare.difference(ours, _answer([1, 5, 3])) == "feature #2: id 5 (ours 2)"
    assert compare.difference(ours, _answer([1, 2])) == "2 features (ours 3)"
    assert compare.difference(ours, _answer([1, 2, 3], None)) == "numberMatched – (ours 500)"
    assert compare.difference(ours, _answer([], status=500)) == "HTTP 500 (ours 200)"


def test_failure_says_why_there_is_no_figure() -> None:
    assert compare.failure(_figures(50.0), 10) is None
    assert compare.failure(_figures(0.0, requests=0), 10) == "no answer in 10 s"
    assert compare.failure(_figures(6.0, requests=12, errors=12), 10) == "errors: 12/12"
    assert compare.failure({"error": "boom"}, 10) == "did not start: boom"


def test_ratios_range_over_rounds_and_no_infinite_ratio() -> None:
    rounds = [
        {"onemap": {"q": _figures(300.0)}, "tipg": {"q": _figures(100.0)}},
        {"onemap": {"q": _figures(330.0)}, "tipg": {"q": _figures(100.0)}},
    ]
    found = compare.ratios(rounds, "q", "tipg", 10, "q")
    assert found == {"rounds": [3.0, 3.3], "range": [3.0, 3.3]}
    assert compare.span(found) == "3.0–3.3×"
    assert compare.verdict(found, 1.5) == "met"
    assert compare.verdict(found, 3.1) == "missed (lowest 3.0×)"
    rounds[1]["tipg"]["q"] = _figures(0.0, requests=0)
    silent = compare.ratios(rounds, "q", "tipg", 10, "q")
    assert silent == {"none": "tipg: no answer in 10 s (round 2)"}
    assert compare.verdict(silent, 1.5).startswith("not compared")
    rounds[1]["tipg"]["q"] = _figures(100.0, answer="feature #1: id 9 (ours 1)")
    assert "answers differently" in compare.ratios(rounds, "q", "tipg", 10, "q")["none"]
