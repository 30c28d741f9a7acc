"""Load generators for bench/ogc.py: wrk over HTTP and pgbench over SQL, with their parsers.

Both run loop-bounded for a fixed time with a fixed number of connections on loopback and
report requests/s and the 50th/99th latency percentiles.
"""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True)
class Load:
    """Throughput and latency of one run (latencies in milliseconds).

    ``requests``: responses completed in the run; ``errors``: non-2xx responses plus socket
    errors (connect, read, write, timeout). With no completed request the percentiles are 0
    and mean nothing: :func:`bench._ogc_compare.failure` says so instead of a figure.
    """

    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int

    def as_dict(self) -> dict[str, float]:
        return {"rps": round(self.rps, 1), "p50_ms": round(self.p50_ms, 2),
                "p99_ms": round(self.p99_ms, 2), "errors": self.errors,
                "requests": self.requests}  # fmt: skip


def ensure_wrk() -> str:
    """The wrk binary, installed from Debian when missing (the bench runs as root or sudo)."""
    found = shutil.which("wrk")
    if found:
        return found
    prefix = [] if _is_root() else ["sudo"]
    for command in (["apt-get", "install", "-y", "-qq", "wrk"], ["apt-get", "update", "-qq"]):
        subprocess.run([*prefix, *command], check=False, capture_output=True)
        found = shutil.which("wrk")
        if found:
            return found
    subprocess.run([*prefix, "apt-get", "install", "-y", "-qq", "wrk"], check=True)
    return shutil.which("wrk") or "wrk"


def _is_root() -> bool:
    import os

    return os.geteuid() == 0


def _ms(text: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if found is None:
        raise ValueError(f"unreadable wrk latency {text!r}")
    return float(found.group(1)) * _UNITS[found.group(2)]


def wrk(url: str, seconds: int, connections: int, threads: int = 2) -> Load:
    """Run wrk against ``url``; non-2xx responses and socket errors count as errors."""
    done = subprocess.run(
        [ensure_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
         "--timeout", "30s", url],
        capture_output=True, text=True, check=True, timeout=seconds + 120,
    )  # fmt: skip
    out = done.stdout
    completed = re.search(r"(\d+) requests in", out)
    requests = int(completed.group(1)) if completed else 0
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = p99 = 0.0
    if requests:
        p50 = _ms(re.search(r"\n\s+50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
        p99 = _ms(re.search(r"\n\s+99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = 0
    if found := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out):
        errors += int(found.group(1))
    if found := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    ):
        errors += sum(int(g) for g in found.groups())
    return Load(rps, p50, p99, errors, requests)


def pgbench(dsn: str, sql: str, seconds: int, connections: int, threads: int = 2) -> Load:
    """Run one statement under pgbench; percentiles from its per-transaction log."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "query.sql"
        script.write_text(sql.strip().rstrip(";") + ";\n", encoding="utf-8")
        prefix = str(Path(tmp) / "log")
        done = subprocess.run(
            ["pgbench", "-n", "-c", str(connections), "-j", str(threads), "-T", str(seconds),
             "-f", str(script), "--log", f"--log-prefix={prefix}", dsn],
            capture_output=True, text=True, check=False, timeout=seconds + 120, cwd=tmp,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"pgbench failed: {done.stderr.strip()[:500]}")
        tps = float(re.search(r"tps = ([\d.]+)", done.stdout).group(1))  # type: ignore[union-attr]
        latencies = []
        for log in Path(tmp).glob("log*"):
            for line in log.read_text().splitlines():
                parts = line.split()
                if len(parts) >= 3:
                    latencies.append(int(parts[2]) / 1000.0)
        failed = (
            int(m.group(1)) if (m := re.search(r"failed transactions: (\d+)", done.stdout)) else 0
        )
    latencies.sort()
    p50 = statistics.median(latencies) if latencies else 0.0
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else 0.0
    return Load(tps, p50, p99, failed, len(latencies))
