"""Tests of the GitHub REST API double itself (tests/doubles), driven by PyGithub and raw httpx.

Other tests trust the double to behave like GitHub where our tools depend on it and to flag any
traffic the OpenAPI description does not allow; these tests hold it to that.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import requests
from github import Auth, BadCredentialsException, Github, GithubException, InputGitTreeElement

from tests.doubles.github_api import SPEC_PATH, GitHubDouble
from tests.doubles.openapi_check import OpenAPISpec

TOKEN = "ghp_double_test_token"
REPO = "/repos/acme/web"


@pytest.fixture
def gh(tmp_path: Path) -> Iterator[GitHubDouble]:
    with GitHubDouble(tmp_path / "github", token=TOKEN) as double:
        double.create_repo("acme", "web", files={"README.md": "hi\n", "old.txt": "old\n"})
        yield double
        # Well-formed traffic must leave no violation; tests that provoke some clear them.
        assert double.violations == []


@pytest.fixture
def client(gh: GitHubDouble) -> Github:
    return pygithub(gh, timeout=5)


@pytest.fixture
def http(gh: GitHubDouble) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gh.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5) as session:
        yield session


def pygithub(gh: GitHubDouble, timeout: int, token: str = TOKEN) -> Github:
    # No retries, so injected faults reach the test; no client-side throttling (PyGithub waits
    # 0.25 s between requests and 1 s between writes by default), so the file stays fast.
    return Github(
        base_url=gh.url,
        auth=Auth.Token(token),
        retry=None,
        timeout=timeout,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )


def blob_sha(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def main_sha(gh: GitHubDouble) -> str:
    sha = gh.branch_sha("acme", "web", "main")
    assert sha is not None
    return sha


def new_commit(http: httpx.Client, parent: str, files: dict[str, str], message: str = "change") -> str:
    """A commit on top of `parent` through the API (tree from the parent's tree + files)."""
    base_tree = http.get(f"{REPO}/git/commits/{parent}").json()["tree"]["sha"]
    entries = [{"path": p, "mode": "100644", "type": "blob", "content": c} for p, c in files.items()]
    tree = http.post(f"{REPO}/git/trees", json={"base_tree": base_tree, "tree": entries}).json()["sha"]
    created = http.post(f"{REPO}/git/commits", json={"message": message, "tree": tree, "parents": [parent]})
    assert created.status_code == 201
    return str(created.json()["sha"])


# --- repository and git data -----------------------------------------------------------------


def test_create_repo_makes_a_bare_repo_with_one_initial_commit(gh: GitHubDouble) -> None:
    assert (gh.repo_path("acme", "web") / "HEAD").is_file()
    assert gh.git("acme", "web", "rev-parse", "--is-bare-repository") == "true"
    assert gh.git("acme", "web", "log", "--format=%s", "main").splitlines() == ["Initial commit"]
    assert gh.tree_of("acme", "web", "main") == {"README.md": ("100644", "hi\n"), "old.txt": ("100644", "old\n")}


def test_repos_get_reports_default_branch_and_permissions(gh: GitHubDouble, client: Github) -> None:
    gh.create_repo("acme", "ops", default_branch="trunk", private=True, permissions={"push": False})
    repo = client.get_repo("acme/ops")
    assert (repo.full_name, repo.default_branch, repo.private) == ("acme/ops", "trunk", True)
    assert repo.permissions.admin is True and repo.permissions.push is False
    assert gh.git("acme", "ops", "branch", "--list") == "* trunk"


def test_blob_tree_commit_ref_through_pygithub_are_real_git_objects(gh: GitHubDouble, client: Github) -> None:
    repo = client.get_repo("acme/web")
    parent = repo.get_git_commit(repo.get_git_ref("heads/main").object.sha)
    script = "#!/bin/sh\necho hi\n"
    blob = repo.create_git_blob(script, "utf-8")
    tree = repo.create_git_tree(
        [
            InputGitTreeElement("a/b/c.txt", "100644", "blob", content="deep\n"),
            InputGitTreeElement("run.sh", "100755", "blob", sha=blob.sha),
            InputGitTreeElement("old.txt", "100644", "blob", sha=None),
        ],
        base_tree=parent.tree,
    )
    commit = repo.create_git_commit("Add script", tree, [parent])
    repo.create_git_ref("refs/heads/feature", commit.sha)

    assert blob.sha == blob_sha(script.encode())
    assert gh.tree_of("acme", "web", "feature") == {
        "README.md": ("100644", "hi\n"),
        "a/b/c.txt": ("100644", "deep\n"),
        "run.sh": ("100755", script),
    }
    assert gh.git("acme", "web", "rev-parse", "feature^{tree}") == tree.sha
    assert gh.git("acme", "web", "rev-parse", "feature^") == parent.sha
    assert [(e.path, e.type) for e in tree.tree] == [("README.md", "blob"), ("a", "tree"), ("run.sh", "blob")]
    assert gh.git("acme", "web", "log", "-1", "--format=%s", "feature") == "Add script"


def test_create_tree_takes_subtree_shas_symlinks_and_base64_blobs(gh: GitHubDouble, http: httpx.Client) -> None:
    blob = http.post(f"{REPO}/git/blobs", json={"content": "aGVsbG8=", "encoding": "base64"}).json()
    sub = http.post(
        f"{REPO}/git/trees", json={"tree": [{"path": "x.txt", "mode": "100644", "type": "blob", "sha": blob["sha"]}]}
    )
    entries = [
        {"path": "vendor/lib", "mode": "040000", "type": "tree", "sha": sub.json()["sha"]},
        {"path": "link", "mode": "120000", "type": "blob", "content": "vendor/lib/x.txt"},
    ]
    top = http.post(f"{REPO}/git/trees", json={"tree": entries})
    assert top.status_code == 201
    listing = gh.git("acme", "web", "ls-tree", "-r", top.json()["sha"])
    assert listing.splitlines() == [
        f"120000 blob {blob_sha(b'vendor/lib/x.txt')}\tlink",
        f"100644 blob {blob['sha']}\tvendor/lib/x.txt",
    ]
    assert blob["sha"] == blob_sha(b"hello")


def test_create_tree_refuses_unknown_sha_and_sha_with_or_without_content(http: httpx.Client) -> None:
    unknown = {"path": "f", "mode": "100644", "type": "blob", "sha": "1" * 40}
    reply = http.post(f"{REPO}/git/trees", json={"tree": [unknown]})
    assert reply.status_code == 422
    both = unknown | {"content": "x"}
    neither = {"path": "f", "mode": "100644", "type": "blob"}
    for entry in (both, neither):
        reply = http.post(f"{REPO}/git/trees", json={"tree": [entry]})
        assert reply.status_code == 422
        assert reply.json()["message"].startswith("Must supply either tree.sha or tree.content.")


def test_git_data_writes_to_an_empty_repository_are_409(gh: GitHubDouble, http: httpx.Client) -> None:
    gh.create_repo("acme", "empty", files={})
    reply = http.post("/repos/acme/empty/git/blobs", json={"content": "x"})
    assert (reply.status_code, reply.json()["message"]) == (409, "Git Repository is empty.")
    assert http.get("/repos/acme/empty/branches/main").status_code == 404


def test_get_commit_and_git_get_commit_return_the_real_tree_and_parents(
    gh: GitHubDouble, client: Github, http: httpx.Client
) -> None:
    first = main_sha(gh)
    second = gh.commit_on_branch("acme", "web", "main", {"new.txt": "n\n"}, message="Second")
    commit = client.get_repo("acme/web").get_commit("main")
    assert commit.sha == second
    assert commit.commit.tree.sha == gh.git("acme", "web", "rev-parse", "main^{tree}")
    assert [p.sha for p in commit.parents] == [first]
    assert [(f.filename, f.status, f.additions) for f in commit.files] == [("new.txt", "added", 1)]
    raw = http.get(f"{REPO}/git/commits/{second}").json()
    assert (raw["message"], raw["parents"][0]["sha"]) == ("Second", first)
    assert http.get(f"{REPO}/commits/nope").status_code == 422
    assert http.get(f"{REPO}/git/commits/{'2' * 40}").status_code == 404


# --- refs ------------------------------------------------------------------------------------


def test_update_ref_refuses_a_non_fast_forward_unless_forced(gh: GitHubDouble, http: httpx.Client) -> None:
    base = main_sha(gh)
    ahead = gh.commit_on_branch("acme", "web", "feature", {"f.txt": "1\n"})
    sideways = new_commit(http, base, {"g.txt": "2\n"})
    refused = http.patch(f"{REPO}/git/refs/heads/feature", json={"sha": sideways, "force": False})
    assert (refused.status_code, refused.json()["message"]) == (422, "Update is not a fast forward")
    assert gh.branch_sha("acme", "web", "feature") == ahead
    forced = http.patch(f"{REPO}/git/refs/heads/feature", json={"sha": sideways, "force": True})
    assert forced.status_code == 200 and forced.json()["object"]["sha"] == sideways
    assert gh.branch_sha("acme", "web", "feature") == sideways


def test_refs_create_get_and_delete(gh: GitHubDouble, http: httpx.Client) -> None:
    sha = main_sha(gh)
    created = http.post(f"{REPO}/git/refs", json={"ref": "refs/heads/topic/x", "sha": sha})
    assert created.status_code == 201 and created.json()["ref"] == "refs/heads/topic/x"
    again = http.post(f"{REPO}/git/refs", json={"ref": "refs/heads/topic/x", "sha": sha})
    assert (again.status_code, again.json()["message"]) == (422, "Reference already exists")
    assert http.get(f"{REPO}/git/ref/heads/topic/x").json()["object"]["sha"] == sha
    assert http.get(f"{REPO}/git/ref/heads/missing").status_code == 404
    assert http.delete(f"{REPO}/git/refs/heads/topic/x").status_code == 204
    assert gh.branch_sha("acme", "web", "topic/x") is None
    assert http.delete(f"{REPO}/git/refs/heads/topic/x").status_code == 422
    assert http.delete(f"{REPO}/git/refs/heads/main").status_code == 422  # the default branch


def test_protected_branch_refuses_direct_ref_updates(gh: GitHubDouble, http: httpx.Client) -> None:
    gh.protect("acme", "web", "main", required_approvals=1)
    ahead = new_commit(http, main_sha(gh), {"x.txt": "x\n"})
    reply = http.patch(f"{REPO}/git/refs/heads/main", json={"sha": ahead})
    assert (reply.status_code, reply.json()["message"]) == (422, "Protected branch update failed for refs/heads/main.")
    assert main_sha(gh) != ahead


# --- pull requests ---------------------------------------------------------------------------


def test_pull_request_create_twice_is_422_and_list_filters_by_head(gh: GitHubDouble, client: Github) -> None:
    gh.commit_on_branch("acme", "web", "feature", {"f.txt": "f\n"})
    gh.commit_on_branch("acme", "web", "other", {"o.txt": "o\n"})
    repo = client.get_repo("acme/web")
    first = repo.create_pull(base="main", head="feature", title="Feature")
    with pytest.raises(GithubException) as duplicate:
        repo.create_pull(base="main", head="acme:feature", title="Again")
    assert duplicate.value.status == 422
    assert duplicate.value.data["errors"][0]["message"] == "A pull request already exists for acme:feature."
    second = repo.create_pull(base="main", head="other", title="Other", draft=True)
    assert [p.number for p in repo.get_pulls(state="open", head="acme:feature")] == [first.number]
    assert [p.number for p in repo.get_pulls(state="open", base="main")] == [second.number, first.number]
    assert list(repo.get_pulls(state="closed")) == []
    fetched = repo.get_pull(second.number)
    assert (fetched.draft, fetched.mergeable_state, fetched.base.ref) == (True, "draft", "main")


def test_pull_request_without_commits_ahead_is_422(gh: GitHubDouble, client: Github) -> None:
    gh.create_branch("acme", "web", "same")
    with pytest.raises(GithubException) as refused:
        client.get_repo("acme/web").create_pull(base="main", head="same", title="Nothing")
    assert refused.value.status == 422
    assert refused.value.data["errors"][0]["message"] == "No commits between main and same"


def test_pull_request_list_paginates_with_link_headers(gh: GitHubDouble, http: httpx.Client) -> None:
    for name in ("a", "b", "c"):
        gh.commit_on_branch("acme", "web", name, {f"{name}.txt": name})
        gh.open_pull("acme", "web", name, "main", title=name)
    first = http.get(f"{REPO}/pulls", params={"per_page": 2})
    assert [p["title"] for p in first.json()] == ["c", "b"]
    assert 'rel="next"' in first.headers["Link"]
    second = http.get(f"{REPO}/pulls", params={"per_page": 2, "page": 2})
    assert [p["title"] for p in second.json()] == ["a"]


@pytest.mark.parametrize("method", ["merge", "squash", "rebase"])
def test_merge_moves_the_base_branch_in_the_real_repo(gh: GitHubDouble, client: Github, method: str) -> None:
    gh.commit_on_branch("acme", "web", "feature", {"f1.txt": "1\n"}, message="First")
    head = gh.commit_on_branch("acme", "web", "feature", {"f2.txt": "2\n"}, message="Second")
    old_main = gh.commit_on_branch("acme", "web", "main", {"m.txt": "m\n"}, message="Meanwhile")
    pull = client.get_repo("acme/web").create_pull(base="main", head="feature", title="Feature")

    result = pull.merge(merge_method=method, sha=head)

    new_main = main_sha(gh)
    assert result.merged and result.sha == new_main != old_main
    assert set(gh.tree_of("acme", "web", "main")) == {"README.md", "old.txt", "m.txt", "f1.txt", "f2.txt"}
    parents = gh.git("acme", "web", "log", "-1", "--format=%P", "main").split()
    subjects = gh.git("acme", "web", "log", "--format=%s", f"{old_main}..main").splitlines()
    if method == "merge":
        assert parents == [old_main, head]
        assert subjects[0] == "Merge pull request #1 from acme/feature"
    elif method == "squash":
        assert parents == [old_main] and subjects == ["Feature (#1)"]
    else:
        assert subjects == ["Second", "First"] and head not in gh.git("acme", "web", "rev-list", "main")
    merged = client.get_repo("acme/web").get_pull(pull.number)
    assert (merged.merged, merged.state, merged.merge_commit_sha) == (True, "closed", new_main)


def test_merge_with_a_stale_sha_is_409_and_changes_nothing(gh: GitHubDouble, client: Github) -> None:
    stale = gh.commit_on_branch("acme", "web", "feature", {"f.txt": "1\n"})
    pull = client.get_repo("acme/web").create_pull(base="main", head="feature", title="F")
    gh.commit_on_branch("acme", "web", "feature", {"f.txt": "2\n"})
    before = main_sha(gh)
    with pytest.raises(GithubException) as conflict:
        pull.merge(sha=stale)
    assert conflict.value.status == 409
    assert conflict.value.data["message"] == "Head branch was modified. Review and try the merge again."
    assert main_sha(gh) == before


def test_conflicting_pull_request_is_dirty_and_merge_is_405(gh: GitHubDouble, client: Github) -> None:
    gh.commit_on_branch("acme", "web", "feature", {"README.md": "feature\n"})
    gh.commit_on_branch("acme", "web", "main", {"README.md": "main\n"})
    pull = client.get_repo("acme/web").create_pull(base="main", head="feature", title="F")
    assert (pull.mergeable, pull.mergeable_state) == (False, "dirty")
    with pytest.raises(GithubException) as refused:
        pull.merge()
    assert (refused.value.status, refused.value.data["message"]) == (405, "Pull Request is not mergeable")


def test_draft_pull_request_cannot_be_merged(gh: GitHubDouble, client: Github) -> None:
    gh.commit_on_branch("acme", "web", "feature", {"f.txt": "1\n"})
    pull = client.get_repo("acme/web").create_pull(base="main", head="feature", title="F", draft=True)
    with pytest.raises(GithubException) as refused:
        pull.merge()
    assert refused.value.status == 405
    assert gh.pull("acme", "web", pull.number).state == "open"


def test_protection_reviews_and_checks_round_trip(gh: GitHubDouble, client: Github) -> None:
    repo = client.get_repo("acme/web")
    with pytest.raises(GithubException) as unprotected:
        repo.get_branch("main").get_protection()
    assert (unprotected.value.status, unprotected.value.data["message"]) == (404, "Branch not protected")

    gh.protect("acme", "web", "main", required_approvals=1, required_checks=["ci"])
    branch = repo.get_branch("main")
    protection = branch.get_protection()
    assert branch.protected is True
    assert protection.required_status_checks.contexts == ["ci"]
    assert protection.required_pull_request_reviews.required_approving_review_count == 1

    head = gh.commit_on_branch("acme", "web", "feature", {"f.txt": "1\n"})
    pull = repo.create_pull(base="main", head="feature", title="F")
    assert pull.mergeable_state == "blocked"
    with pytest.raises(GithubException) as blocked:
        pull.merge()
    assert blocked.value.status == 405 and "approving review" in blocked.value.data["message"]

    pull.create_review_request(reviewers=["alice"])
    assert [u.login for u in repo.get_pull(pull.number).requested_reviewers] == ["alice"]
    gh.add_review("acme", "web", pull.number, "alice", state="APPROVED")
    gh.add_check_run("acme", "web", head, "ci", status="in_progress")
    gh.add_status("acme", "web", head, "lint", state="success")
    assert repo.get_pull(pull.number).mergeable_state == "blocked"  # ci still running
    gh.add_check_run("acme", "web", head, "ci", conclusion="success")

    assert [(r.user.login, r.state, r.commit_id) for r in pull.get_reviews()] == [("alice", "APPROVED", head)]
    commit = repo.get_commit(head)
    assert [(c.name, c.status, c.conclusion) for c in commit.get_check_runs()] == [("ci", "completed", "success")]
    assert commit.get_check_runs(filter="all").totalCount == 2
    combined = commit.get_combined_status()
    assert (combined.state, [s.context for s in combined.statuses]) == ("success", ["lint"])
    assert repo.get_pull(pull.number).mergeable_state == "clean"
    assert pull.merge().merged


def test_mergeability_can_be_not_yet_computed(gh: GitHubDouble, client: Github) -> None:
    gh.commit_on_branch("acme", "web", "feature", {"f.txt": "1\n"})
    number = gh.open_pull("acme", "web", "feature", "main")
    gh.defer_mergeability("acme", "web", number, reads=1)
    repo = client.get_repo("acme/web")
    first, second = repo.get_pull(number), repo.get_pull(number)
    assert first.mergeable is None  # PyGithub types this bool; GitHub sends null while computing
    assert first.mergeable_state == "unknown"
    assert (second.mergeable, second.mergeable_state) == (True, "clean")


def test_unstable_when_a_non_required_check_fails(gh: GitHubDouble, client: Github) -> None:
    head = gh.commit_on_branch("acme", "web", "feature", {"f.txt": "1\n"})
    gh.add_status("acme", "web", head, "coverage", state="failure")
    pull = client.get_repo("acme/web").create_pull(base="main", head="feature", title="F")
    assert (pull.mergeable, pull.mergeable_state) == (True, "unstable")
    assert client.get_repo("acme/web").get_commit(head).get_combined_status().state == "failure"


def test_request_reviewers_refuses_the_author(gh: GitHubDouble, http: httpx.Client) -> None:
    gh.commit_on_branch("acme", "web", "feature", {"f.txt": "1\n"})
    number = gh.open_pull("acme", "web", "feature", "main")
    reply = http.post(f"{REPO}/pulls/{number}/requested_reviewers", json={"reviewers": [gh.login]})
    assert reply.status_code == 422


# --- faults, races, auth ---------------------------------------------------------------------


def test_injected_500_is_seen_once_and_changes_nothing(gh: GitHubDouble, client: Github) -> None:
    target = gh.commit_on_branch("acme", "web", "scratch", {"s.txt": "s\n"}, message="ahead")
    gh.create_branch("acme", "web", "feature")
    injection = gh.inject(op="git/update-ref", status=500)
    ref = client.get_repo("acme/web").get_git_ref("heads/feature")
    with pytest.raises(GithubException) as failed:
        ref.edit(target)
    assert failed.value.status == 500
    assert gh.branch_sha("acme", "web", "feature") == main_sha(gh)
    ref.edit(target)
    assert gh.branch_sha("acme", "web", "feature") == target
    log = gh.requests_for("git/update-ref")
    assert [(r.status, r.injected, r.handled) for r in log] == [(500, True, False), (200, False, True)]
    assert injection.hits == 1


def test_injection_by_method_and_path_glob_hits_the_next_n_requests(gh: GitHubDouble, http: httpx.Client) -> None:
    injection = gh.inject(method="POST", path="/repos/acme/*/git/blobs", status=503, times=2)
    statuses = [http.post(f"{REPO}/git/blobs", json={"content": "x"}).status_code for _ in range(3)]
    assert statuses == [503, 503, 201]
    assert injection.hits == 2
    assert http.get(REPO).status_code == 200  # another route is not matched


def test_injected_rate_limit_sends_headers_and_body(gh: GitHubDouble, http: httpx.Client) -> None:
    message = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
    gh.inject(
        op="git/create-commit",
        status=403,
        headers={"Retry-After": "1", "x-ratelimit-remaining": "0"},
        body={"message": message, "documentation_url": "https://docs.github.com/rest"},
    )
    tree = gh.git("acme", "web", "rev-parse", "main^{tree}")
    reply = http.post(f"{REPO}/git/commits", json={"message": "m", "tree": tree})
    assert reply.status_code == 403
    assert (reply.headers["retry-after"], reply.headers["x-ratelimit-remaining"]) == ("1", "0")
    assert reply.json()["message"] == message
    assert gh.requests[-1].handled is False


def test_delay_applied_write_happens_although_the_client_timed_out(gh: GitHubDouble, http: httpx.Client) -> None:
    target = new_commit(http, main_sha(gh), {"x.txt": "x\n"})
    gh.create_branch("acme", "web", "feature")
    gh.inject(op="git/update-ref", delay_s=1.0)
    with pytest.raises(httpx.ReadTimeout):
        http.patch(f"{REPO}/git/refs/heads/feature", json={"sha": target}, timeout=0.3)
    assert gh.branch_sha("acme", "web", "feature") == target
    assert [(r.status, r.handled) for r in gh.requests_for("git/update-ref")] == [(200, True)]


def test_delay_not_applied_answers_502_late_and_writes_nothing(gh: GitHubDouble, http: httpx.Client) -> None:
    gh.inject(op="git/create-ref", delay_s=0.4, apply=False)
    started = time.monotonic()
    reply = http.post(f"{REPO}/git/refs", json={"ref": "refs/heads/late", "sha": main_sha(gh)})
    assert reply.status_code == 502 and time.monotonic() - started >= 0.4
    assert gh.branch_sha("acme", "web", "late") is None


def test_delay_on_a_read_is_a_timeout_for_pygithub(gh: GitHubDouble) -> None:
    gh.commit_on_branch("acme", "web", "feature", {"f.txt": "1\n"})
    number = gh.open_pull("acme", "web", "feature", "main")
    impatient = pygithub(gh, timeout=1)  # PyGithub takes whole seconds only
    repo = impatient.get_repo("acme/web")
    gh.inject(op="pulls/get", delay_s=1.5)
    with pytest.raises(requests.exceptions.Timeout):
        repo.get_pull(number)
    assert gh.requests[-1].operation == "pulls/get"
    assert repo.get_pull(number).number == number  # only the next request was delayed


def test_on_before_moves_the_branch_between_read_and_update(gh: GitHubDouble, http: httpx.Client) -> None:
    start = gh.commit_on_branch("acme", "web", "feature", {"f.txt": "1\n"})
    mine = new_commit(http, start, {"mine.txt": "mine\n"})
    hook = gh.on_before(
        op="git/update-ref", fn=lambda: gh.commit_on_branch("acme", "web", "feature", {"other.txt": "x"})
    )
    reply = http.patch(f"{REPO}/git/refs/heads/feature", json={"sha": mine, "force": False})
    assert (reply.status_code, reply.json()["message"]) == (422, "Update is not a fast forward")
    assert hook.hits == 1
    assert gh.git("acme", "web", "log", "-1", "--format=%s", "feature") == "Commit from the test"
    assert "other.txt" in gh.tree_of("acme", "web", "feature")


def test_on_before_moves_the_pull_request_head_before_merge(gh: GitHubDouble, client: Github) -> None:
    gh.commit_on_branch("acme", "web", "feature", {"f.txt": "1\n"})
    pull = client.get_repo("acme/web").create_pull(base="main", head="feature", title="F")
    gh.on_before(op="pulls/merge", fn=lambda: gh.commit_on_branch("acme", "web", "feature", {"late.txt": "x"}))
    with pytest.raises(GithubException) as moved:
        pull.merge(sha=pull.head.sha)
    assert moved.value.status == 409
    assert not gh.pull("acme", "web", pull.number).merged


def test_requests_without_the_token_are_401(gh: GitHubDouble) -> None:
    anonymous = httpx.get(f"{gh.url}{REPO}")
    assert (anonymous.status_code, anonymous.json()["message"]) == (401, "Requires authentication")
    wrong = httpx.get(f"{gh.url}{REPO}", headers={"Authorization": "token nope"})
    assert (wrong.status_code, wrong.json()["message"]) == (401, "Bad credentials")
    with pytest.raises(BadCredentialsException):
        pygithub(gh, timeout=5, token="nope").get_repo("acme/web")
    assert httpx.get(f"{gh.url}{REPO}", headers={"Authorization": f"token {TOKEN}"}).status_code == 200


# --- spec checking, log, concurrency ---------------------------------------------------------


def test_malformed_requests_are_refused_and_recorded(gh: GitHubDouble, http: httpx.Client) -> None:
    not_a_list = http.post(f"{REPO}/git/trees", json={"tree": "README.md"})
    bad_mode = http.post(f"{REPO}/git/trees", json={"tree": [{"path": "f", "mode": "100600", "type": "blob"}]})
    bad_query = http.get(f"{REPO}/pulls", params={"state": "merged"})
    undeclared = http.get("/user")
    unknown_query = http.get(REPO, params={"bogus": "1"})
    not_json = http.post(f"{REPO}/git/blobs", content=b"{", headers={"Content-Type": "application/json"})
    replies = (not_a_list, bad_mode, bad_query, undeclared, unknown_query, not_json)
    assert [r.status_code for r in replies] == [422, 422, 422, 404, 422, 400]
    found = list(gh.violations)
    assert len(found) == 6
    assert "[git/create-tree] request: request body at tree: 'README.md' is not of type 'array'" in found[0]
    assert "tree/0/mode" in found[1] and "'100600' is not one of" in found[1]
    assert "query parameter 'state'" in found[2]
    assert found[3].startswith("GET /user no operation of the spec matches")
    assert found[4] == f"GET {REPO} [repos/get] request: query parameter 'bogus' is not declared"
    assert "not JSON" in found[5]
    assert all(r.handled is False for r in gh.requests)
    gh.violations.clear()


def test_responses_the_spec_does_not_allow_are_recorded(gh: GitHubDouble, http: httpx.Client) -> None:
    gh.inject(op="repos/get", status=200, body={"name": "web"})
    gh.inject(op="repos/get", status=418)
    http.get(REPO)
    http.get(REPO)
    assert gh.violations[0].startswith(f"GET {REPO} [repos/get] response 200: body at (root): '")
    assert gh.violations[0].endswith("' is a required property")
    assert gh.violations[-1] == f"GET {REPO} [repos/get] response 418: status 418 is not declared for repos/get"
    gh.violations.clear()


def test_request_log_keeps_order_bodies_and_statuses(gh: GitHubDouble, http: httpx.Client) -> None:
    http.post(f"{REPO}/git/blobs", json={"content": "x"})
    http.get(f"{REPO}/pulls", params={"state": "all"})
    http.get("/repos/acme/missing")
    log = [(r.method, r.path, r.operation, r.status, r.json, r.query) for r in gh.requests]
    assert log == [
        ("POST", f"{REPO}/git/blobs", "git/create-blob", 201, {"content": "x"}, {}),
        ("GET", f"{REPO}/pulls", "pulls/list", 200, None, {"state": ["all"]}),
        ("GET", "/repos/acme/missing", "repos/get", 404, None, {}),
    ]
    assert gh.count("git/create-blob", method="POST") == 1


def test_chunked_request_bodies_are_read(gh: GitHubDouble, http: httpx.Client) -> None:
    def body() -> Iterator[bytes]:
        yield b'{"content": '
        yield b'"chunked"}'

    reply = http.post(f"{REPO}/git/blobs", content=body(), headers={"Content-Type": "application/json"})
    assert reply.status_code == 201
    assert reply.json()["sha"] == blob_sha(b"chunked")
    assert http.get(REPO).status_code == 200  # the connection is still in step


def test_concurrent_requests_are_all_served(gh: GitHubDouble) -> None:
    def one(index: int) -> int:
        with httpx.Client(base_url=gh.url, headers={"Authorization": f"token {TOKEN}"}, timeout=10) as session:
            if index % 2:
                return session.get(REPO).status_code
            return session.post(f"{REPO}/git/blobs", json={"content": f"blob {index}"}).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(one, range(48)))
    assert statuses == [201 if i % 2 == 0 else 200 for i in range(48)]
    assert gh.count() == 48
    for index in range(0, 48, 2):
        assert gh.git("acme", "web", "cat-file", "-p", blob_sha(f"blob {index}".encode())) == f"blob {index}"


