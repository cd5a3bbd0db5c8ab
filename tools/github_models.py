"""The GitHub tools' inputs and outputs: one pydantic model each way, which is also the MCP schema."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from tools.untrusted import Untrusted

_OWNER = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$"
_REPO = r"^[A-Za-z0-9._-]{1,100}$"
# git check-ref-format, the parts a model can get wrong: no spaces, no "..", no control chars, no
# leading "-" or "/", no trailing "/" or ".lock", none of ~^:?*[\ and no "@{".
_BAD_REF = re.compile(r"(?:\.\.|@\{|[\x00-\x20\x7f~^:?*\[\\]|^[-/]|/$|\.lock$|//|/\.|^\.)")


def _check_branch(name: str) -> str:
    if _BAD_REF.search(name) or name.startswith("refs/"):
        raise ValueError("is not a valid branch name (git check-ref-format); give the plain name, e.g. feature/x")
    return name


Owner = Annotated[str, Field(pattern=_OWNER, description="Repository owner (user or organisation)")]
Repo = Annotated[str, Field(pattern=_REPO, description="Repository name")]
Branch = Annotated[str, Field(min_length=1, max_length=250), AfterValidator(_check_branch)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateBranchInput(_In):
    owner: Owner
    repo: Repo
    branch: Branch = Field(description="The new branch")
    from_branch: Branch | None = Field(
        default=None, description="Start point; default: the repository's default branch"
    )


class FileChange(_In):
    path: str = Field(min_length=1, max_length=1024, description="Repository-relative path, e.g. src/app.py")
    content: str = Field(description="The whole new content")
    encoding: Literal["utf-8", "base64"] = Field(default="utf-8", description="How `content` is encoded")
    mode: Literal["100644", "100755"] = Field(default="100644", description="100755 for an executable file")


class PushFilesInput(_In):
    owner: Owner
    repo: Repo
    branch: Branch = Field(description="Branch to commit to; created from the default branch if missing")
    message: str = Field(min_length=1, max_length=10_000, description="Commit message")
    files: list[FileChange] = Field(default_factory=list, max_length=1000)
    delete: list[str] = Field(default_factory=list, max_length=1000, description="Paths to delete")


class CreatePullRequestInput(_In):
    owner: Owner
    repo: Repo
    title: str = Field(min_length=1, max_length=256)
    head: Branch = Field(description="The branch with the changes")
    base: Branch = Field(description="The branch to merge into")
    body: str | None = Field(default=None, max_length=65_000)
    draft: bool = False
    maintainer_can_modify: bool | None = None
    reviewers: list[str] = Field(default_factory=list, max_length=15, description="Logins to request reviews from")


class PullRequestInput(_In):
    owner: Owner
    repo: Repo
    pull_number: int = Field(ge=1)


class MergePullRequestInput(PullRequestInput):
    merge_method: Literal["merge", "squash", "rebase"] = "merge"
    commit_title: str | None = Field(default=None, max_length=256)
    commit_message: str | None = Field(default=None, max_length=65_000)
    sha: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{40}$", description="Merge only if the head is still this commit"
    )


class BranchResult(BaseModel):
    branch: str
    sha: str
    created: bool = Field(description="False when the branch already existed at the same commit")
    from_branch: str


class PushResult(BaseModel):
    branch: str
    commit_sha: str
    parent_sha: str
    created_branch: bool
    files_written: int
    files_deleted: int
    attempts: int = Field(description="Commit attempts; more than 1 when the branch moved meanwhile")


class PullRequestResult(BaseModel):
    number: int
    url: str
    state: str
    draft: bool
    head: str
    base: str
    title: Annotated[str, Untrusted("github:pull-request-title")]
    created: bool = Field(description="False when an open pull request for the same head and base was returned")
    reviewers_requested: list[str]


class CheckSummary(BaseModel):
    total: int
    by_result: dict[str, int] = Field(description="Counts by conclusion (check runs) or state (statuses)")
    failing: list[str]
    pending: list[str]


class Review(BaseModel):
    user: str
    state: str


class PullRequestFacts(BaseModel):
    """What the merge gate looks at, read from GitHub in one go."""

    number: int
    state: str
    merged: bool
    draft: bool
    mergeable: bool | None
    mergeable_state: str
    head: str
    head_sha: str
    base: str
    title: Annotated[str, Untrusted("github:pull-request-title")]
    checks: CheckSummary
    statuses: CheckSummary
    reviews: list[Review] = Field(description="The latest decisive review of each reviewer")


class PullRequestStatus(PullRequestFacts):
    blockers: list[str] = Field(description="What would stop merge_pull_request now, by gate")


class MergeResult(BaseModel):
    merged: bool
    sha: str = Field(description="The merge commit")
    method: str
    message: str
