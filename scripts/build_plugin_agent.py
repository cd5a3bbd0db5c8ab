"""Write agents/devops-engineer.md, the Claude Code plugin's subagent, from agent.md.

It is the file `devops-mcp install claude-code` writes, with the tool names Claude Code gives a
plugin's MCP tools: `mcp__plugin_<plugin>_<server>__<tool>`, where Claude Code names the server
`plugin:<plugin>:<server>` and turns every character outside [a-zA-Z0-9_-] into `_`.

    python scripts/build_plugin_agent.py          # write the file
    python scripts/build_plugin_agent.py --check  # exit 1 when the committed file is stale
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PLUGIN_MANIFEST = REPO / ".claude-plugin" / "plugin.json"
AGENT_PATH = REPO / "agents" / "devops-engineer.md"

# Run from a checkout without installing: the repository's own packages come first.
sys.path.insert(0, str(REPO))

from server.claude_code import agent_file, registrations  # noqa: E402


def plugin_name() -> str:
    return str(json.loads(PLUGIN_MANIFEST.read_text(encoding="utf-8"))["name"])


def plugin_tool_prefix(plugin: str) -> str:
    """The prefix before `<server>__<tool>`, e.g. `mcp__plugin_devops-engineer_`."""
    return "mcp__" + re.sub(r"[^a-zA-Z0-9_-]", "_", f"plugin_{plugin}_")


@contextmanager
def _default_environment() -> Iterator[None]:
    # The committed file describes the default server, not this machine: settings that hide tools
    # (read-only mode, a toolset list, a single Supabase project) must not leak into it.
    hidden = {name: value for name, value in os.environ.items() if name.startswith(("DEVOPS_MCP_", "SUPABASE_PROJECT"))}
    for name in hidden:
        del os.environ[name]
    try:
        yield
    finally:
        os.environ.update(hidden)


def render() -> str:
    prefix = plugin_tool_prefix(plugin_name())
    with _default_environment():
        names = [name for reg in registrations(compat=False) for name in reg.tool_names(prefix)]
    return agent_file(names)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if the file differs")
    args = parser.parse_args()
    text = render()
    current = AGENT_PATH.read_text(encoding="utf-8") if AGENT_PATH.exists() else None
    if args.check:
        if current != text:
            print(f"{AGENT_PATH.relative_to(REPO)} is stale: run python scripts/build_plugin_agent.py", file=sys.stderr)
            return 1
        return 0
    if current != text:
        AGENT_PATH.parent.mkdir(parents=True, exist_ok=True)
        AGENT_PATH.write_text(text, encoding="utf-8")
        print(f"wrote {AGENT_PATH.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
