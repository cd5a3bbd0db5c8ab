"""`devops-mcp install claude-code` and the Claude Code hooks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from server.claude_code import ENV, apply, plan, registrations
from server.cli import main
from server.hooks import pre_tool_use, user_prompt
from server.policy import Policy

EXISTING = {"mcpServers": {"postgres": {"command": "pg-mcp", "args": ["--ro"]}}, "other": {"keep": True}}


def install(tmp_path: Path, *extra: str) -> int:
    return main(["install", "claude-code", "--dir", str(tmp_path), *extra])


def test_install_keeps_other_servers_and_a_second_install_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / ".mcp.json").write_text(json.dumps(EXISTING))
    assert install(tmp_path) == 0
    config = json.loads((tmp_path / ".mcp.json").read_text())
    assert config["mcpServers"]["postgres"] == EXISTING["mcpServers"]["postgres"]
    assert config["other"] == {"keep": True}
    assert config["mcpServers"]["devops"]["command"] == "devops-mcp"
    assert json.loads((tmp_path / ".mcp.json.bak").read_text()) == EXISTING
    agent = (tmp_path / ".claude" / "agents" / "devops-engineer.md").read_text()
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    assert not [c for c in plan(tmp_path, "project", False, tmp_path) if c.changed]
    assert install(tmp_path) == 0
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()} == stamps
    assert agent.startswith("---\nname: devops-engineer\n")


def test_tokens_are_expansions_never_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "a-real-looking-token-value")
    assert install(tmp_path) == 0
    text = (tmp_path / ".mcp.json").read_text()
    assert "a-real-looking-token-value" not in text
    assert json.loads(text)["mcpServers"]["devops"]["env"] == ENV


def test_dry_run_prints_a_diff_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert install(tmp_path, "--dry-run") == 0
    out = capsys.readouterr().out
    assert out.startswith("--- ")
    assert "+tools: Bash" in out
    assert not any(tmp_path.iterdir())


def test_user_scope_writes_the_user_config(tmp_path: Path) -> None:
    home = tmp_path / "home"
    apply(plan(tmp_path / "project", "user", False, home))
    assert (home / ".claude" / "agents" / "devops-engineer.md").is_file()
    assert "devops" in json.loads((home / ".claude.json").read_text())["mcpServers"]


def test_invalid_existing_config_is_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".mcp.json").write_text("{not json")
    assert install(tmp_path) == 2
    assert "is not valid JSON" in capsys.readouterr().err
    assert (tmp_path / ".mcp.json").read_text() == "{not json"


@pytest.mark.slow
@pytest.mark.parametrize("compat", [False, True], ids=["devops", "compat"])
async def test_every_tool_name_in_the_agent_is_listed_by_its_server(tmp_path: Path, compat: bool) -> None:
    changes = plan(tmp_path, "project", compat, tmp_path)
    agent = changes[0].after
    named = set(re.findall(r"mcp__([a-z-]+)__([a-z_]+)", agent.split("\n---", 1)[0]))
    assert named
    config = json.loads(changes[1].after)["mcpServers"]
    listed: set[tuple[str, str]] = set()
    for reg in registrations(compat):
        entry = config[reg.name]
        params = StdioServerParameters(
            command=entry["command"], args=entry["args"], env={"XDG_STATE_HOME": str(tmp_path / "state")}
        )
        async with Client(params) as client:
            listed |= {(reg.name, tool.name) for tool in (await client.list_tools()).tools}
    assert named == listed
    if compat:  # the user's original names resolve
        assert {("github", "create_pull_request"), ("supabase", "get_logs")} <= named


# --- hooks ----------------------------------------------------------------------------------------


def bash_call(command: str) -> dict[str, object]:
    return {"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": command}}


@pytest.mark.parametrize(
    ("command", "decision"),
    [("rm -rf ~", "deny"), ("git push --force origin main", "deny"), ("git reset --hard", "ask"),
     ("git status", None), ("ls -la && pytest -q", None)],
)  # fmt: skip
def test_pre_tool_use_applies_the_bash_guard(command: str, decision: str | None) -> None:
    output = pre_tool_use(bash_call(command), Policy())
    if decision is None:
        assert output is None
    else:
        assert output is not None
        specific = output["hookSpecificOutput"]
        assert specific["hookEventName"] == "PreToolUse"
        assert specific["permissionDecision"] == decision
        assert specific["permissionDecisionReason"].startswith("devops-engineer-mcp guard: [bash.")


def test_pre_tool_use_ignores_other_tools_and_blocks_unreadable_calls() -> None:
    assert pre_tool_use({"tool_name": "Read", "tool_input": {"file_path": "/etc/passwd"}}, Policy()) is None
    with pytest.raises(ValueError, match="without a command"):
        pre_tool_use({"tool_name": "Bash", "tool_input": {}}, Policy())


@pytest.mark.parametrize(
    ("prompt", "suggested"),
    [("the build on main has been red since yesterday", True), ("users see 502s since we shipped", True),
     ("explain merge sort", False), ("CSS container queries", False)],
)  # fmt: skip
def test_user_prompt_suggests_the_subagent_only_for_devops(prompt: str, suggested: bool) -> None:
    output = user_prompt({"hook_event_name": "UserPromptSubmit", "prompt": prompt})
    assert (output is not None) is suggested
    if output is not None:
        assert output["hookSpecificOutput"]["hookEventName"] == "UserPromptSubmit"
        assert "devops-engineer" in output["hookSpecificOutput"]["additionalContext"]
