"""The PostgreSQL audit store, and several replicas sharing it: no acknowledged call loses its row."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import Any

import anyio
import httpx2
import mcp_types as types
import psycopg
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from server.audit import AuditRecord, PostgresAuditStore
from tests.http_server import RunningServer, http_server
from tests.postgres import postgres_url

__all__ = ["postgres_url"]  # the fixture, imported so pytest finds it here

pytestmark = pytest.mark.slow
TOKEN = "replica-test-token-" + "x" * 16


def rows(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return [(tool, outcome) for tool, outcome in conn.execute("SELECT tool, outcome FROM audit ORDER BY id")]


async def test_store_round_trip_and_idempotent_migration(postgres_url: str) -> None:
    first, second = PostgresAuditStore(postgres_url), PostgresAuditStore(postgres_url)
    try:
        await first.write(AuditRecord(tool="a", arguments={"x": 1}, outcome="ok", duration_ms=1.5))
        await second.write(AuditRecord(tool="b", arguments={}, outcome="denied", duration_ms=0.1, reasons=["[r] m"]))
        tail = await second.tail(10)
        await first.ping()
    finally:
        await first.aclose()
        await second.aclose()
    assert [(r.tool, r.outcome, r.reasons) for r in tail] == [("a", "ok", []), ("b", "denied", ["[r] m"])]
    assert tail[0].arguments == {"x": 1}


async def call_many(server: RunningServer, count: int, acknowledged: list[str], tag: str) -> None:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10) as http,
        Client(streamable_http_client(server.mcp, http_client=http)) as client,
    ):
        for i in range(count):
            result = await client.call_tool("validate_report", {"report": {"call": f"{tag}-{i}"}})
            if result.structured_content is not None:
                acknowledged.append(f"{tag}-{i}")


def replica_env(url: str, key: str) -> dict[str, str]:
    return {"DEVOPS_MCP_AUDIT": url, "DEVOPS_MCP_HTTP_TOKEN": TOKEN, "DEVOPS_MCP_STATE_KEY": key}


async def test_two_replicas_share_the_audit_store(postgres_url: str, tmp_path: Path) -> None:
    key = os.urandom(32).hex()
    with (
        http_server(tmp_path / "a", replica_env(postgres_url, key)) as a,
        http_server(tmp_path / "b", replica_env(postgres_url, key)) as b,
    ):
        acknowledged: list[str] = []
        async with anyio.create_task_group() as group:
            for n in range(4):
                group.start_soon(call_many, a if n % 2 else b, 10, acknowledged, f"c{n}")
    assert len(acknowledged) == 40
    assert rows(postgres_url).count(("validate_report", "ok")) == 40


async def test_sigkill_of_one_replica_loses_no_acknowledged_row(postgres_url: str, tmp_path: Path) -> None:
    key = os.urandom(32).hex()
    with (
        http_server(tmp_path / "a", replica_env(postgres_url, key)) as a,
        http_server(tmp_path / "b", replica_env(postgres_url, key)) as b,
    ):
        on_a: list[str] = []
        on_b: list[str] = []

        async def kill_a_soon() -> None:
            await anyio.sleep(0.5)
            os.kill(a.process.pid, signal.SIGKILL)

        async def load_a() -> None:
            # The replica is killed mid-stream; what it acknowledged before counts.
            with contextlib.suppress(Exception):
                await call_many(a, 400, on_a, "a")

        async with anyio.create_task_group() as group:
            group.start_soon(load_a)
            group.start_soon(call_many, b, 60, on_b, "b")
            group.start_soon(kill_a_soon)
        assert a.process.wait(timeout=5) == -signal.SIGKILL
        after: list[str] = []
        await call_many(b, 5, after, "after")
    assert 0 < len(on_a) < 400, "replica a was killed under load"
    assert len(on_b) == 60
    assert len(after) == 5, "the other replica keeps serving"
    ok_rows = rows(postgres_url).count(("validate_report", "ok"))
    # Every acknowledged call has its row; a call cut off mid-flight may have one too.
    assert ok_rows >= len(on_a) + len(on_b) + len(after)
    assert ok_rows <= len(on_a) + len(on_b) + len(after) + 1


async def _never(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    raise AssertionError("the rounds are driven by hand")


async def _ask_round(server: RunningServer, **kwargs: Any) -> Any:
    # The callback declares the elicitation capability; the test answers the round itself.
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as http,
        Client(
            streamable_http_client(server.mcp, http_client=http), mode="auto", elicitation_callback=_never
        ) as client,
    ):
        return await client.session.call_tool(
            "bash", {"command": "git reset --hard"}, allow_input_required=True, **kwargs
        )


@pytest.mark.parametrize("shared_key", [True, False], ids=["shared-key", "own-keys"])
async def test_a_confirmation_round_finishes_on_another_replica(
    postgres_url: str, tmp_path: Path, shared_key: bool
) -> None:
    """2026-07-28: the question comes from replica a, the answer goes to replica b."""
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    policy = tmp_path / "policy.toml"
    policy.write_text('[bash]\nsandbox = "auto"\n')
    base = {"DEVOPS_MCP_WORKSPACE": str(workspace), "DEVOPS_MCP_TOOLSETS": "bash", "DEVOPS_MCP_POLICY": str(policy)}
    env_a = replica_env(postgres_url, os.urandom(32).hex()) | base
    env_b = env_a if shared_key else replica_env(postgres_url, os.urandom(32).hex()) | base
    with http_server(tmp_path / "a", env_a) as a, http_server(tmp_path / "b", env_b) as b:
        question = await _ask_round(a)
        assert isinstance(question, types.InputRequiredResult)
        answer = {"devops_confirm": types.ElicitResult(action="accept", content={"confirm": True})}
        if shared_key:
            result = await _ask_round(b, input_responses=answer, request_state=question.request_state)
            assert isinstance(result, types.CallToolResult)
            assert result.structured_content is not None, result
            assert result.structured_content["exit_code"] is not None
        else:
            # Replica b cannot open a round sealed with replica a's key: -32602, nothing runs.
            with pytest.RaisesGroup(pytest.RaisesExc(MCPError, match="requestState"), flatten_subgroups=True):
                await _ask_round(b, input_responses=answer, request_state=question.request_state)
    outcomes = rows(postgres_url)
    assert ("bash", "input_required") in outcomes
    assert (("bash", "ok") in outcomes) is shared_key
