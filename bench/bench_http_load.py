"""HTTP load: 50 clients x 100 calls of a cheap read-only tool, ours (guard pipeline + audit) beside a bare SDK server.

Server on CPU 1, load generator on CPU 0 (taskset), one after the other in the same run; each server
first gets a warm-up of 50 x 20 calls, so the memory figure is growth over the measured 5000. Uses
../shared/tools/mcpload.py. Prints a Markdown table for bench/RESULTS.md.

    python bench/bench_http_load.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MCPLOAD = HERE.parent.parent / "shared" / "tools" / "mcpload.py"
TOKEN = "load-bench-token-0123456789abcdef"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_up(port: int) -> None:
    import socket

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"port {port} did not open")


def run(
    name: str, command: list[str], port: int, tool: str, args: str, env: dict[str, str], headers: list[str]
) -> dict:
    server = subprocess.Popen(["taskset", "-c", "1", *command], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_up(port)
        runs = []
        for calls in ("20", "100"):  # a warm-up of 1000 calls, then the measured 5000
            with tempfile.NamedTemporaryFile(suffix=".json") as out:
                load = ["taskset", "-c", "0", sys.executable, str(MCPLOAD), "--url", f"http://127.0.0.1:{port}/mcp",
                        "--tool", tool, "--args", args, "-c", "50", "-n", calls, "--pid", str(server.pid),
                        "--name", name, "--out", out.name]  # fmt: skip
                for header in headers:
                    load += ["-H", header]
                subprocess.run(load, check=True, capture_output=True)
                runs.append(dict(json.loads(Path(out.name).read_text())))
        warm, measured = runs
        measured["rss_cold_mib"] = warm["rss_before"]["tree_mib"]
        return measured
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    devops_mcp = shutil.which("devops-mcp") or sys.exit("devops-mcp is not installed")
    with tempfile.TemporaryDirectory() as state:
        policy = Path(state) / "policy.toml"
        policy.write_text("[http]\nrate_limit_per_minute = 1000000\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "SUPABASE_", "DEVOPS_MCP_"))}
        ours_env = env | {"XDG_STATE_HOME": state, "DEVOPS_MCP_HTTP_TOKEN": TOKEN, "DEVOPS_MCP_POLICY": str(policy)}
        bare_port, ours_port = free_port(), free_port()
        results = [
            run("bare MCPServer (stateless, JSON)", [sys.executable, str(HERE / "bare_http_server.py"), str(bare_port)],
                bare_port, "echo", '{"text": "hi"}', env, []),
            run("devops-mcp serve (guard + audit)", [devops_mcp, "serve", "--transport", "http", "--port",
                str(ours_port)], ours_port, "validate_report", '{"report": {}}', ours_env,
                [f"Authorization: Bearer {TOKEN}"]),
        ]  # fmt: skip
    print("| server | calls | errors | calls/s | p50 ms | p99 ms | server CPU per call (ms) "
          "| RSS at start → after warm-up → after 5000 calls (MiB) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        cpu_ms = r["cpu_callphase"]["server_s"] / r["total_calls"] * 1000
        print(
            f"| {r['name']} | {r['total_calls']} | {r['errors']} | {r['calls_per_s_callphase']:.0f} "
            f"| {r['latency_ms']['p50']:.1f} | {r['latency_ms']['p99']:.1f} | {cpu_ms:.2f} "
            f"| {r['rss_cold_mib']:.1f} → {r['rss_before']['tree_mib']:.1f} → {r['rss_after_calls']['tree_mib']:.1f} |"
        )
    ratio = (results[1]["cpu_callphase"]["server_s"] / results[0]["cpu_callphase"]["server_s"])
    print(f"\nServer CPU per call, ours / bare: **{ratio:.2f}x** (target ≤ 1.25x).")


if __name__ == "__main__":
    main()
