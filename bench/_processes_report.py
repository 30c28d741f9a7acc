"""The Markdown report of ``bench processes`` (.onemap/bench/processes-results.md)."""

from __future__ import annotations

from typing import Any

from bench._processes_jobs import REL_TOL


def _n(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float | int):
        return f"{value:,.{digits}f}"
    return str(value)


def _load(values: list[float]) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


def markdown(results: dict[str, Any]) -> str:
    machine, server = results["machine"], results["server"]
    end = machine.get("load_average_end")
    lines = [
        "# bench processes",
        "",
        f"{machine['cpus']} CPUs, Python {machine['python']}; load average (1/5/15 min) at "
        f"start {_load(machine['load_average_start'])}"
        + (f", at end {_load(end)}" if end else "")
        + f". Server: {server['uvicorn_workers']} uvicorn workers × {server['job_workers']} "
        f"job workers (`ONEMAP_PROCESSES_WORKERS`) = {server['jobs_at_once']} jobs at once. "
        f"Data: {results.get('data', '–')}.",
        "",
    ]
    if "site_check" in results:
        lines += _site_check(results["site_check"], results["options"])
    if "conflicts" in results:
        lines += _conflicts(results["conflicts"])
    if "cleanup" in results:
        c = results["cleanup"]
        lines += [
            f"Removed afterwards: {c['site_checks']} site checks, {c['conflict_runs']} conflict "
            f"runs (with their patches), {c['jobs']} jobs, {c['keys']} key.",
            "",
        ]
    return "\n".join(lines)


