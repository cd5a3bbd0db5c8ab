"""A GitHub REST API test double: a real HTTP server over real bare git repositories.

    with GitHubDouble(tmp_path, token="t0k3n") as gh:
        gh.create_repo("acme", "web", files={"README.md": "hi\\n"})
        client = Github(base_url=gh.url, auth=Auth.Token("t0k3n"), retry=None)
        ...
        assert gh.violations == []

Every request and response is checked against `../shared/specs/github-rest-subset.openapi.json`;
what the spec does not allow lands in `gh.violations`. Tests program faults with `gh.inject(...)`
and races with `gh.on_before(...)`, and read `gh.requests` to see what reached the "API".
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from math import ceil
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest

from .github_git import BareRepo, GitError, Identity, TreeEntry, now_utc
from .http_plumbing import DoubleHandler, Reply, ServedDouble, read_body, send
from .openapi_check import OpenAPISpec, Operation, load_spec

SPEC_PATH = Path(__file__).resolve().parents[3] / "shared" / "specs" / "github-rest-subset.openapi.json"
DOCS_URL = "https://docs.github.com/rest"
BASIC_ERROR = "#/components/schemas/basic-error"
# GitHub can answer any endpoint with these (authentication, rate limits, missing resources,
# outages) although its description lists them only on some operations.
GENERIC_ERRORS: tuple[tuple[int, str | None], ...] = tuple(
    (status, BASIC_ERROR) for status in (401, 403, 404, 429, 500, 502, 503, 504)
)
PASSING_CONCLUSIONS = {"success", "neutral", "skipped"}
MODE_KINDS = {"100644": "blob", "100755": "blob", "120000": "blob", "040000": "tree", "160000": "commit"}
BEHIND = "Head branch is not up to date with the base branch."
T = TypeVar("T")


class ApiError(Exception):
    """Raised by a handler: becomes GitHub's JSON error body with this status."""

    def __init__(self, status: int, message: str, errors: Sequence[Mapping[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = list(errors or [])


def validation_failed(message: str, resource: str = "PullRequest") -> ApiError:
    """GitHub's 422 shape for a semantic refusal: the reason sits in `errors[0].message`."""
    return ApiError(422, "Validation Failed", [{"resource": resource, "code": "custom", "message": message}])


# --- records tests read ---------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One request as it reached the double, in arrival order."""

    method: str
    path: str
    query: dict[str, list[str]]
    json: Any  # parsed body, None when there was none
    operation: str | None = None  # operationId, None for an undeclared route
    status: int | None = None  # what the double answered (None while still being handled)
    handled: bool = False  # the operation ran (for writes: its effect happened)
    injected: bool = False  # a fault injection matched this request


@dataclass
class Injection:
    """A programmed fault for the next `times` matching requests; `hits` counts matches so far."""

    op: str | None
    method: str | None
    path: str | None
    status: int | None
    body: Any
    headers: dict[str, str]
    delay_s: float
    apply: bool
    times: int
    hits: int = 0

    def matches(self, method: str, path: str, operation: str | None) -> bool:
        return self.hits < self.times and _selects(self.op, self.method, self.path, method, path, operation)


@dataclass
class Hook:
    """A function run just before the next `times` matching requests are handled."""

    op: str | None
    method: str | None
    path: str | None
    fn: Callable[[], object]
    times: int
    hits: int = 0

    def matches(self, method: str, path: str, operation: str | None) -> bool:
        return self.hits < self.times and _selects(self.op, self.method, self.path, method, path, operation)


Programmed = TypeVar("Programmed", Injection, Hook)


def _selects(
    op: str | None,
    method: str | None,
    pattern: str | None,
    req_method: str,
    req_path: str,
    req_op: str | None,
) -> bool:
    """Whether a request is one an injection or hook was programmed for."""
    return (
        (op is None or op == req_op)
        and (method is None or method.upper() == req_method)
        and (pattern is None or fnmatch.fnmatchcase(req_path, pattern))
    )


# --- repository state -----------------------------------------------------------------------


@dataclass
class Protection:
    required_approvals: int | None
    required_checks: tuple[str, ...]
    strict: bool
    enforce_admins: bool
    dismiss_stale_reviews: bool
    require_code_owner_reviews: bool


@dataclass
class Review:
    id: int
    user: str
    state: str
    body: str
    commit_id: str
    submitted_at: datetime


@dataclass
class CheckRun:
    id: int
    sha: str
    name: str
    status: str
    conclusion: str | None
    started_at: datetime
    completed_at: datetime | None


@dataclass
class CommitStatus:
    id: int
    sha: str
    context: str
    state: str
    description: str | None
    target_url: str | None
    created_at: datetime


@dataclass
class Pull:
    number: int
    id: int
    title: str
    body: str | None
    head: str
    base: str
    user: str
    draft: bool
    maintainer_can_modify: bool
    created_at: datetime
    updated_at: datetime
    state: str = "open"
    merged: bool = False
    merged_at: datetime | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None
    closed_at: datetime | None = None
    last_head_sha: str = ""  # the head once the branch is gone (merged, deleted)
    requested_reviewers: list[str] = field(default_factory=list)
    requested_teams: list[str] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    pending_mergeability_reads: int = 0  # reads that still report "not computed yet"


@dataclass
class Repo:
    owner: str
    name: str
    id: int
    git: BareRepo
    default_branch: str
    private: bool
    description: str | None
    permissions: dict[str, bool]
    merge_methods: tuple[str, ...]
    collaborators: set[str] | None  # None: anyone may be asked to review
    created_at: datetime
    protections: dict[str, Protection] = field(default_factory=dict)
    pulls: dict[int, Pull] = field(default_factory=dict)
    check_runs: list[CheckRun] = field(default_factory=list)
    statuses: list[CommitStatus] = field(default_factory=list)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def tip(self, branch: str) -> str | None:
        return self.git.ref_sha(f"refs/heads/{branch}")

    def head_sha(self, pull: Pull) -> str:
        """The PR's head: the branch tip while open, the recorded SHA once merged or closed."""
        tip = self.tip(pull.head) if pull.state == "open" else None
        return tip or pull.last_head_sha


@dataclass
class Call:
    """What a handler needs from one validated request."""

    repo: Repo
    params: dict[str, Any]
    query: dict[str, Any]
    raw_query: dict[str, list[str]]
    body: Any
    path: str


# --- the double ------------------------------------------------------------------------------


class GitHubDouble(ServedDouble):
    """GitHub's REST API (the operations of the spec subset) on 127.0.0.1, over bare repos in `root`.

    `token`: the only accepted credential (`Authorization: token X` or `Bearer X`).
    `login`: the user that token belongs to (PR author, merger, default commit author).
    """

    name = "GitHub"

    def __init__(
        self,
        root: Path,
        *,
        token: str = "test-token",
        login: str = "octo-bot",
        html_url: str = "https://github.com",
        spec_path: Path = SPEC_PATH,
    ) -> None:
        self.root = Path(root)
        self.token = token
        self.login = login
        self.html_url = html_url.rstrip("/")
        self.spec: OpenAPISpec = load_spec(spec_path, GENERIC_ERRORS)
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self.injections: list[Injection] = []
        self.hooks: list[Hook] = []
        self._repos: dict[tuple[str, str], Repo] = {}
        self._users: dict[str, int] = {}
        self._ids = itertools.count(1001)
        self._lock = threading.RLock()
        self._handlers: dict[str, Callable[[Call], Reply]] = {
            "repos/get": self._repos_get,
            "repos/get-branch": self._get_branch,
            "repos/get-branch-protection": self._get_branch_protection,
            "repos/get-commit": self._get_commit,
            "checks/list-for-ref": self._list_check_runs,
            "repos/get-combined-status-for-ref": self._combined_status,
            "git/create-blob": self._create_blob,
            "git/create-tree": self._create_tree,
            "git/create-commit": self._create_commit,
            "git/get-commit": self._get_git_commit,
            "git/get-ref": self._get_ref,
            "git/create-ref": self._create_ref,
            "git/update-ref": self._update_ref,
            "git/delete-ref": self._delete_ref,
            "pulls/list": self._list_pulls,
            "pulls/create": self._create_pull,
            "pulls/get": self._get_pull,
            "pulls/merge": self._merge_pull,
            "pulls/request-reviewers": self._request_reviewers,
            "pulls/list-reviews": self._list_reviews,
        }

    # --- test set-up helpers -------------------------------------------------------------------

    def create_repo(
        self,
        owner: str,
        name: str,
        *,
        default_branch: str = "main",
        files: Mapping[str, str | bytes] | None = None,
        private: bool = False,
        description: str | None = None,
        permissions: Mapping[str, bool] | None = None,
        merge_methods: Sequence[str] = ("merge", "squash", "rebase"),
        collaborators: Sequence[str] | None = None,
    ) -> Repo:
        """Make a bare repo whose default branch holds one commit with `files` (default: a README).
        `files={}` makes an empty repository with no branch at all."""
        with self._lock:
            git = BareRepo.init(self.root / owner / f"{name}.git", default_branch)
            perms = {"admin": True, "maintain": True, "push": True, "triage": True, "pull": True}
            perms.update(permissions or {})
            repo = Repo(
                owner=owner,
                name=name,
                id=next(self._ids),
                git=git,
                default_branch=default_branch,
                private=private,
                description=description,
                permissions=perms,
                merge_methods=tuple(merge_methods),
                collaborators=None if collaborators is None else {*collaborators, self.login},
                created_at=now_utc(),
            )
            self._repos[(owner, name)] = repo
            content = {"README.md": f"# {name}\n"} if files is None else files
            if content:
                self._write_commit(repo, default_branch, content, "Initial commit", parent=None)
            return repo

    def repo(self, owner: str, repo: str) -> Repo:
        return self._repos[(owner, repo)]

    def repo_path(self, owner: str, repo: str) -> Path:
        return self.repo(owner, repo).git.path

    def git(self, owner: str, repo: str, *args: str) -> str:
        """Run git in the bare repo; returns stdout without the trailing newline."""
        return self.repo(owner, repo).git.out(*args)

    def branch_sha(self, owner: str, repo: str, branch: str) -> str | None:
        return self.repo(owner, repo).tip(branch)

    def read_file(self, owner: str, repo: str, rev: str, path: str) -> str:
        return self.git(owner, repo, "show", f"{rev}:{path}")

    def tree_of(self, owner: str, repo: str, rev: str) -> dict[str, tuple[str, str]]:
        """{path: (mode, content)} of every file at `rev` (recursive)."""
        git = self.repo(owner, repo).git
        flat = git.flat_tree(f"{rev}^{{tree}}")
        return {path: (e.mode, git.read_blob(e.sha).decode(errors="replace")) for path, e in flat.items()}

    def create_branch(self, owner: str, repo: str, branch: str, from_ref: str | None = None) -> str:
        with self._lock:
            state = self.repo(owner, repo)
            sha = state.git.resolve_commit(from_ref or state.default_branch)
            if sha is None or not state.git.create_ref(f"refs/heads/{branch}", sha):
                raise ValueError(f"cannot create branch {branch!r} from {from_ref!r}")
            return sha

    def commit_on_branch(
        self,
        owner: str,
        repo: str,
        branch: str,
        files: Mapping[str, str | bytes | None],
        message: str = "Commit from the test",
    ) -> str:
        """Commit `files` (None deletes a path) on top of `branch`, creating it from the default
        branch if needed, as another pusher would; returns the new SHA."""
        with self._lock:
            state = self.repo(owner, repo)
            parent = state.tip(branch) or state.tip(state.default_branch)
            return self._write_commit(state, branch, files, message, parent=parent)

    def protect(
        self,
        owner: str,
        repo: str,
        branch: str,
        *,
        required_approvals: int | None = None,
        required_checks: Sequence[str] = (),
        strict: bool = False,
        enforce_admins: bool = True,
        dismiss_stale_reviews: bool = False,
        require_code_owner_reviews: bool = False,
    ) -> None:
        """Classic branch protection. With `enforce_admins` (the default) it binds the token's
        admin user too: direct ref updates are refused and merges must pass the gates."""
        with self._lock:
            self.repo(owner, repo).protections[branch] = Protection(
                required_approvals,
                tuple(required_checks),
                strict,
                enforce_admins,
                dismiss_stale_reviews,
                require_code_owner_reviews,
            )

    def unprotect(self, owner: str, repo: str, branch: str) -> None:
        with self._lock:
            self.repo(owner, repo).protections.pop(branch, None)

    def open_pull(
        self, owner: str, repo: str, head: str, base: str, title: str = "Change", *, draft: bool = False
    ) -> int:
        """Open a pull request directly (set-up without HTTP); returns its number."""
        with self._lock:
            state = self.repo(owner, repo)
            return self._new_pull(state, head, base, title, None, draft, False, self.login).number

    def pull(self, owner: str, repo: str, number: int) -> Pull:
        return self.repo(owner, repo).pulls[number]

    def set_draft(self, owner: str, repo: str, number: int, draft: bool) -> None:
        with self._lock:
            self.pull(owner, repo, number).draft = draft

    def defer_mergeability(self, owner: str, repo: str, number: int, reads: int = 1) -> None:
        """The next `reads` reads of the PR report `mergeable: null`, `mergeable_state: "unknown"`,
        as GitHub does while it computes the test merge in the background."""
        with self._lock:
            self.pull(owner, repo, number).pending_mergeability_reads = reads

    def add_review(self, owner: str, repo: str, number: int, user: str, state: str = "APPROVED", body: str = "") -> int:
        if state not in ("APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED"):
            raise ValueError(f"unknown review state {state!r}")
        with self._lock:
            repo_state = self.repo(owner, repo)
            pull = repo_state.pulls[number]
            review = Review(next(self._ids), user, state, body, repo_state.head_sha(pull), now_utc())
            pull.reviews.append(review)
            if user in pull.requested_reviewers:  # GitHub drops a request once it is answered
                pull.requested_reviewers.remove(user)
            return review.id

    def add_check_run(
        self,
        owner: str,
        repo: str,
        sha: str,
        name: str,
        status: str = "completed",
        conclusion: str | None = None,
    ) -> int:
        """A check run on `sha` (or a branch name). A completed run defaults to `success`."""
        if status not in ("queued", "in_progress", "completed"):
            raise ValueError(f"unknown check run status {status!r}")
        with self._lock:
            state = self.repo(owner, repo)
            if status == "completed" and conclusion is None:
                conclusion = "success"
            done = now_utc() if status == "completed" else None
            run = CheckRun(next(self._ids), self._commit_or_fail(state, sha), name, status, conclusion, now_utc(), done)
            state.check_runs.append(run)
            return run.id

    def add_status(
        self,
        owner: str,
        repo: str,
        sha: str,
        context: str,
        state: str = "success",
        description: str | None = None,
        target_url: str | None = None,
    ) -> int:
        if state not in ("success", "failure", "pending", "error"):
            raise ValueError(f"unknown commit status state {state!r}")
        with self._lock:
            repo_state = self.repo(owner, repo)
            status = CommitStatus(
                next(self._ids),
                self._commit_or_fail(repo_state, sha),
                context,
                state,
                description,
                target_url,
                now_utc(),
            )
            repo_state.statuses.append(status)
            return status.id

    # --- faults and races ----------------------------------------------------------------------

    def inject(
        self,
        op: str | None = None,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        delay_s: float = 0.0,
        apply: bool | None = None,
        times: int = 1,
    ) -> Injection:
        """Fault for the next `times` requests matching `op` (operationId) and/or `method` + `path`
        (a glob such as `/repos/acme/web/git/refs/*`).

        `status`: answer with it (`body` default: GitHub's error shape; `headers` added).
        `delay_s`: hold the answer that long (a client timeout shorter than this sees a timeout).
        `apply`: whether the operation really runs. Default: False with a `status` (nothing
        happens), True for a pure delay (the write happens, then the answer is late: the case
        that makes a retry dangerous). `apply=False` without a status answers 502 after the delay.
        """
        self._known_operation(op)
        if op is None and method is None and path is None:
            raise ValueError("inject() needs op, method or path")
        if status is None and not delay_s:
            raise ValueError("inject() needs a status or a delay")
        injection = Injection(
            op,
            method,
            path,
            status,
            body,
            dict(headers or {}),
            delay_s,
            status is None if apply is None else apply,
            times,
        )
        with self._lock:
            self.injections.append(injection)
        return injection

    def on_before(
        self,
        op: str | None = None,
        *,
        fn: Callable[[], object],
        method: str | None = None,
        path: str | None = None,
        times: int = 1,
    ) -> Hook:
        """Run `fn` just before the next matching request is handled (after auth and validation),
        e.g. `gh.commit_on_branch(...)` so a branch moves between a client's read and its write."""
        self._known_operation(op)
        hook = Hook(op, method, path, fn, times)
        with self._lock:
            self.hooks.append(hook)
        return hook

    def count(self, op: str | None = None, method: str | None = None) -> int:
        return len(self.requests_for(op, method))

    def requests_for(self, op: str | None = None, method: str | None = None) -> list[RecordedRequest]:
        return [
            r
            for r in list(self.requests)
            if (op is None or r.operation == op) and (method is None or r.method == method.upper())
        ]

    def _known_operation(self, op: str | None) -> None:
        if op is not None and not self.spec.operations_with_id(op):
            raise ValueError(f"{op!r} is not an operationId of the spec")

    # --- request pipeline ----------------------------------------------------------------------

    def _serve(self, http: DoubleHandler) -> None:
        split = urlsplit(http.path)
        query = parse_qs(split.query, keep_blank_values=True)
        raw = read_body(http)
        entry = RecordedRequest(http.command, split.path, query, None)
        with self._lock:
            self.requests.append(entry)
        try:
            reply, delay = self._process(entry, raw, http.headers.get("Authorization"))
        except Exception as exc:  # a bug in the double must fail the test, not hang the client
            self._violate(entry, f"internal error in the double: {exc!r}")
            reply, delay = self._error(500, f"GitHub double failed: {exc}"), 0.0
        entry.status = reply.status
        if delay:
            time.sleep(delay)
        _send(http, reply)

    def _process(self, entry: RecordedRequest, raw: bytes, authorization: str | None) -> tuple[Reply, float]:
        found = self.spec.match(entry.method, entry.path)
        if found is None:
            self._violate(entry, "no operation of the spec matches this method and path")
            return self._error(404, "Not Found"), 0.0
        op = found.operation
        entry.operation = op.operation_id
        problem = self._auth_problem(authorization)
        if problem:
            return self._checked(entry, op, self._error(401, problem)), 0.0
        try:
            body, has_body = (json.loads(raw), True) if raw.strip() else (None, False)
        except (ValueError, UnicodeDecodeError):
            self._violate(entry, "request body is not JSON")
            return self._error(400, "Problems parsing JSON"), 0.0
        entry.json = body
        check = self.spec.check_request(found, entry.query, body, has_body)
        if check.violations:
            for violation in check.violations:
                self._violate(entry, f"request: {violation}")
            return self._error(422, "Invalid request.\n\n" + "\n".join(check.violations)), 0.0
        self._run_hooks(entry)
        injection = self._take(self.injections, entry)
        entry.injected = injection is not None
        if injection is None:
            return self._checked(entry, op, self._handle(entry, check.path_params, check.query, body)), 0.0
        real = self._handle(entry, check.path_params, check.query, body) if injection.apply else None
        return self._checked(entry, op, self._injected_reply(injection, real)), injection.delay_s

    def _auth_problem(self, authorization: str | None) -> str | None:
        if not authorization:
            return "Requires authentication"
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() in ("token", "bearer") and hmac.compare_digest(credential.strip(), self.token):
            return None
        return "Bad credentials"

    def _run_hooks(self, entry: RecordedRequest) -> None:
        # A hook acts like another client between this client's read and its write, so it runs
        # before the handler takes the lock; each due hook runs once per request.
        with self._lock:
            due = [hook for hook in self.hooks if hook.matches(entry.method, entry.path, entry.operation)]
            for hook in due:
                hook.hits += 1
        for hook in due:
            hook.fn()

    def _take(self, items: Sequence[Programmed], entry: RecordedRequest) -> Programmed | None:
        with self._lock:
            for item in items:
                if item.matches(entry.method, entry.path, entry.operation):
                    item.hits += 1
                    return item
        return None

    def _handle(self, entry: RecordedRequest, params: dict[str, Any], query: dict[str, Any], body: Any) -> Reply:
        with self._lock:
            entry.handled = True
            repo = self._repos.get((params["owner"], params["repo"]))
            try:
                if repo is None:
                    raise ApiError(404, "Not Found")
                call = Call(repo, params, query, entry.query, body, entry.path)
                return self._handlers[str(entry.operation)](call)
            except ApiError as error:
                return self._error(error.status, error.message, error.errors)

    def _injected_reply(self, injection: Injection, real: Reply | None) -> Reply:
        if injection.status is not None:
            body = injection.body if injection.body is not None else self._error_body(injection.status, None)
            return Reply(injection.status, body, dict(injection.headers))
        if real is None:  # a delay that must not apply: the gateway gives up
            message = "We couldn't respond to your request in time. Sorry about that."
            return Reply(502, self._error_body(502, message), dict(injection.headers))
        real.headers.update(injection.headers)
        return real

    def _checked(self, entry: RecordedRequest, op: Operation, reply: Reply) -> Reply:
        for problem in self.spec.check_response(op, reply.status, reply.body, reply.body is not None):
            self._violate(entry, f"response {reply.status}: {problem}")
        return reply

    def _violate(self, entry: RecordedRequest, problem: str) -> None:
        label = f" [{entry.operation}]" if entry.operation else ""
        with self._lock:
            self.violations.append(f"{entry.method} {entry.path}{label} {problem}")

    def _error(self, status: int, message: str | None, errors: Sequence[Mapping[str, Any]] = ()) -> Reply:
        body = self._error_body(status, message)
        if errors:
            body["errors"] = list(errors)
        return Reply(status, body)

    @staticmethod
    def _error_body(status: int, message: str | None) -> dict[str, Any]:
        default = {401: "Bad credentials", 403: "Forbidden", 404: "Not Found", 500: "Server Error"}
        return {
            "message": message or default.get(status, "Error"),
            "documentation_url": DOCS_URL,
            "status": str(status),
        }

    # --- git helpers ---------------------------------------------------------------------------

    def _identity(self, login: str) -> Identity:
        return Identity(login, self._noreply(login), now_utc())

    def _noreply(self, login: str) -> str:
        return f"{self._user_id(login)}+{login}@users.noreply.github.com"

    def _write_commit(
        self,
        repo: Repo,
        branch: str,
        files: Mapping[str, str | bytes | None],
        message: str,
        parent: str | None,
    ) -> str:
        git = repo.git
        entries = git.flat_tree(git.read_commit(parent).tree) if parent else {}
        for path, content in files.items():
            if content is None:
                entries.pop(path, None)
            else:
                data = content.encode() if isinstance(content, str) else content
                entries[path] = TreeEntry("100644", "blob", git.write_blob(data))
        author = self._identity(self.login)
        sha = git.commit_tree(git.write_tree(entries), [parent] if parent else [], message + "\n", author, author)
        old = git.ref_sha(f"refs/heads/{branch}")
        if not (
            git.update_ref(f"refs/heads/{branch}", sha, old) if old else git.create_ref(f"refs/heads/{branch}", sha)
        ):
            raise GitError(f"could not move {branch}")
        return sha

    def _commit_or_fail(self, repo: Repo, rev: str) -> str:
        sha = repo.git.resolve_commit(rev)
        if sha is None:
            raise ValueError(f"{rev!r} is not a commit of {repo.full_name}")
        return sha

    def _resolve_or(self, repo: Repo, rev: str, status: int, message: str) -> str:
        sha = repo.git.resolve_commit(rev)
        if sha is None:
            raise ApiError(status, message)
        return sha

    # --- payloads ------------------------------------------------------------------------------

    def _user_id(self, login: str) -> int:
        with self._lock:
            if login not in self._users:
                self._users[login] = next(self._ids)
            return self._users[login]

    def _user_json(self, login: str, kind: str = "User") -> dict[str, Any]:
        uid = self._user_id(login)
        api = f"{self.url}/users/{login}"
        return {
            "login": login,
            "id": uid,
            "node_id": _node_id(kind, uid),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
            "gravatar_id": "",
            "url": api,
            "html_url": f"{self.html_url}/{login}",
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": kind,
            "user_view_type": "public",
            "site_admin": False,
        }

    def _owner_json(self, repo: Repo) -> dict[str, Any]:
        return self._user_json(repo.owner, "User" if repo.owner == self.login else "Organization")

    def _repo_json(self, repo: Repo) -> dict[str, Any]:
        """One object that satisfies full-repository, repository and minimal-repository."""
        api = f"{self.url}/repos/{repo.full_name}"
        html = f"{self.html_url}/{repo.full_name}"
        host = urlsplit(self.html_url).netloc
        data: dict[str, Any] = {key: api + suffix for key, suffix in _REPO_URL_TEMPLATES.items()}
        pushed = max([repo.created_at, *(p.updated_at for p in repo.pulls.values())])
        open_count = sum(p.state == "open" for p in repo.pulls.values())
        data.update(
            {
                "id": repo.id,
                "node_id": _node_id("Repository", repo.id),
                "name": repo.name,
                "full_name": repo.full_name,
                "owner": self._owner_json(repo),
                "private": repo.private,
                "visibility": "private" if repo.private else "public",
                "html_url": html,
                "description": repo.description,
                "fork": False,
                "url": api,
                "git_url": f"git://{host}/{repo.full_name}.git",
                "ssh_url": f"git@{host}:{repo.full_name}.git",
                "clone_url": f"{html}.git",
                "svn_url": html,
                "mirror_url": None,
                "homepage": None,
                "language": None,
                "size": 1,
                "default_branch": repo.default_branch,
                "forks_count": 0,
                "forks": 0,
                "stargazers_count": 0,
                "watchers_count": 0,
                "watchers": 0,
                "open_issues_count": open_count,
                "open_issues": open_count,
                "network_count": 0,
                "subscribers_count": 0,
                "is_template": False,
                "topics": [],
                "has_issues": True,
                "has_projects": True,
                "has_wiki": True,
                "has_pages": False,
                "has_downloads": True,
                "has_discussions": False,
                "archived": False,
                "disabled": False,
                "license": None,
                "allow_forking": True,
                "web_commit_signoff_required": False,
                "allow_merge_commit": "merge" in repo.merge_methods,
                "allow_squash_merge": "squash" in repo.merge_methods,
                "allow_rebase_merge": "rebase" in repo.merge_methods,
                "allow_auto_merge": False,
                "delete_branch_on_merge": False,
                "allow_update_branch": False,
                "permissions": dict(repo.permissions),
                "pushed_at": _iso(pushed),
                "created_at": _iso(repo.created_at),
                "updated_at": _iso(pushed),
            }
        )
        return data

    def _commit_json(self, repo: Repo, sha: str, with_files: bool = False) -> dict[str, Any]:
        """The `commit` schema (repos/get-commit, a branch's commit)."""
        info = repo.git.read_commit(sha)
        api = f"{self.url}/repos/{repo.full_name}"
        html = f"{self.html_url}/{repo.full_name}"
        data: dict[str, Any] = {
            "url": f"{api}/commits/{sha}",
            "sha": sha,
            "node_id": _node_id("Commit", sha),
            "html_url": f"{html}/commit/{sha}",
            "comments_url": f"{api}/commits/{sha}/comments",
            "commit": {
                "url": f"{api}/git/commits/{sha}",
                "author": _git_user(info.author),
                "committer": _git_user(info.committer),
                "message": _message(info.message),
                "comment_count": 0,
                "tree": {"sha": info.tree, "url": f"{api}/git/trees/{info.tree}"},
                "verification": _UNSIGNED,
            },
            "author": self._linked_user(info.author),
            "committer": self._linked_user(info.committer),
            "parents": [
                {"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{html}/commit/{p}"} for p in info.parents
            ],
        }
        if with_files:
            changes = repo.git.changed_files(info.parents[0] if info.parents else None, sha)
            added, deleted = sum(c.additions for c in changes), sum(c.deletions for c in changes)
            data["stats"] = {"additions": added, "deletions": deleted, "total": added + deleted}
            data["files"] = [
                {
                    "sha": c.blob_sha,
                    "filename": c.path,
                    "status": c.status,
                    "additions": c.additions,
                    "deletions": c.deletions,
                    "changes": c.additions + c.deletions,
                    "blob_url": f"{html}/blob/{sha}/{quote(c.path)}",
                    "raw_url": f"{html}/raw/{sha}/{quote(c.path)}",
                    "contents_url": f"{api}/contents/{quote(c.path)}?ref={sha}",
                }
                for c in changes
            ]
        return data

    def _linked_user(self, person: Identity) -> dict[str, Any] | None:
        # GitHub links a commit to an account by email; unknown emails give null.
        for login in list(self._users):
            if person.email == self._noreply(login):
                return self._user_json(login)
        return None

    def _git_commit_json(self, repo: Repo, sha: str) -> dict[str, Any]:
        info = repo.git.read_commit(sha)
        api = f"{self.url}/repos/{repo.full_name}"
        html = f"{self.html_url}/{repo.full_name}"
        return {
            "sha": sha,
            "node_id": _node_id("Commit", sha),
            "url": f"{api}/git/commits/{sha}",
            "html_url": f"{html}/commit/{sha}",
            "author": _git_user(info.author),
            "committer": _git_user(info.committer),
            "tree": {"sha": info.tree, "url": f"{api}/git/trees/{info.tree}"},
            "message": _message(info.message),
            "parents": [
                {"sha": p, "url": f"{api}/git/commits/{p}", "html_url": f"{html}/commit/{p}"} for p in info.parents
            ],
            "verification": _UNSIGNED,
        }

    def _ref_json(self, repo: Repo, refname: str, sha: str) -> dict[str, Any]:
        api = f"{self.url}/repos/{repo.full_name}"
        kind = repo.git.object_type(sha) or "commit"
        return {
            "ref": refname,
            "node_id": _node_id("Ref", f"{repo.id}:{refname}"),
            "url": f"{api}/git/{quote(refname)}",
            "object": {"type": kind, "sha": sha, "url": f"{api}/git/{kind}s/{sha}"},
        }

    def _tree_json(self, repo: Repo, tree: str) -> dict[str, Any]:
        api = f"{self.url}/repos/{repo.full_name}"
        entries = []
        for listed in repo.git.list_tree(tree):
            item: dict[str, Any] = {
                "path": listed.path,
                "mode": listed.entry.mode,
                "type": listed.entry.kind,
                "sha": listed.entry.sha,
            }
            if listed.entry.kind == "blob":
                item["size"] = listed.size
            if listed.entry.kind != "commit":
                item["url"] = f"{api}/git/{listed.entry.kind}s/{listed.entry.sha}"
            entries.append(item)
        return {"sha": tree, "url": f"{api}/git/trees/{tree}", "tree": entries, "truncated": False}

    def _protection_json(self, repo: Repo, branch: str, in_branch: bool) -> dict[str, Any]:
        rule = repo.protections.get(branch)
        if rule is None:
            return {
                "enabled": False,
                "required_status_checks": {"enforcement_level": "off", "contexts": [], "checks": []},
            }
        url = f"{self.url}/repos/{repo.full_name}/branches/{quote(branch)}/protection"
        data: dict[str, Any] = {
            "url": url,
            "required_signatures": {"url": f"{url}/required_signatures", "enabled": False},
            "enforce_admins": {"url": f"{url}/enforce_admins", "enabled": rule.enforce_admins},
            "required_linear_history": {"enabled": False},
            "allow_force_pushes": {"enabled": False},
            "allow_deletions": {"enabled": False},
            "block_creations": {"enabled": False},
            "required_conversation_resolution": {"enabled": False},
            "lock_branch": {"enabled": False},
            "allow_fork_syncing": {"enabled": False},
        }
        if in_branch:
            data["enabled"] = True
        if rule.required_checks or rule.strict:
            data["required_status_checks"] = {
                "url": f"{url}/required_status_checks",
                "strict": rule.strict,
                "contexts": list(rule.required_checks),
                "contexts_url": f"{url}/required_status_checks/contexts",
                "checks": [{"context": c, "app_id": None} for c in rule.required_checks],
            }
        if rule.required_approvals is not None:
            data["required_pull_request_reviews"] = {
                "url": f"{url}/required_pull_request_reviews",
                "dismiss_stale_reviews": rule.dismiss_stale_reviews,
                "require_code_owner_reviews": rule.require_code_owner_reviews,
                "required_approving_review_count": rule.required_approvals,
                "require_last_push_approval": False,
            }
        return data

    def _branch_json(self, repo: Repo, branch: str, sha: str) -> dict[str, Any]:
        api = f"{self.url}/repos/{repo.full_name}/branches/{quote(branch)}"
        data = {
            "name": branch,
            "commit": self._commit_json(repo, sha),
            "_links": {"self": api, "html": f"{self.html_url}/{repo.full_name}/tree/{quote(branch)}"},
            "protected": branch in repo.protections,
            "protection": self._protection_json(repo, branch, in_branch=True),
            "protection_url": f"{api}/protection",
        }
        rule = repo.protections.get(branch)
        if rule is not None and rule.required_approvals is not None:
            data["required_approving_review_count"] = rule.required_approvals
        return data

    def _team_json(self, repo: Repo, slug: str) -> dict[str, Any]:
        tid = self._user_id(f"team:{slug}")
        api = f"{self.url}/organizations/{self._user_id(repo.owner)}/team/{tid}"
        return {
            "id": tid,
            "node_id": _node_id("Team", tid),
            "url": api,
            "html_url": f"{self.html_url}/orgs/{repo.owner}/teams/{slug}",
            "name": slug,
            "slug": slug,
            "description": None,
            "privacy": "closed",
            "notification_setting": "notifications_enabled",
            "permission": "pull",
            "members_url": f"{api}/members{{/member}}",
            "repositories_url": f"{api}/repos",
            "type": "organization",
            "parent": None,
        }

    def _pull_json(self, repo: Repo, pull: Pull, full: bool) -> dict[str, Any]:
        """pull-request (full) or pull-request-simple (list and request-reviewers)."""
        api = f"{self.url}/repos/{repo.full_name}"
        url = f"{api}/pulls/{pull.number}"
        html = f"{self.html_url}/{repo.full_name}/pull/{pull.number}"
        head_sha = repo.head_sha(pull)
        links = {
            "self": url,
            "html": html,
            "issue": f"{api}/issues/{pull.number}",
            "comments": f"{api}/issues/{pull.number}/comments",
            "review_comments": f"{url}/comments",
            "review_comment": f"{api}/pulls/comments{{/number}}",
            "commits": f"{url}/commits",
            "statuses": f"{api}/statuses/{head_sha}",
        }
        data: dict[str, Any] = {
            "url": url,
            "id": pull.id,
            "node_id": _node_id("PullRequest", pull.id),
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": links["issue"],
            "commits_url": links["commits"],
            "review_comments_url": links["review_comments"],
            "review_comment_url": links["review_comment"],
            "comments_url": links["comments"],
            "statuses_url": links["statuses"],
            "number": pull.number,
            "state": pull.state,
            "locked": False,
            "title": pull.title,
            "user": self._user_json(pull.user),
            "body": pull.body,
            "labels": [],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": _iso(pull.created_at),
            "updated_at": _iso(pull.updated_at),
            "closed_at": _iso(pull.closed_at),
            "merged_at": _iso(pull.merged_at),
            "merge_commit_sha": pull.merge_commit_sha,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [self._user_json(u) for u in pull.requested_reviewers],
            "requested_teams": [self._team_json(repo, t) for t in pull.requested_teams],
            "head": self._pull_end(repo, pull.head, head_sha),
            "base": self._pull_end(repo, pull.base, repo.tip(pull.base) or head_sha),
            "_links": {key: {"href": href} for key, href in links.items()},
            "author_association": "OWNER" if pull.user == repo.owner else "COLLABORATOR",
            "auto_merge": None,
            "draft": pull.draft,
        }
        if full:
            data.update(self._pull_merge_fields(repo, pull, head_sha))
        return data

    def _pull_end(self, repo: Repo, branch: str, sha: str) -> dict[str, Any]:
        return {
            "label": f"{repo.owner}:{branch}",
            "ref": branch,
            "sha": sha,
            "user": self._owner_json(repo),
            "repo": self._repo_json(repo),
        }

    def _pull_merge_fields(self, repo: Repo, pull: Pull, head_sha: str) -> dict[str, Any]:
        base_sha = repo.tip(pull.base)
        mergeable, state = self._mergeability(repo, pull, head_sha)
        commits: list[str] = []
        additions = deletions = changed = 0
        if base_sha:
            fork_point = repo.git.merge_base(base_sha, head_sha)
            commits = repo.git.commits_between(fork_point or base_sha, head_sha) if pull.state == "open" else []
            if fork_point and pull.state == "open":
                changes = repo.git.changed_files(fork_point, head_sha)
                additions = sum(c.additions for c in changes)
                deletions = sum(c.deletions for c in changes)
                changed = len(changes)
        return {
            "merged": pull.merged,
            "mergeable": mergeable,
            "rebaseable": mergeable,
            "mergeable_state": state,
            "merged_by": self._user_json(pull.merged_by) if pull.merged_by else None,
            "comments": 0,
            "review_comments": 0,
            "maintainer_can_modify": pull.maintainer_can_modify,
            "commits": len(commits),
            "additions": additions,
            "deletions": deletions,
            "changed_files": changed,
        }

    def _review_json(self, repo: Repo, pull: Pull, review: Review) -> dict[str, Any]:
        pull_url = f"{self.url}/repos/{repo.full_name}/pulls/{pull.number}"
        html = f"{self.html_url}/{repo.full_name}/pull/{pull.number}#pullrequestreview-{review.id}"
        return {
            "id": review.id,
            "node_id": _node_id("PullRequestReview", review.id),
            "user": self._user_json(review.user),
            "body": review.body,
            "state": review.state,
            "html_url": html,
            "pull_request_url": pull_url,
            "_links": {"html": {"href": html}, "pull_request": {"href": pull_url}},
            "submitted_at": _iso(review.submitted_at),
            "commit_id": review.commit_id,
            "author_association": "COLLABORATOR",
        }

    def _check_run_json(self, repo: Repo, run: CheckRun) -> dict[str, Any]:
        api = f"{self.url}/repos/{repo.full_name}"
        html = f"{self.html_url}/{repo.full_name}/runs/{run.id}"
        return {
            "id": run.id,
            "head_sha": run.sha,
            "node_id": _node_id("CheckRun", run.id),
            "external_id": "",
            "url": f"{api}/check-runs/{run.id}",
            "html_url": html,
            "details_url": html,
            "status": run.status,
            "conclusion": run.conclusion,
            "started_at": _iso(run.started_at),
            "completed_at": _iso(run.completed_at),
            "output": {
                "title": None,
                "summary": None,
                "text": None,
                "annotations_count": 0,
                "annotations_url": f"{api}/check-runs/{run.id}/annotations",
            },
            "name": run.name,
            "check_suite": {"id": run.id + 500000},
            "app": self._actions_app_json(),
            "pull_requests": [
                self._minimal_pull_json(repo, p)
                for p in repo.pulls.values()
                if p.state == "open" and repo.head_sha(p) == run.sha
            ],
        }

    def _minimal_pull_json(self, repo: Repo, pull: Pull) -> dict[str, Any]:
        api = f"{self.url}/repos/{repo.full_name}"
        short_repo = {"id": repo.id, "url": api, "name": repo.name}
        return {
            "id": pull.id,
            "number": pull.number,
            "url": f"{api}/pulls/{pull.number}",
            "head": {"ref": pull.head, "sha": repo.head_sha(pull), "repo": short_repo},
            "base": {"ref": pull.base, "sha": repo.tip(pull.base) or "", "repo": short_repo},
        }

    def _actions_app_json(self) -> dict[str, Any]:
        return {
            "id": 15368,
            "slug": "github-actions",
            "node_id": "MDM6QXBwMTUzNjg=",
            "owner": self._user_json("github", "Organization"),
            "name": "GitHub Actions",
            "description": "Automate your workflow from idea to production",
            "external_url": "https://help.github.com/en/actions",
            "html_url": f"{self.html_url}/apps/github-actions",
            "created_at": "2018-07-30T09:30:17Z",
            "updated_at": "2019-12-10T19:04:12Z",
            "permissions": {"checks": "write", "contents": "write", "metadata": "read", "statuses": "write"},
            "events": ["check_run", "check_suite", "pull_request", "push"],
        }

    def _status_json(self, repo: Repo, status: CommitStatus) -> dict[str, Any]:
        return {
            "url": f"{self.url}/repos/{repo.full_name}/statuses/{status.sha}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{self._user_id(self.login)}?v=4",
            "id": status.id,
            "node_id": _node_id("StatusContext", status.id),
            "state": status.state,
            "description": status.description,
            "target_url": status.target_url,
            "context": status.context,
            "created_at": _iso(status.created_at),
            "updated_at": _iso(status.created_at),
        }

    # --- merge gates ---------------------------------------------------------------------------

    def _latest_statuses(self, repo: Repo, sha: str) -> dict[str, CommitStatus]:
        latest: dict[str, CommitStatus] = {}
        for status in repo.statuses:
            if status.sha == sha:
                latest[status.context] = status  # later entries win
        return latest

    def _latest_runs(self, repo: Repo, sha: str) -> dict[str, CheckRun]:
        latest: dict[str, CheckRun] = {}
        for run in repo.check_runs:
            if run.sha == sha:
                latest[run.name] = run
        return latest

    def _check_verdict(self, repo: Repo, sha: str, context: str) -> str:
        """'passing', 'pending', 'failing' or 'missing' for one required check or status."""
        run = self._latest_runs(repo, sha).get(context)
        status = self._latest_statuses(repo, sha).get(context)
        if run is not None:
            if run.status != "completed":
                return "pending"
            return "passing" if run.conclusion in PASSING_CONCLUSIONS else "failing"
        if status is not None:
            return {"success": "passing", "pending": "pending"}.get(status.state, "failing")
        return "missing"

    def _gates(self, repo: Repo, pull: Pull, head_sha: str) -> list[str]:
        """Why branch protection blocks merging, in GitHub's words (empty: nothing blocks)."""
        rule = repo.protections.get(pull.base)
        if rule is None or not rule.enforce_admins:
            return []
        reasons = []
        if rule.required_approvals is not None:
            latest: dict[str, Review] = {}
            for review in pull.reviews:
                if review.state != "COMMENTED":
                    latest[review.user] = review
            if any(r.state == "CHANGES_REQUESTED" for r in latest.values()):
                reasons.append("Changes were requested by a reviewer.")
            approvals = sum(
                r.state == "APPROVED" and (not rule.dismiss_stale_reviews or r.commit_id == head_sha)
                for r in latest.values()
            )
            if approvals < rule.required_approvals:
                count = rule.required_approvals
                reasons.append(f"At least {count} approving review is required by reviewers with write access.")
        messages = {"missing": "is expected", "pending": "is in progress", "failing": "is failing"}
        for context in rule.required_checks:
            verdict = self._check_verdict(repo, head_sha, context)
            if verdict != "passing":
                reasons.append(f'Required status check "{context}" {messages[verdict]}.')
        base_sha = repo.tip(pull.base)
        if rule.strict and base_sha and not repo.git.is_ancestor(base_sha, head_sha):
            reasons.append(BEHIND)
        return reasons

    def _mergeability(self, repo: Repo, pull: Pull, head_sha: str) -> tuple[bool | None, str]:
        """(`mergeable`, `mergeable_state`) as GitHub reports them once it has computed them."""
        base_sha = repo.tip(pull.base)
        if pull.state != "open" or base_sha is None or repo.tip(pull.head) is None:
            return None, "unknown"
        if pull.pending_mergeability_reads > 0:
            pull.pending_mergeability_reads -= 1
            return None, "unknown"
        if repo.git.merge_trees(base_sha, head_sha) is None:
            return False, "dirty"
        if pull.draft:
            return True, "draft"
        gates = self._gates(repo, pull, head_sha)
        if gates:
            return True, "behind" if gates == [BEHIND] else "blocked"
        runs_ok = all(
            r.status == "completed" and r.conclusion in PASSING_CONCLUSIONS
            for r in self._latest_runs(repo, head_sha).values()
        )
        statuses_ok = all(s.state == "success" for s in self._latest_statuses(repo, head_sha).values())
        return True, "clean" if runs_ok and statuses_ok else "unstable"

    # --- handlers: repository, branches, commits, checks -------------------------------------

    def _repos_get(self, call: Call) -> Reply:
        return Reply(200, self._repo_json(call.repo))

    def _existing_branch(self, call: Call) -> tuple[str, str]:
        branch = call.params["branch"]
        sha = call.repo.tip(branch)
        if sha is None:
            raise ApiError(404, "Branch not found")
        return branch, sha

    def _get_branch(self, call: Call) -> Reply:
        branch, sha = self._existing_branch(call)
        return Reply(200, self._branch_json(call.repo, branch, sha))

    def _get_branch_protection(self, call: Call) -> Reply:
        branch, _ = self._existing_branch(call)
        if branch not in call.repo.protections:
            raise ApiError(404, "Branch not protected")
        return Reply(200, self._protection_json(call.repo, branch, in_branch=False))

    def _get_commit(self, call: Call) -> Reply:
        ref = call.params["ref"]
        sha = self._resolve_or(call.repo, ref, 422, f"No commit found for SHA: {ref}")
        return Reply(200, self._commit_json(call.repo, sha, with_files=True))

    def _list_check_runs(self, call: Call) -> Reply:
        sha = self._resolve_or(call.repo, call.params["ref"], 404, "Not Found")
        runs = [r for r in call.repo.check_runs if r.sha == sha]
        if call.query.get("filter", "latest") == "latest":
            runs = list(self._latest_runs(call.repo, sha).values())
        if "check_name" in call.query:
            runs = [r for r in runs if r.name == call.query["check_name"]]
        if "status" in call.query:
            runs = [r for r in runs if r.status == call.query["status"]]
        runs.sort(key=lambda r: -r.id)
        page, headers = self._paginate(runs, call)
        body = {"total_count": len(runs), "check_runs": [self._check_run_json(call.repo, r) for r in page]}
        return Reply(200, body, headers)

    def _combined_status(self, call: Call) -> Reply:
        repo = call.repo
        sha = self._resolve_or(repo, call.params["ref"], 404, "Not Found")
        statuses = sorted(self._latest_statuses(repo, sha).values(), key=lambda s: -s.id)
        states = {s.state for s in statuses}
        if states & {"failure", "error"}:
            state = "failure"
        elif not statuses or "pending" in states:
            state = "pending"
        else:
            state = "success"
        page, headers = self._paginate(statuses, call)
        api = f"{self.url}/repos/{repo.full_name}"
        body = {
            "state": state,
            "statuses": [self._status_json(repo, s) for s in page],
            "sha": sha,
            "total_count": len(statuses),
            "repository": self._repo_json(repo),
            "commit_url": f"{api}/commits/{sha}",
            "url": f"{api}/commits/{sha}/status",
        }
        return Reply(200, body, headers)

    def _paginate(self, items: list[T], call: Call) -> tuple[list[T], dict[str, str]]:
        per_page = min(max(int(call.query.get("per_page", 30)), 1), 100)
        page = max(int(call.query.get("page", 1)), 1)
        last = max(1, ceil(len(items) / per_page))
        links = []
        for rel, number in (("prev", page - 1), ("next", page + 1), ("last", last), ("first", 1)):
            if (rel in ("prev", "first") and page > 1) or (rel in ("next", "last") and page < last):
                query = {k: v[-1] for k, v in call.raw_query.items()} | {"page": str(number)}
                links.append(f'<{self.url}{call.path}?{urlencode(query)}>; rel="{rel}"')
        headers = {"Link": ", ".join(links)} if links else {}
        return items[(page - 1) * per_page : page * per_page], headers

    # --- handlers: git data --------------------------------------------------------------------

    def _require_push(self, repo: Repo) -> None:
        if not repo.permissions.get("push"):
            raise ApiError(403, "Resource not accessible by personal access token")

    def _require_git_data(self, repo: Repo) -> None:
        """GitHub refuses git-data writes until a repository has its first commit."""
        self._require_push(repo)
        if not repo.git.branches():
            raise ApiError(409, "Git Repository is empty.")

    def _create_blob(self, call: Call) -> Reply:
        self._require_git_data(call.repo)
        encoding = call.body.get("encoding", "utf-8")
        content = call.body["content"]
        if encoding in ("utf-8", "utf8"):
            data = content.encode()
        elif encoding == "base64":
            try:
                data = base64.b64decode(content, validate=True)
            except binascii.Error as exc:
                raise validation_failed("content is not valid Base64", "Blob") from exc
        else:
            raise validation_failed(f"encoding {encoding!r} is not supported: use utf-8 or base64", "Blob")
        sha = call.repo.git.write_blob(data)
        url = f"{self.url}/repos/{call.repo.full_name}/git/blobs/{sha}"
        return Reply(201, {"url": url, "sha": sha}, {"Location": url})

    def _create_tree(self, call: Call) -> Reply:
        self._require_git_data(call.repo)
        git = call.repo.git
        entries: dict[str, TreeEntry] = {}
        if "base_tree" in call.body:
            base = call.body["base_tree"]
            if git.object_type(base) != "tree":
                raise validation_failed(f"base_tree {base} is not a valid tree", "Tree")
            entries = git.flat_tree(base)
        for item in call.body["tree"]:
            self._apply_tree_item(git, entries, item)
        tree = git.write_tree(entries)
        url = f"{self.url}/repos/{call.repo.full_name}/git/trees/{tree}"
        return Reply(201, self._tree_json(call.repo, tree), {"Location": url})

    def _apply_tree_item(self, git: BareRepo, entries: dict[str, TreeEntry], item: Mapping[str, Any]) -> None:
        """Apply one create-tree entry to a flat {path: entry} map, with GitHub's rules."""
        path, mode, kind = item.get("path"), item.get("mode"), item.get("type")
        if not isinstance(path, str) or not _valid_path(path):
            raise validation_failed(f"tree.path {path!r} contains a malformed path component", "Tree")
        if mode is None or kind is None or MODE_KINDS.get(mode) != kind:
            raise validation_failed(f"tree.mode {mode!r} does not match tree.type {kind!r}", "Tree")
        if ("sha" in item) == ("content" in item):
            # GitHub's words, for neither and for both.
            raise ApiError(
                422, "Must supply either tree.sha or tree.content. Request will be rejected if both are present."
            )
        prefix = path + "/"
        # Whatever was at this path (a file, or a directory's files) is replaced or removed.
        for existing in [p for p in entries if p == path or p.startswith(prefix)]:
            del entries[existing]
        for parent in _parents(path):  # a file where a directory now goes is replaced too
            entries.pop(parent, None)
        if "sha" in item and item["sha"] is None:
            return  # deletion
        if "content" in item:
            if kind != "blob":
                raise validation_failed("tree.content is only allowed for blobs", "Tree")
            entries[path] = TreeEntry(mode, "blob", git.write_blob(item["content"].encode()))
            return
        sha = item.get("sha")
        if not isinstance(sha, str) or (kind != "commit" and git.object_type(sha) != kind):
            raise validation_failed(f"tree.sha {sha} is not a valid {kind}", "Tree")
        if kind == "tree":
            for sub_path, sub in git.flat_tree(sha).items():
                entries[f"{path}/{sub_path}"] = sub
        else:
            entries[path] = TreeEntry(mode, kind, sha)

    def _create_commit(self, call: Call) -> Reply:
        self._require_git_data(call.repo)
        git, body = call.repo.git, call.body
        if git.object_type(body["tree"]) != "tree":
            raise validation_failed("Tree SHA does not exist", "Commit")
        parents = body.get("parents") or []
        for parent in parents:
            if git.object_type(parent) != "commit":
                raise validation_failed("Parent SHA does not exist or is not a commit object", "Commit")
        author = _identity_from(body.get("author")) or self._identity(self.login)
        committer = _identity_from(body.get("committer")) or author
        sha = git.commit_tree(body["tree"], parents, body["message"], author, committer)
        url = f"{self.url}/repos/{call.repo.full_name}/git/commits/{sha}"
        return Reply(201, self._git_commit_json(call.repo, sha), {"Location": url})

    def _get_git_commit(self, call: Call) -> Reply:
        sha = call.params["commit_sha"]
        if call.repo.git.object_type(sha) != "commit":
            raise ApiError(404, "Not Found")
        return Reply(200, self._git_commit_json(call.repo, sha))

    def _refname(self, call: Call, missing: ApiError) -> str:
        """`heads/x` of the path as `refs/heads/x`; `missing` when it cannot name a ref."""
        ref = call.params["ref"]
        if ref.startswith("refs/") or not call.repo.git.valid_ref_name(f"refs/{ref}"):
            raise missing
        return f"refs/{ref}"

    def _get_ref(self, call: Call) -> Reply:
        refname = self._refname(call, ApiError(404, "Not Found"))
        sha = call.repo.git.ref_sha(refname)
        if sha is None:
            raise ApiError(404, "Not Found")
        return Reply(200, self._ref_json(call.repo, refname, sha))

    def _create_ref(self, call: Call) -> Reply:
        self._require_git_data(call.repo)
        refname, sha = call.body["ref"], call.body["sha"]
        if not refname.startswith("refs/") or refname.count("/") < 2 or not call.repo.git.valid_ref_name(refname):
            raise ApiError(422, "Reference name must start with 'refs/' and have at least two slashes.")
        kind = call.repo.git.object_type(sha)
        if kind is None or (refname.startswith("refs/heads/") and kind != "commit"):
            raise ApiError(422, "Object does not exist")
        if not call.repo.git.create_ref(refname, sha):
            raise ApiError(422, "Reference already exists")
        url = f"{self.url}/repos/{call.repo.full_name}/git/{quote(refname)}"
        return Reply(201, self._ref_json(call.repo, refname, sha), {"Location": url})

    def _guard_protected(self, repo: Repo, refname: str) -> None:
        branch = refname.removeprefix("refs/heads/")
        rule = repo.protections.get(branch) if refname.startswith("refs/heads/") else None
        if rule is not None and rule.enforce_admins:
            raise ApiError(422, f"Protected branch update failed for {refname}.")

    def _update_ref(self, call: Call) -> Reply:
        self._require_push(call.repo)
        git = call.repo.git
        refname, new = self._refname(call, ApiError(422, "Reference does not exist")), call.body["sha"]
        old = git.ref_sha(refname)
        if old is None:
            raise ApiError(422, "Reference does not exist")
        if git.object_type(new) is None or (refname.startswith("refs/heads/") and git.object_type(new) != "commit"):
            raise ApiError(422, "Object does not exist")
        self._guard_protected(call.repo, refname)
        if not call.body.get("force", False) and not git.is_ancestor(old, new):
            raise ApiError(422, "Update is not a fast forward")
        if not git.update_ref(refname, new, old):
            raise ApiError(422, "Reference cannot be updated")
        return Reply(200, self._ref_json(call.repo, refname, new))

    def _delete_ref(self, call: Call) -> Reply:
        self._require_push(call.repo)
        repo = call.repo
        refname = self._refname(call, ApiError(422, "Reference does not exist"))
        old = repo.git.ref_sha(refname)
        if old is None:
            raise ApiError(422, "Reference does not exist")
        branch = refname.removeprefix("refs/heads/")
        if refname.startswith("refs/heads/") and branch == repo.default_branch:
            raise ApiError(422, "Cannot delete the default branch")
        self._guard_protected(repo, refname)
        if not repo.git.delete_ref(refname, old):
            raise ApiError(422, "Reference cannot be updated")
        for pull in repo.pulls.values():  # GitHub closes pull requests whose branch is gone
            if pull.state == "open" and branch in (pull.head, pull.base):
                pull.last_head_sha = old if branch == pull.head else repo.head_sha(pull)
                pull.state, pull.closed_at = "closed", now_utc()
        return Reply(204)

    # --- handlers: pull requests ---------------------------------------------------------------

    def _pull_or_404(self, call: Call) -> Pull:
        pull = call.repo.pulls.get(call.params["pull_number"])
        if pull is None:
            raise ApiError(404, "Not Found")
        return pull

    def _list_pulls(self, call: Call) -> Reply:
        repo, query = call.repo, call.query
        pulls = list(repo.pulls.values())
        if query["state"] != "all":
            pulls = [p for p in pulls if p.state == query["state"]]
        if "head" in query:
            owner, _, branch = query["head"].rpartition(":")
            pulls = [p for p in pulls if p.head == branch and owner in ("", repo.owner)]
        if "base" in query:
            pulls = [p for p in pulls if p.base == query["base"]]
        sort = query.get("sort", "created")
        descending = query.get("direction", "desc" if sort == "created" else "asc") == "desc"
        if sort == "updated":
            pulls.sort(key=lambda p: (p.updated_at, p.number), reverse=descending)
        else:
            pulls.sort(key=lambda p: p.number, reverse=descending)
        page, headers = self._paginate(pulls, call)
        return Reply(200, [self._pull_json(repo, p, full=False) for p in page], headers)

    def _create_pull(self, call: Call) -> Reply:
        self._require_push(call.repo)
        repo, body = call.repo, call.body
        if "title" not in body:
            raise ApiError(
                422,
                "Validation Failed",
                [{"resource": "PullRequest", "field": "title", "code": "missing_field"}],
            )
        owner, _, head = body["head"].rpartition(":")
        if owner not in ("", repo.owner) or repo.tip(head) is None:
            raise ApiError(422, "Validation Failed", [{"resource": "PullRequest", "field": "head", "code": "invalid"}])
        if repo.tip(body["base"]) is None:
            raise ApiError(422, "Validation Failed", [{"resource": "PullRequest", "field": "base", "code": "invalid"}])
        pull = self._new_pull(
            repo,
            head,
            body["base"],
            body["title"],
            body.get("body"),
            body.get("draft", False),
            body.get("maintainer_can_modify", False),
            self.login,
        )
        url = f"{self.url}/repos/{repo.full_name}/pulls/{pull.number}"
        return Reply(201, self._pull_json(repo, pull, full=True), {"Location": url})

    def _new_pull(
        self,
        repo: Repo,
        head: str,
        base: str,
        title: str,
        body: str | None,
        draft: bool,
        maintainer_can_modify: bool,
        user: str,
    ) -> Pull:
        for existing in repo.pulls.values():
            if existing.state == "open" and existing.head == head and existing.base == base:
                raise validation_failed(f"A pull request already exists for {repo.owner}:{head}.")
        head_sha, base_sha = repo.tip(head), repo.tip(base)
        if head_sha is None or base_sha is None:
            raise validation_failed(f"Branch {head if head_sha is None else base} does not exist.")
        if not repo.git.commits_between(base_sha, head_sha):
            raise validation_failed(f"No commits between {base} and {head}")
        number = max(repo.pulls, default=0) + 1
        created = now_utc()
        pull = Pull(
            number,
            next(self._ids),
            title,
            body,
            head,
            base,
            user,
            draft,
            maintainer_can_modify,
            created,
            created,
        )
        pull.last_head_sha = head_sha
        repo.pulls[number] = pull
        return pull

    def _get_pull(self, call: Call) -> Reply:
        return Reply(200, self._pull_json(call.repo, self._pull_or_404(call), full=True))

    def _merge_pull(self, call: Call) -> Reply:
        self._require_push(call.repo)
        repo, pull, body = call.repo, self._pull_or_404(call), call.body or {}
        method = body.get("merge_method", "merge")
        head_sha, base_sha = repo.tip(pull.head), repo.tip(pull.base)
        if pull.state != "open" or head_sha is None or base_sha is None:
            raise ApiError(405, "Pull Request is not mergeable")
        if method not in repo.merge_methods:
            raise ApiError(405, f"{method.capitalize()} merges are not allowed on this repository.")
        if pull.draft:
            raise ApiError(405, "Pull Request is still a draft")
        if "sha" in body and body["sha"] != head_sha:
            raise ApiError(409, "Head branch was modified. Review and try the merge again.")
        gates = self._gates(repo, pull, head_sha)
        if gates:
            raise ApiError(405, " ".join(gates))
        merged = self._merge_commit(repo, pull, method, base_sha, head_sha, body)
        if not repo.git.update_ref(f"refs/heads/{pull.base}", merged, base_sha):
            raise ApiError(409, "Base branch was modified. Review and try the merge again.")
        stamp = now_utc()
        pull.state, pull.merged, pull.merged_by = "closed", True, self.login
        pull.merged_at = pull.closed_at = pull.updated_at = stamp
        pull.merge_commit_sha, pull.last_head_sha = merged, head_sha
        return Reply(200, {"sha": merged, "merged": True, "message": "Pull Request successfully merged"})

    def _merge_commit(
        self, repo: Repo, pull: Pull, method: str, base_sha: str, head_sha: str, body: Mapping[str, Any]
    ) -> str:
        """Write the commit(s) a merge produces and return the base branch's new tip."""
        git = repo.git
        author = self._identity(self.login)
        committer = Identity("GitHub", "noreply@github.com", now_utc())
        if method == "rebase":
            current = base_sha
            for commit in git.commits_between(base_sha, head_sha):
                tree = git.cherry_pick_tree(commit, current, committer)
                if tree is None:
                    raise ApiError(405, "This branch can't be rebased")
                info = git.read_commit(commit)
                current = git.commit_tree(tree, [current], info.message, info.author, committer)
            return current
        tree = git.merge_trees(base_sha, head_sha)
        if tree is None:
            raise ApiError(405, "Pull Request is not mergeable")
        if method == "squash":
            title = body.get("commit_title") or f"{pull.title} (#{pull.number})"
            subjects = [git.read_commit(c).message.splitlines()[0] for c in git.commits_between(base_sha, head_sha)]
            detail = body.get("commit_message", "\n".join(f"* {s}" for s in subjects))
            return git.commit_tree(tree, [base_sha], _join(title, detail), author, committer)
        title = body.get("commit_title") or f"Merge pull request #{pull.number} from {repo.owner}/{pull.head}"
        detail = body.get("commit_message", pull.title)
        return git.commit_tree(tree, [base_sha, head_sha], _join(title, detail), author, committer)

    def _request_reviewers(self, call: Call) -> Reply:
        repo, pull, body = call.repo, self._pull_or_404(call), call.body or {}
        reviewers = body.get("reviewers", [])
        if pull.user in reviewers:
            raise ApiError(422, "Review cannot be requested from pull request author.")
        strangers = [r for r in reviewers if repo.collaborators is not None and r not in repo.collaborators]
        if strangers:
            raise ApiError(
                422,
                "Reviews may only be requested from collaborators. One or more of the users or teams you "
                f"specified is not a collaborator of the {repo.full_name} repository.",
            )
        pull.requested_reviewers += [r for r in reviewers if r not in pull.requested_reviewers]
        pull.requested_teams += [t for t in body.get("team_reviewers", []) if t not in pull.requested_teams]
        pull.updated_at = now_utc()
        return Reply(201, self._pull_json(repo, pull, full=False))

    def _list_reviews(self, call: Call) -> Reply:
        pull = self._pull_or_404(call)
        page, headers = self._paginate(pull.reviews, call)
        return Reply(200, [self._review_json(call.repo, pull, r) for r in page], headers)


# --- HTTP plumbing ---------------------------------------------------------------------------


def _send(http: DoubleHandler, reply: Reply) -> None:
    send(http, reply, {
        "X-GitHub-Api-Version-Selected": "2022-11-28",
        "X-RateLimit-Limit": "5000",
        "X-RateLimit-Remaining": "4999",
        "X-RateLimit-Reset": str(int(time.time()) + 3600),
        "X-RateLimit-Used": "1",
        "X-RateLimit-Resource": "core",
    })  # fmt: skip


# --- small pure helpers ----------------------------------------------------------------------

_REPO_URL_TEMPLATES = {
    "archive_url": "/{archive_format}{/ref}",
    "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}",
    "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}",
    "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}",
    "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}",
    "contributors_url": "/contributors",
    "deployments_url": "/deployments",
    "downloads_url": "/downloads",
    "events_url": "/events",
    "forks_url": "/forks",
    "git_commits_url": "/git/commits{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "hooks_url": "/hooks",
    "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}",
    "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}",
    "languages_url": "/languages",
    "merges_url": "/merges",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}",
    "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "tags_url": "/tags",
    "teams_url": "/teams",
    "trees_url": "/git/trees{/sha}",
}
_UNSIGNED = {"verified": False, "reason": "unsigned", "signature": None, "payload": None, "verified_at": None}


def _node_id(kind: str, key: object) -> str:
    # GitHub's legacy global IDs are base64 of "<len(kind)>:<kind><id>", e.g. "04:User1".
    return base64.b64encode(f"0{len(kind)}:{kind}{key}".encode()).decode()


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _git_user(person: Identity) -> dict[str, str]:
    return {"name": person.name, "email": person.email, "date": person.iso()}


def _message(raw: str) -> str:
    # git stores a final newline; GitHub returns the message without it.
    return raw[:-1] if raw.endswith("\n") else raw


def _join(title: str, detail: str) -> str:
    return f"{title}\n\n{detail}\n" if detail else f"{title}\n"


def _identity_from(person: Mapping[str, Any] | None) -> Identity | None:
    if not person:
        return None
    date = person.get("date")
    moment = datetime.fromisoformat(date.replace("Z", "+00:00")) if date else now_utc()
    return Identity(person.get("name", ""), person.get("email", ""), moment)


def _valid_path(path: str) -> bool:
    parts = path.split("/")
    return "\0" not in path and all(p not in ("", ".", "..", ".git") for p in parts)


def _parents(path: str) -> Iterator[str]:
    parts = path.split("/")
    for end in range(1, len(parts)):
        yield "/".join(parts[:end])


@pytest.fixture
def github_double(tmp_path: Path) -> Iterator[GitHubDouble]:
    """A running double with token `test-token`; register with
    `pytest_plugins = ["tests.doubles.github_api"]` in a conftest."""
    with GitHubDouble(tmp_path / "github") as double:
        yield double
