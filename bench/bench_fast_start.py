"""Fast start: spawn → tools/list and spawn → first tool result over stdio, interleaved, as Markdown.

    python bench/bench_fast_start.py --rounds 10 [--node-github PATH]

Servers, in alternating rounds so all see the same machine load:
  * `devops-mcp serve` with the fast-start front, its manifest prepared first (`serve --prepare`);
  * `devops-mcp serve --no-fast-start` (the SDK path alone);
  * the bare SDK floor, `bench/bare_server.py` (one `MCPServer` tool);
  * `@modelcontextprotocol/server-github` (node), when `--node-github` or `mcp-server-github` on PATH
    finds it (`npm install @modelcontextprotocol/server-github`); it needs a token variable set to start.

Per round and server: ../shared/tools/mcpbench.py (the official client) for spawn → initialize →
tools/list, and a raw JSON-lines client (no client library in the timed path) for spawn → initialize →
tools/list → the first `tools/call` result: `validate_report` with `{"report": {}}` for ours, `echo` for
the floor, and for the node server `get_file_contents` with no arguments (refused by its input check,
no network).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import selectors
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MCPBENCH = HERE.parent.parent / "shared" / "tools" / "mcpbench.py"
# What the SDK's stdio client passes from its own environment (mcpbench does the same).
INHERITED = ("HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER")


def _line(message: dict[str, Any]) -> bytes:
    return (json.dumps(message) + "\n").encode()


class Raw:
    """One spawned server, spoken to in JSON lines; times are ms since the spawn."""

    def __init__(self, command: list[str], env: dict[str, str], timeout: float) -> None:
        self.deadline = time.perf_counter() + timeout
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
        )
        self.buffer = b""
        self.selector = selectors.DefaultSelector()
        assert self.process.stdout is not None
        self.selector.register(self.process.stdout, selectors.EVENT_READ)

    def send(self, *messages: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"".join(_line(message) for message in messages))
        self.process.stdin.flush()

    def answer(self, request_id: int) -> tuple[float, dict[str, Any]]:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        while True:
            while b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                message = json.loads(line)
                if message.get("id") == request_id and "method" not in message:
                    return (time.perf_counter() - self.started) * 1000, message
            left = self.deadline - time.perf_counter()
            if left <= 0 or not self.selector.select(left):
                raise TimeoutError(f"no answer to request {request_id}")
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise EOFError(f"the server closed before answering request {request_id}")
            self.buffer += chunk

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.selector.close()
        assert self.process.stdout is not None
        self.process.stdout.close()


def raw_once(command: list[str], env: dict[str, str], tool: str, arguments: dict[str, Any]) -> dict[str, float]:
    client = {"name": "bench", "version": "0"}
    server = Raw(command, env, timeout=60)
    try:
        server.send(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": client},
            }
        )
        init_ms, _ = server.answer(1)
        server.send(
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        )
        list_ms, _ = server.answer(2)
        call = {"name": tool, "arguments": arguments}
        server.send({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": call})
        call_ms, answer = server.answer(3)
        if "result" not in answer and "error" not in answer:
            raise RuntimeError(f"unexpected answer {answer}")
    finally:
        server.close()
    return {"init": init_ms, "list": list_ms, "call": call_ms}


def mcpbench_once(name: str, command: list[str], env: dict[str, str], out: Path) -> list[float]:
    extra = [arg for key, value in env.items() if key not in INHERITED for arg in ("--env", f"{key}={value}")]
    subprocess.run(
        [
            sys.executable,
            str(MCPBENCH),
            "--name",
            name,
            "--runs",
            "2",
            "--warmup",
            "1",
            "--calls",
            "0",
            "--pause",
            "0.1",
            "--out",
            str(out),
            *extra,
            "--",
            *command,
        ],
        check=True,
        capture_output=True,
    )
    cold = json.loads(out.read_text())["cold"]
    return [r["to_list_ms"] for r in cold if not r["warmup"] and "to_list_ms" in r]


def _stats(values: list[float]) -> str:
    if not values:
        return "n/a | n/a | n/a"
    return f"{statistics.median(values):.1f} | {min(values):.1f} | {max(values):.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--node-github", help="path of mcp-server-github (default: on PATH)")
    args = parser.parse_args()
    ours = shutil.which("devops-mcp") or sys.exit("devops-mcp is not installed in this environment")
    node = args.node_github or shutil.which("mcp-server-github")
    with tempfile.TemporaryDirectory(prefix="bench-fast-start-") as tmp:
        base = {key: os.environ[key] for key in INHERITED if key in os.environ}
        env = {**base, "XDG_CACHE_HOME": f"{tmp}/cache", "XDG_STATE_HOME": f"{tmp}/state"}
        subprocess.run([ours, "serve", "--prepare"], env=env, check=True, capture_output=True)
        echo: tuple[str, dict[str, Any]] = ("echo", {"text": "hi"})
        report: tuple[str, dict[str, Any]] = ("validate_report", {"report": {}})
        servers: dict[str, tuple[list[str], dict[str, str], tuple[str, dict[str, Any]]]] = {
            "bare MCPServer (floor)": ([sys.executable, str(HERE / "bare_server.py")], env, echo),
            "devops-mcp serve (fast start)": ([ours, "serve"], env, report),
            "devops-mcp serve --no-fast-start": ([ours, "serve", "--no-fast-start"], env, report),
        }
        if node:
            node_env = {**env, "GITHUB_PERSONAL_ACCESS_TOKEN": "bench-not-a-token"}
            servers["server-github (node)"] = ([node], node_env, ("get_file_contents", {}))
        listed: dict[str, list[float]] = {name: [] for name in servers}
        raw: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
        for round_no in range(args.rounds):
            for i, (name, (command, server_env, (tool, arguments))) in enumerate(servers.items()):
                listed[name] += mcpbench_once(f"s{i}", command, server_env, Path(tmp) / f"{round_no}-{i}.json")
                raw_once(command, server_env, tool, arguments)  # warm-up, discarded
                for _ in range(2):
                    raw[name].append(raw_once(command, server_env, tool, arguments))
                    time.sleep(0.1)
    floor_call = statistics.median(r["call"] for r in raw["bare MCPServer (floor)"])
    print(
        f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"`python bench/bench_fast_start.py --rounds {args.rounds}`.\n"
    )
    print(
        "| server | spawn → tools/list, mcpbench: median | min | max "
        "| raw: spawn → initialize | spawn → tools/list | spawn → first tool result: median | min | max "
        "| first tool result / floor |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in servers:
        calls = [r["call"] for r in raw[name]]
        ratio = f"{statistics.median(calls) / floor_call:.3f}x"
        print(
            f"| {name} | {_stats(listed[name])} | {statistics.median(r['init'] for r in raw[name]):.1f} "
            f"| {statistics.median(r['list'] for r in raw[name]):.1f} | {_stats(calls)} | {ratio} |"
        )


if __name__ == "__main__":
    main()
