"""The agent toolset: `run_devops_agent`, the five-step procedure run by a model on this server.

The loop is `tools/agent.py`; this module hands it what only the server has:

- a model: the client's own through MCP sampling with tools (2025 handshake era, a client that
  declares `sampling.tools`), else Claude through the Anthropic API when ANTHROPIC_API_KEY is set,
  else a clear error saying how to enable one;
- the tools: this server's own, each call sent through the same `ToolPipeline` as a direct call
  (rules, confirmation, fencing, redaction, audit), less `run_devops_agent` itself;
- progress per step on the request, and cancellation (the request's cancel scope ends the run).
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

import mcp_types as types
import structlog
from mcp.server import ServerRequestContext
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

import prompts
from server.config import Settings
from server.errors import ToolFailure
from server.pipeline import ToolPipeline, active_call
from server.registry import AnySpec, ToolEnv, ToolRegistry, ToolSpec
from server.rules import Touches
from tools.agent import (
    AgentRunResult,
    Block,
    Budget,
    Message,
    ModelError,
    Reply,
    Text,
    ToolOutcome,
    ToolSchema,
    ToolUse,
    run_agent,
)

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic
    from anthropic.types import (
        CacheControlEphemeralParam,
        MessageParam,
        TextBlockParam,
        ToolParam,
        ToolResultBlockParam,
        ToolUseBlockParam,
    )

log = structlog.get_logger(__name__)

AGENT_TOOL = "run_devops_agent"
DEFAULT_MODEL = "claude-sonnet-5-5"
DEFAULT_API_URL = "https://api.anthropic.com"
_API_RETRIES = 4  # the SDK's own backoff (honouring retry-after) for 408/409/429/5xx and 529 overloaded
_MODERN = "2026-07-28"

# We sample only in the 2025 handshake era, where sampling is current; the SDK marks the method
# deprecated because the 2026-07-28 revision moved it into input_required rounds.
warnings.filterwarnings(
    "ignore", "The sampling capability is deprecated", MCPDeprecationWarning, module=re.escape(__name__)
)

Step = Literal["research", "design", "automate", "monitor", "optimize"]
assert get_args(Step) == prompts.STEPS, "Step must list the procedure's steps"


class AgentInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: str = Field(
        min_length=1,
        max_length=20_000,
        description="What the user wants done, with the facts at hand (repository, Supabase project, constraints).",
    )
    steps: Annotated[list[Step], Field(min_length=1)] | None = Field(
        default=None, description="Which steps to run (default all five); they always run in procedure order."
    )
    max_turns: int = Field(default=40, ge=1, le=200, description="Model turns at most.")
    max_tool_calls: int = Field(default=30, ge=0, le=200, description="Tool calls at most.")
    max_tokens: int = Field(
        default=500_000,
        ge=1_000,
        le=10_000_000,
        description="Input plus output tokens at most, summed over turns (checked between turns; "
        "estimated at ~4 characters a token when the client's model is sampled).",
    )
    time_limit_s: float = Field(default=900, gt=0, le=3600, description="Wall-clock seconds at most.")
    markdown: bool = Field(
        default=True, description="Include the report rendered as Markdown (about as long as the report again)."
    )

    def ordered_steps(self) -> list[str]:
        chosen = set(self.steps or prompts.STEPS)
        return [step for step in prompts.STEPS if step in chosen]


# --- model access --------------------------------------------------------------------------------


def _estimate_tokens(value: Any) -> int:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return len(text) // 4 + 1


def _to_sampling(message: Message) -> types.SamplingMessage:
    blocks: list[types.TextContent | types.ToolUseContent | types.ToolResultContent] = []
    for block in message.content:
        if isinstance(block, Text):
            blocks.append(types.TextContent(type="text", text=block.text))
        elif isinstance(block, ToolUse):
            blocks.append(types.ToolUseContent(type="tool_use", id=block.id, name=block.name, input=block.input))
        else:
            blocks.append(
                types.ToolResultContent(
                    type="tool_result",
                    tool_use_id=block.tool_use_id,
                    content=[types.TextContent(type="text", text=block.text)],
                    is_error=block.is_error,
                )
            )
    # A lone text block goes as a single block: every sampling client reads that form.
    if len(blocks) == 1 and isinstance(blocks[0], types.TextContent):
        return types.SamplingMessage(role=message.role, content=blocks[0])
    return types.SamplingMessage(role=message.role, content=list(blocks))


@dataclass
class SamplingModel:
    """The client's model, through `sampling/createMessage` with tools (2025 handshake era)."""

    ctx: ServerRequestContext[Any]
    listing: dict[str, types.Tool]
    name: str = "client's model"
    via: Literal["sampling"] = "sampling"
    tokens_estimated: bool = True

    async def reply(
        self, system: str, messages: Sequence[Message], tools: Sequence[ToolSchema], max_tokens: int
    ) -> Reply:
        sampled = [_to_sampling(message) for message in messages]
        offered = [self.listing[tool.name] for tool in tools]
        try:
            result = await self.ctx.session.create_message(
                sampled,
                max_tokens=max_tokens,
                system_prompt=system,
                tools=offered,
                tool_choice=types.ToolChoice(mode="auto"),
                related_request_id=self.ctx.request_id,
            )
        except MCPError as exc:
            raise ModelError(f"the client's sampling request failed: {exc.message}") from None
        except ValidationError:
            raise ModelError("the client answered the sampling request with a malformed result") from None
        self.name = result.model or self.name
        content: list[Block] = []
        for block in result.content if isinstance(result.content, list) else [result.content]:
            if isinstance(block, types.TextContent):
                content.append(Text(block.text))
            elif isinstance(block, types.ToolUseContent):
                content.append(ToolUse(id=block.id, name=block.name, input=dict(block.input)))
        # Sampling reports no usage: estimate what the client's model read and wrote.
        read = _estimate_tokens(system) + _estimate_tokens([m.model_dump(mode="json") for m in sampled])
        read += _estimate_tokens([tool.model_dump(mode="json") for tool in offered])
        written = _estimate_tokens(result.model_dump(mode="json").get("content"))
        return Reply(tuple(content), read, written, truncated=result.stop_reason == "maxTokens")

    async def aclose(self) -> None:
        return None


