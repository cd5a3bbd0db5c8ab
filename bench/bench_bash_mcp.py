"""`echo hi` through the MCP `bash` tool over stdio, sandboxed and not: per-call latency with mcpbench.

    python bench/bench_bash_mcp.py --calls 200
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
MCPBENCH = HERE.parent.parent / "shared" / "tools" / "mcpbench.py"


def measure(sandbox: str, calls: int, tmp: Path) -> dict[str, float]:
    devops_mcp = shutil.which("devops-mcp") or sys.exit("devops-mcp is not installed")
    policy = tmp / f"{sandbox}.toml"
    policy.write_text(f'[bash]\nsandbox = "{sandbox}"\n')
    out = tmp / f"{sandbox}.json"
    subprocess.run(
        [sys.executable, str(MCPBENCH), "--name", f"bash-{sandbox}", "--runs", "1", "--calls", str(calls),
         "--tool", "bash", "--args", json.dumps({"command": "echo hi"}),
         "--env", f"DEVOPS_MCP_POLICY={policy}", "--env", f"DEVOPS_MCP_WORKSPACE={tmp}",
         "--env", f"XDG_STATE_HOME={tmp}", "--out", str(out), "--", devops_mcp, "serve", "--toolsets", "bash"],
        check=True, capture_output=True,
    )  # fmt: skip
    summary = json.loads(out.read_text())["summary"]["tools_called"]["bash"]
    assert summary["is_error_count"] == 0, summary
    return dict(summary["call_ms"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = {mode: measure(mode, args.calls, Path(tmp)) for mode in ("auto", "off")}
    print("| `echo hi` through the MCP tool | calls | median (ms) | p90 (ms) | min (ms) |")
    print("|---|---|---|---|---|")
    for mode, label in (("auto", "sandboxed (bubblewrap)"), ("off", "not sandboxed")):
        stats = rows[mode]
        print(f"| {label} | {stats['n']} | {stats['median']:.2f} | {stats['p90']:.2f} | {stats['min']:.2f} |")


if __name__ == "__main__":
    main()
