"""Every guardrail rule as a table: a call that passes, one that is asked about, one that is refused.

"ask" for a rule that refuses by default (and "deny" for one that asks) comes from the policy's
[rules] table, which is how a user tightens or loosens a rule.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel

from server.decision import Verdict
from server.policy import Policy
from server.rules import CORE_RULE_IDS, FileWrite, MergeFacts, RuleInput, Touches, decide, rule_ids
from tests import fakes
from tools.github_models import CheckSummary, PullRequestFacts, Review

A, Q, D = Verdict.ALLOW, Verdict.ASK, Verdict.DENY


def write(path: str = "src/app.py", text: str = "print('hi')\n", branch: str = "feature/x", **kw: object) -> Touches:
    return Touches(repository="acme/web", branch=branch, files=(FileWrite(path=path, text=text),), **kw)  # type: ignore[arg-type]


def logs(hours: float = 1, limit: int = 100) -> Touches:
    end = datetime(2026, 11, 27, 12, tzinfo=UTC)
    return Touches(project="abcdefghijklmnopqrst", log_window=(end - timedelta(hours=hours), end), log_limit=limit)


def pr(**changes: object) -> Touches:
    """A merge of a green, approved, open pull request, with `changes` applied to its facts."""
    green = CheckSummary(total=1, by_result={"success": 1}, failing=[], pending=[])
    none = CheckSummary(total=0, by_result={}, failing=[], pending=[])
    method = str(changes.pop("method", "merge"))
    expected = changes.pop("expected_sha", None)
    facts = PullRequestFacts(
        number=7, state="open", merged=False, draft=False, mergeable=True, mergeable_state="clean",
        head="feature/x", head_sha="a" * 40, base="main", title="t", checks=green, statuses=none,
        reviews=[Review(user="alice", state="APPROVED")],
    ).model_copy(update=changes)  # fmt: skip
    return Touches(merge=MergeFacts(pull_request=facts, method=method, expected_sha=expected))  # type: ignore[arg-type]


RED = CheckSummary(total=1, by_result={"failure": 1}, failing=["tests"], pending=[])
RUNNING = CheckSummary(total=1, by_result={"pending": 1}, failing=[], pending=["lint"])
NO_CHECKS = CheckSummary(total=0, by_result={}, failing=[], pending=[])
MERGE_ASK = {"rules": {f"merge.{gate}": "ask" for gate in (
    "closed", "draft", "unmergeable", "checks-failing", "checks-pending", "changes-requested", "approvals",
    "head-moved", "method")}}  # fmt: skip

SCOPED = {"scope": {"repositories": ["acme/*"], "supabase_projects": ["abcdefghijklmnopqrst"]}}

# (rule id, what the call touches, destructive tool?, policy, expected verdict)
CASES: list[tuple[str, Touches, bool, dict[str, object], Verdict]] = [
    ("scope.repository", write(), False, SCOPED, A),
    ("scope.repository", Touches(repository="evil/web"), False, SCOPED | {"rules": {"scope.repository": "ask"}}, Q),
    ("scope.repository", Touches(repository="evil/web"), False, SCOPED, D),
    ("scope.repository", Touches(repository="ACME/web"), False, SCOPED, A),
    ("scope.project", Touches(project="abcdefghijklmnopqrst"), False, SCOPED, A),
    ("scope.project", Touches(project="zzzzzzzzzzzzzzzzzzzz"), False, SCOPED | {"rules": {"scope.project": "ask"}}, Q),
    ("scope.project", Touches(project="zzzzzzzzzzzzzzzzzzzz"), False, SCOPED, D),
    ("scope.project", Touches(project="zzzzzzzzzzzzzzzzzzzz"), False, {"scope": {"supabase_project": "abcdefghijklmnopqrst"}}, D),  # noqa: E501
    ("logs.window", logs(hours=24), False, {}, A),
    ("logs.window", logs(hours=25), False, {"rules": {"logs.window": "ask"}}, Q),
    ("logs.window", logs(hours=25), False, {}, D),
    ("logs.window", logs(hours=-1), False, {}, D),
    ("logs.window", logs(hours=3), False, {"supabase": {"max_window_hours": 2}}, D),
    ("logs.limit", logs(limit=1000), False, {}, A),
    ("logs.limit", logs(limit=500), False, {"supabase": {"max_limit": 100}, "rules": {"logs.limit": "ask"}}, Q),
    ("logs.limit", logs(limit=500), False, {"supabase": {"max_limit": 100}}, D),
    ("branch.protected", write(branch="feature/login"), False, {}, A),
    ("branch.protected", write(branch="release/2.0"), False, {"rules": {"branch.protected": "ask"}}, Q),
    ("branch.protected", write(branch="main"), False, {}, D),
    ("branch.protected", write(branch="release/2.0"), False, {}, D),
    ("branch.protected", write(branch="trunk", protected_branches=("trunk",)), False, {}, D),
    ("branch.protected", write(branch="prod"), False, {"protected_branches": ["prod"]}, D),
    ("path.unsafe", write(path="docs/guide.md"), False, {}, A),
    ("path.unsafe", write(path="../x"), False, {"rules": {"path.unsafe": "ask"}}, Q),
    ("path.unsafe", write(path="../x"), False, {}, D),
    ("path.unsafe", write(path="/etc/x"), False, {}, D),
    ("path.unsafe", write(path=".git/config"), False, {}, D),
    ("path.unsafe", write(path="sub/.GIT/hooks/pre-commit"), False, {}, D),
    ("path.unsafe", write(path="a/./b"), False, {}, D),
    ("path.unsafe", write(path="a\\..\\b"), False, {}, D),
    ("path.unsafe", write(path="a\x00b"), False, {}, D),
    ("path.unsafe", Touches(deleted_paths=("../../etc/passwd",)), False, {}, D),
    ("content.secret", write(text="token: ${GITHUB_TOKEN}\n"), False, {}, A),
    ("content.secret", write(text=f"token = {fakes.github_token()}\n"), False, {"rules": {"content.secret": "ask"}}, Q),
    ("content.secret", write(text=f"token = {fakes.github_token()}\n"), False, {}, D),
    ("content.secret", write(text=f"aws_access_key_id = {fakes.aws_access_key_id()}\n"), False, {}, D),
    ("content.secret", write(text=f"key: {fakes.supabase_token()}\n"), False, {}, D),
    ("path.workflow", write(path="docs/workflows/ci.yml"), False, {}, A),
    ("path.workflow", write(path=".github/workflows/ci.yml"), False, {}, Q),
    ("path.workflow", write(path=".github/workflows/ci.yml"), False, {"rules": {"path.workflow": "deny"}}, D),
    ("tool.destructive", Touches(), False, {}, A),
    ("tool.destructive", Touches(), True, {}, Q),
    ("tool.destructive", Touches(), True, {"rules": {"tool.destructive": "deny"}}, D),
    ("merge.closed", pr(), False, {}, A),
    ("merge.closed", pr(state="closed"), False, MERGE_ASK, Q),
    ("merge.closed", pr(merged=True), False, {}, D),
    ("merge.draft", pr(), False, {}, A),
    ("merge.draft", pr(draft=True), False, MERGE_ASK, Q),
    ("merge.draft", pr(draft=True), False, {}, D),
    ("merge.unmergeable", pr(mergeable=None, mergeable_state="unknown"), False, {}, A),
    ("merge.unmergeable", pr(mergeable=False), False, MERGE_ASK, Q),
    ("merge.unmergeable", pr(mergeable_state="dirty"), False, {}, D),
    ("merge.checks-failing", pr(), False, {}, A),
    ("merge.checks-failing", pr(checks=RED), False, MERGE_ASK, Q),
    ("merge.checks-failing", pr(statuses=RED), False, {}, D),
    ("merge.checks-pending", pr(), False, {}, A),
    ("merge.checks-pending", pr(statuses=RUNNING), False, MERGE_ASK, Q),
    ("merge.checks-pending", pr(checks=RUNNING), False, {}, D),
    ("merge.no-checks", pr(), False, {}, A),
    ("merge.no-checks", pr(checks=NO_CHECKS), False, {}, Q),
    ("merge.no-checks", pr(checks=NO_CHECKS), False, {"rules": {"merge.no-checks": "deny"}}, D),
    ("merge.changes-requested", pr(), False, {}, A),
    ("merge.changes-requested", pr(reviews=[Review(user="a", state="APPROVED"), Review(user="b", state="CHANGES_REQUESTED")]), False, MERGE_ASK, Q),  # noqa: E501
    ("merge.changes-requested", pr(reviews=[Review(user="a", state="APPROVED"), Review(user="b", state="CHANGES_REQUESTED")]), False, {}, D),  # noqa: E501
    ("merge.approvals", pr(reviews=[]), False, {"github": {"required_approvals": 0}}, A),
    ("merge.approvals", pr(reviews=[]), False, MERGE_ASK, Q),
    ("merge.approvals", pr(), False, {"github": {"required_approvals": 2}}, D),
    ("merge.head-moved", pr(expected_sha="a" * 40), False, {}, A),
    ("merge.head-moved", pr(expected_sha="b" * 40), False, MERGE_ASK, Q),
    ("merge.head-moved", pr(expected_sha="b" * 40), False, {}, D),
    ("merge.method", pr(method="squash"), False, {}, A),
    ("merge.method", pr(method="rebase"), False, MERGE_ASK | {"github": {"merge_methods": ["squash"]}}, Q),
    ("merge.method", pr(method="rebase"), False, {"github": {"merge_methods": ["squash"]}}, D),
]


@pytest.mark.parametrize(
    ("rule", "touches", "destructive", "policy", "expected"),
    CASES,
    ids=[f"{c[0]}-{c[4].value}-{i}" for i, c in enumerate(CASES)],
)
def test_rule(rule: str, touches: Touches, destructive: bool, policy: dict[str, object], expected: Verdict) -> None:
    decision = decide(RuleInput(tool="t", destructive=destructive, touches=touches), Policy.model_validate(policy))
    assert decision.verdict is expected
    fired = {reason.rule for reason in decision.reasons}
    if expected is A:
        assert rule not in fired
    else:
        assert rule in fired, decision
        assert all(reason.message for reason in decision.reasons)


def test_every_rule_has_a_pass_an_ask_and_a_refusal() -> None:
    seen = {(rule, expected) for rule, _, _, _, expected in CASES}
    for rule in CORE_RULE_IDS:
        assert {(rule, A), (rule, Q), (rule, D)} <= seen, rule


def test_strictest_reason_wins_and_all_reasons_are_kept() -> None:
    touches = write(path=".github/workflows/ci.yml", branch="main")
    decision = decide(RuleInput(tool="t", destructive=False, touches=touches), Policy())
    assert decision.verdict is D
    assert {r.rule for r in decision.reasons} == {"branch.protected", "path.workflow"}


def test_secret_reason_names_the_file_not_the_secret() -> None:
    token = fakes.github_token()
    decision = decide(
        RuleInput(tool="t", destructive=False, touches=write(path="config/app.env", text=f"T={token}")), Policy()
    )
    message = decision.explain()
    assert "config/app.env" in message
    assert token not in message


def test_every_policy_key_and_rule_is_documented() -> None:
    import tomllib
    from pathlib import Path

    docs = Path(__file__).resolve().parent.parent / "docs"
    text = (docs / "policy.md").read_text()
    for name, field in Policy.model_fields.items():
        assert f"`{name}`" in text or f"`[{name}]`" in text, name
        section = field.annotation
        if isinstance(section, type) and issubclass(section, BaseModel):
            for key in section.model_fields:
                assert f"| `{key}` |" in text, f"{name}.{key}"
    for rule in rule_ids():
        assert f"| `{rule}` |" in text, rule
    example = tomllib.loads((docs / "policy.example.toml").read_text())
    Policy.model_validate(example)
