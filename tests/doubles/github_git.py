"""Git plumbing for the GitHub double: bare repositories driven through the `git` CLI.

Everything the double reports (blob, tree and commit SHAs, parents, ref values) comes from here,
so a test can check a result with plain `git` in the same repository.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
_SHA = re.compile(r"[0-9a-f]{40}")
# Revisions a client may name: SHAs, branch and tag names. Never an option (leading "-").
_SAFE_REV = re.compile(r"[A-Za-z0-9._/@{}^~-]+")
# A hermetic environment: the caller's config, hooks and repository variables must not leak in.
_GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
    "LC_ALL": "C",
}


class GitError(RuntimeError):
    """A git command failed; carries its stderr."""


@dataclass(frozen=True)
class Identity:
    name: str
    email: str
    date: datetime  # aware, UTC

    def iso(self) -> str:
        return self.date.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class TreeEntry:
    mode: str  # "100644", "100755", "120000", "040000" or "160000"
    kind: str  # "blob", "tree" or "commit"
    sha: str


@dataclass(frozen=True)
class ListedEntry:
    path: str
    entry: TreeEntry
    size: int | None


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    tree: str
    parents: tuple[str, ...]
    author: Identity
    committer: Identity
    message: str


@dataclass(frozen=True)
class FileChange:
    path: str
    status: str  # GitHub's words: added, removed, modified, renamed, ...
    blob_sha: str | None
    additions: int
    deletions: int


def is_sha(value: str) -> bool:
    return bool(_SHA.fullmatch(value))


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class BareRepo:
    """One bare repository on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def init(cls, path: Path, default_branch: str) -> BareRepo:
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "init", "--quiet", "--bare", f"--initial-branch={default_branch}", str(path)],
            check=True,
            capture_output=True,
            env=_env(),
        )
        return cls(path)

    # --- running git ---------------------------------------------------------------------------

    def run(
        self, *args: str, stdin: bytes | None = None, env: Mapping[str, str] | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        result = subprocess.run(
            ["git", f"--git-dir={self.path}", *args], input=stdin, capture_output=True, env=_env(env)
        )
        if check and result.returncode != 0:
            raise GitError(f"git {' '.join(args)}: {result.stderr.decode(errors='replace').strip()}")
        return result

    def out(self, *args: str, stdin: bytes | None = None, env: Mapping[str, str] | None = None) -> str:
        return self.run(*args, stdin=stdin, env=env).stdout.decode().strip()

    # --- objects -------------------------------------------------------------------------------

    def write_blob(self, data: bytes) -> str:
        return self.out("hash-object", "-w", "--stdin", stdin=data)

    def object_type(self, sha: str) -> str | None:
        if not is_sha(sha):
            return None
        result = self.run("cat-file", "-t", sha, check=False)
        return result.stdout.decode().strip() if result.returncode == 0 else None

    def blob_size(self, sha: str) -> int:
        return int(self.out("cat-file", "-s", sha))

    def read_blob(self, sha: str) -> bytes:
        return self.run("cat-file", "blob", sha).stdout

    def resolve_commit(self, rev: str) -> str | None:
        """SHA of the commit `rev` names (full SHA, branch or tag name), or None."""
        if not _SAFE_REV.fullmatch(rev) or rev.startswith("-"):
            return None
        for candidate in (f"refs/heads/{rev}", f"refs/tags/{rev}", rev):
            result = self.run("rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}", check=False)
            if result.returncode == 0:
                return result.stdout.decode().strip()
        return None

    # --- refs ----------------------------------------------------------------------------------

    def ref_sha(self, refname: str) -> str | None:
        result = self.run("rev-parse", "--verify", "--quiet", refname, check=False)
        return result.stdout.decode().strip() if result.returncode == 0 else None

    def valid_ref_name(self, refname: str) -> bool:
        return subprocess.run(["git", "check-ref-format", refname], capture_output=True, env=_env()).returncode == 0

    def create_ref(self, refname: str, sha: str) -> bool:
        """Create the ref only if it does not exist yet (git's zero old value); False if it does."""
        return self.run("update-ref", refname, sha, "0" * 40, check=False).returncode == 0

    def update_ref(self, refname: str, new: str, old: str) -> bool:
        """Compare-and-swap: move the ref only if it still points at `old`."""
        return self.run("update-ref", refname, new, old, check=False).returncode == 0

    def delete_ref(self, refname: str, old: str) -> bool:
        return self.run("update-ref", "-d", refname, old, check=False).returncode == 0

    def branches(self) -> dict[str, str]:
        listing = self.out("for-each-ref", "--format=%(refname:lstrip=2) %(objectname)", "refs/heads/")
        return dict(line.split(" ", 1) for line in listing.splitlines())

    def head_branch(self) -> str:
        return self.out("symbolic-ref", "--short", "HEAD")

    # --- trees ---------------------------------------------------------------------------------

    def flat_tree(self, tree: str) -> dict[str, TreeEntry]:
        """Every blob and submodule of `tree`, by full path (subtrees are expanded)."""
        listing = self.run("ls-tree", "-r", "-z", "--full-tree", tree).stdout.decode()
        entries = {}
        for record in filter(None, listing.split("\0")):
            meta, path = record.split("\t", 1)
            mode, kind, sha = meta.split(" ")
            entries[path] = TreeEntry(mode, kind, sha)
        return entries

    def list_tree(self, tree: str) -> list[ListedEntry]:
        """Top-level entries of `tree`, with blob sizes, as GitHub lists a tree."""
        listing = self.run("ls-tree", "-l", "-z", "--full-tree", tree).stdout.decode()
        entries = []
        for record in filter(None, listing.split("\0")):
            meta, path = record.split("\t", 1)
            mode, kind, sha, size = meta.split()
            entries.append(ListedEntry(path, TreeEntry(mode, kind, sha), None if size == "-" else int(size)))
        return entries

    def write_tree(self, entries: Mapping[str, TreeEntry]) -> str:
        """Write a tree holding exactly `entries` (full paths); nested paths become subtrees.

        A throw-away index does the nesting: `update-index --index-info` then `write-tree`.
        """
        with tempfile.TemporaryDirectory(prefix="gh-double-index-") as scratch:
            env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            lines = "".join(f"{e.mode} {e.sha}\t{path}\0" for path, e in sorted(entries.items()))
            self.run("update-index", "--add", "-z", "--index-info", stdin=lines.encode(), env=env)
            return self.out("write-tree", "--missing-ok", env=env)

    # --- commits -------------------------------------------------------------------------------

    def commit_tree(
        self, tree: str, parents: Iterable[str], message: str, author: Identity, committer: Identity
    ) -> str:
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        env = {
            "GIT_AUTHOR_NAME": author.name,
            "GIT_AUTHOR_EMAIL": author.email,
            "GIT_AUTHOR_DATE": f"@{int(author.date.timestamp())} +0000",
            "GIT_COMMITTER_NAME": committer.name,
            "GIT_COMMITTER_EMAIL": committer.email,
            "GIT_COMMITTER_DATE": f"@{int(committer.date.timestamp())} +0000",
        }
        return self.out(*args, stdin=message.encode(), env=env)

    def read_commit(self, sha: str) -> CommitInfo:
        raw = self.run("cat-file", "commit", sha).stdout.decode(errors="replace")
        header, _, message = raw.partition("\n\n")
        tree, parents, people = "", [], {}
        for line in header.splitlines():
            key, _, value = line.partition(" ")
            if key == "tree":
                tree = value
            elif key == "parent":
                parents.append(value)
            elif key in ("author", "committer"):
                people[key] = _parse_identity(value)
        return CommitInfo(sha, tree, tuple(parents), people["author"], people["committer"], message)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return self.run("merge-base", "--is-ancestor", ancestor, descendant, check=False).returncode == 0

    def merge_base(self, a: str, b: str) -> str | None:
        result = self.run("merge-base", a, b, check=False)
        return result.stdout.decode().strip() if result.returncode == 0 else None

    def commits_between(self, base: str, head: str) -> list[str]:
        """Commits reachable from `head` but not `base`, oldest first."""
        return self.out("rev-list", "--reverse", "--topo-order", f"{base}..{head}").split()

    def merge_trees(self, ours: str, theirs: str) -> str | None:
        """Tree of a three-way merge of two commits (their merge base as base); None on conflict."""
        result = self.run("merge-tree", "--write-tree", "--no-messages", ours, theirs, check=False)
        if result.returncode == 0:
            return result.stdout.decode().split()[0]
        if result.returncode == 1:
            return None
        raise GitError(f"git merge-tree: {result.stderr.decode(errors='replace').strip()}")

    def cherry_pick_tree(self, commit: str, onto: str, committer: Identity) -> str | None:
        """Tree of `commit`'s change applied on top of `onto`; None on conflict.

        git 2.39's merge-tree has no `--merge-base`, so a throw-away commit with `onto`'s tree
        and `commit`'s parent makes that parent the merge base, as a cherry-pick needs.
        """
        info = self.read_commit(commit)
        if len(info.parents) != 1:
            return None
        onto_tree = self.read_commit(onto).tree
        stand_in = self.commit_tree(onto_tree, info.parents, "cherry-pick base", committer, committer)
        return self.merge_trees(stand_in, commit)

    def changed_files(self, old: str | None, new: str) -> list[FileChange]:
        """Files that differ between two commits (`old` None: against the empty tree)."""
        base = old or EMPTY_TREE
        raw = self.run("diff-tree", "-r", "-z", "--no-renames", base, new).stdout.decode()
        numstat = self.run("diff-tree", "-r", "-z", "--numstat", "--no-renames", base, new).stdout.decode()
        counts: dict[str, tuple[int, int]] = {}
        for record in filter(None, numstat.split("\0")):
            plus, minus, name = record.split("\t", 2)
            counts[name] = (int(plus) if plus != "-" else 0, int(minus) if minus != "-" else 0)  # "-": binary
        fields = [f for f in raw.split("\0") if f]
        changes = []
        for meta, path in zip(fields[0::2], fields[1::2], strict=True):
            _, _, _, new_sha, letter = meta.lstrip(":").split(" ")
            status = {"A": "added", "D": "removed", "M": "modified", "T": "changed"}.get(letter, "modified")
            added, deleted = counts.get(path, (0, 0))
            changes.append(FileChange(path, status, None if letter == "D" else new_sha, added, deleted))
        return changes


def _env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(_GIT_ENV)
    env.update(extra or {})
    return env


def _parse_identity(value: str) -> Identity:
    # "Name <email> 1700000000 +0000"
    found = re.fullmatch(r"(.*) <(.*)> (\d+) ([+-]\d{4})", value)
    if not found:
        return Identity(value, "", datetime.fromtimestamp(0, UTC))
    return Identity(found[1], found[2], datetime.fromtimestamp(int(found[3]), UTC))
