"""GitHub operations on PyGithub: branches, atomic multi-file commits, pull requests, merges.

Plain blocking functions (the server runs them in worker threads with a deadline). They do what
they are asked and report facts; whether a call may run at all is decided before, by the server.

Retries: PyGithub's default retry repeats POST and PUT; ours repeats only GET and HEAD (and
honours rate-limit waits for them), so no write can reach GitHub twice because of a retry.
"""

from __future__ import annotations

import base64
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from server.errors import ToolFailure
from tools.github_models import (
    BranchResult,
    CheckSummary,
    CreateBranchInput,
    CreatePullRequestInput,
    MergePullRequestInput,
    MergeResult,
    PullRequestFacts,
    PullRequestInput,
    PullRequestResult,
    PushFilesInput,
    PushResult,
    Review,
)

if TYPE_CHECKING:
    from github import Github
    from github.GitRef import GitRef
    from github.Repository import Repository

T = TypeVar("T")

PUSH_ATTEMPTS = 3  # a moved branch is rebuilt on its new head this many times at most
REQUEST_TIMEOUT_S = 15  # per HTTP request; PyGithub takes whole seconds
_FAILING = {"failure", "timed_out", "cancelled", "action_required", "startup_failure", "stale"}
_PASSING = {"success", "neutral", "skipped"}


@dataclass(frozen=True)
class GitHubAuth:
    token: str | None = None
    app_id: str | None = None
    app_private_key: str | None = None
    app_installation_id: int | None = None


def connect(auth: GitHubAuth, base_url: str) -> Github:
    """A PyGithub client that retries only requests that are safe to repeat."""
    from github import Auth, Github, GithubRetry

    retry = GithubRetry(
        total=3,
        backoff_factor=0.5,
        allowed_methods=frozenset({"GET", "HEAD"}),
        secondary_rate_wait=5,
        max_rate_limit_wait=30,
    )
    credentials: Auth.Auth
    if auth.token:
        credentials = Auth.Token(auth.token)
    elif auth.app_id and auth.app_private_key and auth.app_installation_id:
        credentials = Auth.AppAuth(auth.app_id, auth.app_private_key).get_installation_auth(auth.app_installation_id)
    else:
        raise ToolFailure("no GitHub credentials: set GITHUB_TOKEN (or the GITHUB_APP_* variables)")
    # No client-side spacing of requests: a tool call makes a handful, and rate limits are handled
    # (reads wait and retry, writes report) rather than paid for on every call.
    return Github(
        auth=credentials,
        base_url=base_url,
        timeout=REQUEST_TIMEOUT_S,
        retry=retry,
        lazy=True,
        per_page=100,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )


def explain(exc: Exception, what: str) -> ToolFailure:
    """A GitHub error as one sentence that says what happened and what to do."""
    from github import GithubException, RateLimitExceededException

    if isinstance(exc, RateLimitExceededException):
        return ToolFailure(f"GitHub rate limit reached while {what}; wait for the reset and try again")
    if not isinstance(exc, GithubException):
        # A write that timed out may have landed; a retry could repeat it.
        return ToolFailure(
            f"GitHub did not answer while {what} ({type(exc).__name__}); if that was a change, check whether it "
            "happened before trying again"
        )
    message = exc.data.get("message", "") if isinstance(exc.data, dict) else ""
    status = exc.status
    if status == 401:
        return ToolFailure("GitHub rejected the token (401); check GITHUB_TOKEN")
    if status == 403:
        if "rate limit" in str(message).lower():
            return ToolFailure(f"GitHub rate limit reached while {what}; wait and try again")
        needed = (exc.headers or {}).get("x-accepted-github-permissions")
        hint = f"; the token needs: {needed}" if needed else "; check the token's permissions for this repository"
        return ToolFailure(f"GitHub refused {what} (403){hint}")
    if status == 404:
        return ToolFailure(f"not found while {what}: the repository, branch or pull request does not exist "
                           "or is not visible to this token")  # fmt: skip
    if status in (409, 422):
        return ToolFailure(f"GitHub could not complete {what} ({status}: {message or 'conflict'})")
    return ToolFailure(f"GitHub failed while {what} ({status}: {message or 'error'}); try again later")


def _errors() -> tuple[type[Exception], ...]:
    """What a GitHub call can raise: an API answer, or no answer at all (imported on first use)."""
    from github import GithubException
    from requests import RequestException

    return (GithubException, RequestException)


def _status(exc: Exception) -> int | None:
    """The HTTP status of a GitHub error; None when GitHub did not answer."""
    status = getattr(exc, "status", None)
    return status if isinstance(status, int) else None


def _call(what: str, fn: Callable[[], T]) -> T:
    try:
        return fn()
    except _errors() as exc:
        raise explain(exc, what) from None


def _repo(gh: Github, owner: str, repo: str) -> Repository:
    return gh.get_repo(f"{owner}/{repo}")


