"""Latency of the bash tool's `run_command("echo hi")`, sandboxed and unsandboxed, as Markdown.

    python bench/bench_bash.py [--runs 50] [--warmup 5] [--rss-mb 0]

`--rss-mb` first grows this process by that much touched memory, as a loaded server would be: the command
is spawned without a preexec function (vfork), so the figures should not grow with the server's size.

Median and p90 after a warm-up; the first sandboxed call also pays the one-time bubblewrap probe and, for a
root server with a root-owned workspace, the idmapped-mount set-up, which the warm-up absorbs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.bash import SandboxSettings, run_command, sandbox_status


async def _measure(settings: SandboxSettings, runs: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        await run_command("echo hi", None, None, settings)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = await run_command("echo hi", None, None, settings)
        times.append((time.perf_counter() - started) * 1000)
        assert result.stdout == "hi\n" and result.exit_code == 0, result
    return times


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rss-mb", type=int, default=0)
    args = parser.parse_args()
    ballast = bytearray(args.rss_mb * 2**20)
    for offset in range(0, len(ballast), 4096):
        ballast[offset] = 1  # touch every page, so it is really resident
    usable, detail = sandbox_status()
    with tempfile.TemporaryDirectory(prefix="bench-bash-") as workspace:
        base = {
            "timeout_s": 30.0,
            "memory_mb": 2048,
            "max_processes": 256,
            "output_limit": 20_000,
            "workspace": Path(workspace),
        }
        rows = []
        if usable:
            sandboxed = await _measure(SandboxSettings(mode="required", **base), args.runs, args.warmup)
            rows.append(("sandboxed (bubblewrap)", sandboxed))
        plain = await _measure(SandboxSettings(mode="off", **base), args.runs, args.warmup)
        rows.append(('unsandboxed (`mode="off"`)', plain))
    print(
        f'`run_command("echo hi")`, {args.runs} runs after {args.warmup} warm-up runs, '
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.machine()}, "
        f"running as uid {os.geteuid()}, {_rss_mb():.0f} MB resident. Sandbox: {detail}.\n"
    )
    print("| path | median | p90 | min | max |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, values in rows:
        print(
            f"| {name} | {statistics.median(values):.1f} ms | {_p90(values):.1f} ms | "
            f"{min(values):.1f} ms | {max(values):.1f} ms |"
        )


if __name__ == "__main__":
    asyncio.run(main())
