"""What bench/ogc.py checks before it compares: the same answer, a peer that answered at all.

- :func:`answer` fetches one request once and keeps what must agree between servers: the
  status, the feature ids in order and ``numberMatched``; :func:`difference` names the first
  way two answers differ (None when they agree).
- :func:`failure` says why a timed run gives no figure to compare ("errors: 12/12", "no
  answer in 10 s"); :func:`ratios` turns rounds of figures into our/peer ratios with their
  range over the rounds, or the reason there is none: never an infinite ratio, and a peer
  that failed or answered differently is never a met target.
"""

from __future__ import annotations

import statistics
from typing import Any

import httpx

TARGETS = {"tipg": 1.5, "pygeoapi": 3.0}
"""Issue 7: our requests/s at least this many times the peer's on list requests."""
ITEM_TARGETS = {"tipg": 1.0}
"""On one item: at least tipg."""


def answer(url: str) -> dict[str, Any]:
    """One request before timing: status, features returned, their ids, ``numberMatched``."""
    try:
        response = httpx.get(url, timeout=300)
    except httpx.HTTPError as exc:
        return {"status": 0, "features": 0, "ids": [], "matched": None, "note": str(exc)[:100]}
    found: dict[str, Any] = {"status": response.status_code, "features": 0, "ids": [],
                             "matched": None}  # fmt: skip
    if response.status_code != 200:
        found["note"] = response.text[:100]
        return found
    body = response.json()
    features = body.get("features", [body])  # an item is one feature
    found["features"] = len(features)
    found["ids"] = [str(f.get("id")) for f in features]
    found["matched"] = body.get("numberMatched")
    return found


def difference(ours: dict[str, Any], theirs: dict[str, Any]) -> str | None:
    """The first way ``theirs`` differs from ``ours`` (status, ids in order, numberMatched)."""
    if ours["status"] != theirs["status"]:
        return f"HTTP {theirs['status']} (ours {ours['status']})"
    a, b = ours["ids"], theirs["ids"]
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"feature #{i + 1}: id {y} (ours {x})"
    if len(a) != len(b):
        return f"{len(b)} features (ours {len(a)})"
    if ours["matched"] != theirs["matched"]:
        return f"numberMatched {_or_dash(theirs['matched'])} (ours {_or_dash(ours['matched'])})"
    return None


def _or_dash(value: object) -> str:
    return "–" if value is None else str(value)


def failure(figures: dict[str, Any] | None, seconds: int) -> str | None:
    """Why a timed run has no comparable figure, or None when it has one."""
    if figures is None:
        return "not run"
    if "error" in figures:
        return f"did not start: {figures['error'][:80]}"
    if figures.get("status", 200) != 200:
        return f"HTTP {figures['status']}"
    if not figures["requests"]:
        return f"no answer in {seconds} s" + (
            f" (errors: {figures['errors']})" if figures["errors"] else ""
        )
    if figures["errors"]:
        return f"errors: {figures['errors']}/{figures['requests']}"
    return None


def median_figures(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One round's figures from its repeats: medians of rates and percentiles, summed counts."""
    if len(runs) == 1:
        return runs[0]
    return {"rps": round(statistics.median(r["rps"] for r in runs), 1),
            "p50_ms": round(statistics.median(r["p50_ms"] for r in runs), 2),
            "p99_ms": round(statistics.median(r["p99_ms"] for r in runs), 2),
            "errors": sum(r["errors"] for r in runs),
            "requests": sum(r["requests"] for r in runs)}  # fmt: skip


def ratios(
    rounds: list[dict[str, Any]], request: str, peer: str, seconds: int, compared_to: str
) -> dict[str, Any]:
    """Our requests/s over the peer's in each round, and their range (min–max over rounds).

    ``compared_to``: the peer's request ours is set against (the same request, except our
    keyset cursor, set against the peers' offset). Returns ``{"rounds", "range"}`` or
    ``{"none": reason}`` when any round has no fair figure.
    """
    found = []
    for number, round_ in enumerate(rounds, 1):
        ours = round_.get("onemap", {}).get(request)
        theirs = round_.get(peer, {})
        theirs = theirs if "error" in theirs else theirs.get(compared_to)
        why = failure(ours, seconds)
        if why is not None:
            return {"none": f"ours: {why} (round {number})"}
        why = failure(theirs, seconds)
        if why is not None:
            return {"none": f"{peer}: {why} (round {number})"}
        assert theirs is not None and ours is not None
        if theirs.get("answer"):
            return {"none": f"{peer} answers differently: {theirs['answer']}"}
        found.append(round(ours["rps"] / theirs["rps"], 2))
    if not found:
        return {"none": "no round"}
    return {"rounds": found, "range": [min(found), max(found)]}


def span(found: dict[str, Any]) -> str:
    """``6.1–6.5×`` (one value when the rounds agree or there is one), or the reason."""
    if "none" in found:
        return f"none ({found['none']})"
    low, high = found["range"]
    return f"{low}×" if low == high else f"{low}–{high}×"


def verdict(ratio: dict[str, Any], need: float) -> str:
    """``met``, ``missed`` (the lowest round below ``need``) or ``not compared (...)``."""
    if "none" in ratio:
        return f"not compared ({ratio['none']})"
    return "met" if ratio["range"][0] >= need else f"missed (lowest {ratio['range'][0]}×)"