def default_branch(gh: Github, owner: str, repo: str) -> str:
    return _call(f"reading {owner}/{repo}", lambda: str(_repo(gh, owner, repo).default_branch))


def _ref(repo: Repository, branch: str) -> GitRef | None:
    """The branch's ref, read now (so its URL is the canonical one), or None when it does not exist."""
    try:
        ref = repo.get_git_ref(f"heads/{branch}")
        ref.object.sha  # noqa: B018 - completes the lazy ref: one GET, and edit() then targets /git/refs/
        return ref
    except _errors() as exc:
        if _status(exc) == 404:
            return None
        raise explain(exc, f"reading branch {branch}") from None


def branch_sha(gh: Github, owner: str, repo: str, branch: str) -> str | None:
    """The branch's head commit, or None when there is no such branch."""
    ref = _ref(_repo(gh, owner, repo), branch)
    return str(ref.object.sha) if ref is not None else None


def github_protected(gh: Github, owner: str, repo: str, branch: str) -> bool:
    """Does GitHub itself protect this branch? A branch that does not exist yet is not protected."""
    try:
        return bool(_repo(gh, owner, repo).get_branch(branch).protected)
    except _errors() as exc:
        if _status(exc) == 404:
            return False
        raise explain(exc, f"reading branch {branch}") from None


def create_branch(gh: Github, args: CreateBranchInput) -> BranchResult:
    repo = _repo(gh, args.owner, args.repo)
    source = args.from_branch or default_branch(gh, args.owner, args.repo)
    source_sha = branch_sha(gh, args.owner, args.repo, source)
    if source_sha is None:
        raise ToolFailure(f"branch {source} does not exist in {args.owner}/{args.repo}")
    existing = branch_sha(gh, args.owner, args.repo, args.branch)
    if existing == source_sha:
        return BranchResult(branch=args.branch, sha=existing, created=False, from_branch=source)
    if existing is not None:
        raise ToolFailure(
            f"branch {args.branch} already exists at {existing[:12]}, not at {source}'s {source_sha[:12]}; "
            "pick another name or push to it"
        )
    _call(f"creating branch {args.branch}", lambda: repo.create_git_ref(f"refs/heads/{args.branch}", source_sha))
    return BranchResult(branch=args.branch, sha=source_sha, created=True, from_branch=source)


def _tree_elements(gh_repo: Repository, args: PushFilesInput) -> list[Any]:
    from github import InputGitTreeElement

    elements = []
    for change in args.files:
        if change.encoding == "utf-8":
            elements.append(InputGitTreeElement(change.path, change.mode, "blob", content=change.content))
            continue
        # A tree entry's inline content must be text; binary content needs a blob of its own.
        blob = _call(f"uploading {change.path}", partial(gh_repo.create_git_blob, change.content, "base64"))
        elements.append(InputGitTreeElement(change.path, change.mode, "blob", sha=blob.sha))
    elements += [InputGitTreeElement(path, "100644", "blob", sha=None) for path in args.delete]
    return elements


def decoded_text(content: str, encoding: str) -> str:
    """File content as text for scanning; binary bytes map one-to-one so embedded tokens still show."""
    if encoding == "utf-8":
        return content
    try:
        raw = base64.b64decode(content, validate=True)
    except ValueError:
        raise ToolFailure("a file's content is not valid base64") from None
    return raw.decode("latin-1")


def push_files(gh: Github, args: PushFilesInput) -> PushResult:
    """One commit holding every change, made atomically; a moved branch is rebuilt, never forced."""
    if not args.files and not args.delete:
        raise ToolFailure("nothing to commit: give files to write or paths to delete")
    for change in args.files:
        decoded_text(change.content, change.encoding)  # reject bad base64 before anything is written
    repo = _repo(gh, args.owner, args.repo)
    elements = _tree_elements(repo, args)
    for attempt in range(1, PUSH_ATTEMPTS + 1):
        ref = _ref(repo, args.branch)
        head = str(ref.object.sha) if ref is not None else None
        created = ref is None
        if head is None:
            source = default_branch(gh, args.owner, args.repo)
            head = branch_sha(gh, args.owner, args.repo, source)
            if head is None:
                raise ToolFailure(f"the default branch {source} has no commit to start {args.branch} from")
        parent = _call("reading the branch head", partial(repo.get_git_commit, head))
        tree = _call("building the tree", partial(repo.create_git_tree, elements, base_tree=parent.tree))
        commit = _call("creating the commit", partial(repo.create_git_commit, args.message, tree, [parent]))
        try:
            if ref is None:
                repo.create_git_ref(f"refs/heads/{args.branch}", commit.sha)
            else:
                ref.edit(commit.sha, force=False)
        except _errors() as exc:
            # 422: the branch moved (not a fast forward) or appeared meanwhile; rebuild on its new head.
            if _status(exc) == 422 and attempt < PUSH_ATTEMPTS:
                continue
            if _status(exc) == 422:
                raise ToolFailure(
                    f"{args.branch} kept moving during {PUSH_ATTEMPTS} attempts; nothing was changed. "
                    "Try again when the branch is quiet"
                ) from None
            raise explain(exc, f"updating {args.branch}") from None
        return PushResult(
            branch=args.branch,
            commit_sha=commit.sha,
            parent_sha=head,
            created_branch=created,
            files_written=len(args.files),
            files_deleted=len(args.delete),
            attempts=attempt,
        )
    raise AssertionError("unreachable")  # the loop either returns or raises


