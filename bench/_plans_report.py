"""What ``bench plans`` concludes: medians, ratios, the equality check, the verdicts, and the
Markdown report (.onemap/bench/plans-results.md). Pure functions of the results dict."""

from __future__ import annotations

import statistics
from typing import Any, Final

TARGETS: Final = {"analysis_all_cores": 5.0, "analysis_one_core": 2.5, "import": 0.33}
"""Ours ÷ baseline (speed) at least: analysis only against geopandas with all our cores and
with one, import features/s against ogr2ogr's. Held on the large city only."""
AREA_TOLERANCE: Final = 0.001
"""Areas of a conflict type may differ by 0.1 %: ours ellipsoidal, geopandas planar GK."""


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def _peak(runs: list[dict[str, Any]]) -> float | None:
    peaks = [r["memory"]["peak_mb"] for r in runs if r.get("memory")]
    return max(peaks) if peaks else None


def _cpu(runs: list[dict[str, Any]]) -> float | None:
    """Median CPU seconds of everything counted over each run (bench/_memory.py)."""
    return median([r["memory"]["cpu_s"] for r in runs if (r.get("memory") or {}).get("cpu_s")])


def check(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """Patches per type equal and areas within :data:`AREA_TOLERANCE`; the differences."""
    rows = []
    for name in sorted(set(ours) | set(theirs)):
        a, b = ours.get(name, {}), theirs.get(name, {})
        pa, pb = a.get("patches", 0), b.get("patches", 0)
        aa, ab = a.get("area_m2", 0.0), b.get("area_m2", 0.0)
        rel = abs(aa - ab) / ab if ab else (0.0 if aa == 0 else 1.0)
        rows.append(
            {
                "type": name,
                "patches": [pa, pb],
                "area_m2": [aa, ab],
                "area_diff": round(rel, 6),
                "equal": pa == pb and rel <= AREA_TOLERANCE,
            }
        )
    return {"equal": all(r["equal"] for r in rows), "types": rows}


def _ratio(slow: float | None, fast: float | None) -> float | None:
    return round(slow / fast, 2) if slow and fast else None


def summary(city: dict[str, Any], targets: bool) -> dict[str, Any]:
    """Medians, ratios, memory peaks, checks and (``targets``) verdicts of one city."""
    ours, gp = city["ours"], city.get("geopandas", {})
    s: dict[str, Any] = {"analysis": {}, "from_files": {}, "import": {}}
    for n, runs in ours["analysis"].items():
        s["analysis"][f"ours_{n}"] = {
            "median_s": median([r["seconds"] for r in runs]),
            "peak_mb": _peak(runs),
            "cpu_s": _cpu(runs),
        }
    for n, runs in ours["from_files"].items():
        s["from_files"][f"ours_{n}"] = {
            "median_s": median([r["seconds"] for r in runs]),
            "peak_mb": _peak(runs),
            "cpu_s": _cpu(runs),
        }
        imports = [r["import"] for r in runs]
        s["import"][f"ours_{n}"] = {
            "median_s": median([i["seconds"] for i in imports]),
            "features": imports[0]["features"] if imports else None,
        }
    analysis = gp.get("analysis", {})
    if "runs" in analysis:
        s["analysis"]["geopandas"] = {
            "median_s": median([r["seconds"] for r in analysis["runs"]]),
            "peak_mb": _peak(analysis["runs"]),
            "cpu_s": _cpu(analysis["runs"]),
        }
    files = [f for f in gp.get("files", []) if "runs" in f]
    if files:
        runs = [f["runs"][0] for f in files]
        s["from_files"]["geopandas"] = {
            "median_s": median([r["seconds"] for r in runs]),
            "peak_mb": _peak(runs),
            "cpu_s": _cpu(runs),
        }
    ogr = [o for o in city.get("ogr2ogr", []) if "seconds" in o]
    if ogr:
        s["import"]["ogr2ogr"] = {"median_s": median([o["seconds"] for o in ogr])}
    feats = next((v["features"] for k, v in s["import"].items() if k.startswith("ours")), None)
    for side in s["import"].values():
        seconds = side.get("median_s")
        side["features_per_s"] = round(feats / seconds) if feats and seconds else None
    for part in ("analysis", "from_files"):
        base = s[part].get("geopandas", {}).get("median_s")
        for key, side in s[part].items():
            if key.startswith("ours"):
                side["vs_geopandas"] = _ratio(base, side["median_s"])
    ogr_s = s["import"].get("ogr2ogr", {}).get("median_s")
    for key, side in s["import"].items():
        if key.startswith("ours"):
            side["vs_ogr2ogr"] = _ratio(ogr_s, side["median_s"])
    last = {n: runs[-1]["types"] for n, runs in ours["analysis"].items() if runs}
    if "types" in analysis and last:
        mine = last.get(str(city["cores"])) or next(iter(last.values()))
        s["check"] = check(mine, analysis["types"])
    if len(last) > 1:
        first, *rest = last.values()
        s["processes_agree"] = all(t == first for t in rest)
    if targets:
        s["verdicts"] = verdicts(s, city["cores"])
    return s


def _verdict(value: float | None, target: float) -> str:
    if value is None:
        return "not measured"
    return f"{'met' if value >= target else 'not met'} ({value:.2f}× ≥ {target}×)"


def verdicts(s: dict[str, Any], cores: int) -> dict[str, str]:
    a, i = s["analysis"], s["import"]
    return {
        "analysis only, all cores ≥ 5×": _verdict(
            a.get(f"ours_{cores}", {}).get("vs_geopandas"), TARGETS["analysis_all_cores"]
        ),
        "analysis only, one process ≥ 2.5×": _verdict(
            a.get("ours_1", {}).get("vs_geopandas"), TARGETS["analysis_one_core"]
        ),
        "import ≥ 0.33× ogr2ogr": _verdict(
            i.get(f"ours_{cores}", {}).get("vs_ogr2ogr"), TARGETS["import"]
        ),
        "same patches as geopandas": "met" if s.get("check", {}).get("equal") else "not met",
    }


def passed(results: dict[str, Any]) -> bool:
    """Every verdict met, and every city's check equal; a run without the large city (no
    targets) does not pass."""
    found = any("verdicts" in c.get("summary", {}) for c in results["cities"].values())
    for city in results["cities"].values():
        s = city.get("summary", {})
        found &= bool(s.get("check", {}).get("equal")) and s.get("processes_agree", True)
        found &= all(v.startswith("met") for v in s.get("verdicts", {}).values())
    return found


def _n(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float | int):
        return f"{value:,.{digits}f}"
    return str(value)


def flat(results: dict[str, Any]) -> dict[str, object]:
    """The figures ``python -m bench plans`` prints as a table."""
    out: dict[str, object] = {}
    for name, city in results["cities"].items():
        s, n = city["summary"], city["cores"]
        for part in ("analysis", "from_files"):
            for key, side in s[part].items():
                out[f"{name} {part} {key} s"] = side["median_s"]
                if side.get("vs_geopandas") is not None:
                    out[f"{name} {part} {key} × geopandas"] = side["vs_geopandas"]
                out[f"{name} {part} {key} peak MB"] = side.get("peak_mb")
                out[f"{name} {part} {key} CPU s"] = side.get("cpu_s")
        for key, side in s["import"].items():
            out[f"{name} import {key} features/s"] = side.get("features_per_s")
        mine = s["import"].get(f"ours_{n}", {})
        out[f"{name} import ours_{n} × ogr2ogr"] = mine.get("vs_ogr2ogr")
        out[f"{name} same patches as geopandas"] = s.get("check", {}).get("equal")
        for target, verdict in s.get("verdicts", {}).items():
            out[f"{name} {target}"] = verdict
    out["passed"] = passed(results)
    return out


def _city(name: str, city: dict[str, Any]) -> list[str]:
    s, n = city["summary"], city["cores"]
    lines = [f"## {name} city: {city['data']}", ""]
    lines += [
        f"| figure | ours, 1 process | ours, all cores ({n}) | geopandas, 1 core | "
        "ours ÷ geopandas (1 / all) |",
        "|---|---|---|---|---|",
    ]
    for part, label in (("analysis", "analysis only, s"), ("from_files", "from files, s")):
        p = s[part]
        one, all_, gp = p.get("ours_1", {}), p.get(f"ours_{n}", {}), p.get("geopandas", {})
        lines.append(
            f"| {label} | {_n(one.get('median_s'))} | {_n(all_.get('median_s'))} | "
            f"{_n(gp.get('median_s'))} | {_n(one.get('vs_geopandas'))}× / "
            f"{_n(all_.get('vs_geopandas'))}× |"
        )
        lines.append(
            f"| {label.split(',')[0]}, peak MB | {_n(one.get('peak_mb'), 0)} | "
            f"{_n(all_.get('peak_mb'), 0)} | {_n(gp.get('peak_mb'), 0)} | |"
        )
        lines.append(
            f"| {label.split(',')[0]}, CPU s | {_n(one.get('cpu_s'))} | "
            f"{_n(all_.get('cpu_s'))} | {_n(gp.get('cpu_s'))} | |"
        )
    i = s["import"]
    lines += [
        "",
        "| import of both layers | s (median) | features/s | ÷ ogr2ogr |",
        "|---|---|---|---|",
    ]
    for key in ("ours_1", f"ours_{n}", "ogr2ogr"):
        side = i.get(key, {})
        lines.append(
            f"| {key} | {_n(side.get('median_s'))} | {_n(side.get('features_per_s'), 0)} | "
            f"{_n(side.get('vs_ogr2ogr'))} |"
        )
    lines += ["", "Runs (s), in order:", ""]
    for part in ("analysis", "from_files"):
        for k, runs in city["ours"][part].items():
            lines.append(
                f"- ours {part}, {k} process(es): "
                + " / ".join(f"{r['seconds']:.2f}" for r in runs)
            )
    gp = city.get("geopandas", {})
    if "runs" in gp.get("analysis", {}):
        runs = gp["analysis"]["runs"]
        lines.append(
            "- geopandas analysis: "
            + " / ".join(f"{r['seconds']:.2f} (CPU {r['cpu_s']:.2f})" for r in runs)
        )
        lines.append(
            f"- geopandas read + to_crs + make_valid before it (untimed): "
            f"{gp['analysis']['read_prepare_s']:.2f}"
        )
    files = [f["runs"][0] for f in gp.get("files", []) if "runs" in f]
    if files:
        lines.append(
            "- geopandas from files: "
            + " / ".join(f"{r['seconds']:.2f} (CPU {r['cpu_s']:.2f})" for r in files)
        )
    errors = [gp.get("analysis", {}).get("error"), *(f.get("error") for f in gp.get("files", []))]
    for error in errors:
        if error:
            lines.append(f"- geopandas error: `{error[-200:]}`")
    ogr = city.get("ogr2ogr", [])
    if ogr:
        lines.append("- ogr2ogr both layers: " + " / ".join(_n(o.get("seconds")) for o in ogr))
    if "check" in s:
        lines += [
            "",
            "Same result as geopandas (patches equal, areas within 0.1 %; ours "
            "ellipsoidal, geopandas planar EPSG:4549): "
            + ("**yes**" if s["check"]["equal"] else "**no**"),
            "",
            "| type | patches ours / geopandas | area m² ours / geopandas | diff |",
            "|---|---|---|---|",
        ]
        for row in s["check"]["types"]:
            lines.append(
                f"| {row['type']} | {row['patches'][0]} / {row['patches'][1]} | "
                f"{_n(row['area_m2'][0], 0)} / {_n(row['area_m2'][1], 0)} | "
                f"{row['area_diff'] * 100:.4f} % |"
            )
    if "processes_agree" in s:
        lines.append("")
        lines.append(
            f"Ours with 1 and {n} processes found the same patches and areas: "
            + ("yes" if s["processes_agree"] else "**no**")
        )
    chunks = [c for runs in city["ours"]["analysis"].values() for r in runs for c in r["chunks"]]
    peaks = [c["peak_mb"] for c in chunks if c.get("peak_mb") is not None]
    if peaks:
        lines.append(
            f"Peak per county chunk (the engine's own figure): {min(peaks):.0f}–"
            f"{max(peaks):.0f} MB over {len(chunks)} chunks."
        )
    if "verdicts" in s:
        lines += ["", "Targets:", ""]
        lines += [f"- {target}: {verdict}" for target, verdict in s["verdicts"].items()]
    lines.append("")
    return lines


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    load = " / ".join(f"{v:.2f}" for v in m["load_average_start"])
    end = " / ".join(f"{v:.2f}" for v in m.get("load_average_end", []))
    lines = [
        "# bench plans",
        "",
        f"{m['cpus']} CPUs, Python {m['python']}; load average at start {load}"
        + (f", at end {end}" if end else "")
        + f". Medians of {results['options']['repeats']} runs in one round. geopandas "
        "runs on one core (one process, thread pools held to 1). Memory: the peak of the "
        "summed PSS of everything working on the run, read every 100 ms (ours: this "
        "process and its children, and the database's backends and parallel workers; "
        "geopandas: its process). CPU s: the CPU time of the same processes over the run "
        "(median), which other load on the machine does not inflate as much as wall time.",
        "",
    ]
    for name, city in results["cities"].items():
        lines += _city(name, city)
    lines.append(f"Passed: {'yes' if passed(results) else 'no'}.")
    return "\n".join(lines) + "\n"
