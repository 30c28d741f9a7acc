"""The Markdown report of ``bench tiles`` (.onemap/bench/tiles-results.md)."""

from __future__ import annotations

from typing import Any


def _n(value: Any, digits: int = 0) -> str:
    if value is None:
        return "–"
    if isinstance(value, float | int):
        return f"{value:,.{digits}f}"
    return str(value)


def markdown(results: dict[str, Any]) -> str:
    machine = results["machine"]
    options = results["options"]
    lines = [
        "# bench tiles",
        "",
        f"{machine['cpus']} CPUs, Python {machine['python']}; load average at start "
        f"{' / '.join(f'{v:.2f}' for v in machine['load_average_start'])}"
        + (
            f", at end {' / '.join(f'{v:.2f}' for v in machine['load_average_end'])}"
            if "load_average_end" in machine
            else ""
        )
        + f". {options['workers']} uvicorn workers each, {options['connections']} keep-alive "
        f"clients (and pgbench clients), {options['warmup']} s warm-up + {options['seconds']} s "
        f"per case and server; peer {results['peer']}.",
        "",
    ]
    for scale, data in results["scales"].items():
        lines += [f"## {scale}: {data['data']}; plan layer `{data['plan']}`", ""]
        lines += [
            "| case | tiles | ours uncached tiles/s (p50 ms) | tipg tiles/s (p50 ms) | bare "
            "pgbench tiles/s (p50 ms) | ours cached tiles/s (p50 ms) | ours/tipg (≥ 1.5) | "
            "HTTP/bare time (≤ 1.25) | cached/uncached (≥ 5) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for name, case in data["cases"].items():
            if "ratios" not in case:
                lines.append(f"| {name} | 0 | – | – | – | – | – | – | – |")
                continue

            def rate(who: str, c: dict[str, Any] = case) -> str:
                f = c[who]
                return f"{_n(f['tiles_per_s'])} ({_n(f['p50_ms'], 1)})"

            r = case["ratios"]
            lines.append(
                f"| {name} | {case['answers']['tiles']} | {rate('uncached')} | {rate('tipg')} | "
                f"{rate('bare')} | {rate('cached')} | {_n(r['uncached_vs_tipg'], 2)}× | "
                f"{_n(r['http_vs_bare_time'], 2)}× | {_n(r['cached_vs_uncached'], 2)}× |"
            )
        if "floor" in data:
            ours_floor, tipg_floor = data["floor"]["ours"], data["floor"]["tipg"]
            lines += [
                "",
                "HTTP floor (`/tileMatrixSets/WebMercatorQuad`, no database, same clients): "
                f"ours {_n(ours_floor['tiles_per_s'])}/s (p50 {_n(ours_floor['p50_ms'], 1)} "
                f"ms), tipg {_n(tipg_floor['tiles_per_s'])}/s (p50 "
                f"{_n(tipg_floor['p50_ms'], 1)} ms). Cached tiles cannot beat ours; "
                "floor ÷ uncached per case: "
                + ", ".join(
                    f"{name} {_n(c['ratios']['floor_vs_uncached'], 2)}×"
                    for name, c in data["cases"].items()
                    if "ratios" in c
                )
                + ".",
            ]
        lines += [
            "",
            "Tile sizes and features (tiles both answer, before timing):",
            "",
            "| case | tiles (dropped) | ours mean / median bytes | tipg mean / median bytes | "
            "ours/tipg bytes | median features ours / tipg | tiles whose counts differ |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, case in data["cases"].items():
            a = case["answers"]
            ratio = case.get("ratios", {}).get("bytes_vs_tipg")
            lines.append(
                f"| {name} | {a['tiles']} ({a['dropped']}) | {_n(a['mean_bytes']['ours'])} / "
                f"{_n(a['median_bytes']['ours'])} | {_n(a['mean_bytes']['tipg'])} / "
                f"{_n(a['median_bytes']['tipg'])} | {_n(ratio, 2)}× | "
                f"{_n(a['median_features']['ours'])} / {_n(a['median_features']['tipg'])} | "
                f"{a['feature_counts_differ']} |"
            )
        lines += ["", "Verdicts:", ""]
        for name, case in data["cases"].items():
            for target, verdict in case.get("verdict", {}).items():
                lines.append(f"- {name}, {target}: {verdict}")
        lines += ["", "GDAL MVT driver (ogrinfo) feature counts, first tiles of each case:", ""]
        for name, case in data["cases"].items():
            for row in case["answers"]["gdal"]:
                lines.append(f"- {name} {row['tile']}: ours {row['ours']}, tipg {row['tipg']}")
        lines.append("")
    return "\n".join(lines) + "\n"