def create_pull_request(gh: Github, args: CreatePullRequestInput) -> PullRequestResult:
    repo = _repo(gh, args.owner, args.repo)
    existing = _call(
        "listing pull requests",
        lambda: list(repo.get_pulls(state="open", head=f"{args.owner}:{args.head}", base=args.base)),
    )
    if existing:
        pr = existing[0]
        created = False
    else:
        extra: dict[str, Any] = {}
        if args.maintainer_can_modify is not None:
            extra["maintainer_can_modify"] = args.maintainer_can_modify
        pr = _call(
            "creating the pull request",
            lambda: repo.create_pull(
                base=args.base, head=args.head, title=args.title, body=args.body or "", draft=args.draft, **extra
            ),
        )
        created = True
    requested: list[str] = []
    if created and args.reviewers:
        _call("requesting reviewers", lambda: pr.create_review_request(reviewers=args.reviewers))
        requested = list(args.reviewers)
    return PullRequestResult(
        number=pr.number,
        url=pr.html_url,
        state=pr.state,
        draft=bool(pr.draft),
        head=pr.head.ref,
        base=pr.base.ref,
        title=pr.title,
        created=created,
        reviewers_requested=requested,
    )


def _summary(results: Iterable[tuple[str, str | None]]) -> CheckSummary:
    """(name, result) pairs, result None while still running, into counts and names."""
    counts: Counter[str] = Counter()
    failing, pending = [], []
    for name, result in results:
        counts[result or "pending"] += 1
        if result is None or result == "pending":
            pending.append(name)
        elif result not in _PASSING:
            failing.append(name)
    return CheckSummary(total=sum(counts.values()), by_result=dict(counts), failing=failing, pending=pending)


def pull_request_facts(gh: Github, args: PullRequestInput) -> PullRequestFacts:
    repo = _repo(gh, args.owner, args.repo)
    what = f"reading pull request #{args.pull_number}"
    pr = _call(what, lambda: repo.get_pull(args.pull_number))
    mergeable = _call(what, lambda: pr.mergeable)
    # GitHub computes mergeability in the background; ask again briefly before calling it unknown.
    for _ in range(3):
        if mergeable is not None or pr.state != "open":
            break
        time.sleep(0.5)
        pr = _call(what, lambda: repo.get_pull(args.pull_number))
        mergeable = pr.mergeable
    head_sha = pr.head.sha
    commit = repo.get_commit(head_sha)
    runs = _call("reading check runs", lambda: [(r.name, r.conclusion if r.status == "completed" else None)
                                                 for r in commit.get_check_runs()])  # fmt: skip
    combined = _call("reading commit statuses", lambda: commit.get_combined_status())
    statuses = [(s.context, s.state) for s in combined.statuses]
    latest: dict[str, str] = {}
    for review in _call("reading reviews", lambda: list(pr.get_reviews())):
        if review.state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED") and review.user is not None:
            latest[review.user.login] = review.state
    return PullRequestFacts(
        number=pr.number,
        state=pr.state,
        merged=bool(pr.merged),
        draft=bool(pr.draft),
        mergeable=mergeable,
        mergeable_state=pr.mergeable_state or "unknown",
        head=pr.head.ref,
        head_sha=head_sha,
        base=pr.base.ref,
        title=pr.title,
        checks=_summary(runs),
        statuses=_summary((name, "pending" if state == "pending" else state) for name, state in statuses),
        reviews=[Review(user=user, state=state) for user, state in latest.items()],
    )


def merge_pull_request(gh: Github, args: MergePullRequestInput, head_sha: str) -> MergeResult:
    """Merge exactly the head the gates looked at: `head_sha` goes to GitHub as the required sha."""
    pr = _repo(gh, args.owner, args.repo).get_pull(args.pull_number)
    extra: dict[str, Any] = {}
    if args.commit_title:
        extra["commit_title"] = args.commit_title
    try:
        status = pr.merge(
            commit_message=args.commit_message or "", merge_method=args.merge_method, sha=head_sha, **extra
        )
    except _errors() as exc:
        if _status(exc) == 409:
            raise ToolFailure(
                "the pull request's head moved after the checks were read; nothing was merged. "
                "Read its status again and retry"
            ) from None
        if _status(exc) == 405:
            raise ToolFailure("GitHub says the pull request is not mergeable; nothing was merged") from None
        raise explain(exc, f"merging pull request #{args.pull_number}") from None
    return MergeResult(merged=bool(status.merged), sha=status.sha, method=args.merge_method, message=status.message)
