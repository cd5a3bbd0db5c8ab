"""A real `devops-mcp serve --transport http` subprocess: both eras over streamable HTTP, health, DNS rebinding."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from mcp import Client

from tests.conftest import ERA_VERSIONS
from tests.http_server import http_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def http_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with http_server(tmp_path_factory.mktemp("http-state")) as server:
        yield server.base


async def test_both_eras_over_http(http_server_url: str, era: str) -> None:
    async with Client(f"{http_server_url}/mcp", mode=era) as client:
        assert client.protocol_version == ERA_VERSIONS[era]
        prompts = {p.name for p in (await client.list_prompts()).prompts}
        tools = {t.name for t in (await client.list_tools()).tools}
        result = await client.call_tool("validate_report", {"report": {}})
    assert "devops-engineer" in prompts
    assert "validate_report" in tools
    assert result.structured_content is not None
    assert result.structured_content["valid"] is False


def test_health_endpoints(http_server_url: str) -> None:
    assert httpx.get(f"{http_server_url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{http_server_url}/readyz").status_code == 200


@pytest.mark.parametrize(
    ("headers", "status"),
    [({"Host": "evil.example"}, 421), ({"Origin": "http://evil.example"}, 403)],
)
def test_dns_rebinding_protection_is_on(http_server_url: str, headers: dict[str, str], status: int) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    accept = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    response = httpx.post(f"{http_server_url}/mcp", json=body, headers=accept | headers)
    assert response.status_code == status
