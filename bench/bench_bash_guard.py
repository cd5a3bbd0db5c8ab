"""Time the bash guard over its whole test table and print a Markdown snippet for bench/RESULTS.md.

    python bench/bench_bash_guard.py [--runs 30] [--write]

Per command: the median of `--runs` calls after a warm-up; the snippet reports the median, p99 and
maximum of those per-command medians, the p99 over every single call, and the parser's start-up
(building the tree-sitter parser, and importing the guard in a fresh interpreter with cached bytecode). `--write` puts
the snippet into bench/RESULTS.md under `## bash guard`, leaving other sections as they are.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from server import bash_parse  # noqa: E402 - after the path set-up
from server.bash_guard import judge_command  # noqa: E402
from server.policy import Policy  # noqa: E402
from tests.test_bash_guard import TABLE  # noqa: E402

SECTION = "## bash guard"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def parser_start_up() -> float:
    bash_parse._PARSER = None
    start = time.perf_counter()
    bash_parse._parser()
    return time.perf_counter() - start


def cold_import(own: bool = False) -> float:
    """Seconds to import the guard and judge one command in a fresh interpreter (median of 5).

    With `own`, the policy, decision and redaction modules (pydantic) are imported first: what remains
    is the guard's own import (tree-sitter, the parser module, the guard's tables and regexes).
    """
    code = ("import time; t = time.perf_counter(); from server.bash_guard import judge_command; "
            "from server.policy import Policy; judge_command('ls', Policy()); print(time.perf_counter() - t)")
    if own:
        code = "import server.policy, server.decision, server.redact; " + code
    # Bytecode caching on (as in an installed package): the first run writes __pycache__ (git-ignored).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    times = []
    for _ in range(6):
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                             check=True)
        times.append(float(out.stdout.strip()))
    return statistics.median(times[1:])


def measure(runs: int) -> dict[str, float]:
    policy = Policy()
    start_up = parser_start_up()
    for command, _, _ in TABLE:  # warm-up: caches, branch predictors, lazily built tables
        judge_command(command, policy)
    medians: list[float] = []
    samples: list[float] = []
    clock = time.perf_counter
    for command, _, _ in TABLE:
        times = []
        for _ in range(runs):
            start = clock()
            judge_command(command, policy)
            times.append(clock() - start)
        medians.append(statistics.median(times))
        samples += times
    return {
        "commands": len(TABLE),
        "runs": runs,
        "median": statistics.median(medians),
        "p99": percentile(medians, 0.99),
        "max": max(medians),
        "p99_calls": percentile(samples, 0.99),
        "start_up": start_up,
        "cold": cold_import(),
        "own": cold_import(own=True),
    }


def snippet(r: dict[str, float]) -> str:
    us = 1e6
    cpu = platform.processor() or platform.machine()
    return "\n".join([
        SECTION,
        "",
        f"{dt.date.today().isoformat()}, {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"tree-sitter-bash. `python bench/bench_bash_guard.py --runs {int(r['runs'])}`: `judge_command` over the "
        f"{int(r['commands'])} commands of tests/test_bash_guard.py (every category, obfuscated variants, "
        f"look-alikes), {int(r['runs'])} calls each after a warm-up.",
        "",
        "| what | time |",
        "| --- | ---: |",
        f"| median per command | {r['median'] * us:.0f} µs |",
        f"| p99 per command (of per-command medians) | {r['p99'] * us:.0f} µs |",
        f"| slowest command (median) | {r['max'] * us:.0f} µs |",
        f"| p99 over all calls | {r['p99_calls'] * us:.0f} µs |",
        f"| parser start-up (build the tree-sitter parser) | {r['start_up'] * us:.0f} µs |",
        f"| cold start: import the guard and judge `ls` in a fresh interpreter | {r['cold'] * 1e3:.0f} ms |",
        f"| of which the guard's own modules (after pydantic, policy, redaction) | {r['own'] * 1e3:.0f} ms |",
        "",
        "Target: median under 1 ms per command. The slowest commands are those that hand code on "
        "(heredocs into shells, `python -c` with embedded shell commands), which are parsed again.",
        "",
    ])


def write(text: str) -> None:
    path = REPO / "bench" / "RESULTS.md"
    current = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(current):
        updated = pattern.sub(lambda _: text, current, count=1)
    else:
        updated = current.rstrip("\n") + "\n\n" + text
    path.write_text(updated.rstrip("\n") + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    text = snippet(measure(args.runs))
    print(text)
    if args.write:
        write(text)


if __name__ == "__main__":
    main()
