"""The GitHub toolset: branches, atomic commits, pull requests and gated merges.

Each tool declares what it touches (repository, branch, files, the pull request it merges) by
reading the facts from GitHub; the rules judge them; the tool then acts on exactly those facts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from server.blocking import run_blocking
from server.errors import ToolFailure
from server.registry import AnySpec, ToolEnv, ToolSpec
from server.rules import FileWrite, MergeFacts, Touches, merge_blockers
from tools import github as gh_ops
from tools.github_models import (
    BranchResult,
    CreateBranchInput,
    CreatePullRequestInput,
    MergePullRequestInput,
    MergeResult,
    PullRequestInput,
    PullRequestResult,
    PullRequestStatus,
    PushFilesInput,
    PushResult,
)

if TYPE_CHECKING:
    from github import Github

T = TypeVar("T")
READ_TIMEOUT_S = 60.0
WRITE_TIMEOUT_S = 120.0


def client(env: ToolEnv) -> Github:
    """The PyGithub client, built on first use (start-up never imports PyGithub)."""
    cached = env.backends.get("github")
    if cached is None:
        settings = env.settings
        key = settings.github_app_private_key.get_secret_value() if settings.github_app_private_key else None
        if key is None and settings.github_app_private_key_file is not None:
            key = settings.github_app_private_key_file.read_text(encoding="utf-8")
        auth = gh_ops.GitHubAuth(
            token=settings.github_token.get_secret_value() if settings.github_token else None,
            app_id=settings.github_app_id,
            app_private_key=key,
            app_installation_id=settings.github_app_installation_id,
        )
        cached = env.backends["github"] = gh_ops.connect(auth, settings.github_api_url)
    gh: Github = cached
    return gh


async def _blocking(env: ToolEnv, what: str, fn: Callable[[Github], T], writes: bool = False) -> T:
    gh = client(env)
    return await run_blocking(lambda: fn(gh), WRITE_TIMEOUT_S if writes else READ_TIMEOUT_S, what, writes)


def _protected(args: CreateBranchInput | PushFilesInput) -> Callable[[Github], tuple[str, ...]]:
    """The repository's own protected branches that matter here: its default branch, and the
    target branch when GitHub protects it."""

    def read(gh: Github) -> tuple[str, ...]:
        default = gh_ops.default_branch(gh, args.owner, args.repo)
        protected = gh_ops.github_protected(gh, args.owner, args.repo, args.branch)
        return (default, args.branch) if protected else (default,)

    return read


async def _branch_touches(args: CreateBranchInput, env: ToolEnv) -> Touches:
    protected = await _blocking(env, "reading the repository", _protected(args))
    return Touches(repository=f"{args.owner}/{args.repo}", branch=args.branch, protected_branches=protected)


async def _push_touches(args: PushFilesInput, env: ToolEnv) -> Touches:
    protected = await _blocking(env, "reading the repository", _protected(args))
    return Touches(
        repository=f"{args.owner}/{args.repo}",
        branch=args.branch,
        protected_branches=protected,
        files=tuple(FileWrite(path=f.path, text=gh_ops.decoded_text(f.content, f.encoding)) for f in args.files),
        deleted_paths=tuple(args.delete),
    )


async def _repository_touches(args: CreatePullRequestInput | PullRequestInput, env: ToolEnv) -> Touches:
    return Touches(repository=f"{args.owner}/{args.repo}")


async def _merge_touches(args: MergePullRequestInput, env: ToolEnv) -> Touches:
    facts = await _blocking(env, "reading the pull request", lambda gh: gh_ops.pull_request_facts(gh, args))
    return Touches(
        repository=f"{args.owner}/{args.repo}",
        merge=MergeFacts(pull_request=facts, method=args.merge_method, expected_sha=args.sha),
    )


async def _create_branch(args: CreateBranchInput, env: ToolEnv, touches: Touches) -> BranchResult:
    return await _blocking(env, "creating the branch", lambda gh: gh_ops.create_branch(gh, args), writes=True)


async def _push_files(args: PushFilesInput, env: ToolEnv, touches: Touches) -> PushResult:
    return await _blocking(env, "pushing the commit", lambda gh: gh_ops.push_files(gh, args), writes=True)


async def _create_pull_request(args: CreatePullRequestInput, env: ToolEnv, touches: Touches) -> PullRequestResult:
    return await _blocking(
        env, "creating the pull request", lambda gh: gh_ops.create_pull_request(gh, args), writes=True
    )


async def _pull_request_status(args: PullRequestInput, env: ToolEnv, touches: Touches) -> PullRequestStatus:
    facts = await _blocking(env, "reading the pull request", lambda gh: gh_ops.pull_request_facts(gh, args))
    blockers = merge_blockers(MergeFacts(pull_request=facts, method="merge"), env.policy)
    return PullRequestStatus(**facts.model_dump(), blockers=[str(reason) for reason in blockers])


async def _merge_pull_request(args: MergePullRequestInput, env: ToolEnv, touches: Touches) -> MergeResult:
    if touches.merge is None:
        raise ToolFailure("internal: the merge facts are missing")
    head_sha = touches.merge.pull_request.head_sha
    return await _blocking(
        env, "merging the pull request", lambda gh: gh_ops.merge_pull_request(gh, args, head_sha), writes=True
    )


def _describe_merge(args: MergePullRequestInput) -> str:
    sha = f" at head {args.sha[:12]}" if args.sha else ""
    return f"merge pull request #{args.pull_number} of {args.owner}/{args.repo} by {args.merge_method}{sha}"


SPECS: tuple[AnySpec, ...] = (
    ToolSpec(
        name="create_branch",
        title="Create a branch",
        description="Create a branch from `from_branch` or the repository's default branch. An existing branch at "
        "the same commit is returned; at another commit it is an error. Protected branches are never written.",
        toolset="github",
        input_model=CreateBranchInput,
        output_model=BranchResult,
        run=_create_branch,
        touches=_branch_touches,
        read_only=False,
        idempotent=True,
        open_world=True,
    ),
    ToolSpec(
        name="push_files",
        title="Commit files to a branch",
        description="Write and delete files on a branch as ONE atomic commit (text or base64 content, mode 100755 "
        "for executables); a missing branch is created from the default branch. Never force-pushes: if the branch "
        "moves meanwhile the commit is rebuilt on its new head. Protected branches, unsafe paths and content "
        "holding secrets are refused; changes to .github/workflows are asked about.",
        toolset="github",
        input_model=PushFilesInput,
        output_model=PushResult,
        run=_push_files,
        touches=_push_touches,
        read_only=False,
        may_ask=True,
        open_world=True,
    ),
    ToolSpec(
        name="create_pull_request",
        title="Open a pull request",
        description="Open a pull request from `head` into `base` (draft, reviewers, maintainer_can_modify). An open "
        "pull request for the same head and base is returned instead of a duplicate.",
        toolset="github",
        input_model=CreatePullRequestInput,
        output_model=PullRequestResult,
        run=_create_pull_request,
        touches=_repository_touches,
        read_only=False,
        idempotent=True,
        open_world=True,
    ),
    ToolSpec(
        name="get_pull_request_status",
        title="Pull request status",
        description="State, draft, mergeability, head commit, check runs and commit statuses (counts plus failing "
        "and pending names), the latest review of each reviewer, and the blockers merge_pull_request would raise.",
        toolset="github",
        input_model=PullRequestInput,
        output_model=PullRequestStatus,
        run=_pull_request_status,
        touches=_repository_touches,
        read_only=True,
        idempotent=True,
        open_world=True,
    ),
    ToolSpec(
        name="merge_pull_request",
        title="Merge a pull request",
        description="Merge a pull request only when every gate holds: not a draft, mergeable, all checks and "
        "statuses green, no changes requested, enough approvals, the head unchanged (`sha`), an allowed method. "
        "Reports each gate that stops it. Asks the user before merging.",
        toolset="github",
        input_model=MergePullRequestInput,
        output_model=MergeResult,
        run=_merge_pull_request,
        touches=_merge_touches,
        describe=_describe_merge,
        read_only=False,
        destructive=True,
        open_world=True,
    ),
)
