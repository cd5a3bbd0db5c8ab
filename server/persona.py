"""The persona over MCP: prompts (the persona, one per step, the report format) and resources.

All text comes from `agent.md` and `prompts/` through the `prompts` package; this module only
frames it as MCP prompts and resources.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import mcp_types as types
from mcp.shared.exceptions import MCPError

import prompts

AGENT_URI = "devops://agent"
PROCEDURE_URI = "devops://procedure"
STANDARDS_TEMPLATE = "devops://standards/{topic}"
REPORT_SCHEMA_URI = "devops://report/schema"

_TASK = types.PromptArgument(name="task", description="What the user wants done", required=True)
_CONTEXT = types.PromptArgument(
    name="context", description="Findings and decisions from the earlier steps", required=False
)


@dataclass(frozen=True)
class PromptSpec:
    name: str
    title: str
    description: str
    arguments: tuple[types.PromptArgument, ...]
    text: Callable[[], str]

    def to_mcp(self) -> types.Prompt:
        return types.Prompt(
            name=self.name, title=self.title, description=self.description, arguments=list(self.arguments)
        )


def _persona_text() -> str:
    return prompts.agent().body


def _step_prompt(step: str) -> PromptSpec:
    return PromptSpec(
        name=f"devops-{step}",
        title=f"DevOps step: {step}",
        description=f"Step {prompts.STEPS.index(step) + 1} of the five-step procedure: {step}.",
        arguments=(_TASK, _CONTEXT),
        text=lambda: prompts.step(step),
    )


PROMPTS: dict[str, PromptSpec] = {
    spec.name: spec
    for spec in (
        PromptSpec(
            name="devops-engineer",
            title="DevOps engineer",
            description=prompts.agent().frontmatter.get("description", ""),
            arguments=(_TASK,),
            text=_persona_text,
        ),
        *(_step_prompt(step) for step in prompts.STEPS),
        PromptSpec(
            name="devops-report",
            title="DevOps report format",
            description="The ten-part output format and how to validate a report.",
            arguments=(),
            text=prompts.output_format,
        ),
    )
}


def list_prompts() -> list[types.Prompt]:
    return [spec.to_mcp() for spec in PROMPTS.values()]


def get_prompt(name: str, arguments: dict[str, str] | None) -> types.GetPromptResult:
    spec = PROMPTS.get(name)
    if spec is None:
        raise MCPError(
            code=types.INVALID_PARAMS,
            message=f"Unknown prompt {name!r}; prompts/list names the prompts this server offers.",
        )
    given = arguments or {}
    missing = [arg.name for arg in spec.arguments if arg.required and not given.get(arg.name)]
    if missing:
        raise MCPError(
            code=types.INVALID_PARAMS, message=f"Prompt {name!r} needs the argument(s): {', '.join(missing)}"
        )
    text = spec.text()
    if given.get("task"):
        text += f"\n\n## Task\n\n{given['task']}\n"
    if given.get("context"):
        text += f"\n\n## Findings so far\n\n{given['context']}\n"
    return types.GetPromptResult(
        description=spec.description,
        messages=[types.PromptMessage(role="user", content=types.TextContent(type="text", text=text))],
    )


def list_resources() -> list[types.Resource]:
    return [
        types.Resource(
            uri=AGENT_URI,
            name="agent",
            title="devops-engineer subagent file",
            description="The Claude Code subagent file: persona, procedure, standards and output format.",
            mime_type="text/markdown",
        ),
        types.Resource(
            uri=PROCEDURE_URI,
            name="procedure",
            title="Five-step procedure",
            description="Research, design, automate, monitor, optimize.",
            mime_type="text/markdown",
        ),
        types.Resource(
            uri=REPORT_SCHEMA_URI,
            name="report-schema",
            title="Report JSON Schema",
            description="JSON Schema of the ten-part report that validate_report checks.",
            mime_type="application/schema+json",
        ),
    ]


def list_resource_templates() -> list[types.ResourceTemplate]:
    return [
        types.ResourceTemplate(
            uri_template=STANDARDS_TEMPLATE,
            name="standards",
            title="DevOps standards",
            description=f"The persona's standards for one topic: {', '.join(prompts.STANDARDS)}.",
            mime_type="text/markdown",
        )
    ]


def read_resource(uri: str) -> types.ReadResourceResult:
    text, mime = _resource_text(uri)
    return types.ReadResourceResult(contents=[types.TextResourceContents(uri=uri, mime_type=mime, text=text)])


def _resource_text(uri: str) -> tuple[str, str]:
    if uri == AGENT_URI:
        return prompts.agent().text, "text/markdown"
    if uri == PROCEDURE_URI:
        return prompts.procedure(), "text/markdown"
    if uri == REPORT_SCHEMA_URI:
        from tools.report import report_json_schema

        return json.dumps(report_json_schema(), indent=2), "application/schema+json"
    prefix = STANDARDS_TEMPLATE.removesuffix("{topic}")
    topic = uri.removeprefix(prefix) if uri.startswith(prefix) else None
    if topic in prompts.STANDARDS:
        return prompts.standards(topic), "text/markdown"
    raise MCPError(
        code=types.INVALID_PARAMS,
        message=f"Unknown resource {uri!r}; resources/list and resources/templates/list name what exists"
        f" (standards topics: {', '.join(prompts.STANDARDS)}).",
        data={"uri": uri},
    )