def _anthropic_message(message: Message, cache: bool) -> MessageParam:
    """One message in the Messages API shape; `cache` puts a breakpoint on its last block."""
    control: CacheControlEphemeralParam | None = {"type": "ephemeral"} if cache else None
    blocks: list[TextBlockParam | ToolUseBlockParam | ToolResultBlockParam] = []
    for index, block in enumerate(message.content):
        mark = control if index == len(message.content) - 1 else None
        if isinstance(block, Text):
            blocks.append({"type": "text", "text": block.text, "cache_control": mark})
        elif isinstance(block, ToolUse):
            blocks.append(
                {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input, "cache_control": mark}
            )
        else:
            blocks.append(
                {
                    "type": "tool_result",
                    "tool_use_id": block.tool_use_id,
                    "content": block.text,
                    "is_error": block.is_error,
                    "cache_control": mark,
                }
            )
    if message.role == "user":
        return {"role": "user", "content": blocks}
    return {"role": "assistant", "content": blocks}


@dataclass
class AnthropicModel:
    """Claude through the Anthropic Messages API, with the server's ANTHROPIC_API_KEY."""

    api_key: SecretStr
    name: str
    base_url: str
    via: Literal["anthropic-api"] = "anthropic-api"
    tokens_estimated: bool = False
    _client: AsyncAnthropic | None = field(default=None, repr=False)

    def _connect(self) -> AsyncAnthropic:
        if self._client is None:
            # Imported on first use: start-up never pays for the SDK (tests/test_startup.py).
            from anthropic import AsyncAnthropic

            self._client = AsyncAnthropic(
                api_key=self.api_key.get_secret_value(), base_url=self.base_url, max_retries=_API_RETRIES
            )
        return self._client

    async def reply(
        self, system: str, messages: Sequence[Message], tools: Sequence[ToolSchema], max_tokens: int
    ) -> Reply:
        import anthropic

        client = self._connect()
        # The moving breakpoint on the last message lets the next turn read the conversation so far
        # from the cache; the persona, run rules and report schema are cached by their own breakpoint.
        params = [_anthropic_message(item, index == len(messages) - 1) for index, item in enumerate(messages)]
        offered: list[ToolParam] = [
            {"name": tool.name, "description": tool.description, "input_schema": tool.input_schema} for tool in tools
        ]
        try:
            message = await client.messages.create(
                model=self.name,
                max_tokens=max_tokens,
                system=[{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}],
                messages=params,
                tools=offered,
            )
        except anthropic.APIStatusError as exc:
            raise ModelError(self._status_error(exc.status_code, exc.body)) from None
        except anthropic.APIConnectionError as exc:
            raise ModelError(
                f"could not reach the Anthropic API at {self.base_url} ({type(exc).__name__}); "
                "check the network and ANTHROPIC_BASE_URL"
            ) from None
        content: list[Block] = []
        for block in message.content:
            if block.type == "text":
                content.append(Text(block.text))
            elif block.type == "tool_use":
                content.append(ToolUse(id=block.id, name=block.name, input=dict(block.input)))
        usage = message.usage
        read = usage.input_tokens + (usage.cache_creation_input_tokens or 0) + (usage.cache_read_input_tokens or 0)
        return Reply(tuple(content), read, usage.output_tokens, truncated=message.stop_reason == "max_tokens")

    def _status_error(self, status: int, body: object) -> str:
        detail = ""
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            error = body["error"]
            detail = f" {error.get('type', '')}: {str(error.get('message', ''))[:300]}"
        if status == 401:
            return f"the Anthropic API refused ANTHROPIC_API_KEY (401{detail}); set a valid key"
        if status == 404:
            return f"the Anthropic API does not know model {self.name!r} (404{detail}); set DEVOPS_MCP_AGENT_MODEL"
        if status in (408, 409, 429) or status >= 500:
            return f"the Anthropic API is busy or failing (HTTP {status}{detail}) after {_API_RETRIES} retries"
        return f"the Anthropic API refused the request (HTTP {status}{detail})"

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()


