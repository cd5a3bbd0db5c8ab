"""The plugin and `devops-mcp install claude-code` checked by the real Claude Code CLI.

The CLI comes from `.ci/install-claude-code` (./.cache/claude-code) or from the path in
`CLAUDE_CLI`. Without it these tests skip, except under CI (env `CI` set), where they fail.
Everything runs offline with a throwaway HOME: `claude plugin validate`, `claude mcp list` (which
starts and health-checks the MCP servers), and print-mode sessions against a local stand-in for
the Anthropic Messages API that scripts the model's turns, so the real CLI runs the plugin's
hooks, loads its subagent and resolves the subagent's tool names.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CLI = REPO / ".cache" / "claude-code" / "node_modules" / ".bin" / "claude"
PLUGIN_FILES = (".claude-plugin", ".mcp.json", "agents", "hooks", "README.md")
SUBAGENT = "devops-engineer:devops-engineer"  # Claude Code names a plugin's agent <plugin>:<agent>
PERSONA_MARK = "zero-downtime deployment obsession"  # a phrase of agent.md's body (the system prompt)
CONNECTED = "✔ Connected"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def claude() -> Path:
    path = Path(os.environ.get("CLAUDE_CLI") or DEFAULT_CLI)
    if path.is_file() and os.access(path, os.X_OK):
        return path
    reason = f"Claude Code CLI not found at {path}: run .ci/install-claude-code, or set CLAUDE_CLI"
    if os.environ.get("CI"):
        pytest.fail(reason)  # CI installs it: its absence is a broken setup, not a reason to pass
    pytest.skip(reason)


def bin_dir() -> Path:
    beside = Path(sys.executable).parent / "devops-mcp"
    found = beside if beside.exists() else shutil.which("devops-mcp")
    assert found, "devops-mcp is not installed: pip install -e '.[test]'"
    return Path(found).parent


def claude_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment: a throwaway HOME, this venv's devops-mcp first on PATH, no network extras."""
    return {
        "HOME": str(home),
        "PATH": f"{bin_dir()}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "LANG": "C.UTF-8",
        "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
        # Offline and quiet: no telemetry, error reports, update checks or other background calls.
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "DISABLE_AUTOUPDATER": "1",
        **extra,
    }


def run(claude: Path, args: list[str], cwd: Path, home: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(claude), *args],
        cwd=cwd,
        env=claude_env(home, **extra),
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )


def server_line(name: str) -> str:
    """How `claude mcp list` shows a healthy server registered like the repository's .mcp.json."""
    entry = json.loads((REPO / ".mcp.json").read_text())["mcpServers"]["devops"]
    return f"{name}: {' '.join([entry['command'], *entry['args']])} - {CONNECTED}"


# --- validation and health checks -----------------------------------------------------------------


