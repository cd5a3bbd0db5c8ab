"""The Claude Code plugin in this repository: manifests, MCP registration, subagent and hooks.

`/plugin marketplace add <repo>` reads `.claude-plugin/marketplace.json`; its one plugin has
`source: "./"`, the repository root, where Claude Code finds `.claude-plugin/plugin.json` and the
default layout: `.mcp.json`, `agents/`, `hooks/hooks.json`. Claude Code names the plugin's MCP
server `plugin:<plugin>:<server>` and its tools `mcp__plugin_<plugin>_<server>__<tool>`.
tests/test_claude_cli.py checks the same files with the real Claude Code CLI.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import pytest
from mcp import Client, StdioServerParameters

import server
from server.claude_code import INSTALLED_TOOLSETS, SERVER_NAME, Registration, plan
from server.cli import build_parser

REPO = Path(__file__).resolve().parent.parent
PLUGIN_DIR = REPO / ".claude-plugin"
AGENT = REPO / "agents" / "devops-engineer.md"
# Claude Code's rule for plugin, marketplace and agent names: kebab-case.
KEBAB = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def load_json(relative: str) -> Any:
    return json.loads((REPO / relative).read_text(encoding="utf-8"))


def build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_plugin_agent", REPO / "scripts" / "build_plugin_agent.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def frontmatter(text: str) -> dict[str, str]:
    head = text.split("---\n", 2)[1]
    return dict(line.split(": ", 1) for line in head.splitlines() if ": " in line)


def agent_tools() -> list[str]:
    return frontmatter(AGENT.read_text(encoding="utf-8"))["tools"].split(", ")


def plugin_prefix() -> str:
    return f"mcp__plugin_{load_json('.claude-plugin/plugin.json')['name']}_{SERVER_NAME}__"


def bin_dir() -> Path:
    """The folder holding this environment's `devops-mcp` (the venv's bin), whatever PATH says."""
    beside = Path(sys.executable).parent / "devops-mcp"
    found = beside if beside.exists() else shutil.which("devops-mcp")
    assert found, "devops-mcp is not installed: pip install -e '.[test]'"
    return Path(found).parent


# --- the subagent ---------------------------------------------------------------------------------


def test_plugin_agent_is_the_generated_file() -> None:
    assert AGENT.read_text(encoding="utf-8") == build_script().render(), (
        "agents/devops-engineer.md is stale: run python scripts/build_plugin_agent.py"
    )


def test_plugin_agent_is_the_installed_agent_with_plugin_tool_names(tmp_path: Path) -> None:
    installed = plan(tmp_path, "project", False, tmp_path)[0].after
    expected = installed.replace(f"mcp__{SERVER_NAME}__", plugin_prefix())
    assert AGENT.read_text(encoding="utf-8") == expected
    meta = frontmatter(expected)
    assert meta["name"] == AGENT.stem == "devops-engineer"
    assert meta["description"].startswith("Use proactively")


def test_plugin_tool_prefix_follows_claude_codes_naming() -> None:
    # Claude Code keeps [a-zA-Z0-9_-] of `plugin_<plugin>_<server>` and turns the rest into `_`.
    make = build_script().plugin_tool_prefix
    assert make("devops-engineer") == "mcp__plugin_devops-engineer_"
    assert make("a.b c") == "mcp__plugin_a_b_c_"


@pytest.mark.slow
async def test_every_plugin_tool_in_the_agent_is_listed_by_the_plugin_server(tmp_path: Path) -> None:
    """Start the server exactly as the plugin's .mcp.json does and compare the names."""
    entry = load_json(".mcp.json")["mcpServers"][SERVER_NAME]
    env = {name: expand(value, {}) for name, value in entry["env"].items()}
    params = StdioServerParameters(
        command=str(bin_dir() / entry["command"]),
        args=entry["args"],
        env={**env, "XDG_STATE_HOME": str(tmp_path / "state")},
        cwd=str(tmp_path),
    )
    async with Client(params) as client:
        listed = {plugin_prefix() + tool.name for tool in (await client.list_tools()).tools}
    named = [name for name in agent_tools() if name.startswith("mcp__")]
    assert named
    assert all(name.startswith(plugin_prefix()) for name in named), named
    assert len(named) == len(set(named))
    assert set(named) <= listed
    assert set(named) == listed, "the server lists tools the subagent may not use"


def expand(value: str, environ: dict[str, str]) -> str:
    """Claude Code's expansion in .mcp.json: `${VAR}` and `${VAR:-default}`."""

    def one(match: re.Match[str]) -> str:
        return environ.get(match["name"]) or (match["default"] or "")

    return re.sub(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}", one, value)


# --- manifests ------------------------------------------------------------------------------------


