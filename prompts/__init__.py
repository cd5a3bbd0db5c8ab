"""The persona and its procedure as text.

`agent.md` (the Claude Code subagent file) is the single source of the persona, its five steps
and its standards; the files beside this module add only what the server says on top of it
(step guidance, the report instructions, the server instructions). Nothing here knows MCP.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_HERE = Path(__file__).parent

STEPS: tuple[str, ...] = ("research", "design", "automate", "monitor", "optimize")

# Standards topic -> the agent.md heading that holds it.
STANDARDS: dict[str, str] = {
    "cicd": "CI/CD Pipeline Standards",
    "kubernetes": "Infrastructure as Code",
    "monitoring": "Monitoring & Observability",
    "alerting": "Alerting Rules",
    "disaster-recovery": "Disaster Recovery",
    "cost": "Cost Optimization",
    "security": "Security in DevOps",
}

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")


@dataclass(frozen=True)
class AgentFile:
    text: str
    frontmatter: dict[str, str]
    body: str


def agent_path() -> Path:
    # A built wheel carries agent.md inside this package; a source checkout keeps it at the root.
    bundled = _HERE / "agent.md"
    return bundled if bundled.is_file() else _HERE.parent / "agent.md"


@cache
def agent() -> AgentFile:
    text = agent_path().read_text(encoding="utf-8")
    _, front, body = text.split("---\n", 2)
    fields = {}
    for line in front.splitlines():
        key, _, value = line.partition(":")
        if key.strip():
            fields[key.strip()] = value.strip()
    return AgentFile(text=text, frontmatter=fields, body=body.lstrip("\n"))


def section(title: str) -> str:
    """The agent.md section under `title`, its heading included, up to the next heading of its level."""
    lines = agent().body.splitlines()
    start = level = None
    in_code = False
    for i, line in enumerate(lines):
        if line.startswith("```"):
            in_code = not in_code
        # A `# comment` inside a code block is not a heading.
        match = None if in_code else _HEADING.match(line)
        if not match:
            continue
        depth = len(match.group(1))
        if start is None and match.group(2) == title:
            start, level = i, depth
        elif start is not None and level is not None and depth <= level:
            return "\n".join(lines[start:i]).strip() + "\n"
    if start is None:
        raise KeyError(title)
    return "\n".join(lines[start:]).strip() + "\n"


def procedure() -> str:
    """The five steps, as the persona states them."""
    return section("Instructions")


def step(name: str) -> str:
    """One step of the procedure from agent.md followed by the server's guidance for it."""
    number = STEPS.index(name) + 1
    block = re.search(
        rf"^{number}\. \*\*.*?(?=^\d\. \*\*|\Z)", procedure(), flags=re.MULTILINE | re.DOTALL
    )
    if block is None:
        raise KeyError(name)
    return block.group(0).strip() + "\n\n" + _read(f"steps/{name}.md")


def standards(topic: str) -> str:
    return section(STANDARDS[topic])


def output_format() -> str:
    return section("Output Format") + "\n" + _read("report.md")


def instructions() -> str:
    return _read("instructions.md").strip()


def _read(relative: str) -> str:
    return (_HERE / relative).read_text(encoding="utf-8")
