"""The guardrail rules: each reads what a call touches and the policy, and returns reasons.

A rule id names one behaviour a user can look up in docs/policy.md and override in the policy
file's `[rules]` table. Tools never judge themselves: they only declare what they touch.
"""

from __future__ import annotations

from collections.abc import Callable
from fnmatch import fnmatchcase

from pydantic import BaseModel, ConfigDict

from server.decision import Decision, Reason, Verdict
from server.policy import Policy
from server.secrets import find_secrets


class FileWrite(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    text: str | None = None  # decoded content to scan; None when there is nothing readable


class Touches(BaseModel):
    """What one call reads or changes, as declared by its tool."""

    model_config = ConfigDict(frozen=True)

    repository: str | None = None  # owner/repo
    branch: str | None = None  # a branch the call writes
    protected_branches: tuple[str, ...] = ()  # the repository's own: default branch, GitHub-protected
    files: tuple[FileWrite, ...] = ()
    deleted_paths: tuple[str, ...] = ()
    project: str | None = None  # Supabase project ref


class RuleInput(BaseModel):
    model_config = ConfigDict(frozen=True)

    tool: str
    destructive: bool
    touches: Touches


Rule = Callable[[RuleInput, Policy], list[Reason]]


def _deny(rule: str, message: str) -> Reason:
    return Reason(rule=rule, verdict=Verdict.DENY, message=message)


def _ask(rule: str, message: str) -> Reason:
    return Reason(rule=rule, verdict=Verdict.ASK, message=message)


def scope_repository(call: RuleInput, policy: Policy) -> list[Reason]:
    repo = call.touches.repository
    allowed = policy.scope.repositories
    if repo is None or not allowed or any(fnmatchcase(repo.lower(), g.lower()) for g in allowed):
        return []
    return [_deny("scope.repository", f"{repo} is outside the policy's repositories ({', '.join(allowed)})")]


def scope_project(call: RuleInput, policy: Policy) -> list[Reason]:
    project = call.touches.project
    allowed = policy.scope.supabase_projects
    if project is None or not allowed or project in allowed:
        return []
    return [_deny("scope.project", f"Supabase project {project} is outside the policy's supabase_projects")]


def protected_branch(call: RuleInput, policy: Policy) -> list[Reason]:
    branch = call.touches.branch
    if branch is None:
        return []
    if branch in call.touches.protected_branches:
        return [_deny("branch.protected", f"{branch} is protected in the repository; write to a feature branch")]
    for glob in policy.protected_branches:
        if fnmatchcase(branch, glob):
            return [_deny("branch.protected", f"{branch} matches protected_branches '{glob}'; use a feature branch")]
    return []


def unsafe_reason(path: str) -> str | None:
    """Why a repository path is unsafe to write, or None."""
    if not path or "\x00" in path:
        return "is empty or holds a NUL byte"
    if "\\" in path:
        return "holds a backslash"
    if path.startswith("/"):
        return "is absolute"
    # Split by hand: PurePosixPath would quietly drop "." and empty segments.
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "holds an empty, '.' or '..' segment"
    if any(part.lower() == ".git" for part in parts):
        return "enters .git/"
    return None


def unsafe_paths(call: RuleInput, policy: Policy) -> list[Reason]:
    paths = [f.path for f in call.touches.files] + list(call.touches.deleted_paths)
    return [
        _deny("path.unsafe", f"path {path!r} {why}")
        for path in paths
        if (why := unsafe_reason(path)) is not None
    ]


def secret_in_content(call: RuleInput, policy: Policy) -> list[Reason]:
    reasons = []
    for file in call.touches.files:
        if file.text is None:
            continue
        kinds = sorted({finding.rule for finding in find_secrets(file.text)})
        if kinds:
            # Name the detector rule and the file, never the secret itself.
            reasons.append(
                _deny("content.secret", f"{file.path} holds what looks like a secret ({', '.join(kinds)})")
            )
    return reasons


def workflow_file(call: RuleInput, policy: Policy) -> list[Reason]:
    paths = [f.path for f in call.touches.files] + list(call.touches.deleted_paths)
    workflows = [p for p in paths if p.startswith(".github/workflows/")]
    if not workflows:
        return []
    return [_ask("path.workflow", f"changes a CI workflow, which runs with repository secrets: {', '.join(workflows)}")]


def destructive_tool(call: RuleInput, policy: Policy) -> list[Reason]:
    if not call.destructive:
        return []
    return [_ask("tool.destructive", f"{call.tool} cannot be undone by this server")]


RULES: tuple[Rule, ...] = (
    scope_repository,
    scope_project,
    protected_branch,
    unsafe_paths,
    secret_in_content,
    workflow_file,
    destructive_tool,
)

RULE_IDS: tuple[str, ...] = (
    "scope.repository",
    "scope.project",
    "branch.protected",
    "path.unsafe",
    "content.secret",
    "path.workflow",
    "tool.destructive",
)


def decide(call: RuleInput, policy: Policy, extra: list[Reason] | None = None) -> Decision:
    """Every rule's reasons, each verdict overridden where the policy's [rules] table says so."""
    reasons = [reason for rule in RULES for reason in rule(call, policy)] + list(extra or ())
    overridden = [
        reason.model_copy(update={"verdict": policy.rules[reason.rule]}) if reason.rule in policy.rules else reason
        for reason in reasons
    ]
    return Decision.of(overridden)