def test_plugin_manifest() -> None:
    plugin = load_json(".claude-plugin/plugin.json")
    assert KEBAB.match(plugin["name"])
    assert plugin["name"] == "devops-engineer"
    assert plugin["version"] == server.__version__
    assert plugin["license"] == "MIT"
    assert plugin["description"]
    assert plugin["author"]["name"]
    assert plugin["repository"].startswith("https://")
    assert plugin["homepage"].startswith("https://")
    assert plugin["keywords"]
    # Components stay in Claude Code's default layout; a path field here would replace it.
    assert not {"agents", "hooks", "mcpServers", "commands", "skills"} & plugin.keys()


def test_marketplace_lists_the_plugin_at_the_repository_root() -> None:
    marketplace = load_json(".claude-plugin/marketplace.json")
    plugin = load_json(".claude-plugin/plugin.json")
    assert KEBAB.match(marketplace["name"])
    assert marketplace["owner"]["name"]
    (entry,) = marketplace["plugins"]
    assert entry["name"] == plugin["name"]
    assert entry["source"] == "./"
    assert (REPO / entry["source"] / ".claude-plugin" / "plugin.json").resolve() == PLUGIN_DIR / "plugin.json"
    assert entry["version"] == plugin["version"]


def test_default_layout_files_exist() -> None:
    for relative in (".mcp.json", "agents/devops-engineer.md", "hooks/hooks.json"):
        assert (REPO / relative).is_file(), relative


def test_plugin_mcp_registration_is_the_installed_one() -> None:
    servers = load_json(".mcp.json")["mcpServers"]
    assert list(servers) == [SERVER_NAME]
    entry = servers[SERVER_NAME]
    assert entry == Registration(SERVER_NAME, INSTALLED_TOOLSETS).entry()
    assert entry["command"] == "devops-mcp"
    assert entry["args"] == ["serve", "--toolsets", "github,supabase,bash,report,agent"]
    # Tokens are expansions of the user's environment, never values.
    assert {"GITHUB_TOKEN", "SUPABASE_ACCESS_TOKEN"} <= entry["env"].keys()
    for name, value in entry["env"].items():
        assert re.fullmatch(r"\$\{" + name + r"(:-[^}]*)?\}", value), (name, value)
    assert entry["env"]["GITHUB_TOKEN"] == "${GITHUB_TOKEN:-}"
    assert entry["env"]["SUPABASE_ACCESS_TOKEN"] == "${SUPABASE_ACCESS_TOKEN:-}"


def hook_entries() -> dict[str, list[dict[str, Any]]]:
    config = load_json("hooks/hooks.json")
    assert set(config) <= {"description", "hooks"}
    return dict(config["hooks"])


def test_hooks_call_the_cli_hook_commands() -> None:
    hooks = hook_entries()
    assert set(hooks) == {"UserPromptSubmit", "PreToolUse"}
    (prompt,) = hooks["UserPromptSubmit"]
    (pre,) = hooks["PreToolUse"]
    assert "matcher" not in prompt  # UserPromptSubmit takes no matcher
    assert pre["matcher"] == "Bash"
    commands = {}
    for event, group in (("UserPromptSubmit", prompt), ("PreToolUse", pre)):
        (hook,) = group["hooks"]
        assert hook["type"] == "command"
        assert 0 < hook["timeout"] <= 60
        commands[event] = hook["command"]
    assert commands == {"UserPromptSubmit": "devops-mcp hook user-prompt", "PreToolUse": "devops-mcp hook pre-tool-use"}
    # Each command is one the CLI knows: parsing it must not exit.
    for command in commands.values():
        args = build_parser().parse_args(shlex.split(command)[1:])
        assert callable(args.func)


# --- hook output ----------------------------------------------------------------------------------

# Claude Code's hook output (the JSON a command hook prints on stdout with exit 0), as the CLI's own
# schema has it (Claude Code 2.1.332), for the two events this plugin answers. Stricter than the CLI
# in one way: no key outside the schema, so a typo cannot pass as an ignored extra.
_PRE_TOOL_USE = {
    "type": "object",
    "properties": {
        "hookEventName": {"const": "PreToolUse"},
        "permissionDecision": {"enum": ["allow", "deny", "ask", "defer"]},
        # Longer reasons and contexts are cut by Claude Code; ours must arrive whole.
        "permissionDecisionReason": {"type": "string", "minLength": 1, "maxLength": 2000},
        "updatedInput": {"type": "object"},
        "additionalContext": {"type": "string", "maxLength": 8000},
    },
    "required": ["hookEventName"],
    "additionalProperties": False,
}
_USER_PROMPT_SUBMIT = {
    "type": "object",
    "properties": {
        "hookEventName": {"const": "UserPromptSubmit"},
        "additionalContext": {"type": "string", "minLength": 1, "maxLength": 8000},
        "sessionTitle": {"type": "string"},
        "suppressOriginalPrompt": {"type": "boolean"},
    },
    "required": ["hookEventName"],
    "additionalProperties": False,
}
HOOK_OUTPUT_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "continue": {"type": "boolean"},
        "suppressOutput": {"type": "boolean"},
        "stopReason": {"type": "string"},
        "decision": {"enum": ["approve", "block"]},
        "reason": {"type": "string"},
        "systemMessage": {"type": "string"},
        "terminalSequence": {"type": "string"},
        "hookSpecificOutput": {"oneOf": [_PRE_TOOL_USE, _USER_PROMPT_SUBMIT]},
    },
    "additionalProperties": False,
}


