"""A real `devops-mcp serve --transport http` subprocess: both eras over streamable HTTP, health, DNS rebinding."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
from mcp import Client

from tests.conftest import ERA_VERSIONS

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    state = tmp_path_factory.mktemp("http-state")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "SUPABASE_", "DEVOPS_MCP_"))}
    env["XDG_STATE_HOME"] = str(state)
    devops_mcp = shutil.which("devops-mcp")
    assert devops_mcp, "devops-mcp is not installed"
    process = subprocess.Popen(
        [devops_mcp, "serve", "--transport", "http", "--port", str(port)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=(state / "server.log").open("w"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, (state / "server.log").read_text()
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_both_eras_over_http(http_server: str, era: str) -> None:
    async with Client(f"{http_server}/mcp", mode=era) as client:
        assert client.protocol_version == ERA_VERSIONS[era]
        prompts = {p.name for p in (await client.list_prompts()).prompts}
        tools = {t.name for t in (await client.list_tools()).tools}
        result = await client.call_tool("validate_report", {"report": {}})
    assert "devops-engineer" in prompts
    assert "validate_report" in tools
    assert result.structured_content is not None
    assert result.structured_content["valid"] is False


def test_health_endpoints(http_server: str) -> None:
    assert httpx.get(f"{http_server}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{http_server}/readyz").status_code == 200


@pytest.mark.parametrize(
    ("headers", "status"),
    [({"Host": "evil.example"}, 421), ({"Origin": "http://evil.example"}, 403)],
)
def test_dns_rebinding_protection_is_on(http_server: str, headers: dict[str, str], status: int) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    accept = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    response = httpx.post(f"{http_server}/mcp", json=body, headers=accept | headers)
    assert response.status_code == status
