"""The one path every tool call takes:

validate input → policy decision → confirm (`ask`) → run → fence, redact, cap → audit.

Tools only declare what they touch (`ToolSpec.touches`); every judgement is made here, by the
rules in `server/rules.py`, and every call leaves one audit row before its result returns.
"""

from __future__ import annotations

import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import mcp_types as types
import structlog
from mcp.server import ServerRequestContext
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel, ValidationError

from server.audit import AuditRecord, AuditStore, Confirmation, Outcome
from server.confirm import ask_user, call_digest
from server.decision import Decision, Verdict
from server.errors import ToolFailure
from server.output import shape, to_text
from server.policy import Policy
from server.redact import redact, redact_value
from server.registry import AnySpec, ToolEnv, ToolRegistry
from server.rules import RuleInput, Touches, decide
from server.telemetry import NoTelemetry, Telemetry

log = structlog.get_logger(__name__)


def describe_validation_error(exc: ValidationError) -> str:
    """Field paths and what is wrong with them; never the rejected values (they may hold secrets)."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "arguments"
        parts.append(f"{where}: {error['msg']}")
    return redact("; ".join(parts))


def error_result(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=redact(message))], is_error=True)


def success_result(data: dict[str, Any], cut: int) -> types.CallToolResult:
    # The text block carries the same result for clients that read only text.
    meta = {"devops/truncated_chars": cut} if cut else None
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=to_text(data))], structured_content=data, _meta=meta
    )


_Result = types.CallToolResult | types.InputRequiredResult


@dataclass
class _Call:
    """What the audit row needs, filled in as the call moves through the stages."""

    tool: str
    arguments: dict[str, Any]
    client: str | None
    started: float
    decision: Decision | None = None
    confirmation: Confirmation = "not-needed"


@dataclass(frozen=True)
class ActiveCall:
    """The request a tool is running for, and the pipeline running it.

    `ToolSpec.run` gets no request context; a tool that talks to the client itself (the agent
    runner: sampling, progress, and tool calls of its own through this same pipeline) reads it here.
    """

    ctx: ServerRequestContext[Any]
    pipeline: ToolPipeline


_ACTIVE_CALL: ContextVar[ActiveCall | None] = ContextVar("devops_active_call", default=None)


def active_call() -> ActiveCall | None:
    """The call this task is running inside `ToolPipeline.call`, if any."""
    return _ACTIVE_CALL.get()


class ToolPipeline:
    def __init__(
        self,
        registry: ToolRegistry,
        env: ToolEnv,
        policy: Policy,
        audit: AuditStore,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.registry = registry
        self.env = env
        self.policy = policy
        self.audit = audit
        self.telemetry: Telemetry = telemetry or NoTelemetry()
        self.instance = uuid.uuid4().hex[:12]

    async def call(self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> _Result:
        token = _ACTIVE_CALL.set(ActiveCall(ctx, self))
        try:
            return await self._call(ctx, params)
        finally:
            _ACTIVE_CALL.reset(token)

    async def _call(self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> _Result:
        raw = params.arguments or {}
        client_params = ctx.session.client_params
        call = _Call(
            tool=params.name,
            arguments=raw,
            client=client_params.client_info.name if client_params else None,
            started=time.perf_counter(),
        )
        spec = self.registry.get(params.name)
        if spec is None:
            # Audited too: probing for tools that are not there is worth seeing.
            message = f"Unknown tool {params.name!r}; tools/list names the tools this server offers."
            await self._write_audit(call, "invalid", message)
            raise MCPError(code=types.INVALID_PARAMS, message=redact(message))
        self.telemetry.call_started(spec.name)
        try:
            args = spec.input_model.model_validate(raw)
        except ValidationError as exc:
            message = (
                f"Invalid arguments for {spec.name}: {describe_validation_error(exc)}. "
                "Fix them against the tool's input schema and call again."
            )
            return await self._finish(call, "invalid", error_result(message), message)
        try:
            touches = await spec.touches(args, self.env) if spec.touches else Touches()
        except ToolFailure as exc:
            message = f"{spec.name} failed: {exc}"
            return await self._finish(call, "error", error_result(message), message)
        call.decision = decide(
            RuleInput(tool=spec.name, destructive=spec.destructive, touches=touches), self.policy
        )
        self.telemetry.decided(call.decision)
        if call.decision.verdict is Verdict.DENY:
            message = (
                f"Refused: {spec.name} was not run.\n{call.decision.explain()}\n"
                "Change the request so that no rule refuses it; the policy file can change a rule."
            )
            return await self._finish(call, "denied", error_result(message), message)
        if call.decision.verdict is Verdict.ASK:
            stopped = await self._confirm(ctx, params, spec, args, call)
            if stopped is not None:
                return stopped
        return await self._run(spec, args, touches, call)

    async def _confirm(
        self,
        ctx: ServerRequestContext[Any],
        params: types.CallToolRequestParams,
        spec: AnySpec,
        args: BaseModel,
        call: _Call,
    ) -> _Result | None:
        """Ask the user; None means go ahead, anything else is the call's answer."""
        assert call.decision is not None
        what = spec.describe(args) if spec.describe else f"{spec.name} {to_text(redact_value(call.arguments))}"
        question = redact(
            f"Allow this action?\n{what}\n\nWhy you are asked:\n{call.decision.explain(Verdict.ASK)}"
        )
        answer = await ask_user(ctx, params, question, call_digest(spec.name, call.arguments))
        self.telemetry.confirmed(answer if isinstance(answer, str) else "asked")
        if isinstance(answer, types.InputRequiredResult):
            call.confirmation = "pending"
            return await self._finish(call, "input_required", answer, None)
        if answer == "unavailable":
            if self.policy.confirm == "require-elicitation":
                call.confirmation = "unavailable"
                message = (
                    f"Refused: {spec.name} needs the user's confirmation, this client cannot ask for it "
                    "(no elicitation support) and the policy says confirm = 'require-elicitation'. "
                    "Use a client that supports elicitation, or change the policy."
                )
                return await self._finish(call, "denied", error_result(message), message)
            # The tool is marked destructive and requiresUserInteraction: the host confirmed it.
            call.confirmation = "host"
            return None
        call.confirmation = answer
        if answer == "accepted":
            return None
        message = f"Not done: the user {answer} {spec.name}; nothing was changed."
        outcome: Outcome = "declined" if answer == "declined" else "cancelled"
        return await self._finish(call, outcome, error_result(message), message)

    async def _run(self, spec: AnySpec, args: BaseModel, touches: Touches, call: _Call) -> _Result:
        try:
            output = await spec.run(args, self.env, touches)
        except ToolFailure as exc:
            message = f"{spec.name} failed: {exc}"
            return await self._finish(call, "error", error_result(message), message)
        except Exception:
            log.exception("tool_crashed", tool=spec.name)
            message = (
                f"{spec.name} failed with an internal error; the server log has the details. "
                "Try again, and report it if it persists."
            )
            return await self._finish(call, "error", error_result(message), message)
        data, cut = shape(output, self.policy.output_budget)
        return await self._finish(call, "ok", success_result(data, cut), None)

    async def _finish(
        self, call: _Call, outcome: Outcome, result: _Result, error: str | None
    ) -> _Result:
        self.telemetry.call_finished(call.tool, outcome, time.perf_counter() - call.started)
        try:
            await self._write_audit(call, outcome, error)
        except Exception as exc:
            self.telemetry.audit_failed()
            log.error("audit_write_failed", tool=call.tool, error=type(exc).__name__)
            ran = "ran" if outcome == "ok" else f"ended ({outcome})"
            return error_result(
                f"{call.tool} {ran}, but its audit record could not be written ({type(exc).__name__}), "
                "so the result is withheld. Run `devops-mcp doctor` to check the audit store."
            )
        return result

    async def _write_audit(self, call: _Call, outcome: Outcome, error: str | None) -> None:
        decision = call.decision
        arguments = redact_value(call.arguments)
        assert isinstance(arguments, dict)
        log.info(
            "tool_call",
            tool=call.tool,
            outcome=outcome,
            verdict=decision.verdict.value if decision else None,
            rules=[reason.rule for reason in decision.reasons] if decision else [],
            confirmation=call.confirmation,
            client=call.client,
        )
        log.debug("tool_call_arguments", tool=call.tool, arguments=arguments, error=error)
        started = time.perf_counter()
        await self.audit.write(
            AuditRecord(
                client=call.client,
                session=self.instance,
                tool=call.tool,
                arguments=arguments,
                verdict=decision.verdict.value if decision else None,
                reasons=[str(reason) for reason in decision.reasons] if decision else [],
                confirmation=call.confirmation,
                outcome=outcome,
                duration_ms=round((time.perf_counter() - call.started) * 1000, 3),
                error=redact(error) if error else None,
            )
        )
        self.telemetry.audit_written(time.perf_counter() - started)