def sampling_unavailable(ctx: ServerRequestContext[Any]) -> str | None:
    """Why this request cannot sample the client's model with tools, or None when it can."""
    if is_version_at_least(ctx.protocol_version, _MODERN):
        # 2026-07-28 samples only through input_required rounds, one model turn per round, and
        # clients cap the rounds of one call (about ten); a run needs dozens. See docs/agent-run.md.
        return (
            f"this client speaks MCP {ctx.protocol_version}, where a server can sample only through "
            "input_required rounds, too few for a multi-turn run"
        )
    capabilities = ctx.session.client_capabilities
    sampling = capabilities.sampling if capabilities is not None else None
    if sampling is None:
        return "this client does not offer sampling"
    if sampling.tools is None:
        return "this client offers sampling but not sampling with tools (the sampling.tools capability)"
    if not ctx.session.can_send_request:
        return "this connection cannot carry requests from the server to the client (stateless HTTP)"
    return None


def pick_model(
    ctx: ServerRequestContext[Any], settings: Settings, listing: dict[str, types.Tool]
) -> SamplingModel | AnthropicModel:
    """MCP sampling where the client can, else the Anthropic API with the server's key, else an error."""
    reason = sampling_unavailable(ctx)
    if reason is None:
        return SamplingModel(ctx, listing)
    if settings.anthropic_api_key is not None:
        return AnthropicModel(
            settings.anthropic_api_key,
            settings.agent_model,
            settings.anthropic_base_url or DEFAULT_API_URL,
        )
    raise ToolFailure(
        f"no model to run the agent with: {reason}, and the server has no ANTHROPIC_API_KEY. "
        "To enable run_devops_agent, either connect with an MCP client that supports sampling with tools "
        "(the sampling.tools capability, protocol 2025-11-25, over stdio or stateful HTTP), or set "
        "ANTHROPIC_API_KEY in the server's environment and restart it (the model is "
        f"DEVOPS_MCP_AGENT_MODEL, default {DEFAULT_MODEL})."
    )


# --- tool calls ----------------------------------------------------------------------------------


def inner_pipeline(outer: ToolPipeline) -> ToolPipeline:
    """The pipeline the model's calls go through: the same rules, audit and tools, less this one."""
    reachable = [spec for name in outer.registry.names() if name != AGENT_TOOL if (spec := outer.registry.get(name))]
    # The host sees only run_devops_agent, never the calls inside it, so its own confirmation
    # cannot cover them: an `ask` must reach the user by elicitation, or the call is refused.
    policy = outer.policy.model_copy(update={"confirm": "require-elicitation"})
    inner = ToolPipeline(ToolRegistry(reachable), outer.env, policy, outer.audit, outer.telemetry)
    inner.instance = outer.instance  # audit rows of one server instance stay together
    return inner


