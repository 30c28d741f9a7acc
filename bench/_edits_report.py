"""The report of ``bench edits``: markdown for people, a flat dict for ``python -m bench``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.table import Table

from bench._edits_check import FAILURES

TITLES = {"http": "HTTP (GET, PATCH with If-Match)", "bare": "bare statements (psycopg)"}
CHECK_COLUMNS = (*FAILURES, "answered_later")


def _pair(a: float | None, b: float | None) -> str:
    return f"{a} / {b}" if a is not None else "–"


def _refusals(figures: dict[str, Any]) -> str:
    found = figures["refusals"]
    return ", ".join(f"{k}: {v}" for k, v in sorted(found.items())) or "none"


def _cpu(figures: dict[str, Any]) -> str:
    per = figures["cpu_ms_per_edit"]
    if per.get("total") is None:
        return "–"
    parts = " / ".join(str(per.get(k, "–")) for k in ("client", "server", "postgres"))
    return f"{parts} ({per['total']})"


def _round_table(round_: dict[str, Any]) -> list[str]:
    http, bare = round_["http"], round_["bare"]
    rows = [
        ("accepted edits (timed)", http["accepted"], bare["accepted"]),
        ("seconds (until the last client stopped)", http["seconds"], bare["seconds"]),
        ("**accepted edits/s**", f"**{http['edits_per_s']}**", f"**{bare['edits_per_s']}**"),
        ("write p50 / p99 ms (PATCH; UPDATE)", _pair(http["write_p50_ms"], http["write_p99_ms"]),
         _pair(bare["write_p50_ms"], bare["write_p99_ms"])),
        ("edit p50 / p99 ms (first read to acceptance, retries included)",
         _pair(http["edit_p50_ms"], http["edit_p99_ms"]),
         _pair(bare["edit_p50_ms"], bare["edit_p99_ms"])),
        ("refused writes (412/409; no row at that version)", _refusals(http), _refusals(bare)),
        ("refused write p50 ms", http["refused_p50_ms"], bare["refused_p50_ms"]),
        ("reads", http["reads"], bare["reads"]),
        ("errors", http["errors"], bare["errors"]),
        ("CPU ms per accepted edit: client / app / PostgreSQL (total)", _cpu(http), _cpu(bare)),
        ("load average (1 min) after the side", http["load_average"], bare["load_average"]),
    ]  # fmt: skip
    lines = [f"| | {TITLES['http']} | {TITLES['bare']} |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    ratio = f"{round_['ratio']:.2f}" + (" (target ≥ 0.5: met)" if round_["ratio"] >= 0.5 else
                                         " (target ≥ 0.5: **missed**)")  # fmt: skip
    tail = f"{round_['tail']:.2f}" + (" (target < 5: met)" if round_["tail"] < 5 else
                                       " (target < 5: **missed**)")  # fmt: skip
    lines += ["", f"HTTP ÷ bare accepted edits/s: **{ratio}**; HTTP PATCH p99 ÷ p50: **{tail}**."]
    for side in ("http", "bare"):
        if round_[side]["error_examples"]:
            lines.append(f"\n{side} errors: " + "; ".join(round_[side]["error_examples"]))
    return lines


def _check_rows(results: dict[str, Any]) -> list[tuple[str, ...]]:
    rows = []
    for number, round_ in enumerate(results["rounds"], 1):
        for side in ("http", "bare"):
            found = round_[side]["check"]
            rows.append((str(number), side, str(found["accepted"]), str(found["audited"]),
                         *(str(found[k]) for k in CHECK_COLUMNS),
                         "passed" if found["passed"] else "FAILED"))  # fmt: skip
    return rows


def markdown(results: dict[str, Any]) -> str:
    """The whole report: settings, one table per round, the check, the verdict."""
    verdict = results["verdict"]
    lines = [
        f"# bench edits, {dt.date.today().isoformat()}",
        "",
        f"Command: `{results['command']}`. {results['clients']} clients on loopback "
        f"({results['admins']} admin keys on every hot building, "
        f"{results['clients'] - results['admins']} grid-worker keys over "
        f"{results['grid_workers']} workers, each on its worker's buildings), "
        f"{results['hot_buildings']} hot buildings, {results['seconds']:g} s per side after a "
        f"warm-up, {len(results['rounds'])} round(s); app workers: "
        f"{results['server_workers']}.",
    ]
    for number, round_ in enumerate(results["rounds"], 1):
        lines += ["", f"## Round {number} (order: {', '.join(round_['order'])})", ""]
        lines += _round_table(round_)
    header = ("round", "side", "accepted", "audited", *CHECK_COLUMNS, "check")
    lines += [
        "",
        "## Lost-update check (warm-up and timed writes)",
        "",
        "`answered_later`: the PATCH answer (read after the commit) already showed a later "
        "write by another client; reported, not a failure.",
        "",
        "| " + " | ".join(h.replace("_", " ") for h in header) + " |",
        "|" + "---|" * len(header),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in _check_rows(results)]
    examples = [
        f"- round {n} {side} {kind}: {'; '.join(found)}"
        for n, round_ in enumerate(results["rounds"], 1)
        for side in ("http", "bare")
        for kind, found in round_[side]["check"]["examples"].items()
    ]
    if examples:
        lines += ["", "Examples:", "", *examples]
    lines += [
        "",
        "## Verdict",
        "",
        f"- HTTP ÷ bare edits/s over the rounds: {verdict['ratio_range'][0]:.2f}–"
        f"{verdict['ratio_range'][1]:.2f} (target ≥ {0.5}: "
        f"{'met' if verdict['ratio_met'] else 'missed'})",
        f"- HTTP PATCH p99 ÷ p50: {verdict['tail_range'][0]:.2f}–{verdict['tail_range'][1]:.2f} "
        f"(target < 5: {'met' if verdict['tail_met'] else 'missed'})",
        f"- lost updates and errors: {'; '.join(verdict['problems']) or 'none'}",
        "",
    ]
    return "\n".join(lines)


def flat(results: dict[str, Any]) -> dict[str, object]:
    """The figures ``python -m bench`` prints; ``passed`` as the targets and checks say."""
    out: dict[str, object] = {}
    for number, round_ in enumerate(results["rounds"], 1):
        for side in ("http", "bare"):
            f = round_[side]
            out[f"r{number} {side} edits/s"] = f["edits_per_s"]
            out[f"r{number} {side} write p50/p99 ms"] = _pair(f["write_p50_ms"], f["write_p99_ms"])
            out[f"r{number} {side} refused"] = _refusals(f)
            out[f"r{number} {side} lost updates"] = f["check"]["lost"]
        out[f"r{number} http ÷ bare"] = round_["ratio"]
        out[f"r{number} http p99 ÷ p50"] = round_["tail"]
    verdict = results["verdict"]
    out["ratio target ≥ 0.5"] = "met" if verdict["ratio_met"] else "missed"
    out["p99 ÷ p50 target < 5"] = "met" if verdict["tail_met"] else "missed"
    out["checks"] = "; ".join(verdict["problems"]) or "0 lost updates, no errors"
    out["passed"] = verdict["ratio_met"] and verdict["tail_met"] and not verdict["problems"]
    return out


def check_table(results: dict[str, Any]) -> Table:
    """The lost-update check as a rich table (printed when it fails)."""
    table = Table(title="bench edits: lost-update check", show_header=True)
    for column in ("round", "side", "accepted", "audited", *CHECK_COLUMNS, "check"):
        table.add_column(column.replace("_", " "))
    for row in _check_rows(results):
        table.add_row(*row)
    return table
