"""Start a real `devops-mcp serve --transport http` subprocess on a free loopback port, for tests and benchmarks."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningServer:
    base: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def mcp(self) -> str:
        return f"{self.base}/mcp"


@contextmanager
def http_server(state: Path, env: dict[str, str] | None = None, *args: str) -> Iterator[RunningServer]:
    port = free_port()
    state.mkdir(parents=True, exist_ok=True)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "SUPABASE_", "DEVOPS_MCP_"))}
    full_env = base_env | {"XDG_STATE_HOME": str(state)} | (env or {})
    devops_mcp = shutil.which("devops-mcp")
    assert devops_mcp, "devops-mcp is not installed"
    log = state / f"server-{port}.log"
    with log.open("w") as errors:
        process = subprocess.Popen(
            [devops_mcp, "serve", "--transport", "http", "--port", str(port), *args],
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
    server = RunningServer(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{server.base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
