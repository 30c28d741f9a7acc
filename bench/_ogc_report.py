"""The Markdown report of bench/ogc.py: per round the figures of every server, the answers
checked before timing, and our ratios to the peers as ranges over the rounds."""

from __future__ import annotations

from typing import Any

from bench import _ogc_compare as compare

ORDER = ("first_page", "bbox_500m", "deep_offset", "deep_cursor", "one_item",
         "cql2_attribute", "cql2_intersects")  # fmt: skip


def _requests(found: dict[str, Any]) -> list[str]:
    seen = {r for round_ in found["rounds"] for s in round_.values() for r in s if r in ORDER}
    return [r for r in ORDER if r in seen]


def _cell(f: dict[str, Any] | None, seconds: int) -> str:
    if f is None:
        return "–"
    why = compare.failure(f, seconds)
    if why is not None and ("error" in f or not f.get("requests")):
        return f"⚠ {why}"
    bad = f" ⚠ {why}" if why else ""
    got = f" ({f['features']} f.)" if "features" in f else ""
    return f"{f['rps']:.0f} · {f['p50_ms']:.1f} / {f['p99_ms']:.1f}{got}{bad}"


def _answer(found: dict[str, Any], system: str, request: str) -> str:
    """``same``, the first difference seen in any round, or why there was no answer."""
    for round_ in found["rounds"]:
        figures = round_.get(system, {})
        if "error" in figures:
            return "did not start"
        got = figures.get(request)
        if got is None:
            return "–"
        if got.get("answer"):
            return f"≠ {got['answer']}"
    return "same"


def answers_line(found: dict[str, Any], request: str) -> str:
    """One line per request: each other server's answer against ours."""
    systems = [s for s in found["rounds"][0] if s not in ("onemap", "postgis")]
    line = "; ".join(f"{s} {_answer(found, s, request)}" for s in systems)
    if request == "deep_cursor":
        return f"ours {_answer(found, 'onemap', request)} as our deep_offset; {line}"
    return line


def _tail(found: dict[str, Any], request: str) -> str:
    values = []
    for round_ in found["rounds"]:
        f = round_["onemap"].get(request, {})
        if f.get("requests") and f["p50_ms"]:
            values.append(round(f["p99_ms"] / f["p50_ms"], 1))
    if not values:
        return "–"
    return f"{min(values)}" if min(values) == max(values) else f"{min(values)}–{max(values)}"


def markdown(results: dict[str, Any], titles: dict[str, str]) -> str:
    seconds = results["seconds"]
    lines = [f"workers {results['workers']}, wrk {results['connections']} connections, "
             f"{seconds} s per request, {results['rounds']} round(s), "
             f"{results['repeats']} run(s) per request and round (medians)", ""]  # fmt: skip
    for scale, found in results["scales"].items():
        systems = [s for s in titles if s in found["rounds"][0]]
        requests = _requests(found)
        lines += [f"### {scale}: {found['data']} (all-visible {found['all_visible']:.0%})", ""]
        for number, round_ in enumerate(found["rounds"], 1):
            lines += [f"#### round {number}: req/s · p50 / p99 ms (features returned)", "",
                      "| request | " + " | ".join(titles[s] for s in systems) + " |",
                      "|---|" + "---|" * len(systems)]  # fmt: skip
            for request in requests:
                cells = [_cell(round_[s].get(request) if "error" not in round_[s]
                               else round_[s], seconds) for s in systems]  # fmt: skip
                lines.append(f"| {request} | " + " | ".join(cells) + " |")
            lines.append("")
        others = [s for s in systems if s not in ("onemap", "postgis")]
        lines += ["#### same answer as this platform? (asked once before timing, every round:"
                  " status, feature ids in order, numberMatched)", "",
                  "| request | " + " | ".join(titles[s] for s in others) + " |",
                  "|---|" + "---|" * len(others)]  # fmt: skip
        for request in requests:
            cells = [_answer(found, s, request) for s in others]
            label = request
            if request == "deep_cursor":  # ours is also held to our own offset page
                label += f" (ours vs our deep_offset: {_answer(found, 'onemap', request)})"
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines += ["", "#### ours / peer, requests/s: range over the rounds (min–max)", "",
                  "| request | × tipg | × pygeoapi | p99/p50 ours | target |",
                  "|---|---|---|---|---|"]  # fmt: skip
        for request, peers in found["ratios"].items():
            label = (f"{request} (ours) vs their deep_offset" if request == "deep_cursor"
                     else request)  # fmt: skip
            lines.append(f"| {label} | {compare.span(peers['tipg'])} | "
                         f"{compare.span(peers['pygeoapi'])} | {_tail(found, request)} | "
                         f"{found['verdict'][request]} |")  # fmt: skip
        lines.append("")
    return "\n".join(lines)
