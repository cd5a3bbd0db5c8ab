"""Claude Code hooks: read the hook's JSON on stdin, answer in Claude Code's hook output format.

- UserPromptSubmit: for a CI/CD or infrastructure prompt, add context suggesting the
  `devops-engineer` subagent; print nothing otherwise.
- PreToolUse on Claude Code's own `Bash`: the same guard as this server's `bash` tool. A refused
  command is denied, a destructive one is asked about. An allowed one gets no decision at all, so
  Claude Code's own permission rules still apply: its Bash runs unsandboxed, and the hook must
  never grant more than Claude Code would.
"""

from __future__ import annotations

from typing import Any

from server.decision import Decision, Verdict
from server.policy import Policy

_SUGGESTION = (
    "This request looks like DevOps work ({topics}). Consider delegating it to the devops-engineer "
    "subagent (devops-engineer:devops-engineer when installed as a plugin): it follows a research → design "
    "→ automate → monitor → optimize procedure, ships changes "
    "through branches and gated pull requests, reads production logs safely, and reports in a "
    "validated ten-part format."
)


def user_prompt(payload: dict[str, Any]) -> dict[str, Any] | None:
    from server.classify import classify

    prompt = payload.get("prompt")
    if not isinstance(prompt, str):
        return None
    result = classify(prompt)
    if not result.is_devops:
        return None
    topics = ", ".join(result.topics) or "CI/CD and infrastructure"
    return {
        "hookSpecificOutput": {
            "hookEventName": "UserPromptSubmit",
            "additionalContext": _SUGGESTION.format(topics=topics),
        }
    }


def pre_tool_use(payload: dict[str, Any], policy: Policy) -> dict[str, Any] | None:
    """None: no opinion (not Bash, or allowed). Raises ValueError on a Bash call it cannot read."""
    from server.bash_guard import judge_command

    if payload.get("tool_name") != "Bash":
        return None
    tool_input = payload.get("tool_input")
    command = tool_input.get("command") if isinstance(tool_input, dict) else None
    if not isinstance(command, str):
        raise ValueError("a Bash call without a command string")
    decision = Decision.of(judge_command(command, policy))
    if decision.verdict is Verdict.ALLOW:
        return None
    reasons = "; ".join(str(reason) for reason in decision.reasons if reason.verdict is decision.verdict)
    return {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": decision.verdict.value,
            "permissionDecisionReason": f"devops-engineer-mcp guard: {reasons}",
        }
    }