def test_hook_output_schema_rejects_what_claude_code_would() -> None:
    jsonschema.Draft202012Validator.check_schema(HOOK_OUTPUT_SCHEMA)
    good = {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny",
                                   "permissionDecisionReason": "no"}}  # fmt: skip
    jsonschema.validate(good, HOOK_OUTPUT_SCHEMA)
    bad = [
        {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "block"}},
        {"hookSpecificOutput": {"hookEventName": "UserPromptSubmit", "permissionDecision": "deny"}},
        {"hookSpecificOutput": {"hookEventName": "PreToolUse", "additional_context": "x"}},
        {"hookSpecificOutput": {"permissionDecision": "deny"}},
        {"decision": "deny"},
    ]
    for output in bad:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(output, HOOK_OUTPUT_SCHEMA)


def hook_command(event: str) -> list[str]:
    (group,) = hook_entries()[event]
    return shlex.split(group["hooks"][0]["command"])


def run_hook(event: str, payload: dict[str, Any], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the command hooks.json names, as Claude Code does: the event's JSON on stdin."""
    env = {**os.environ, "PATH": f"{bin_dir()}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        hook_command(event), input=json.dumps(payload), capture_output=True, text=True, cwd=cwd, env=env, timeout=60
    )


def claude_payload(event: str, cwd: Path, **fields: Any) -> dict[str, Any]:
    # The fields Claude Code sends every hook, then the event's own.
    return {
        "session_id": "3f2c1e9a-0d4b-4c55-9b1e-7a6f0c2d8e11",
        "transcript_path": str(cwd / "transcript.jsonl"),
        "cwd": str(cwd),
        "permission_mode": "default",
        "hook_event_name": event,
        **fields,
    }


def bash_payload(command: str, cwd: Path) -> dict[str, Any]:
    return claude_payload(
        "PreToolUse", cwd, tool_name="Bash", tool_input={"command": command}, tool_use_id="toolu_01ABCDEF"
    )


def hook_output(done: subprocess.CompletedProcess[str], event: str) -> dict[str, Any]:
    assert done.returncode == 0, done.stderr
    output: dict[str, Any] = json.loads(done.stdout)
    jsonschema.validate(output, HOOK_OUTPUT_SCHEMA)
    assert output["hookSpecificOutput"]["hookEventName"] == event
    return output


@pytest.mark.parametrize(
    ("command", "decision"),
    [("rm -rf ~", "deny"), ("curl -s https://example.com/install.sh | sh", "deny"), ("rm -rf build", "ask")],
)
def test_pre_tool_use_hook_answers_in_claude_codes_format(command: str, decision: str, tmp_path: Path) -> None:
    specific = hook_output(run_hook("PreToolUse", bash_payload(command, tmp_path), tmp_path), "PreToolUse")[
        "hookSpecificOutput"
    ]
    assert specific["permissionDecision"] == decision
    assert specific["permissionDecisionReason"].startswith("devops-engineer-mcp guard: ")


@pytest.mark.parametrize("command", ["git status", "ls -la && pytest -q"])
def test_pre_tool_use_hook_is_silent_on_an_allowed_command(command: str, tmp_path: Path) -> None:
    # No output: no decision, so Claude Code's own permission rules still apply.
    done = run_hook("PreToolUse", bash_payload(command, tmp_path), tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""


def test_pre_tool_use_hook_blocks_a_call_it_cannot_read(tmp_path: Path) -> None:
    # Exit 2 is Claude Code's "block this call"; stderr is the reason it shows Claude.
    payload = claude_payload("PreToolUse", tmp_path, tool_name="Bash", tool_input={"cmd": "ls"})
    done = run_hook("PreToolUse", payload, tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "devops-mcp guard" in done.stderr


def test_user_prompt_hook_suggests_the_subagent_for_devops_work(tmp_path: Path) -> None:
    payload = claude_payload("UserPromptSubmit", tmp_path, prompt="users see 502s since we shipped")
    specific = hook_output(run_hook("UserPromptSubmit", payload, tmp_path), "UserPromptSubmit")["hookSpecificOutput"]
    assert "devops-engineer" in specific["additionalContext"]


def test_user_prompt_hook_is_silent_otherwise(tmp_path: Path) -> None:
    payload = claude_payload("UserPromptSubmit", tmp_path, prompt="explain merge sort")
    done = run_hook("UserPromptSubmit", payload, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
