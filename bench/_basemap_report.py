"""``bench basemap``'s results as Markdown (``.onemap/bench/basemap-results.md``)."""

from __future__ import annotations

from typing import Any

NAMES = {
    "onemap": "ours (WMTS route, MBTiles cache)",
    "static": "same bytes, StaticFiles in the same app",
    "mapproxy": "MapProxy 7.0 on the same MBTiles",
    "titiler": "TiTiler 2.4 (titiler.core) on the same COG",
}


def _cell(figures: dict[str, Any]) -> str:
    errors = f", **{figures['errors']} errors**" if figures["errors"] else ""
    return f"{figures['tiles_per_s']:.0f} · {figures['p50_ms']} / {figures['p95_ms']} ms{errors}"


def _rounds(part: dict[str, Any], who: list[str]) -> list[str]:
    lines = ["| round | " + " | ".join(NAMES[w] for w in who) + " |", "|---|" + "---|" * len(who)]
    for number, round_ in enumerate(part["rounds"], 1):
        lines.append(f"| {number} | " + " | ".join(_cell(round_[w]) for w in who) + " |")
    medians = part["median_tiles_per_s"]
    lines.append(
        "| **median tiles/s** | " + " | ".join(f"**{medians[w]:.0f}**" for w in who) + " |"
    )
    return lines


def markdown(results: dict[str, Any]) -> str:
    out = ["# bench basemap", ""]
    m = results["machine"]
    out.append(
        f"{m['cpus']} CPUs, Python {m['python']}, load average {m['load_average_start']:.1f}"
        f" at the start, {m.get('load_average_end', 0):.1f} at the end; every server under"
        f" bench/_uvicorn.py with {results['workers']} workers; render processes per server"
        f" worker: {results['render_processes_per_worker']}."
    )
    out.append("")
    if "seed" in results:
        seed = results["seed"]
        out += [
            "## Seeding (w, levels "
            f"{seed['levels'][0]}–{seed['levels'][1]}, box {seed['box']}:"
            f" {seed['tiles_per_layer']} tiles per layer)",
            "",
            "| layer | 1 process tiles/s | 2 processes tiles/s | speed-up"
            " | worker CPU ms/tile (1 / 2) | how |",
            "|---|---|---|---|---|---|",
        ]
        for layer, runs in seed["layers"].items():
            out.append(
                f"| {layer} | {runs['1']['tiles_per_s']} | {runs['2']['tiles_per_s']} |"
                f" ×{runs['speedup']} | {runs['1'].get('worker_cpu_ms_per_tile', '–')} /"
                f" {runs['2'].get('worker_cpu_ms_per_tile', '–')} | {runs['2']['how']} |"
            )
        out.append("")
    if "cached" in results:
        c = results["cached"]
        out += [
            f"## Cached tiles served ({c['tiles']} tiles: {c['by_layer']}, levels"
            f" {c['levels']}, mean {c['mean_bytes']} bytes; tiles/s · p50 / p95 ms)",
            "",
        ]
        out += _rounds(c, ["onemap", "static", "mapproxy"])
        out.append("")
        for peer, ratio in c["ratios"].items():
            out.append(
                f"- ours ÷ {NAMES[peer]}: **{ratio['of_medians']}×** of the medians"
                f" (per round {ratio['range'][0]}–{ratio['range'][1]}×)"
            )
        checks = c["rounds"][0]
        out.append(
            f"- same bytes as the cache before timing: ours {checks['checks_onemap']},"
            f" MapProxy {checks['checks_mapproxy']}"
        )
        client = [
            r[w]["client_cpu_ms_per_tile"]
            for r in c["rounds"]
            for w in ("onemap", "static", "mapproxy")
        ]
        out.append(
            f"- load client CPU per tile: {min(client)}–{max(client)} ms (same client for all)"
        )
        out.append("")
    if "uncached" in results:
        u = results["uncached"]
        out += [
            f"## Uncached `img` tiles ({u['tiles']} w tiles, levels {u['levels'][0]}–"
            f"{u['levels'][1]}, each asked once; tiles/s · p50 / p95 ms)",
            "",
        ]
        out += _rounds(u, ["onemap", "titiler"])
        out.append("")
        ratio = u["ratios"]["titiler"]
        out.append(
            f"- ours ÷ TiTiler: **{ratio['of_medians']}×** of the medians (per round"
            f" {ratio['range'][0]}–{ratio['range'][1]}×)"
        )
        out.append(
            f"- resampling: ours {u['resampling']['onemap']}; TiTiler {u['resampling']['titiler']}"
        )
        out += [
            "",
            "Same place? Check tiles decoded (RGB):",
            "",
            "| tile | mean ours | mean TiTiler | mean abs diff | correlation | same bytes |",
            "|---|---|---|---|---|---|",
        ]
        for number, t in enumerate(u["images"]["tiles"], 1):
            out.append(
                f"| {number} | {t['mean_ours']} | {t['mean_titiler']} |"
                f" {t['mean_abs_diff']} | {t['correlation']} | {t['identical_bytes']} |"
            )
        out.append("")
    if "render" in results:
        out += [
            "## Render time per tile (renderer called directly, ms)",
            "",
            "| layer | set | level | median | p95 | CPU median | renders | distinct tiles | blank"
            " |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for key, f in results["render"]["times"].items():
            layer, tileset, level = key.split()
            if "error" in f:
                out.append(f"| {layer} | {tileset} | {level} | {f['error']} | | | | |")
                continue
            out.append(
                f"| {layer} | {tileset} | {level} | {f['median_ms']} | {f['p95_ms']} |"
                f" {f['cpu_median_ms']} | {f['renders']} | {f['distinct_tiles']} | {f['blank']} |"
            )
        out.append("")
    if "render" in results:
        prof = results["render"]["profile_img_w"]
        out += [
            f"### Where an `img` tile's time goes (cProfile, {prof['tiles']} w tiles,"
            f" {prof['ms_per_tile']} ms per tile under the profiler)",
            "",
            "| function | calls per tile | cumulative ms per tile |",
            "|---|---|---|",
        ]
        out += [
            f"| `{row['function']}` | {row['calls_per_tile']} | {row['ms_per_tile']} |"
            for row in prof["top_cumulative"]
        ]
        out.append("")
    out += ["## Targets", ""]
    out += [f"- {k}: {v}" for k, v in results["verdict"].items()]
    return "\n".join(out) + "\n"
