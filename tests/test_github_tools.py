"""The GitHub toolset end to end: MCP client → guardrail pipeline → PyGithub → the git-backed double."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from mcp import Client

from server.app import build_server
from server.audit import SQLiteAuditStore
from server.config import load_settings
from server.policy import Policy
from tests import fakes
from tests.doubles.github_api import GitHubDouble
from tools import github as gh_ops

TOKEN = "test-token-for-the-double"
REPO = {"owner": "acme", "repo": "web"}


@pytest.fixture
def gh(tmp_path: Path) -> Iterator[GitHubDouble]:
    with GitHubDouble(tmp_path / "github", token=TOKEN) as double:
        double.create_repo("acme", "web", files={"README.md": "hello\n", "old.txt": "old\n"})
        yield double
        assert double.violations == [], "traffic the OpenAPI description does not allow"


@pytest.fixture
def env(gh: GitHubDouble, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_API_URL", gh.url)
    monkeypatch.setattr(gh_ops, "REQUEST_TIMEOUT_S", 2)


def server(tmp_path: Path, policy: dict[str, Any] | None = None, **settings: Any) -> Any:
    return build_server(
        load_settings(toolsets=("github",), **settings),
        policy=Policy.model_validate(policy or {}),
        audit=SQLiteAuditStore(tmp_path / "audit.sqlite3"),
    )


def text(result: types.CallToolResult) -> str:
    return "".join(block.text for block in result.content if isinstance(block, types.TextContent))


async def accept(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    return types.ElicitResult(action="accept", content={"confirm": True})


async def call(client: Client, name: str, **arguments: Any) -> types.CallToolResult:
    return await client.call_tool(name, {**REPO, **arguments})


# --- the whole flow ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("env")
async def test_branch_commit_pull_request_and_gated_merge(gh: GitHubDouble, tmp_path: Path, era: str) -> None:
    png = bytes(range(256))
    async with Client(server(tmp_path), mode=era, elicitation_callback=accept) as client:
        branch = await call(client, "create_branch", branch="feature/login")
        assert not branch.is_error, text(branch)
        main_sha = gh.branch_sha("acme", "web", "main")
        assert branch.structured_content == {
            "branch": "feature/login", "sha": main_sha, "created": True, "from_branch": "main"
        }  # fmt: skip
        again = await call(client, "create_branch", branch="feature/login")
        assert again.structured_content is not None and again.structured_content["created"] is False

        pushed = await call(
            client,
            "push_files",
            branch="feature/login",
            message="Add login",
            files=[
                {"path": "src/login.py", "content": "print('login')\n"},
                {"path": "assets/logo.png", "content": base64.b64encode(png).decode(), "encoding": "base64"},
                {"path": "scripts/deploy.sh", "content": "#!/bin/sh\necho deploy\n", "mode": "100755"},
            ],
            delete=["old.txt"],
        )
        assert not pushed.is_error, text(pushed)
        head = gh.branch_sha("acme", "web", "feature/login")
        assert pushed.structured_content is not None and pushed.structured_content["commit_sha"] == head
        # Exactly one commit, whose tree differs from its parent by exactly these changes.
        assert gh.git("acme", "web", "rev-list", "--count", f"{main_sha}..{head}").strip() == "1"
        diff = gh.git("acme", "web", "diff", "--name-status", main_sha, head).split("\n")
        assert sorted(line for line in diff if line) == sorted(
            ["A\tsrc/login.py", "A\tassets/logo.png", "A\tscripts/deploy.sh", "D\told.txt"]
        )
        tree = gh.tree_of("acme", "web", head)
        assert tree["scripts/deploy.sh"][0] == "100755"
        assert gh.git("acme", "web", "cat-file", "-s", f"{head}:assets/logo.png").strip() == "256"

        first = await call(client, "create_pull_request", title="Login", head="feature/login", base="main")
        second = await call(client, "create_pull_request", title="Login again", head="feature/login", base="main")
        assert first.structured_content is not None and second.structured_content is not None
        number = first.structured_content["number"]
        assert first.structured_content["created"] is True
        assert second.structured_content["created"] is False
        assert second.structured_content["number"] == number
        assert gh.count("pulls/create") == 1

        gh.add_check_run("acme", "web", head, "tests", status="completed", conclusion="failure")
        gh.add_status("acme", "web", head, "ci/lint", state="pending")
        gh.add_review("acme", "web", number, "alice", state="CHANGES_REQUESTED")
        refused = await call(client, "merge_pull_request", pull_number=number)
        assert refused.is_error
        for gate in ("merge.checks-failing", "merge.checks-pending", "merge.changes-requested", "merge.approvals"):
            assert f"[{gate}]" in text(refused), gate
        status = await call(client, "get_pull_request_status", pull_number=number)
        assert status.structured_content is not None
        assert status.structured_content["checks"]["failing"] == ["tests"]
        assert status.structured_content["statuses"]["pending"] == ["ci/lint"]
        assert any("merge.changes-requested" in b for b in status.structured_content["blockers"])
        assert gh.branch_sha("acme", "web", "main") == main_sha

        gh.add_check_run("acme", "web", head, "tests", status="completed", conclusion="success")
        gh.add_status("acme", "web", head, "ci/lint", state="success")
        gh.add_review("acme", "web", number, "alice", state="APPROVED")
        merged = await call(client, "merge_pull_request", pull_number=number, merge_method="squash")
        assert not merged.is_error, text(merged)
        assert merged.structured_content is not None
        assert gh.branch_sha("acme", "web", "main") == merged.structured_content["sha"]
        assert gh.tree_of("acme", "web", "main")["src/login.py"] == ("100644", "print('login')\n")


# --- refusals ----------------------------------------------------------------------------------------


def _refusals() -> list[Any]:
    return [
        pytest.param({"branch": "main", "files": [{"path": "a.txt", "content": "x"}]}, "branch.protected", id="main"),
        pytest.param({"files": [{"path": "../x", "content": "x"}]}, "path.unsafe", id="dotdot"),
        pytest.param({"files": [{"path": "/etc/x", "content": "x"}]}, "path.unsafe", id="absolute"),
        pytest.param({"files": [{"path": ".git/config", "content": "x"}]}, "path.unsafe", id="dot-git"),
        pytest.param(
            {"files": [{"path": "ci.env", "content": f"GH={fakes.github_token()}\n"}]}, "content.secret", id="gh-token"
        ),
        pytest.param(
            {"files": [{"path": "aws.ini", "content": f"aws_access_key_id={fakes.aws_access_key_id()}\n"}]},
            "content.secret",
            id="aws-key",
        ),
    ]


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize(("change", "rule"), _refusals())
async def test_refusals_leave_no_commit(gh: GitHubDouble, tmp_path: Path, change: dict[str, Any], rule: str) -> None:
    arguments = {"branch": "feature/x", "message": "change", **change}
    before = {b: gh.branch_sha("acme", "web", b) for b in ("main", "feature/x")}
    async with Client(server(tmp_path)) as client:
        result = await call(client, "push_files", **arguments)
    assert result.is_error
    assert f"[{rule}]" in text(result)
    for secret in (f["content"] for f in change["files"]):
        if rule == "content.secret":
            assert secret.split("=", 1)[1].strip() not in text(result)
    assert {b: gh.branch_sha("acme", "web", b) for b in ("main", "feature/x")} == before
    assert gh.count("git/create-commit") == 0


@pytest.mark.usefixtures("env")
async def test_a_workflow_change_is_asked_about(gh: GitHubDouble, tmp_path: Path) -> None:
    asked: list[str] = []

    async def decline(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action="decline")

    async with Client(server(tmp_path), elicitation_callback=decline) as client:
        result = await call(
            client, "push_files", branch="ci/x", message="ci",
            files=[{"path": ".github/workflows/ci.yml", "content": "on: push\n"}],
        )  # fmt: skip
    assert result.is_error
    assert "[path.workflow]" in asked[0]
    assert gh.branch_sha("acme", "web", "ci/x") is None


@pytest.mark.usefixtures("env")
async def test_github_protected_branch_is_refused(gh: GitHubDouble, tmp_path: Path) -> None:
    gh.create_branch("acme", "web", "stable")
    gh.protect("acme", "web", "stable", required_approvals=1)
    async with Client(server(tmp_path)) as client:
        result = await call(client, "push_files", branch="stable", message="m", files=[{"path": "a", "content": "b"}])
    assert "[branch.protected]" in text(result)


# --- races and faults ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("env")
async def test_a_moved_branch_is_rebuilt_not_overwritten(gh: GitHubDouble, tmp_path: Path) -> None:
    gh.create_branch("acme", "web", "feature/race")
    gh.on_before(
        op="git/update-ref",
        fn=lambda: gh.commit_on_branch("acme", "web", "feature/race", {"other.txt": "x"}, message="other"),
    )
    async with Client(server(tmp_path)) as client:
        result = await call(
            client, "push_files", branch="feature/race", message="mine", files=[{"path": "mine.txt", "content": "m"}]
        )
    assert not result.is_error, text(result)
    assert result.structured_content is not None and result.structured_content["attempts"] == 2
    head = gh.branch_sha("acme", "web", "feature/race")
    assert gh.read_file("acme", "web", head, "other.txt") == "x", "the other commit was kept"
    assert gh.read_file("acme", "web", head, "mine.txt") == "m"
    assert gh.git("acme", "web", "log", "--format=%s", "-2", head).splitlines() == ["mine", "other"]


@pytest.mark.usefixtures("env")
async def test_past_the_retry_budget_nothing_changes(gh: GitHubDouble, tmp_path: Path) -> None:
    gh.create_branch("acme", "web", "feature/busy")
    counter = iter(range(100))
    gh.on_before(
        op="git/update-ref",
        fn=lambda: gh.commit_on_branch("acme", "web", "feature/busy", {f"other{next(counter)}.txt": "x"}),
        times=gh_ops.PUSH_ATTEMPTS,
    )
    async with Client(server(tmp_path)) as client:
        result = await call(
            client, "push_files", branch="feature/busy", message="mine", files=[{"path": "mine.txt", "content": "m"}]
        )
    assert result.is_error
    assert "kept moving" in text(result)
    head = gh.branch_sha("acme", "web", "feature/busy")
    assert "mine.txt" not in gh.tree_of("acme", "web", head)


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize("op", ["git/create-commit", "git/update-ref", "pulls/create"])
async def test_a_timed_out_write_is_never_sent_twice(gh: GitHubDouble, tmp_path: Path, op: str) -> None:
    gh.create_branch("acme", "web", "feature/slow")
    gh.commit_on_branch("acme", "web", "feature/slow", {"new.txt": "n"})
    gh.inject(op=op, delay_s=3.5)  # the write happens, the answer comes after the client gave up
    async with Client(server(tmp_path)) as client:
        if op == "pulls/create":
            result = await call(client, "create_pull_request", title="t", head="feature/slow", base="main")
        else:
            result = await call(
                client, "push_files", branch="feature/slow", message="m", files=[{"path": "a.txt", "content": "a"}]
            )
    assert result.is_error
    assert "check whether it happened" in text(result)
    assert gh.count(op) == 1


@pytest.mark.usefixtures("env")
async def test_reads_are_retried_after_a_server_error(gh: GitHubDouble, tmp_path: Path) -> None:
    gh.commit_on_branch("acme", "web", "feature/r", {"r.txt": "r"})
    number = gh.open_pull("acme", "web", "feature/r", "main")
    gh.inject(op="pulls/get", status=502)
    async with Client(server(tmp_path)) as client:
        result = await call(client, "get_pull_request_status", pull_number=number)
    assert not result.is_error, text(result)
    assert gh.count("pulls/get") >= 2


@pytest.mark.usefixtures("env")
async def test_merge_refuses_when_the_head_moved(gh: GitHubDouble, tmp_path: Path) -> None:
    gh.commit_on_branch("acme", "web", "feature/m", {"m.txt": "m"})
    number = gh.open_pull("acme", "web", "feature/m", "main")
    old_head = gh.branch_sha("acme", "web", "feature/m")
    gh.add_check_run("acme", "web", old_head, "tests", status="completed", conclusion="success")
    gh.add_review("acme", "web", number, "alice", state="APPROVED")
    gh.commit_on_branch("acme", "web", "feature/m", {"late.txt": "l"})
    async with Client(server(tmp_path), elicitation_callback=accept) as client:
        result = await call(client, "merge_pull_request", pull_number=number, sha=old_head)
    assert "[merge.head-moved]" in text(result)


@pytest.mark.usefixtures("env")
async def test_merge_with_no_checks_asks_and_a_draft_is_refused(gh: GitHubDouble, tmp_path: Path) -> None:
    gh.commit_on_branch("acme", "web", "feature/n", {"n.txt": "n"})
    number = gh.open_pull("acme", "web", "feature/n", "main")
    gh.add_review("acme", "web", number, "alice", state="APPROVED")
    asked: list[str] = []

    async def decline(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action="decline")

    async with Client(server(tmp_path), elicitation_callback=decline) as client:
        declined = await call(client, "merge_pull_request", pull_number=number)
        gh.set_draft("acme", "web", number, True)
        draft = await call(client, "merge_pull_request", pull_number=number)
    assert "[merge.no-checks]" in asked[0]
    assert f"merge pull request #{number} of acme/web by merge" in asked[0]
    assert declined.is_error and "declined" in text(declined)
    assert "[merge.draft]" in text(draft)
    assert gh.count("pulls/merge") == 0


@pytest.mark.usefixtures("env")
async def test_errors_say_what_to_do(gh: GitHubDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with Client(server(tmp_path)) as client:
        missing = await client.call_tool("get_pull_request_status", {"owner": "acme", "repo": "nope", "pull_number": 1})
    assert "not found" in text(missing)
    monkeypatch.setenv("GITHUB_TOKEN", "wrong-token")
    async with Client(server(tmp_path)) as client:
        denied = await call(client, "get_pull_request_status", pull_number=1)
    assert "rejected the token" in text(denied)


async def test_read_only_mode_registers_only_the_status_tool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    async with Client(server(tmp_path, read_only=True)) as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
    assert names == ["get_pull_request_status"]