def test_openapi_check_resolves_refs_and_nullable() -> None:
    spec = OpenAPISpec.from_file(SPEC_PATH)
    review = "#/components/schemas/pull-request-review"
    ok = {
        "id": 1,
        "node_id": "n",
        "user": None,
        "body": "",
        "state": "APPROVED",
        "commit_id": None,
        "html_url": "https://github.com/acme/web/pull/1",
        "pull_request_url": "https://api.github.com/repos/acme/web/pulls/1",
        "_links": {"html": {"href": "h"}, "pull_request": {"href": "p"}},
        "author_association": "MEMBER",
    }
    assert spec.schema_errors(review, ok) == []
    assert spec.schema_errors(review, ok | {"user": {"login": "x"}}) != []  # $ref into simple-user
    [enum_error] = spec.schema_errors(review, ok | {"author_association": "BOSS"})
    assert enum_error.startswith("at author_association: 'BOSS' is not one of ['COLLABORATOR', ")
    assert spec.schema_errors(review, ok | {"html_url": "not a uri"}) != []


def test_openapi_check_is_generic_enough_for_the_supabase_spec() -> None:
    spec = OpenAPISpec.from_file(SPEC_PATH.parent / "supabase-management-subset.openapi.json")
    found = spec.match("GET", "/v1/projects/abcdefghijklmnopqrst")
    assert found is not None and found.operation.operation_id == "v1-get-project"
    assert spec.check_request(found, {}, None, has_body=False).violations == []