def test_claude_validates_the_marketplace_and_plugin(claude: Path, tmp_path: Path) -> None:
    done = run(claude, ["plugin", "validate", "--strict", "--json", str(REPO)], REPO, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["success"] is True
    assert report["manifest"]["type"] == "marketplace"
    assert report["manifest"]["errors"] == report["manifest"]["warnings"] == []
    provides = report["provides"]
    assert provides["agents"] == [SUBAGENT]
    assert [server["name"] for server in provides["mcpServers"]] == ["devops"]
    hooks = {(hook["event"], hook.get("matcher"), hook["command"]) for hook in provides["hooks"]}
    assert hooks == {
        ("UserPromptSubmit", None, "devops-mcp hook user-prompt"),
        ("PreToolUse", "Bash", "devops-mcp hook pre-tool-use"),
    }


def test_project_install_connects_in_claude(claude: Path, tmp_path: Path) -> None:
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir()
    installed = subprocess.run(
        [str(bin_dir() / "devops-mcp"), "install", "claude-code", "--dir", str(project)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HOME": str(home)},
    )
    assert installed.returncode == 0, installed.stderr
    # A project's .mcp.json servers stay "pending approval" until the user approves them; the
    # user settings' enabledMcpjsonServers is that approval, written ahead. No login, no trust prompt.
    servers = list(json.loads((project / ".mcp.json").read_text())["mcpServers"])
    (home / ".claude").mkdir(parents=True)
    (home / ".claude" / "settings.json").write_text(json.dumps({"enabledMcpjsonServers": servers}))
    done = run(claude, ["mcp", "list"], project, home)
    assert done.returncode == 0, done.stderr
    assert server_line("devops") in done.stdout.splitlines(), done.stdout


@pytest.fixture(scope="module")
def plugin_home(claude: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A HOME where the plugin is installed as a user would: marketplace add, then plugin install."""
    marketplace = tmp_path_factory.mktemp("marketplace")
    # The plugin's own files only: a local marketplace is copied whole into Claude's plugin cache.
    for name in PLUGIN_FILES:
        source, target = REPO / name, marketplace / name
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
    home = tmp_path_factory.mktemp("home")
    market_name = json.loads((REPO / ".claude-plugin" / "marketplace.json").read_text())["name"]
    plugin_name = json.loads((REPO / ".claude-plugin" / "plugin.json").read_text())["name"]
    steps = (["plugin", "marketplace", "add", str(marketplace)], ["plugin", "install", f"{plugin_name}@{market_name}"])
    for args in steps:
        done = run(claude, args, home, home)
        assert done.returncode == 0, done.stdout + done.stderr
    return home


def test_installed_plugin_connects_in_claude(claude: Path, plugin_home: Path, tmp_path: Path) -> None:
    done = run(claude, ["mcp", "list"], tmp_path, plugin_home)
    assert done.returncode == 0, done.stderr
    # Claude Code names a plugin's server plugin:<plugin>:<server>; its tools are then
    # mcp__plugin_<plugin>_<server>__<tool>, the names agents/devops-engineer.md uses.
    assert server_line("plugin:devops-engineer:devops") in done.stdout.splitlines(), done.stdout


# --- sessions against a scripted model -----------------------------------------------------------


@dataclass
class ScriptedModel:
    """A local Messages API: the main agent's first turn calls `tool` with `tool_input`, every
    other turn (and the subagent's) ends with text. Every request body is kept for the test."""

    tool: str
    tool_input: dict[str, Any]
    requests: list[dict[str, Any]] = field(default_factory=list)
    called: bool = False

    def reply(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        offered = {tool.get("name") for tool in body.get("tools", [])}
        in_subagent = PERSONA_MARK in json.dumps(body.get("system", ""))
        if not self.called and not in_subagent and self.tool in offered:
            self.called = True
            return [{"type": "tool_use", "id": "toolu_01scripted", "name": self.tool, "input": self.tool_input}]
        return [{"type": "text", "text": "done"}]

    def tool_result(self) -> dict[str, Any]:
        for body in self.requests:
            for message in body.get("messages", []):
                content = message.get("content")
                for block in content if isinstance(content, list) else []:
                    if block.get("type") == "tool_result" and block.get("tool_use_id") == "toolu_01scripted":
                        return dict(block)
        raise AssertionError("Claude Code never sent the scripted tool call's result")


def _handler(model: ScriptedModel) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
            if "count_tokens" in self.path:
                return self._json({"input_tokens": 1})
            model.requests.append(body)
            blocks = model.reply(body)
            stop = "tool_use" if blocks[0]["type"] == "tool_use" else "end_turn"
            message = {"id": f"msg_{len(model.requests)}", "type": "message", "role": "assistant",
                       "model": body.get("model"), "stop_sequence": None,
                       "usage": {"input_tokens": 1, "output_tokens": 1}}  # fmt: skip
            if not body.get("stream"):
                return self._json({**message, "content": blocks, "stop_reason": stop})
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()
            self._event("message_start", {"message": {**message, "content": [], "stop_reason": None}})
            for index, block in enumerate(blocks):
                start: dict[str, Any]
                if block["type"] == "text":
                    start, delta = {"type": "text", "text": ""}, {"type": "text_delta", "text": block["text"]}
                else:
                    start = {**block, "input": {}}
                    delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
                self._event("content_block_start", {"index": index, "content_block": start})
                self._event("content_block_delta", {"index": index, "delta": delta})
                self._event("content_block_stop", {"index": index})
            self._event("message_delta", {"delta": {"stop_reason": stop, "stop_sequence": None},
                                          "usage": {"output_tokens": 1}})  # fmt: skip
            self._event("message_stop", {})

        def _event(self, name: str, data: dict[str, Any]) -> None:
            self.wfile.write(f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n".encode())
            self.wfile.flush()

        def _json(self, data: dict[str, Any]) -> None:
            raw = json.dumps(data).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    return Handler


Session = Callable[[str, str, dict[str, Any]], tuple[ScriptedModel, dict[str, Any]]]


@pytest.fixture
def session(claude: Path, plugin_home: Path, tmp_path: Path) -> Iterator[Session]:
    """Runs `claude -p PROMPT` in the plugin's HOME against a scripted model; returns it and the result."""
    servers: list[ThreadingHTTPServer] = []

    def start(prompt: str, tool: str, tool_input: dict[str, Any]) -> tuple[ScriptedModel, dict[str, Any]]:
        model = ScriptedModel(tool, tool_input)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(model))
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        done = run(
            claude,
            ["-p", prompt, "--output-format", "json"],
            tmp_path,
            plugin_home,
            ANTHROPIC_BASE_URL=f"http://127.0.0.1:{server.server_address[1]}",
            ANTHROPIC_API_KEY="sk-ant-offline-test",
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return model, json.loads(done.stdout)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_hooks_suggest_the_subagent_and_deny_a_harmful_bash_call(session: Session) -> None:
    model, result = session("users see 502s since we shipped", "Bash", {"command": "rm -rf ~", "description": "x"})
    # UserPromptSubmit: the suggestion reaches the model with the user's prompt.
    first = json.dumps(model.requests[0])
    assert "UserPromptSubmit hook additional context" in first
    assert "Consider delegating it to the devops-engineer subagent" in first
    # PreToolUse: the guard's deny stops the call, and Claude reads why.
    outcome = model.tool_result()
    assert outcome.get("is_error") is True
    assert "devops-engineer-mcp guard: [bash.irreversible]" in json.dumps(outcome)
    assert [denied["tool_name"] for denied in result["permission_denials"]] == ["Bash"]


def test_hooks_stay_out_of_ordinary_work(session: Session) -> None:
    model, result = session("explain merge sort", "Bash", {"command": "git status", "description": "x"})
    assert "UserPromptSubmit hook additional context" not in json.dumps(model.requests[0])
    # No decision from the guard: Claude Code's own rules ran the read-only command.
    assert "devops-engineer-mcp guard" not in json.dumps(model.tool_result())
    assert result["permission_denials"] == []


def test_subagent_gets_every_tool_it_names(session: Session) -> None:
    call = {"subagent_type": SUBAGENT, "description": "Investigate 502s", "prompt": "Find why users see 502s."}
    model, result = session("users see 502s since we shipped", "Agent", call)
    assert result["subagent_stats"]["by_type"] == {SUBAGENT: 1}
    (subagent,) = [body for body in model.requests if PERSONA_MARK in json.dumps(body.get("system", ""))]
    offered = {tool["name"] for tool in subagent["tools"]}
    head = (REPO / "agents" / "devops-engineer.md").read_text().split("---\n", 2)[1]
    (tools_line,) = [line for line in head.splitlines() if line.startswith("tools: ")]
    named = set(tools_line.removeprefix("tools: ").split(", "))
    # Claude Code resolved every name in the tools line to a real tool, MCP tools included.
    assert named <= offered, sorted(named - offered)
    assert any(name.startswith("mcp__plugin_devops-engineer_devops__") for name in named)
