"""The outside of the server — tools, prompts, resources — compared with a committed snapshot.

An intended change: run `UPDATE_SNAPSHOTS=1 pytest tests/test_surface_snapshot.py` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from tests.conftest import make_server

SNAPSHOTS = Path(__file__).parent / "snapshots"

# Fake credentials switch every toolset on; values never reach the listing.
ALL_TOOLSETS_ENV = {"GITHUB_TOKEN": "test-token", "SUPABASE_ACCESS_TOKEN": "test-token"}


async def surface(**overrides: Any) -> dict[str, Any]:
    async with Client(make_server(**overrides)) as client:
        tools = (await client.list_tools()).tools
        prompts = (await client.list_prompts()).prompts
        resources = (await client.list_resources()).resources
        templates = (await client.list_resource_templates()).resource_templates
    dump = lambda items: [item.model_dump(mode="json", by_alias=True, exclude_none=True) for item in items]  # noqa: E731
    return {
        "tools": dump(tools),
        "prompts": dump(prompts),
        "resources": dump(resources),
        "resource_templates": dump(templates),
    }


@pytest.mark.parametrize(("name", "read_only"), [("surface", False), ("surface-read-only", True)])
async def test_surface_matches_snapshot(
    name: str, read_only: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in ALL_TOOLSETS_ENV.items():
        monkeypatch.setenv(key, value)
    current = await surface(read_only=read_only or None)
    path = SNAPSHOTS / f"{name}.json"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    assert current == json.loads(path.read_text()), f"{path.name} changed; see this module's docstring"


async def test_read_only_lists_only_read_only_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in ALL_TOOLSETS_ENV.items():
        monkeypatch.setenv(key, value)
    tools = (await surface(read_only=True))["tools"]
    assert tools, "read-only mode still serves the read-only tools"
    assert all(tool["annotations"]["readOnlyHint"] is True for tool in tools)


async def test_every_tool_declares_title_annotations_and_schemas() -> None:
    for tool in (await surface())["tools"]:
        annotations = tool["annotations"]
        assert tool["title"]
        assert set(annotations) >= {"readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"}
        assert tool["inputSchema"]["type"] == "object"
        assert tool["outputSchema"]["type"] == "object"
