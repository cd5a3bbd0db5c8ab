"""Asking the user before an `ask` decision runs: MCP elicitation in both protocol eras.

2026-07-28 and later: the call answers with an `InputRequiredResult` holding the question and a
request state bound to this exact call; the client retries with the user's answer. 2025 era: a
standalone `elicitation/create` request mid-call. A client without the elicitation capability
cannot be asked: the caller then falls back to the host's own confirmation, or refuses.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

import mcp_types as types
import structlog
from mcp.server import ServerRequestContext
from mcp_types.version import is_version_at_least

log = structlog.get_logger(__name__)

Answer = Literal["accepted", "declined", "cancelled", "unavailable"]

_KEY = "devops_confirm"
_STATE_PREFIX = "devops-confirm:"
_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "confirm": {
            "type": "boolean",
            "title": "Proceed",
            "description": "Tick to let the server do exactly what is described above.",
        }
    },
    "required": ["confirm"],
}


def call_digest(tool: str, arguments: dict[str, Any]) -> str:
    """Binds an answer to one tool and one set of arguments: a changed call is asked again."""
    canonical = json.dumps({"tool": tool, "arguments": arguments}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _can_elicit(ctx: ServerRequestContext[Any]) -> bool:
    capabilities = ctx.session.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    # A bare `elicitation: {}` predates modes and means form support; url-only does not.
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


def _answer(result: types.ElicitResult) -> Answer:
    if result.action == "accept":
        return "accepted" if (result.content or {}).get("confirm") is True else "declined"
    return "declined" if result.action == "decline" else "cancelled"


async def ask_user(
    ctx: ServerRequestContext[Any],
    params: types.CallToolRequestParams,
    question: str,
    digest: str,
) -> Answer | types.InputRequiredResult:
    if is_version_at_least(ctx.protocol_version, "2026-07-28"):
        return _ask_input_required(ctx, params, question, digest)
    if not _can_elicit(ctx) or not ctx.session.can_send_request:
        return "unavailable"
    try:
        result = await ctx.session.elicit(question, _SCHEMA, related_request_id=ctx.request_id)
    except Exception as exc:
        # A client that fails the request has not said yes.
        log.warning("elicitation_failed", error=type(exc).__name__)
        return "cancelled"
    return _answer(result)


def _ask_input_required(
    ctx: ServerRequestContext[Any],
    params: types.CallToolRequestParams,
    question: str,
    digest: str,
) -> Answer | types.InputRequiredResult:
    # The SDK seals request state (RequestStateBoundary), so a client cannot mint an answer
    # for a call it was never asked about; the digest ties the answer to these arguments.
    answered = params.request_state == _STATE_PREFIX + digest
    response = (params.input_responses or {}).get(_KEY)
    if answered and isinstance(response, types.ElicitResult):
        return _answer(response)
    if not _can_elicit(ctx):
        return "unavailable"
    request = types.ElicitRequest(
        params=types.ElicitRequestFormParams(message=question, requested_schema=_SCHEMA)
    )
    return types.InputRequiredResult(
        input_requests={_KEY: request}, request_state=_STATE_PREFIX + digest, result_type="input_required"
    )
