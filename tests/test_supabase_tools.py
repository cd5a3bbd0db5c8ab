"""The Supabase toolset end to end: MCP client → guardrail pipeline → httpx → the Management API double."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import mcp_types as types
import pytest
from mcp import Client

from server.app import build_server
from server.audit import SQLiteAuditStore
from server.config import load_settings
from server.policy import Policy
from tests.doubles.supabase_api import SupabaseDouble
from tests.fixtures.supabase_logs import FAKE_FENCE_CLOSE, INJECTION_TEXT, PLANTED_SECRETS, SERVICE_SOURCES
from tools import supabase as supabase_ops
from tools.supabase_models import Service

TOKEN = "supabase-double-token"
REF = "abcdefghijklmnopqrst"
OTHER = "zyxwvutsrqponmlkjihg"


@pytest.fixture
def sb(monkeypatch: pytest.MonkeyPatch) -> Iterator[SupabaseDouble]:
    with SupabaseDouble(token=TOKEN) as double:
        double.add_project(REF, "shop", region="eu-west-1")
        double.add_project(OTHER, "internal", region="us-east-1")
        monkeypatch.setenv("SUPABASE_ACCESS_TOKEN", TOKEN)
        monkeypatch.setenv("SUPABASE_API_URL", double.url)
        monkeypatch.setattr(supabase_ops, "TIMEOUT_S", 1.0)
        yield double
        assert double.violations == []


def server(tmp_path: Path, policy: dict[str, Any] | None = None, **settings: Any) -> Any:
    return build_server(
        load_settings(toolsets=("supabase",), **settings),
        policy=Policy.model_validate(policy or {}),
        audit=SQLiteAuditStore(tmp_path / "audit.sqlite3"),
    )


def text(result: types.CallToolResult) -> str:
    return "".join(block.text for block in result.content if isinstance(block, types.TextContent))


async def test_get_project(sb: SupabaseDouble, tmp_path: Path, era: str) -> None:
    async with Client(server(tmp_path), mode=era) as client:
        result = await client.call_tool("get_project", {"id": REF})
        listed = await client.call_tool("list_projects", {})
    data = result.structured_content
    assert data is not None
    assert {key: data[key] for key in ("ref", "name", "region")} == {"ref": REF, "name": "shop", "region": "eu-west-1"}
    assert data["status"] and data["database_version"] and data["created_at"]
    assert listed.structured_content is not None
    assert {p["ref"] for p in listed.structured_content["projects"]} == {REF, OTHER}


@pytest.mark.parametrize("service", get_args(Service))
async def test_get_logs_reads_the_right_source_fenced_and_redacted(
    sb: SupabaseDouble, tmp_path: Path, service: str
) -> None:
    async with Client(server(tmp_path)) as client:
        result = await client.call_tool(
            "get_logs", {"project_id": REF, "service": service, "iso_timestamp_start": _hours_ago(2)}
        )
    assert not result.is_error, text(result)
    query = sb.queries[-1]
    assert query.sources == (SERVICE_SOURCES[service],)
    assert query.error is None, query.error
    data = result.structured_content
    assert data is not None
    assert data["summary"]["count"] == query.rows > 0
    assert sum(data["summary"]["by_level"].values()) == data["summary"]["count"]
    lines = data["lines"]
    assert lines.count("</untrusted-data-") == 1, "one fence, closed once, at the end"
    assert lines.rstrip().splitlines()[-1].startswith("</untrusted-data-")
    for secret in PLANTED_SECRETS.values():
        assert secret not in json.dumps(data)
        assert secret not in text(result)


async def test_injection_and_fake_fence_stay_inside(sb: SupabaseDouble, tmp_path: Path) -> None:
    async with Client(server(tmp_path)) as client:
        for service in get_args(Service):
            result = await client.call_tool("get_logs", {"project_id": REF, "service": service})
            assert result.structured_content is not None
            lines = result.structured_content["lines"]
            body = lines.split("\n", 2)[2] if lines.count("\n") >= 2 else lines
            assert FAKE_FENCE_CLOSE not in body, "a fake closing fence survived"
            if INJECTION_TEXT.split()[0] in lines:
                closing = lines.rstrip().rfind("</untrusted-data-")
                assert lines.find(INJECTION_TEXT.split(".")[0]) < closing


async def test_search_and_limit(sb: SupabaseDouble, tmp_path: Path) -> None:
    async with Client(server(tmp_path)) as client:
        result = await client.call_tool(
            "get_logs", {"project_id": REF, "service": "api", "search": "' OR 1=1 --", "limit": 5}
        )
    assert not result.is_error, text(result)
    query = sb.queries[-1]
    assert query.message_filters == ("' OR 1=1 --",)
    assert query.limit == 5
    assert query.sql is not None and "1=1" not in query.sql


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"iso_timestamp_start": "2026-11-25T00:00:00Z", "iso_timestamp_end": "2026-11-26T01:00:00Z"}, "[logs.window]"),
        ({"iso_timestamp_start": "2026-11-26T02:00:00Z", "iso_timestamp_end": "2026-11-26T01:00:00Z"}, "[logs.window]"),
        ({"service": "kernel"}, "service"),
        ({"project_id": "NOT-A-REF"}, "project_id"),
        ({"iso_timestamp_start": "2026-11-26T02:00:00"}, "iso_timestamp_start"),
        ({"limit": 5000}, "limit"),
    ],
    ids=["window-over-24h", "start-after-end", "unknown-service", "bad-project-id", "no-offset", "limit"],
)
async def test_violations_name_the_rule_and_send_nothing(
    sb: SupabaseDouble, tmp_path: Path, arguments: dict[str, Any], expected: str
) -> None:
    async with Client(server(tmp_path)) as client:
        result = await client.call_tool("get_logs", {"project_id": REF, "service": "api", **arguments})
    assert result.is_error
    assert expected in text(result)
    assert sb.requests == []


async def test_scope_and_single_project_mode(
    sb: SupabaseDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with Client(server(tmp_path, {"scope": {"supabase_projects": [REF]}})) as client:
        outside = await client.call_tool("get_project", {"id": OTHER})
        listed = await client.call_tool("list_projects", {})
    assert "[scope.project]" in text(outside)
    assert listed.structured_content is not None
    assert [p["ref"] for p in listed.structured_content["projects"]] == [REF]

    monkeypatch.setenv("SUPABASE_PROJECT_REF", REF)
    async with Client(server(tmp_path)) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        logs = await client.call_tool("get_logs", {"service": "postgres"})
        other = await client.call_tool("get_logs", {"service": "postgres", "project_id": OTHER})
    assert names == {"get_project", "get_logs"}
    assert not logs.is_error, text(logs)
    assert logs.structured_content is not None and logs.structured_content["project_id"] == REF
    assert "[scope.project]" in text(other)


async def test_rate_limit_and_server_error_are_survived(sb: SupabaseDouble, tmp_path: Path) -> None:
    sb.inject(op="v1-get-project", status=429, headers={"Retry-After": "1"})
    sb.inject(op="v1-get-project-logs", status=500)
    async with Client(server(tmp_path)) as client:
        project = await client.call_tool("get_project", {"id": REF})
        logs = await client.call_tool("get_logs", {"project_id": REF, "service": "auth"})
    assert not project.is_error, text(project)
    assert not logs.is_error, text(logs)
    assert sb.count("v1-get-project") == 2
    assert sb.count("v1-get-project-logs") == 2


@pytest.mark.parametrize(
    ("status", "expected"),
    [(401, "rejected the token"), (402, "paid plan"), (403, "no access"), (404, "does not exist")],
)
async def test_errors_are_clear(sb: SupabaseDouble, tmp_path: Path, status: int, expected: str) -> None:
    # The logs operation is the one that declares 402 (a plan without log access).
    sb.inject(op="v1-get-project-logs", status=status)
    async with Client(server(tmp_path)) as client:
        result = await client.call_tool("get_logs", {"project_id": REF, "service": "api"})
    assert result.is_error
    assert expected in text(result)


async def test_a_timeout_is_a_clear_error(sb: SupabaseDouble, tmp_path: Path) -> None:
    sb.inject(op="v1-get-project-logs", delay_s=2.5)
    async with Client(server(tmp_path)) as client:
        result = await client.call_tool("get_logs", {"project_id": REF, "service": "api"})
    assert result.is_error
    assert "did not answer" in text(result)


async def test_secrets_never_reach_the_audit_file(sb: SupabaseDouble, tmp_path: Path) -> None:
    async with Client(server(tmp_path)) as client:
        for service in get_args(Service):
            await client.call_tool("get_logs", {"project_id": REF, "service": service, "search": "e"})
    audit = b"".join(path.read_bytes() for path in tmp_path.glob("audit.sqlite3*"))
    for secret in PLANTED_SECRETS.values():
        assert secret.encode() not in audit


def _hours_ago(hours: float) -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat()
