"""`devops-mcp install claude-code`: the subagent file and the MCP registration, merged, idempotent.

The agent's `tools` line names exactly the tools Claude Code will see for this registration:
`mcp__<server>__<tool>` for every tool the registered server lists, plus Claude Code's own tools
the persona uses. Tokens are referenced as `${VAR:-}` expansions, never written into files.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import prompts
from server.config import TOOLSETS, load_settings
from server.policy import Policy
from server.toolsets import build_registry

SERVER_NAME = "devops"
CLAUDE_TOOLS = ("Bash", "Read", "Write", "Edit", "WebSearch")
# Registered toolsets: every one the server serves.
INSTALLED_TOOLSETS = TOOLSETS
ENV = {
    "GITHUB_TOKEN": "${GITHUB_TOKEN:-}",
    "GITHUB_API_URL": "${GITHUB_API_URL:-https://api.github.com}",
    "SUPABASE_ACCESS_TOKEN": "${SUPABASE_ACCESS_TOKEN:-}",
    "SUPABASE_API_URL": "${SUPABASE_API_URL:-https://api.supabase.com}",
    "ANTHROPIC_API_KEY": "${ANTHROPIC_API_KEY:-}",
}
Scope = Literal["project", "user"]


@dataclass(frozen=True)
class Registration:
    name: str
    toolsets: tuple[str, ...]

    def entry(self) -> dict[str, Any]:
        return {
            "type": "stdio",
            "command": "devops-mcp",
            "args": ["serve", "--toolsets", ",".join(self.toolsets)],
            "env": dict(ENV),
        }

    def tool_names(self, prefix: str = "mcp__") -> list[str]:
        # The same registry the registered server builds: the names cannot drift from what it lists.
        settings = load_settings(toolsets=self.toolsets)
        return [f"{prefix}{self.name}__{tool}" for tool in build_registry(settings, Policy()).names()]


def registrations(compat: bool) -> list[Registration]:
    if not compat:
        return [Registration(SERVER_NAME, INSTALLED_TOOLSETS)]
    # The user's original subagent file names mcp__github__* and mcp__supabase__*: serve exactly those names.
    rest = tuple(name for name in INSTALLED_TOOLSETS if name not in ("github", "supabase"))
    return [
        Registration("github", ("github",)),
        Registration("supabase", ("supabase",)),
        Registration(SERVER_NAME, rest),
    ]


def _expand(value: str) -> str:
    """A `${VAR:-default}` value as Claude Code expands it when it starts the server."""
    return re.sub(r"\$\{(\w+)(?::-([^}]*))?\}", lambda m: os.environ.get(m[1]) or (m[2] or ""), value)


def prepare_fast_start(compat: bool) -> list[Path]:
    """Record each registration's fast-start manifest now, so the first session starts fast too.

    In the environment Claude Code will start the server with: this one plus the registration's `env`,
    expanded. A registration whose configuration does not load is skipped with one line on stderr.
    """
    from server.manifest import Launch, prepare

    overlay = {name: _expand(value) for name, value in ENV.items()}
    saved = {name: os.environ.get(name) for name in overlay}
    os.environ.update(overlay)
    prepared = []
    try:
        for reg in registrations(compat):
            try:
                path = prepare(Launch(toolsets=reg.toolsets))
            except Exception as exc:
                print(f"devops-mcp: fast start not prepared for {reg.name}: {exc}", file=sys.stderr)
                continue
            if path is not None:
                prepared.append(path)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return prepared


def agent_file(tool_names: list[str]) -> str:
    """agent.md with its `tools` line set to `tool_names` (the body is the persona, unchanged)."""
    text = prompts.agent().text
    lines = text.split("\n")
    index = next(i for i, line in enumerate(lines) if line.startswith("tools:"))
    lines[index] = "tools: " + ", ".join([*CLAUDE_TOOLS, *tool_names])
    return "\n".join(lines)


@dataclass(frozen=True)
class Change:
    path: Path
    before: str | None
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self) -> str:
        before = (self.before or "").splitlines(keepends=True)
        label = str(self.path)
        return "".join(difflib.unified_diff(before, self.after.splitlines(keepends=True), label, label))


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.exists() else None


def _merged_config(path: Path, regs: list[Registration]) -> Change:
    before = _read(path)
    try:
        config: dict[str, Any] = json.loads(before) if before else {}
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}); fix it first") from None
    servers = config.setdefault("mcpServers", {})
    for reg in regs:
        servers[reg.name] = reg.entry()
    return Change(path, before, json.dumps(config, indent=2) + "\n")


def plan(directory: Path, scope: Scope, compat: bool, home: Path) -> list[Change]:
    regs = registrations(compat)
    agent = agent_file([name for reg in regs for name in reg.tool_names()])
    if scope == "project":
        agents_dir, config = directory / ".claude" / "agents", directory / ".mcp.json"
    else:
        agents_dir, config = home / ".claude" / "agents", home / ".claude.json"
    agent_path = agents_dir / "devops-engineer.md"
    return [Change(agent_path, _read(agent_path), agent), _merged_config(config, regs)]


def apply(changes: list[Change]) -> list[Path]:
    """Write what changed, keeping a backup of any file that existed; returns the written paths."""
    written = []
    for change in changes:
        if not change.changed:
            continue
        change.path.parent.mkdir(parents=True, exist_ok=True)
        if change.before is not None:
            shutil.copy2(change.path, change.path.with_name(change.path.name + ".bak"))
        change.path.write_text(change.after, encoding="utf-8")
        written.append(change.path)
    return written
