"""The guardrail rules: each reads what a call touches and the policy, and returns reasons.

A rule id names one behaviour a user can look up in docs/policy.md and override in the policy
file's `[rules]` table. Tools never judge themselves: they only declare what they touch.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from fnmatch import fnmatchcase

from pydantic import BaseModel, ConfigDict

from server.decision import Decision, Reason, Verdict
from server.policy import Policy
from server.redact import find_secrets
from tools.github_models import PullRequestFacts


class FileWrite(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    text: str | None = None  # decoded content to scan; None when there is nothing readable


class MergeFacts(BaseModel):
    """A merge about to happen: the pull request as read just now, and how it is to be merged."""

    model_config = ConfigDict(frozen=True)

    pull_request: PullRequestFacts
    method: str
    expected_sha: str | None = None


class Touches(BaseModel):
    """What one call reads or changes, as declared by its tool."""

    model_config = ConfigDict(frozen=True)

    repository: str | None = None  # owner/repo
    branch: str | None = None  # a branch the call writes
    protected_branches: tuple[str, ...] = ()  # the repository's own: default branch, GitHub-protected
    files: tuple[FileWrite, ...] = ()
    deleted_paths: tuple[str, ...] = ()
    project: str | None = None  # Supabase project ref
    log_window: tuple[datetime, datetime] | None = None
    log_limit: int | None = None
    command: str | None = None  # a shell command to run
    merge: MergeFacts | None = None


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
    single = policy.scope.supabase_project
    allowed = (single,) if single else policy.scope.supabase_projects
    if project is None or not allowed or project in allowed:
        return []
    return [_deny("scope.project", f"Supabase project {project} is outside the policy's scope ({', '.join(allowed)})")]


def log_window(call: RuleInput, policy: Policy) -> list[Reason]:
    window = call.touches.log_window
    if window is None:
        return []
    start, end = window
    if start >= end:
        return [_deny("logs.window", "the window starts after it ends; give iso_timestamp_start before the end")]
    hours = (end - start).total_seconds() / 3600
    if hours > policy.supabase.max_window_hours:
        limit = policy.supabase.max_window_hours
        return [_deny("logs.window", f"the window is {hours:.1f} h; at most {limit:g} h per query: split it")]
    return []


def log_limit(call: RuleInput, policy: Policy) -> list[Reason]:
    limit = call.touches.log_limit
    if limit is None or limit <= policy.supabase.max_limit:
        return []
    return [_deny("logs.limit", f"limit {limit} is above the policy's max_limit {policy.supabase.max_limit}")]


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


def merge_blockers(merge: MergeFacts, policy: Policy) -> list[Reason]:
    """Every gate that stops this merge, by name; with no check or status at all, an ask."""
    pr = merge.pull_request
    reasons = []
    if pr.state != "open" or pr.merged:
        reasons.append(_deny("merge.closed", f"pull request #{pr.number} is {'merged' if pr.merged else pr.state}"))
    if pr.draft:
        reasons.append(_deny("merge.draft", f"pull request #{pr.number} is a draft; mark it ready for review first"))
    if pr.mergeable is False or pr.mergeable_state == "dirty":
        reasons.append(_deny("merge.unmergeable", "the head does not merge cleanly into the base; resolve conflicts"))
    failing = pr.checks.failing + pr.statuses.failing
    if failing:
        reasons.append(_deny("merge.checks-failing", f"failing checks or statuses: {', '.join(failing)}"))
    pending = pr.checks.pending + pr.statuses.pending
    if pending:
        reasons.append(_deny("merge.checks-pending", f"checks or statuses still running: {', '.join(pending)}"))
    if pr.checks.total + pr.statuses.total == 0:
        reasons.append(_ask("merge.no-checks", "the head commit has no check runs or statuses at all"))
    requested = [r.user for r in pr.reviews if r.state == "CHANGES_REQUESTED"]
    if requested:
        reasons.append(_deny("merge.changes-requested", f"changes requested by {', '.join(requested)}"))
    approvals = sum(r.state == "APPROVED" for r in pr.reviews)
    if approvals < policy.github.required_approvals:
        reasons.append(
            _deny("merge.approvals", f"{approvals} approval(s); the policy asks for {policy.github.required_approvals}")
        )
    if merge.expected_sha is not None and merge.expected_sha != pr.head_sha:
        reasons.append(
            _deny("merge.head-moved", f"the head is now {pr.head_sha[:12]}, not {merge.expected_sha[:12]}")
        )
    if merge.method not in policy.github.merge_methods:
        allowed = ", ".join(policy.github.merge_methods)
        reasons.append(_deny("merge.method", f"merge method {merge.method} is not allowed (policy: {allowed})"))
    return reasons


def bash_command(call: RuleInput, policy: Policy) -> list[Reason]:
    if call.touches.command is None:
        return []
    from server.bash_guard import judge_command  # the parser loads on the first command, not at start-up

    return judge_command(call.touches.command, policy)


def merge_gates(call: RuleInput, policy: Policy) -> list[Reason]:
    return merge_blockers(call.touches.merge, policy) if call.touches.merge else []


RULES: tuple[Rule, ...] = (
    scope_repository,
    scope_project,
    log_window,
    log_limit,
    protected_branch,
    unsafe_paths,
    secret_in_content,
    workflow_file,
    destructive_tool,
    merge_gates,
    bash_command,
)

CORE_RULE_IDS: tuple[str, ...] = (
    "scope.repository",
    "scope.project",
    "logs.window",
    "logs.limit",
    "branch.protected",
    "path.unsafe",
    "content.secret",
    "path.workflow",
    "tool.destructive",
    "merge.closed",
    "merge.draft",
    "merge.unmergeable",
    "merge.checks-failing",
    "merge.checks-pending",
    "merge.no-checks",
    "merge.changes-requested",
    "merge.approvals",
    "merge.head-moved",
    "merge.method",
)


def rule_ids() -> tuple[str, ...]:
    """Every rule id a reason can carry: the core rules' and the bash guard's."""
    from server.bash_guard import BASH_RULE_IDS

    return CORE_RULE_IDS + BASH_RULE_IDS


def decide(call: RuleInput, policy: Policy, extra: list[Reason] | None = None) -> Decision:
    """Every rule's reasons, each verdict overridden where the policy's [rules] table says so."""
    reasons = [reason for rule in RULES for reason in rule(call, policy)] + list(extra or ())
    overridden = [
        reason.model_copy(update={"verdict": policy.rules[reason.rule]}) if reason.rule in policy.rules else reason
        for reason in reasons
    ]
    return Decision.of(overridden)
