"""Cold start (spawn → tools/list) of `devops-mcp serve` against a bare MCPServer, interleaved.

Runs ../shared/tools/mcpbench.py in alternating rounds so both servers see the same machine load,
then prints the medians and their ratio as a Markdown snippet for bench/RESULTS.md.

    python bench/bench_cold_start.py --rounds 10
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
MCPBENCH = HERE.parent.parent / "shared" / "tools" / "mcpbench.py"


def run_once(name: str, command: list[str], out: Path) -> list[float]:
    subprocess.run(
        [sys.executable, str(MCPBENCH), "--name", name, "--runs", "2", "--warmup", "1", "--calls", "0",
         "--pause", "0.1", "--out", str(out), "--", *command],
        check=True,
        capture_output=True,
    )
    cold = json.loads(out.read_text())["cold"]
    return [r["to_list_ms"] for r in cold if not r["warmup"] and "to_list_ms" in r]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    ours = shutil.which("devops-mcp") or sys.exit("devops-mcp is not installed in this environment")
    servers = {
        "bare MCPServer (1 tool)": [sys.executable, str(HERE / "bare_server.py")],
        "devops-mcp serve": [ours, "serve"],
        "devops-mcp serve --no-fast-start": [ours, "serve", "--no-fast-start"],
    }
    samples: dict[str, list[float]] = {name: [] for name in servers}
    with tempfile.TemporaryDirectory() as tmp:
        for round_no in range(args.rounds):
            for i, (name, command) in enumerate(servers.items()):
                samples[name] += run_once(f"s{i}", command, Path(tmp) / f"{round_no}-{i}.json")
    medians = {name: statistics.median(values) for name, values in samples.items()}
    floor = medians["bare MCPServer (1 tool)"]
    print("| server | runs | spawn → tools/list, median (ms) | min | max |")
    print("|---|---|---|---|---|")
    for name, values in samples.items():
        print(f"| {name} | {len(values)} | {medians[name]:.1f} | {min(values):.1f} | {max(values):.1f} |")
    for name in list(servers)[1:]:
        print(f"\n{name}: **{medians[name] / floor:.3f}x** the floor (target ≤ 1.15x).")


if __name__ == "__main__":
    main()
