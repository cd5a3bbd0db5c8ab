"""The shared HTTP service: bearer auth, DNS rebinding, body cap, rate limit, health, readiness, metrics."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.http_server import RunningServer, http_server

pytestmark = pytest.mark.slow
TOKEN = secrets.token_hex(24)
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    state = tmp_path_factory.mktemp("service")
    policy = state / "policy.toml"
    policy.write_text("[http]\nmax_request_bytes = 20000\nrate_limit_per_minute = 120\n")
    env = {"DEVOPS_MCP_HTTP_TOKEN": TOKEN, "DEVOPS_MCP_POLICY": str(policy)}
    with http_server(state, env) as server:
        yield server


def authed(token: str = TOKEN) -> dict[str, str]:
    return ACCEPT | {"Authorization": f"Bearer {token}"}


def test_no_token_is_401_with_resource_metadata(service: RunningServer) -> None:
    response = httpx.post(service.mcp, json=PING, headers=ACCEPT)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer resource_metadata=")
    metadata_url = challenge.split('"')[1]
    metadata = httpx.get(metadata_url).json()
    assert metadata["resource"] == service.mcp


def test_wrong_token_is_401(service: RunningServer) -> None:
    assert httpx.post(service.mcp, json=PING, headers=authed("wrong")).status_code == 401
    assert httpx.post(service.mcp, json=PING, headers=ACCEPT | {"Authorization": f"Basic {TOKEN}"}).status_code == 401


async def test_good_token_works_in_both_eras(service: RunningServer) -> None:
    for mode in ("legacy", "auto"):
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
            Client(streamable_http_client(service.mcp, http_client=http), mode=mode) as client,
        ):
            tools = (await client.list_tools()).tools
            assert any(tool.name == "validate_report" for tool in tools)


@pytest.mark.parametrize(
    ("headers", "status"),
    [({"Host": "evil.example"}, 421), ({"Origin": "http://evil.example"}, 403)],
)
def test_dns_rebinding(service: RunningServer, headers: dict[str, str], status: int) -> None:
    assert httpx.post(service.mcp, json=PING, headers=authed() | headers).status_code == status


def test_body_over_the_cap_is_413(service: RunningServer) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"_meta": {"pad": "x" * 30_000}}}
    assert httpx.post(service.mcp, json=body, headers=authed()).status_code == 413


def test_health_and_readiness_need_no_token(service: RunningServer) -> None:
    assert httpx.get(f"{service.base}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{service.base}/readyz").json() == {"status": "ready"}


async def test_metrics_show_per_tool_series_after_calls(service: RunningServer) -> None:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
        Client(streamable_http_client(service.mcp, http_client=http)) as client,
    ):
        await client.call_tool("validate_report", {"report": {}})
        await client.call_tool("validate_report", {"report": 1})
    text = httpx.get(f"{service.base}/metrics").text
    assert 'devops_mcp_tool_calls_total{outcome="ok",tool="validate_report"}' in text
    assert 'devops_mcp_tool_errors_total{kind="invalid",tool="validate_report"}' in text
    assert 'devops_mcp_tool_duration_seconds_count{tool="validate_report"}' in text
    assert "devops_mcp_audit_write_seconds_count" in text
    assert "devops_mcp_sandbox_available" in text
    assert 'devops_mcp_guard_decisions_total{rule="none",verdict="allow"}' in text


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("[http]\nrate_limit_per_minute = 5\n")
    with http_server(tmp_path, {"DEVOPS_MCP_HTTP_TOKEN": TOKEN, "DEVOPS_MCP_POLICY": str(policy)}) as server:
        codes = [httpx.post(server.mcp, json=PING, headers=authed()).status_code for _ in range(8)]
        limited = httpx.post(server.mcp, json=PING, headers=authed())
    assert codes[:5] == [200] * 5
    assert codes[5:] == [429] * 3
    assert int(limited.headers["retry-after"]) >= 1


def test_readiness_fails_when_the_audit_store_is_unreachable(tmp_path: Path) -> None:
    env = {"DEVOPS_MCP_AUDIT": "postgresql://nobody@127.0.0.1:9/none?connect_timeout=1"}
    with http_server(tmp_path, env) as server:
        response = httpx.get(f"{server.base}/readyz", timeout=30)
    assert response.status_code == 503


def test_a_public_bind_without_a_token_refuses_to_start(tmp_path: Path) -> None:
    devops_mcp = shutil.which("devops-mcp")
    assert devops_mcp
    done = subprocess.run(
        [devops_mcp, "serve", "--transport", "http", "--host", "0.0.0.0", "--port", "9"],
        capture_output=True, text=True, timeout=60, env={"XDG_STATE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 2
    assert "DEVOPS_MCP_HTTP_TOKEN" in done.stderr
    assert done.stderr.count("\n") == 1


def test_server_log_never_holds_the_token(service: RunningServer) -> None:
    httpx.post(service.mcp, json=PING, headers=authed())
    assert TOKEN not in service.log.read_text()
    assert all(json.loads(line) for line in service.log.read_text().splitlines())


async def test_sigterm_drains_an_in_flight_call(tmp_path: Path) -> None:
    import signal

    import anyio

    workspace = tmp_path / "workspace"
    workspace.mkdir()
    env = {"DEVOPS_MCP_HTTP_TOKEN": TOKEN, "DEVOPS_MCP_TOOLSETS": "bash", "DEVOPS_MCP_WORKSPACE": str(workspace)}
    with http_server(tmp_path / "state", env) as server:
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as http,
            # No session DELETE on close: the server is gone by then, which is the point.
            Client(streamable_http_client(server.mcp, http_client=http, terminate_on_close=False)) as client,
        ):
            await client.list_tools()  # the client checks results against the listed schema; list it now
            async with anyio.create_task_group() as group:
                results: list[object] = []

                async def slow_call() -> None:
                    results.append(await client.call_tool("bash", {"command": "sleep 2 && echo drained"}))

                group.start_soon(slow_call)
                await anyio.sleep(0.7)  # the call is running now
                server.process.send_signal(signal.SIGTERM)
        # uvicorn finishes the in-flight call, shuts down, then re-raises the signal for the exit status.
        assert server.process.wait(timeout=30) in (0, -signal.SIGTERM)
    (result,) = results
    assert "drained" in str(result)