def _first_line(text: str) -> str:
    """The gist of an answer: its first line, and the second too when that holds the reason (a refusal)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " ".join(lines[:2]) if text.startswith("Refused:") else next(iter(lines), "")


def _outcome(name: str, result: types.CallToolResult | types.InputRequiredResult) -> ToolOutcome:
    if isinstance(result, types.InputRequiredResult):
        # 2026-07-28 asks the user through an input_required round of the *outer* call, which a
        # running loop cannot pause for: the call is not run, and the model is told to leave it.
        text = (
            f"Not run: {name} needs the user's confirmation, which cannot be asked in the middle of an "
            "agent run in this protocol version. Do not retry; list it in the report for the user to do."
        )
        return ToolOutcome(text, "unconfirmed", _first_line(text))
    text = "".join(block.text for block in result.content if isinstance(block, types.TextContent))
    if not result.is_error:
        return ToolOutcome(text, "ok")
    if text.startswith("Refused:") and "confirm = 'require-elicitation'" in text:
        # The inner pipeline's own refusal (see inner_pipeline): say it in the model's terms.
        text = (
            f"Not run: {name} needs the user's confirmation, and this client cannot ask the user "
            "(no elicitation). Do not retry; list it in the report for the user to do."
        )
        return ToolOutcome(text, "unconfirmed", _first_line(text))
    kind: Literal["refused", "declined", "error"] = (
        "refused" if text.startswith("Refused:") else "declined" if text.startswith("Not done:") else "error"
    )
    return ToolOutcome(text, kind, _first_line(text))


# --- the tool ------------------------------------------------------------------------------------


async def _run(args: AgentInput, env: ToolEnv, touches: Touches) -> AgentRunResult:
    active = active_call()
    if active is None:
        raise ToolFailure("run_devops_agent runs only as an MCP tool call")
    ctx = active.ctx
    inner = inner_pipeline(active.pipeline)
    listing = {tool.name: tool for tool in inner.registry.listing()}
    model = pick_model(ctx, env.settings, listing)
    tools = [ToolSchema(tool.name, tool.description or tool.name, tool.input_schema) for tool in listing.values()]

    async def call_tool(name: str, arguments: dict[str, Any]) -> ToolOutcome:
        try:
            result = await inner.call(ctx, types.CallToolRequestParams(name=name, arguments=arguments))
        except MCPError as exc:  # an unknown tool (audited by the pipeline)
            return ToolOutcome(exc.message, "error", _first_line(exc.message))
        return _outcome(name, result)

    async def progress(done: float, total: float, message: str) -> None:
        # The request's own progress token (a no-op when the client sent none); never fatal.
        try:
            await ctx.session.report_progress(done, total, message)
        except Exception as exc:
            log.warning("agent_progress_failed", error=type(exc).__name__)

    budget = Budget(args.max_turns, args.max_tool_calls, args.max_tokens, args.time_limit_s)
    log.info("agent_run_started", model_access=model.via, model=model.name, steps=args.ordered_steps())
    try:
        result = await run_agent(
            args.task,
            args.ordered_steps(),
            model=model,
            tools=tools,
            call_tool=call_tool,
            budget=budget,
            progress=progress,
            markdown=args.markdown,
        )
    finally:
        await model.aclose()
    log.info(
        "agent_run_finished",
        stopped_by=result.stopped_by,
        report_valid=result.report_valid,
        turns=result.summary.turns,
        tool_calls=len(result.summary.tool_calls),
    )
    return result


def spec(read_only: bool) -> AnySpec:
    """The tool; read-only exactly when every tool it can reach is (read-only mode)."""
    return ToolSpec(
        name=AGENT_TOOL,
        title="Run the DevOps engineer agent",
        description=(
            "Run the DevOps-engineer subagent on a task: research → design → automate → monitor → optimize, "
            "then a ten-part report that passes validate_report. The model is the client's own (MCP sampling "
            "with tools) or, when the server has ANTHROPIC_API_KEY, Claude through the Anthropic API. Every "
            "tool call it makes passes this server's guardrails and audit log; anything that needs confirmation "
            "is asked of the user. Budgets (turns, tool calls, tokens, time) end a run early with the best "
            "report so far and `stopped_by` naming the budget. Reports progress per step; cancel the request "
            "to stop it. Returns the report, its Markdown and a summary (steps, decisions, tools called, time)."
        ),
        toolset="agent",
        input_model=AgentInput,
        output_model=AgentRunResult,
        run=_run,
        read_only=read_only,
        open_world=True,
    )