def _site_check(found: dict[str, Any], options: dict[str, Any]) -> list[str]:
    lines = [
        "## Sync site-check: HTTP vs the direct call",
        "",
        f"{options['rounds']} rounds × {options['calls']} pairs; each pair one red line over "
        "HTTP (request to parsed JSON, one keep-alive connection) and through the "
        "definition's `run` on a warm owner engine, back to back, the first side alternating.",
        "",
        "| red line | side | use | verdict | area m² | items | features | fails |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for site in found["sites"]:
        a = site.get("answer", {})
        side = f"{site['side_m']:.0f} m" if site["side_m"] else "example (60 m)"
        lines.append(
            f"| {site['name']} | {side} | {site.get('use') or '(urban)'} | "
            f"{a.get('verdict', '–')} | {_n(a.get('area_m2'), 0)} | {a.get('items', '–')} | "
            f"{a.get('features', '–')} | {', '.join(a.get('failing_items', [])) or '–'} |"
        )
    same = found["same_answer"]
    lines += [
        "",
        f"Same answer first: {same['compared']} red lines compared (all but the check's id): "
        + ("**all equal**." if not same["differ"] else f"**differ**: {', '.join(same['differ'])}."),
        "",
        "| side | calls | median ms | p95 ms | min ms | max ms |",
        "|---|---|---|---|---|---|",
    ]
    for side in ("http", "direct"):
        s = found[side]
        lines.append(
            f"| {'HTTP' if side == 'http' else 'direct'} | {s['n']} | {_n(s['median_ms'], 2)} | "
            f"{_n(s['p95_ms'], 2)} | {_n(s['min_ms'], 2)} | {_n(s['max_ms'], 2)} |"
        )
    diff = found["difference_ms"]
    lines += [
        "",
        f"**HTTP ÷ direct (medians): {_n(found['ratio'], 2)}×** (p95 ÷ p95 "
        f"{_n(found['ratio_p95'], 2)}×); HTTP − direct: {_n(diff['median_of_pairs'], 2)} ms "
        f"(median of the pairs), {_n(diff['of_medians'], 2)} ms (of the medians). Target "
        f"≤ 1.2×: **{found['verdict']}**.",
        "",
        *_split(found),
        "| round | HTTP median ms | direct median ms | ratio |",
        "|---|---|---|---|",
    ]
    for r in found["rounds"]:
        lines.append(
            f"| {r['round']} | {_n(r['http_median_ms'], 2)} | {_n(r['direct_median_ms'], 2)} | "
            f"{_n(r['ratio'], 2)}× |"
        )
    lines += [
        "",
        "| red line | pairs | HTTP median ms | direct median ms | ratio | HTTP − direct ms |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in found["per_site"].items():
        lines.append(
            f"| {name} | {s['n']} | {_n(s['http_median_ms'], 2)} | "
            f"{_n(s['direct_median_ms'], 2)} | {_n(s['ratio'], 2)}× | "
            f"{_n(s['difference_ms'], 2)} |"
        )
    if found["errors"]:
        lines += ["", f"Errors ({len(found['errors'])}): " + "; ".join(found["errors"][:5])]
    return [*lines, ""]


def _conflicts(found: dict[str, Any]) -> list[str]:
    s = found["summary"]
    lines = [
        "## Conflict runs: queued jobs vs one after another",
        "",
        f"{found['jobs_per_round']} runs a round ({', '.join(found['pairs'])} in turn), posted "
        "at once with `Prefer: respond-async` and polled until all ended; the same runs "
        "directly in the bench's process, one after another. Jobs/min over HTTP: jobs over the "
        "span from the first `created` to the last `finished` (job documents). Untimed warm-up "
        "(direct): "
        + ", ".join(f"{' × '.join(w['layers'])} {w['seconds']:.2f} s" for w in found["warm_up"])
        + ".",
        "",
        "| round | first | HTTP jobs/min (span s) | client saw all ended (s) | direct jobs/min "
        "(total s) | HTTP ÷ direct |",
        "|---|---|---|---|---|---|",
    ]
    for r in found["rounds"]:
        h, d = r["http"], r["direct"]
        lines.append(
            f"| {r['round']} | {'HTTP' if r['http_first'] else 'direct'} | "
            f"{_n(h.get('jobs_per_minute'))} ({_n(h.get('span_s'), 2)}) | "
            f"{_n(h.get('client_span_s'), 2)} | "
            f"{_n(d.get('jobs_per_minute'))} ({_n(d.get('total_s'), 2)}) | "
            f"{_n(r.get('ratio'), 2)}× |"
        )
    lines += [
        "",
        "| round | job | layers | status | queue wait s | run s | worker |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in found["rounds"]:
        for j in r["http"].get("jobs", []):
            lines.append(
                f"| {r['round']} | {j['job'][:8]} | {' × '.join(j['layers'])} | {j['status']} | "
                f"{_n(j['queue_s'], 2)} | {_n(j['run_s'], 2)} | {j.get('worker') or '–'} |"
            )
    lines += ["", "| round | direct run | seconds |", "|---|---|---|"]
    for r in found["rounds"]:
        for x in r["direct"]["runs"]:
            lines.append(f"| {r['round']} | {' × '.join(x['layers'])} | {_n(x['seconds'], 2)} |")
    lines += [
        "",
        "| layers | run s as a job (median) | run s direct (median) | jobs |",
        "|---|---|---|---|",
    ]
    for name, p in s["by_pair"].items():
        lines.append(
            f"| {name} | {_n(p['run_s_http'], 2)} | {_n(p['run_s_direct'], 2)} | {p['n']} |"
        )
    lines += [
        "",
        f"**Throughput HTTP ÷ direct: {_n(s['ratio_median'], 2)}×** (median of rounds; range "
        f"{' – '.join(_n(v, 2) for v in s['ratio_range']) if s['ratio_range'] else '–'}); "
        f"jobs/min {_n(s['http_jobs_per_minute_median'])} queued vs "
        f"{_n(s['direct_jobs_per_minute_median'])} direct. Queue wait median "
        f"{_n(s['queue_s']['median'], 2)} s, max {_n(s['queue_s']['max'], 2)} s.",
        "",
        "Same answers (jobs vs direct runs of the same layers, but for run id, duration and "
        "link): "
        + ("**all equal**" if not found["differ"] else f"**differ**: {found['differ']}")
        + (
            f"; {len(found['last_digits'])} of them only within a relative {REL_TOL:g} (summed "
            f"areas in their last bits: {found['last_digits'][0]})."
            if found["last_digits"]
            else ", bit for bit."
        ),
    ]
    if found["failed"] or found["errors"]:
        lines.append(f"Failed jobs: {found['failed']}; errors: {found['errors']}.")
    return [*lines, ""]


def _split(found: dict[str, Any]) -> list[str]:
    """Where the HTTP time goes, from the synchronous jobs' rows."""
    inside, outside = found.get("in_worker"), found.get("outside_worker")
    if not inside or not outside or not inside["n"]:
        return []
    return [
        f"Of the HTTP time, inside the job worker (its job row's `started` to `finished`, "
        f"each the `now()` of the statement writing it: the run and its progress write) "
        f"median {_n(inside['median_ms'], 2)} ms (p95 {_n(inside['p95_ms'], 2)}); the rest "
        f"(HTTP, the key, reading the request, writing the row's end, the pipe to the worker "
        f"and back, the answer, the client) median {_n(outside['median_ms'], 2)} ms (p95 "
        f"{_n(outside['p95_ms'], 2)}); "
        f"{inside['n']} calls.",
        "",
    ]
