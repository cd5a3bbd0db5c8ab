"""The bash guard: every simple command of a command line judged allow, ask or deny.

`judge_command(command, policy)` parses the command with tree-sitter-bash (server/bash_parse.py),
sees through wrappers (env, sudo, timeout, xargs, find -exec, …) and code handed to interpreters
(`bash -c`, `eval`, heredocs, `python -c`, pipes into a shell), and returns every reason found.
Each reason names a rule id from BASH_RULE_IDS, whose verdict is fixed (the policy's `[rules]`
table can override it, as for every other rule); the strictest reason wins, no reason is allow.

Per simple command ("part") the order is deny → ask → allow: a `bash.deny` pattern or a built-in
deny rule refuses; else a `bash.ask` pattern or a built-in ask rule asks; a `bash.allow` pattern
can turn the built-in asks of a part into allow, but never a deny, never a `bash.ask` pattern,
never `bash.unreadable`, and only when every word of the part is literal.

Judgement calls (docs/policy.md repeats them):
- Unknown ordinary commands (`make`, `./build.sh`, `pytest`) are allowed: the sandbox bounds them.
- `rm` of single files or globs inside the workspace is allowed (git and the sandbox bound it);
  recursive removal there asks; removal touching root, home, system or data paths is refused.
- `printenv NAME` is allowed unless NAME looks secret (TOKEN, SECRET, KEY, PASSWORD, …); a bare
  `env`/`printenv`/`set`/`export -p` prints every token and is refused.
- A plain `git push` straight to a protected branch asks; a force push or deletion there is refused,
  and so is a force push whose target is unknown (`git push --force`).
- Uploads to cloud storage (`aws s3 cp ./x s3://…`) ask; uploads to hosts (`scp`, `rsync`,
  `curl -T`/`-d @file`, `nc < file`) are refused as exfiltration.
- Function bodies and alias values are judged as if run.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum
from fnmatch import fnmatchcase
from functools import lru_cache
from urllib.parse import urlsplit

from server.bash_parse import Script, SimpleCommand, Word, echoed, parse_script, resolve_path, unwrap
from server.decision import Reason, Verdict
from server.policy import Policy
from server.redact import redact

__all__ = ["BASH_RULE_IDS", "RULE_DESCRIPTIONS", "judge_command"]

_D, _A, _OK = Verdict.DENY, Verdict.ASK, Verdict.ALLOW

# rule id -> (default verdict, what it checks)
_RULES: dict[str, tuple[Verdict, str]] = {
    "bash.irreversible": (_D, "irreversible harm: removing root, home, system or data paths, wiping disks, destroying "
                              "infrastructure, protected namespaces or cloud data without a backup"),
    "bash.credentials": (_D, "reading or printing credentials: key and token files, the environment, token commands"),
    "bash.exfiltration": (_D, "sending local data off the machine: uploads, scp/rsync to a host, raw sockets, "
                              "DNS tricks"),
    "bash.remote-code": (_D, "running code fetched or decoded at run time: curl | sh, bash <(curl …), base64 -d | sh"),
    "bash.exhaustion": (_D, "exhausting the host: fork bombs, endless background loops, filling the disk"),
    "bash.privilege": (_D, "taking over the host: sudo, su, setuid, system paths, privileged containers, firewall"),
    "bash.persistence": (_D, "surviving the session: shell rc files, authorized_keys, cron, systemd, git hooks and "
                             "config"),
    "bash.history-rewrite": (_D, "force-pushing or deleting a protected branch (or an unknown target)"),
    "bash.policy-deny": (_D, "the command matches a bash.deny pattern"),
    "bash.destructive": (_A, "legitimate but destructive work: terraform apply/destroy, kubectl delete, git reset "
                             "--hard, rm -r in the workspace, docker prune, SQL DELETE/DROP, cloud deletions"),
    "bash.protected-branch": (_A, "a plain push straight to a protected branch"),
    "bash.service": (_A, "restarting, stopping or killing processes and services, scaling to zero, draining nodes"),
    "bash.remote-write": (_A, "changing remote state through an API: curl -X POST/DELETE, gh pr merge, uploads to "
                              "cloud storage"),
    "bash.install": (_A, "installing packages or running packages fetched on the fly (npx, uvx)"),
    "bash.unreadable": (_A, "a command the guard cannot read: a syntax error, a command name or code known only at "
                            "run time"),
    "bash.policy-ask": (_A, "the command matches a bash.ask pattern"),
    "bash.policy-allow": (_OK, "a bash.allow pattern turned the built-in asks of a command into allow"),
}
BASH_RULE_IDS: tuple[str, ...] = tuple(_RULES)
RULE_DESCRIPTIONS: dict[str, str] = {rule: text for rule, (_, text) in _RULES.items()}
_NEVER_LOOSENED = frozenset({"bash.unreadable", "bash.policy-ask"})


def _reason(rule: str, message: str) -> Reason:
    return Reason(rule=rule, verdict=_RULES[rule][0], message=redact(message))


def judge_command(command: str, policy: Policy) -> list[Reason]:
    """Every reason to ask about or refuse `command`; an empty list means allow."""
    judge = _Judge(policy)
    try:
        judge.script(parse_script(command))
    except (RecursionError, ValueError, IndexError, KeyError, TypeError) as exc:
        # A command the guard trips over is one it cannot read: never allowed.
        judge.reasons.append(_reason("bash.unreadable", f"the guard could not read the command ({type(exc).__name__})"))
    return list(dict.fromkeys(judge.reasons))


# --- knowledge: paths ----------------------------------------------------------------------------


class _Place(IntEnum):
    CRITICAL = 0  # the filesystem root or a home directory
    SYSTEM = 1  # the operating system's own files
    DATA = 2  # a top-level home or data directory (/home/x, /var/lib/x, ~/Documents)
    CLIMB = 3  # `..`, `../..`: above the workspace, possibly home or root
    OUTSIDE = 4  # another path outside the workspace
    UNKNOWN = 5  # only known at run time
    SCRATCH = 6  # /tmp and friends
    WORKSPACE = 7


_PLACE_NAMES = {
    _Place.CRITICAL: "the filesystem root or a home directory",
    _Place.SYSTEM: "a system path",
    _Place.DATA: "a top-level home or data directory",
    _Place.CLIMB: "a directory above the workspace (possibly home or root)",
    _Place.OUTSIDE: "a path outside the workspace",
    _Place.UNKNOWN: "a path known only at run time",
    _Place.SCRATCH: "a temporary path",
    _Place.WORKSPACE: "workspace files",
}
_SYSTEM_TREES = ("/etc", "/usr", "/bin", "/sbin", "/boot", "/lib", "/lib32", "/lib64", "/libx32", "/root", "/sys",
                 "/proc", "/dev", "/var/lib", "/var/backups", "/var/mail", "/var/spool", "/var/log", "/var/db",
                 "/snap", "/System", "/Library", "/Applications", "/private", "/nix")
_DATA_ROOTS = ("/var", "/home", "/opt", "/srv", "/mnt", "/media", "/data", "/Users", "/Volumes", "/run")
_SCRATCH_TREES = ("/tmp", "/var/tmp", "/dev/shm", "/private/tmp")  # noqa: S108  # nosec B108
# A glob such as /* or /??? is protected when it could match one of these.
_PROTECTED_EXAMPLES = ("/etc", "/usr", "/bin", "/boot", "/var", "/home", "/root", "/lib", "/opt", "/srv",
                       "/etc/passwd", "/usr/bin", "/bin/sh", "/home/user", "/var/lib", "/root/.ssh", "~/.ssh",
                       "~/.bashrc", "~/Documents", "~/.aws")


def _under(path: str, trees: Iterable[str]) -> bool:
    return any(path == tree or path.startswith(tree + "/") for tree in trees)


def _place_of(path: str) -> _Place:
    if path in ("/", "~"):
        return _Place.CRITICAL
    if path.startswith("~/"):
        return _Place.DATA if "/" not in path[2:] else _Place.OUTSIDE
    if path.startswith("/"):
        if _under(path, _SCRATCH_TREES):
            return _Place.SCRATCH
        if _under(path, _SYSTEM_TREES):
            return _Place.SYSTEM
        if path in _DATA_ROOTS or posixpath.dirname(path) in _DATA_ROOTS:
            return _Place.DATA
        return _Place.OUTSIDE
    parts = path.split("/")
    if parts[0] == "..":
        return _Place.CLIMB if all(p == ".." for p in parts) else _Place.OUTSIDE
    return _Place.WORKSPACE


def _place(word: Word, cwd: str | None) -> _Place:
    if not word.literal:
        # `/$X`, `~/$X`, `/opt/app/$V`: with the variable empty this is the directory itself.
        prefix = re.split(r"[$`]", word.text, maxsplit=1)[0]
        if "/" not in prefix:
            return _Place.UNKNOWN
        resolved = resolve_path(prefix.rstrip("/") or "/", cwd)
        return _Place.UNKNOWN if resolved is None else min(_place_of(resolved), _Place.UNKNOWN)
    path = resolve_path(word.glob or word.text, cwd)
    if path is None:
        return _Place.UNKNOWN
    if word.glob and _could_match(path, _PROTECTED_EXAMPLES):
        return _Place.CRITICAL if path in ("/*", "~/*") else _Place.SYSTEM
    return _place_of(path)


# --- knowledge: credentials, persistence, devices ------------------------------------------------

_CREDENTIAL_FILES = (
    "~/.aws/credentials*", "~/.aws/config*", "~/.aws/sso/cache/*", "~/.aws/cli/cache/*", "~/.ssh/id_*",
    "~/.ssh/*_rsa", "~/.ssh/*_ed25519", "~/.ssh/*_ecdsa", "~/.ssh/*.pem", "~/.ssh/*.key", "~/.kube/config*",
    "~/.netrc", "~/.docker/config.json", "~/.git-credentials", "~/.config/gh/hosts.yml", "~/.config/hub",
    "~/.config/gcloud/*credentials*", "~/.config/gcloud/*token*", "~/.config/gcloud/legacy_credentials/*",
    "~/.azure/*token*", "~/.pgpass", "~/.my.cnf", "~/.npmrc", "~/.pypirc", "~/.gnupg/*", "~/.password-store/*",
    "~/.vault-token", "~/.terraform.d/credentials.tfrc.json", "~/.boto", "~/.s3cfg", "~/.cargo/credentials*",
    "~/.gem/credentials", "~/.supabase/access-token", "/etc/shadow", "/etc/gshadow", "/etc/shadow-",
    "/etc/ssh/ssh_host_*_key", "/proc/*/environ", "/run/secrets/*", "/var/run/secrets/*",
)
_CREDENTIAL_DIRS = frozenset({"~", "~/.aws", "~/.ssh", "~/.kube", "~/.docker", "~/.config/gh", "~/.config/gcloud",
                              "~/.azure", "~/.gnupg", "~/.password-store", "/run/secrets", "/var/run/secrets"})
_CREDENTIAL_EXAMPLES = ("~/.aws/credentials", "~/.ssh/id_rsa", "~/.ssh/id_ed25519", "~/.kube/config*", "~/.netrc",
                        "~/.docker/config.json", "~/.git-credentials", "~/.config/gh/hosts.yml", "/etc/shadow",
                        "/proc/1/environ", "/proc/self/environ")
# Reading these in code (python -c, node -e …), where paths are built from pieces.
_CODE_CREDENTIAL = re.compile(
    r"\.aws/credentials|\.ssh/id_(?!\w*\.pub)|\.kube/config|\.netrc|\.docker/config\.json|\.git-credentials"
    r"|gh/hosts\.yml|/etc/shadow|/environ\b|['\"]\.aws['\"]|['\"]id_(?:rsa|ed25519|ecdsa)['\"]")
_PERSISTENCE_FILES = (
    "~/.bashrc", "~/.bash_profile", "~/.bash_login", "~/.bash_logout", "~/.profile", "~/.zshrc", "~/.zprofile",
    "~/.zshenv", "~/.zlogin", "~/.zlogout", "~/.config/fish/*", "~/.ssh/authorized_keys*", "~/.ssh/rc",
    "~/.ssh/config", "~/.gitconfig", "~/.config/git/*", "~/.config/autostart/*", "~/.config/systemd/*",
    "~/.local/share/systemd/*", "~/Library/LaunchAgents/*", "~/.xinitrc", "~/.xprofile", "~/.pam_environment",
    "/etc/profile", "/etc/profile.d/*", "/etc/bash.bashrc", "/etc/bashrc", "/etc/zshrc", "/etc/zsh/*",
    "/etc/environment", "/etc/cron*", "/var/spool/cron/*", "/etc/systemd/*", "/lib/systemd/*",
    "/usr/lib/systemd/*", "/etc/init.d/*", "/etc/rc.local", "/etc/rc*.d/*", "/etc/xdg/autostart/*",
    "/Library/LaunchAgents/*", "/Library/LaunchDaemons/*", ".git/hooks/*", "*/.git/hooks/*",
)
_PRIVILEGE_FILES = ("/etc/sudoers", "/etc/sudoers.d/*", "/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow",
                    "/etc/ld.so.preload", "/etc/pam.d/*", "/etc/security/*", "/etc/ssh/sshd_config*")
_DEVICES = ("/dev/sd*", "/dev/hd*", "/dev/vd*", "/dev/xvd*", "/dev/nvme*", "/dev/mmcblk*", "/dev/disk*",
            "/dev/mapper/*", "/dev/dm-*", "/dev/md*", "/dev/loop*", "/dev/mem", "/dev/kmem", "/dev/port", "/dev/sr*",
            "/dev/root", "/dev/rdisk*")
_HARMLESS_DEVICES = ("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/fd/*", "/dev/pts/*",
                     "/dev/zero", "/dev/random", "/dev/urandom", "/dev/shm/*")  # noqa: S108  # nosec B108
_ENDLESS_SOURCES = frozenset({"/dev/zero", "/dev/urandom", "/dev/random"})
_SECRET_NAME = re.compile(r"TOKEN|SECRET|KEY|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|COOKIE|PRIVATE", re.IGNORECASE)
_VARIABLE_USE = re.compile(r"\$\{?([A-Za-z_]\w*)")


def _resolved(word: Word, cwd: str | None) -> str | None:
    if not word.literal:
        return None
    text = word.glob or word.text
    return resolve_path(text[len("file://") :] if text.startswith("file:///") else text, cwd)


def _glob_prefix(pattern: str) -> str:
    return re.split(r"[*?\[]", pattern, maxsplit=1)[0]


def _could_match(pattern: str, examples: Iterable[str]) -> bool:
    """Could a glob argument expand to one of `examples`? Only globs anchored at a known prefix count:
    a bare `*` in the workspace is not taken to reach the home directory."""
    prefix = _glob_prefix(pattern)
    return bool(prefix) and any(ex.startswith(prefix) and fnmatchcase(ex, pattern) for ex in examples)


def _matches(path: str, patterns: Iterable[str], glob: bool) -> bool:
    if glob:
        return _could_match(path, [p.replace("*", "x") for p in patterns])
    return any(fnmatchcase(path, p) for p in patterns)


_HOME_PREFIX = re.compile(r"^(?:/home/[^/]+|/Users/[^/]+|/root)(?=/|$)")


def _credential(word: Word, cwd: str | None) -> bool:
    path = _resolved(word, cwd)
    if path is None or path.endswith(".pub"):
        return False
    path = _HOME_PREFIX.sub("~", path.removeprefix("file://"))  # any user's home reads like ours
    if word.glob:
        return _could_match(path, _CREDENTIAL_EXAMPLES)
    return path.rstrip("/") in _CREDENTIAL_DIRS or any(fnmatchcase(path, p) for p in _CREDENTIAL_FILES)


def _device(path: str) -> bool:
    return any(fnmatchcase(path, p) for p in _DEVICES) and not any(fnmatchcase(path, p) for p in _HARMLESS_DEVICES)


def _write_reason(call: _Call, word: Word, how: str) -> Reason | None:
    """Why writing `word` (a redirect target, cp/tee/dd destination) is refused, or None."""
    path = _resolved(word, call.cmd.cwd)
    if path is None:
        return None
    glob = word.glob is not None
    what = f"`{call.show}` {how} {word.text}"
    if path.startswith("/dev/tcp/") or path.startswith("/dev/udp/"):
        return _reason("bash.exfiltration", f"{what}: a raw network connection")
    if _device(path):
        return _reason("bash.irreversible", f"{what}: overwrites a disk device")
    if _matches(path, _PERSISTENCE_FILES, glob) or path.endswith("/.git/hooks") or path == ".git/hooks":
        return _reason("bash.persistence", f"{what}: a startup, scheduling, ssh or git-hook file that runs later")
    if _matches(path, _PRIVILEGE_FILES, glob):
        return _reason("bash.privilege", f"{what}: an account or privilege file")
    if path != "~" and _credential(word, call.cmd.cwd):  # copying into the home directory is fine
        return _reason("bash.credentials", f"{what}: a credential file")
    if (_place_of(path) == _Place.SYSTEM or path == "/") and not any(fnmatchcase(path, p) for p in _HARMLESS_DEVICES):
        return _reason("bash.privilege", f"{what}: a system path")
    return None


# --- knowledge: commands ---------------------------------------------------------------------------

_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "csh", "tcsh", "yash", "rbash"})
_METADATA_ONLY = frozenset({  # commands that do not print a file's content
    "ls", "stat", "test", "[", "[[", "file", "du", "df", "wc", "touch", "mkdir", "chmod", "chown", "chgrp",
    "realpath", "readlink", "basename", "dirname", "cd", "pushd", "popd", "echo", "printf", "which", "type",
    "command", "ssh-add", "ssh-keygen", "ssh", "find", "rm", "rmdir", "unlink", "shred", "md5sum", "sha1sum",
    "sha256sum", "sha512sum", "b2sum", "cksum", "lsattr", "getfacl", "namei", "tree", "export", "declare", "local",
    "exa", "eza", "fd", "alias", "unalias", "trap", "eval",
})
_USING_OPTIONS = frozenset({"-i", "--identity", "--kubeconfig", "--key", "--cert", "--private-key", "--key-file",
                            "--ssh-key", "-F", "--credentials-file", "--shared-credentials-file"})
_PRIVILEGED = {
    "sudo": "runs as root", "su": "switches user", "doas": "runs as root", "pkexec": "runs as root",
    "run0": "runs as root", "runuser": "switches user", "nsenter": "enters another namespace",
    "insmod": "loads a kernel module", "modprobe": "loads a kernel module", "rmmod": "unloads a kernel module",
    "kexec": "boots another kernel", "setcap": "grants file capabilities", "useradd": "changes accounts",
    "userdel": "changes accounts", "usermod": "changes accounts", "groupadd": "changes accounts",
    "groupdel": "changes accounts", "gpasswd": "changes accounts", "passwd": "changes a password",
    "chpasswd": "changes passwords", "visudo": "edits sudoers", "adduser": "changes accounts",
    "deluser": "changes accounts", "setenforce": "changes SELinux enforcement", "reboot": "reboots the host",
    "shutdown": "shuts the host down", "halt": "halts the host", "poweroff": "powers the host off",
    "telinit": "changes the runlevel", "swapoff": "changes swap", "umount": "unmounts a filesystem",
    "chattr": "changes file attributes", "capsh": "changes capabilities", "killall5": "signals every process",
}
_INSTALLS = frozenset({
    ("pip", "install"), ("pip3", "install"), ("pipx", "install"), ("pipx", "run"), ("pipx", "inject"),
    ("uv", "pip", "install"), ("uv", "add"), ("uv", "tool", "install"), ("uv", "tool", "run"), ("uvx",),
    ("poetry", "add"), ("poetry", "install"), ("pdm", "add"), ("pdm", "install"), ("conda", "install"),
    ("mamba", "install"), ("npm", "install"), ("npm", "i"), ("npm", "ci"), ("npm", "add"), ("npm", "exec"),
    ("npm", "update"), ("npx",), ("yarn", "add"), ("yarn", "install"), ("yarn", "global"), ("yarn", "dlx"),
    ("pnpm", "add"), ("pnpm", "install"), ("pnpm", "i"), ("pnpm", "dlx"), ("pnpx",), ("bun", "add"),
    ("bun", "install"), ("bun", "i"), ("bun", "x"), ("bunx",), ("apt", "install"), ("apt-get", "install"),
    ("apt", "remove"), ("apt-get", "remove"), ("apt", "purge"), ("apt-get", "purge"), ("apt", "upgrade"),
    ("apt-get", "upgrade"), ("apt-get", "dist-upgrade"), ("apt", "full-upgrade"), ("aptitude", "install"),
    ("yum", "install"), ("yum", "remove"), ("dnf", "install"), ("dnf", "remove"), ("apk", "add"), ("apk", "del"),
    ("zypper", "install"), ("zypper", "in"), ("brew", "install"), ("brew", "reinstall"), ("brew", "upgrade"),
    ("brew", "uninstall"), ("brew", "tap"), ("port", "install"), ("cargo", "install"), ("go", "install"),
    ("go", "get"), ("gem", "install"), ("gem", "uninstall"), ("snap", "install"), ("snap", "remove"),
    ("flatpak", "install"), ("composer", "require"), ("composer", "install"), ("composer", "global"),
    ("bundle", "install"), ("bundle", "add"), ("dotnet", "tool"), ("dotnet", "add"), ("helm", "plugin"),
    ("kubectl", "krew"), ("choco", "install"), ("winget", "install"), ("nix-env",), ("dpkg", "-i"),
    ("rpm", "-i"), ("rpm", "-U"), ("rpm", "-e"), ("pacman", "-S"), ("pacman", "-U"), ("pacman", "-R"),
    ("deno", "install"), ("asdf", "install"), ("mise", "install"), ("sdk", "install"),
})
_SQL_CLIENTS = {  # client -> options whose value is SQL; None: positionals after the first are SQL
    "psql": ("-c", "--command"), "mysql": ("-e", "--execute"), "mariadb": ("-e", "--execute"),
    "sqlite3": None, "duckdb": ("-c",), "clickhouse-client": ("-q", "--query"), "clickhouse": ("-q", "--query"),
    "mongo": ("--eval",), "mongosh": ("--eval",), "snowsql": ("-q", "--query"), "cockroach": ("-e", "--execute"),
    "redis-cli": None, "bq": None, "cqlsh": ("-e", "--execute"), "usql": ("-c", "--command"),
}
_SQL_DESTRUCTIVE = re.compile(
    r"\b(?:delete\s+from|delete\s+\w|truncate\b|drop\s+(?:table|database|schema|index|view|user|role|owned|"
    r"collection|keyspace|materialized)|alter\s+table\s+\S+\s+drop|flushall|flushdb|dropdatabase|\.drop\(\)|"
    r"deletemany|\.remove\()", re.IGNORECASE)


# --- the command being judged ----------------------------------------------------------------------


@dataclass(slots=True)
class _Call:
    """One layer of a simple command (`sudo timeout 5 rm -rf x` has three) and its context."""

    words: list[Word]
    cmd: SimpleCommand
    judge: _Judge
    has_inner: bool = False  # a wrapper layer with a command after it

    @property
    def name(self) -> str:
        return posixpath.basename(self.words[0].text)

    @property
    def args(self) -> list[Word]:
        return self.words[1:]

    @property
    def show(self) -> str:
        text = " ".join(w.text for w in self.words)
        return text if len(text) <= 120 else text[:117] + "…"

    def say(self, rule: str, what: str) -> Reason:
        return _reason(rule, f"`{self.show}` {what}")


def _options(args: list[Word], short_values: str = "", long_values: Iterable[str] = (), *,
             stop: bool = False) -> tuple[list[tuple[str, Word | None]], list[Word]]:
    """(option, value) pairs and operands, read the way getopt reads them.

    With `stop`, options end at the first operand (`ssh host ls -la`, `bash -c CODE -x`).
    """
    longs = frozenset(long_values)
    options: list[tuple[str, Word | None]] = []
    operands: list[Word] = []
    i = 0
    while i < len(args):
        word = args[i]
        text = word.text
        i += 1
        if not word.literal or not text.startswith("-") or text == "-":
            operands.append(word)
            if stop:
                operands += args[i:]
                break
        elif text == "--":
            operands += args[i:]
            break
        elif text.startswith("--"):
            name, eq, value = text.partition("=")
            if eq:
                options.append((name, Word(value)))
            elif name in longs and i < len(args):
                options.append((name, args[i]))
                i += 1
            else:
                options.append((name, None))
        else:
            for j, letter in enumerate(text[1:], start=1):
                if letter in short_values:
                    rest = text[j + 1 :].removeprefix("=")  # Go tools accept -n=prod
                    if rest:
                        options.append(("-" + letter, Word(rest)))
                    elif i < len(args):
                        options.append(("-" + letter, args[i]))
                        i += 1
                    else:
                        options.append(("-" + letter, None))
                    break
                options.append(("-" + letter, None))
    return options, operands


def _flag(options: list[tuple[str, Word | None]], *names: str) -> bool:
    return any(name in names for name, _ in options)


def _values(options: list[tuple[str, Word | None]], *names: str) -> list[Word]:
    return [value for name, value in options if name in names and value is not None]


def _printed(cmd: SimpleCommand) -> str | None:
    """What `cmd` prints when that is known: echo/printf of literal words, cat of a here-document."""
    text = echoed(cmd)
    if text is not None:
        return text
    words = [w.text for w in cmd.words]
    if words in (["cat"], ["cat", "-"]):
        bodies = [r.body for r in cmd.redirects if r.op in ("<<", "<<-", "<<<") and r.body is not None]
        if bodies:
            return bodies[-1]
    return None


def _feeders(cmd: SimpleCommand) -> list[SimpleCommand]:
    """The commands whose output `cmd` reads: the previous stage of its pipeline."""
    return [u for u in cmd.upstream if cmd in u.downstream] or list(cmd.upstream[-1:])


def _runs(cmd: SimpleCommand, names: frozenset[str]) -> bool:
    return any(layer and posixpath.basename(layer[0].text) in names for layer in unwrap(cmd).layers)


def _is_fetcher(cmd: SimpleCommand) -> bool:
    for layer in unwrap(cmd).layers:
        name = posixpath.basename(layer[0].text) if layer else ""
        texts = {w.text for w in layer[1:]}
        if name in ("curl", "wget", "fetch", "aria2c", "http", "https", "xh", "lwp-request", "GET", "ftp", "tftp"):
            return True
        if name in ("nc", "ncat", "netcat", "socat", "telnet") or (name == "openssl" and "s_client" in texts):
            return True
        if name in ("lynx", "links", "w3m") and texts & {"-dump", "-source"}:
            return True
    return False


def _is_decoder(cmd: SimpleCommand) -> bool:
    for layer in unwrap(cmd).layers:
        name = posixpath.basename(layer[0].text) if layer else ""
        texts = {w.text for w in layer[1:]}
        decoding = any(t in ("-d", "--decode", "-D", "-r", "--uncompress", "-dc", "-cd") for t in texts)
        if name in ("base64", "base32", "basenc", "xxd", "gzip", "bzip2", "xz", "zstd", "lz4") and decoding:
            return True
        if name in ("uudecode", "gunzip", "zcat", "bzcat", "xzcat", "unxz", "zstdcat", "rev", "tr"):
            return True
        if name == "openssl" and ("-d" in texts or "base64" in texts or "enc" in texts):
            return True
    return False


def _untrusted(commands: Iterable[SimpleCommand]) -> str | None:
    """'downloaded' or 'decoded' when one of `commands` fetches or decodes data, else None."""
    commands = list(commands)
    if any(_is_fetcher(c) for c in commands):
        return "downloaded"
    if any(_is_decoder(c) for c in commands):
        return "decoded"
    return None


# --- the judge -------------------------------------------------------------------------------------

_Handler = Callable[[_Call], list[Reason]]


@lru_cache(maxsize=64)
def _compile(patterns: tuple[str, ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Claude-Code-style patterns: `*` is any text; a trailing ` *` or `:*` also matches the bare command."""
    compiled = []
    for pattern in patterns:
        text = " ".join(pattern.split())
        tail = ""
        if text.endswith(" *"):
            text, tail = text[:-2], "(?: .*)?"
        elif text.endswith(":*"):
            text, tail = text[:-2], "(?:[ :].*)?"
        body = ".*".join(re.escape(piece) for piece in text.split("*"))
        compiled.append((pattern, re.compile(body + tail, re.DOTALL)))
    return tuple(compiled)


def _first_match(patterns: tuple[tuple[str, re.Pattern[str]], ...], texts: list[str]) -> str | None:
    for pattern, regex in patterns:
        if any(regex.fullmatch(text) for text in texts):
            return pattern
    return None


def _texts(words: list[Word]) -> list[str]:
    """A command as patterns see it: normalised words, and with the program's path dropped."""
    text = " ".join(w.text for w in words)
    base = posixpath.basename(words[0].text)
    return [text] if base == words[0].text else [text, " ".join([base, *(w.text for w in words[1:])])]


class _Judge:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.reasons: list[Reason] = []
        self.fetched: set[str] = set()  # base names of files downloaded or decoded earlier in the line
        self.written: dict[str, str] = {}  # base name -> content, for files written earlier with known text
        self.depth = 0
        self.deny = _compile(policy.bash.deny)
        self.ask = _compile(policy.bash.ask)
        self.allow = _compile(policy.bash.allow)

    def script(self, script: Script) -> None:
        if script.errors:
            shown = "; ".join(dict.fromkeys(script.errors))[:160]
            self.reasons.append(_reason("bash.unreadable", f"the command does not parse as bash ({shown})"))
        for command in script.commands:
            self.part(command)

    def nested(self, code: str, cmd: SimpleCommand) -> None:
        """Judge shell code that `cmd` runs (bash -c, eval, a heredoc into a shell, ssh's command)."""
        self.depth += 1
        try:
            self.script(parse_script(code, depth=self.depth, env=cmd.env, cwd=cmd.cwd))
        finally:
            self.depth -= 1

    def part(self, cmd: SimpleCommand) -> None:
        stdin = self.stdin_words(cmd)
        unwrapped = unwrap(cmd, stdin)
        found: list[Reason] = []
        for index, layer in enumerate(unwrapped.layers):
            if layer:
                found += self.layer(_Call(layer, cmd, self, index + 1 < len(unwrapped.layers) or bool(unwrapped.code)))
        for code in unwrapped.code:
            found += self.code(code, _Call(unwrapped.layers[-1], cmd, self))
        found += _context(_Call(cmd.words, cmd, self))
        self.reasons += self.apply_policy(cmd, unwrapped.layers, found)
        self.remember_writes(cmd)

    def remember_writes(self, cmd: SimpleCommand) -> None:
        """Files this command writes: downloaded or decoded data, or text known now (`echo … > x.sh`)."""
        targets = [posixpath.basename(r.target.text) for r in cmd.redirects if r.writes and r.target is not None]
        if not targets:
            return
        chain = [*cmd.upstream, cmd]
        if _untrusted(chain):
            self.fetched.update(targets)
        elif (text := _printed(cmd)) is not None:
            self.written.update(dict.fromkeys(targets, text))

    def stdin_words(self, cmd: SimpleCommand) -> list[Word] | None:
        feeders = _feeders(cmd)
        if len(feeders) == 1 and (text := _printed(feeders[0])) is not None:
            return [Word(t) for t in text.split()]
        return None

    def layer(self, call: _Call) -> list[Reason]:
        head = call.words[0]
        if not head.literal:
            return _unknown_name(call)
        found: list[Reason] = []
        if "/" in head.text and posixpath.basename(head.text) in self.fetched:
            found.append(call.say("bash.remote-code", f"runs {head.text}, downloaded earlier in the same command"))
        elif "/" in head.text and (written := self.written.get(posixpath.basename(head.text))):
            self.nested(written, call.cmd)
        names = [call.name]
        if head.glob:
            base = posixpath.basename(head.glob)
            names = sorted(n for n in _KNOWN_NAMES if fnmatchcase(n, base)) if any(c in base for c in "*?[") else [base]
            if len(names) > 8:  # `*`, `?*`: could be anything; judge the usual suspects
                names = [n for n in names if n in _GLOB_SUSPECTS]
            found.append(call.say("bash.unreadable", f"names its program by a glob ({head.text}); bash picks the "
                                                     f"file at run time"))
        for name in names:
            probe = call if name == call.name else _Call([Word(name), *call.args], call.cmd, self, call.has_inner)
            handler = _HANDLERS.get(name)
            if handler is not None:
                found += handler(probe)
            if not call.has_inner:  # a wrapper's arguments are the inner command's: judged there
                found += _generic(probe)
        return found

    def code(self, code: Word, call: _Call) -> list[Reason]:
        """Shell code a command hands on: parse it if it is known, else fail closed."""
        if code.literal:
            self.nested(code.text, call.cmd)
            return []
        source = _untrusted(code.inner)
        if source:
            return [call.say("bash.remote-code", f"runs {source} code as shell code")]
        return [call.say("bash.unreadable", f"runs shell code known only at run time ({code.text[:60]})")]

    def apply_policy(self, cmd: SimpleCommand, layers: list[list[Word]], found: list[Reason]) -> list[Reason]:
        texts = [t for layer in layers if layer for t in _texts(layer)]
        shown = texts[0] if len(texts[0]) <= 120 else texts[0][:117] + "…"
        denied = _first_match(self.deny, texts)
        if denied is not None:
            found = [_reason("bash.policy-deny", f"`{shown}` matches bash.deny pattern '{denied}'"), *found]
        asked = _first_match(self.ask, texts)
        if asked is not None:
            found.append(_reason("bash.policy-ask", f"`{shown}` matches bash.ask pattern '{asked}'"))
        verdicts = {r.verdict for r in found}
        if Verdict.ASK not in verdicts or Verdict.DENY in verdicts or any(r.rule in _NEVER_LOOSENED for r in found):
            return found
        innermost = layers[-1] if layers[-1] else layers[0]
        if cmd.fallback or not all(w.literal for layer in layers for w in layer):
            return found
        allowed = _first_match(self.allow, _texts(innermost))
        if allowed is None:
            return found
        rules = ", ".join(sorted({r.rule for r in found}))
        return [_reason("bash.policy-allow", f"`{shown}` matches bash.allow pattern '{allowed}' (built-in: {rules})")]


def _unknown_name(call: _Call) -> list[Reason]:
    """A program name known only at run time: ask, and refuse what its arguments already show."""
    head = call.words[0]
    source = _untrusted(head.inner)
    if source:
        return [call.say("bash.remote-code", f"runs a command name {source} at run time")]
    found = [call.say("bash.unreadable", f"names its program with {head.text[:60]}, known only at run time")]
    texts = [w.text for w in call.args]
    suspects = []
    if any(re.fullmatch(r"-[a-zA-Z]*[rR][a-zA-Z]*|--recursive", t) for t in texts):
        suspects.append("rm")
    if any(t.startswith(("of=", "if=")) for t in texts):
        suspects.append("dd")
    if "-R" in texts or "--recursive" in texts:
        suspects += ["chmod", "chown"]
    if "-c" in texts:
        suspects.append("sh")
    for name in suspects:
        probe = _Call([Word(name), *call.args], call.cmd, call.judge)
        before = len(call.judge.reasons)
        found += [r for r in _HANDLERS[name](probe) if r.verdict == Verdict.DENY]
        # code judged for the `sh` suspect lands in the judge directly: keep only its denials
        call.judge.reasons[before:] = [r for r in call.judge.reasons[before:] if r.verdict == Verdict.DENY]
    return found


_COPIERS = frozenset({"cp", "mv", "ln", "install", "rsync", "scp"})
_NAME_LOOKUPS = frozenset({"dig", "nslookup", "host", "drill", "ping", "ping6", "traceroute", "tracepath", "whois",
                           "resolvectl", "getent"})


def _generic(call: _Call) -> list[Reason]:
    """Checks for every command: credential paths, secrets printed, raw sockets, DNS tricks."""
    found: list[Reason] = []
    cwd = call.cmd.cwd
    if call.name not in _METADATA_ONLY:
        skip = False
        # A copy's last operand is where it writes (checked as a write), not what it reads.
        read = call.args[:-1] if call.name in _COPIERS and len(call.args) > 1 else call.args
        for word in read:
            if skip:
                skip = False
                continue
            if word.text in _USING_OPTIONS:
                skip = True
                continue
            if _credential(word, cwd):
                found.append(call.say("bash.credentials", f"reads credentials ({word.text})"))
    if call.name in ("echo", "printf", "print", "printenv"):
        secrets = [m for w in call.args for m in _VARIABLE_USE.findall(w.text) if _SECRET_NAME.search(m)]
        if secrets:
            found.append(call.say("bash.credentials", f"prints secret variable {secrets[0]}"))
    if any(w.text.startswith(("/dev/tcp/", "/dev/udp/")) for w in call.args):
        found.append(call.say("bash.exfiltration", "opens a raw network connection (/dev/tcp)"))
    if call.name in _NAME_LOOKUPS and any(w.inner or (_SECRET_NAME.search(w.text) and "$" in w.text)
                                          for w in call.args):
        found.append(call.say("bash.exfiltration", "puts command output or a secret into a DNS or network name"))
    return found


def _context(call: _Call) -> list[Reason]:
    """Checks on a simple command's context: redirections, fork bombs, endless background loops."""
    cmd = call.cmd
    found: list[Reason] = []
    for redirect in cmd.redirects:
        if redirect.target is None:
            continue
        if redirect.target.text.startswith(("/dev/tcp/", "/dev/udp/")):
            found.append(call.say("bash.exfiltration", f"connects to {redirect.target.text} (a raw network socket)"))
        elif redirect.writes:
            reason = _write_reason(call, redirect.target, "writes")
            if reason is not None:
                found.append(reason)
        elif redirect.reads and _credential(redirect.target, cmd.cwd):
            found.append(call.say("bash.credentials", f"reads credentials ({redirect.target.text})"))
    name = cmd.words[0].text
    if cmd.function is not None and name == cmd.function and (cmd.piped or cmd.background):
        found.append(call.say("bash.exhaustion", f"is a fork bomb: function {name} starts copies of itself"))
    if cmd.background and cmd.infinite_loop:
        found.append(call.say("bash.exhaustion", "starts background jobs in an endless loop"))
    return found


# --- handlers: removal, disks, permissions -----------------------------------------------------------


def _rm(call: _Call) -> list[Reason]:
    options, operands = _options(call.args)
    names = {name for name, _ in options}
    if "--no-preserve-root" in names:
        return [call.say("bash.irreversible", "removes with --no-preserve-root")]
    recursive = bool(names & {"-r", "-R", "--recursive"})
    found: list[Reason] = []
    for operand in operands:
        place = _place(operand, call.cmd.cwd)
        resolved = _resolved(operand, call.cmd.cwd)
        shown = operand.text if resolved in (None, operand.text) else f"{operand.text} (= {resolved})"
        where = f"{shown}: {_PLACE_NAMES[place]}"
        if place > _Place.SYSTEM and _credential(operand, call.cmd.cwd):
            found.append(call.say("bash.irreversible", f"deletes credentials ({shown})"))
        elif place <= _Place.SYSTEM or (recursive and place <= _Place.CLIMB):
            found.append(call.say("bash.irreversible", f"deletes {where}"))
        elif recursive or place <= _Place.UNKNOWN:
            found.append(call.say("bash.destructive", f"deletes {'recursively ' if recursive else ''}{where}"))
    return found


def _dd(call: _Call) -> list[Reason]:
    operands = {w.text.split("=", 1)[0]: w for w in call.args if "=" in w.text}
    found: list[Reason] = []
    target = operands.get("of")
    if target is not None:
        value = Word(target.text.split("=", 1)[1], target.literal, None)
        reason = _write_reason(call, value, "writes")
        if reason is not None:
            found.append(reason)
        source = operands.get("if")
        endless = source is not None and source.text.split("=", 1)[1] in _ENDLESS_SOURCES
        if endless and "count" not in operands and value.text != "/dev/null" and reason is None:
            found.append(call.say("bash.exhaustion", "copies an endless source with no count: fills the disk"))
    return found


def _device_args(call: _Call) -> list[Word]:
    return [w for w in call.args if w.literal and _device(resolve_path(w.text, call.cmd.cwd) or "")]


def _disk_tool(listing: frozenset[str]) -> _Handler:
    """fdisk, parted, sgdisk…: refused on a device unless only listing."""

    def handler(call: _Call) -> list[Reason]:
        texts = {w.text for w in call.args}
        if texts & listing or not _device_args(call):
            return []
        return [call.say("bash.irreversible", "rewrites a disk's partitions or signatures")]

    return handler


def _mkfs(call: _Call) -> list[Reason]:
    return [call.say("bash.irreversible", "creates a filesystem, erasing the device")]


def _wipefs(call: _Call) -> list[Reason]:
    options, _ = _options(call.args, "o", ("--offset",))
    if _flag(options, "-a", "--all", "-o", "--offset"):
        return [call.say("bash.irreversible", "erases filesystem signatures")]
    return []


def _shred(call: _Call) -> list[Reason]:
    if _device_args(call):
        return [call.say("bash.irreversible", "overwrites a disk device")]
    return [call.say("bash.destructive", "overwrites files beyond recovery")]


_SETUID_MODE = re.compile(r"[ugoa]*[+=][rwxXt]*s|0*[2-7][0-7]{3}")


def _chmod(call: _Call) -> list[Reason]:
    recursive = any(w.text in ("-R", "--recursive") for w in call.args)
    operands = [w for w in call.args if not re.fullmatch(r"-[Rcfv]+|--\w[\w-]*(=.*)?", w.text)]
    if call.name == "chmod":
        mode, targets = (operands[0].text if operands else ""), operands[1:]
    else:
        mode, targets = "", operands[1:]
    found: list[Reason] = []
    if call.name == "chmod" and _SETUID_MODE.fullmatch(mode):
        found.append(call.say("bash.privilege", f"sets the setuid/setgid bit ({mode})"))
    for target in targets:
        place = _place(target, call.cmd.cwd)
        path = _resolved(target, call.cmd.cwd) or ""
        if ".git/hooks" in path and call.name == "chmod":
            found.append(call.say("bash.persistence", f"makes a git hook executable ({target.text})"))
        elif place <= _Place.SYSTEM or (recursive and place <= _Place.OUTSIDE):
            found.append(call.say("bash.privilege", f"changes permissions of {target.text}: {_PLACE_NAMES[place]}"))
        elif recursive:
            found.append(call.say("bash.destructive", f"changes permissions recursively ({target.text})"))
    return found


# --- handlers: writes, reads, resources ------------------------------------------------------------


def _write_targets(call: _Call) -> list[Reason]:
    """cp, mv, install, ln, tee, sed -i, truncate: the files they write."""
    name = call.name
    options, operands = _options(call.args, "tSm" if name != "tee" else "", ("--target-directory", "--suffix"))
    targets: list[Word] = _values(options, "-t", "--target-directory")
    if name == "tee" or name == "truncate":
        targets += operands
    elif name == "sed":
        if _flag(options, "-i", "--in-place") or any(w.text.startswith("-i") for w in call.args):
            targets += operands[1:]
    elif not targets and len(operands) >= 2:
        targets.append(operands[-1])
    found: list[Reason] = []
    for target in targets:
        reason = _write_reason(call, target, "writes")
        if reason is not None:
            found.append(reason)
    if name == "mv":  # moving root, home, system or data directories away is removing them
        for source in operands[:-1]:
            place = _place(source, call.cmd.cwd)
            if place <= _Place.DATA:
                found.append(call.say("bash.irreversible", f"moves away {source.text}: {_PLACE_NAMES[place]}"))
    return found


def _yes(call: _Call) -> list[Reason]:
    if _writes_file(call.cmd):
        return [call.say("bash.exhaustion", "writes endless output to a file: fills the disk")]
    return []


def _writes_file(cmd: SimpleCommand) -> bool:
    return any(r.writes and r.target is not None and r.target.text not in ("/dev/null", "/dev/stdout", "/dev/stderr")
               for r in cmd.redirects)


def _cat(call: _Call) -> list[Reason]:
    bounded = call.name == "head" and any(w.text.startswith(("-c", "-n", "--bytes", "--lines")) for w in call.args)
    if not bounded and any(w.text in _ENDLESS_SOURCES for w in call.args) and _writes_file(call.cmd):
        return [call.say("bash.exhaustion", "copies an endless source into a file: fills the disk")]
    return []


def _env_dump(call: _Call) -> list[Reason]:
    """env, printenv, set, export, declare: print the environment (and the tokens in it)."""
    name, texts = call.name, [w.text for w in call.args]
    if name == "env":
        dumps = not call.has_inner
    elif name == "printenv":
        secret = [t for t in texts if not t.startswith("-") and _SECRET_NAME.search(t)]
        if secret:
            return [call.say("bash.credentials", f"prints secret variable {secret[0]}")]
        dumps = not [t for t in texts if not t.startswith("-")]
    elif name == "set":
        dumps = not texts
    elif name == "export":
        dumps = not texts or texts == ["-p"]
    else:  # declare, typeset
        flags = "".join(t[1:] for t in texts if t.startswith("-"))
        dumps = all(t.startswith("-") for t in texts) and (not flags or bool(set(flags) & {"x", "p"}))
    return [call.say("bash.credentials", "prints the whole environment, tokens included")] if dumps else []


def _kill(call: _Call) -> list[Reason]:
    if call.name == "kill" and any(w.text == "-1" for w in call.args[1:] if call.args[0].text.startswith("-")):
        return [call.say("bash.irreversible", "signals every process of the user (pid -1)")]
    return [call.say("bash.service", "kills processes")]


def _privileged(call: _Call) -> list[Reason]:
    return [call.say("bash.privilege", _PRIVILEGED[call.name])]


def _mount(call: _Call) -> list[Reason]:
    if all(w.text in ("-l", "--list", "-v") for w in call.args):
        return []  # `mount` alone lists mounts
    return [call.say("bash.privilege", "mounts a filesystem")]


def _sysctl(call: _Call) -> list[Reason]:
    if any(w.text in ("-w", "--write", "-p", "--load", "--system") or "=" in w.text for w in call.args):
        return [call.say("bash.privilege", "changes kernel parameters")]
    return []


def _firewall(call: _Call) -> list[Reason]:
    texts = [w.text for w in call.args]
    reading = {"-L", "--list", "-S", "--list-rules", "list", "status", "show", "-n", "-v", "--numeric",
               "--line-numbers", "-t", "--table", "nat", "filter", "mangle", "raw", "ruleset", "tables", "verbose",
               "numbered", "-x", "INPUT", "OUTPUT", "FORWARD"}
    if texts and all(t in reading for t in texts) and set(texts) & {"-L", "--list", "-S", "--list-rules", "list",
                                                                      "status", "show"}:
        return []
    return [call.say("bash.privilege", "changes the firewall")]


def _init(call: _Call) -> list[Reason]:
    return [call.say("bash.privilege", "changes the runlevel")] if call.args else []


# --- handlers: schedulers and services -------------------------------------------------------------


def _crontab(call: _Call) -> list[Reason]:
    texts = [w.text for w in call.args]
    if "-l" in texts:
        return []
    if "-r" in texts:
        return [call.say("bash.destructive", "removes the crontab")]
    return [call.say("bash.persistence", "installs or edits a crontab")]


def _at(call: _Call) -> list[Reason]:
    if any(w.text in ("-l", "-d", "-r", "-c") for w in call.args):
        return []
    return [call.say("bash.persistence", "schedules a command to run later")]


_SYSTEMCTL_ASK = frozenset({"restart", "stop", "start", "reload", "try-restart", "reload-or-restart", "kill",
                            "disable", "mask", "isolate", "try-reload-or-restart", "condrestart", "force-reload"})
_SYSTEMCTL_PERSIST = frozenset({"enable", "link", "edit", "set-default", "add-wants", "add-requires", "preset",
                                "reenable", "revert"})
_SYSTEMCTL_HOST = frozenset({"reboot", "poweroff", "halt", "kexec", "suspend", "hibernate", "rescue", "emergency",
                             "default", "soft-reboot"})


def _systemctl(call: _Call) -> list[Reason]:
    _, operands = _options(call.args, "HMpPtso", ("--host", "--machine", "--property", "--type", "--state"))
    verb = operands[0].text if operands else ""
    if verb in _SYSTEMCTL_PERSIST:
        return [call.say("bash.persistence", f"makes a unit start on its own ({verb})")]
    if verb in _SYSTEMCTL_HOST:
        return [call.say("bash.privilege", f"changes the host's state ({verb})")]
    if verb in _SYSTEMCTL_ASK:
        return [call.say("bash.service", f"{verb}s a service")]
    return []


def _service(call: _Call) -> list[Reason]:
    verbs = {w.text for w in call.args[1:2]}
    if verbs & {"restart", "stop", "start", "reload", "force-reload", "condrestart", "try-restart"}:
        return [call.say("bash.service", "changes a running service")]
    return []


def _launchctl(call: _Call) -> list[Reason]:
    verb = call.args[0].text if call.args else ""
    if verb in ("load", "bootstrap", "enable", "submit"):
        return [call.say("bash.persistence", "registers a launch agent or daemon")]
    if verb in ("unload", "bootout", "stop", "kill", "disable", "remove"):
        return [call.say("bash.service", "stops a launchd job")]
    return []


def _process_manager(verbs: frozenset[str]) -> _Handler:
    def handler(call: _Call) -> list[Reason]:
        if any(w.text in verbs for w in call.args[:2]):
            return [call.say("bash.service", "restarts, stops or removes managed processes")]
        return []

    return handler


# --- handlers: packages ------------------------------------------------------------------------------


def _install(call: _Call) -> list[Reason]:
    words = [call.name] + [w.text for w in call.args if not w.text.startswith("-") or call.name in ("rpm", "dpkg",
                                                                                                     "pacman")]
    for size in (3, 2, 1):
        key = tuple(words[:size])
        if call.name == "pacman" and len(words) > 1:
            key = ("pacman", words[1][:2])
        if key in _INSTALLS:
            return [call.say("bash.install", "installs packages or runs a fetched package")]
    return []


# --- handlers: git -----------------------------------------------------------------------------------

_GIT_GLOBALS = "Cc"
_GIT_GLOBAL_LONGS = ("--git-dir", "--work-tree", "--namespace", "--config-env", "--exec-path", "--super-prefix")
_GIT_RISKY_KEYS = re.compile(r"core\.(?:hookspath|fsmonitor|sshcommand|pager|editor)|alias\.|credential\.helper",
                             re.IGNORECASE)


def _git(call: _Call) -> list[Reason]:
    args = call.args
    i = 0
    found: list[Reason] = []
    while i < len(args) and args[i].text.startswith("-"):
        text = args[i].text
        if text in ("-C", "-c") or text in _GIT_GLOBAL_LONGS:
            if text == "-c" and i + 1 < len(args) and _GIT_RISKY_KEYS.match(args[i + 1].text):
                found.append(call.say("bash.persistence", f"points git at commands it will run ({args[i + 1].text})"))
            i += 2
        else:
            i += 1
    if i >= len(args):
        return found
    sub, rest = args[i].text, args[i + 1 :]
    handler = _GIT_SUBCOMMANDS.get(sub)
    return found + (handler(call, rest) if handler else [])


def _protected_branch(branch: str, policy: Policy) -> bool:
    return any(fnmatchcase(branch, glob) for glob in policy.protected_branches)


def _git_push(call: _Call, args: list[Word]) -> list[Reason]:
    options, operands = _options(args, "o", ("--repo", "--receive-pack", "--exec", "--push-option"))
    names = {name for name, _ in options}
    policy = call.judge.policy
    force = bool(names & {"-f", "--force", "--force-with-lease", "--force-if-includes"})
    delete = bool(names & {"-d", "--delete"})
    if "--mirror" in names:
        return [call.say("bash.history-rewrite", "mirrors: force-updates and deletes every remote branch")]
    refspecs = operands[1:]
    if not refspecs:
        if force:
            return [call.say("bash.history-rewrite", "force-pushes without naming the branch: it may be protected")]
        if "--prune" in names:
            return [call.say("bash.destructive", "deletes remote branches missing locally (--prune)")]
        return []
    found: list[Reason] = []
    for ref in refspecs:
        text = ref.text
        plus = text.startswith("+")
        text = text[1:] if plus else text
        src, colon, dst = text.partition(":")
        dst = dst if colon else src
        deleting = delete or (colon and src == "")
        branch = dst.removeprefix("refs/heads/")
        unknown = not ref.literal or branch in ("", "HEAD", "@") or ref.glob is not None
        protected = unknown or _protected_branch(branch, policy)
        label = "an unknown branch" if unknown else branch
        if deleting:
            rule = "bash.history-rewrite" if protected else "bash.destructive"
            found.append(call.say(rule, f"deletes remote branch {label}"))
        elif force or plus:
            rule = "bash.history-rewrite" if protected else "bash.destructive"
            found.append(call.say(rule, f"force-pushes {label}{' (protected)' if protected else ''}"))
        elif not unknown and protected:
            found.append(call.say("bash.protected-branch", f"pushes straight to protected branch {branch}"))
    return found


def _git_config(call: _Call, args: list[Word]) -> list[Reason]:
    texts = [w.text for w in args]
    reading = {"--get", "--get-all", "--get-regexp", "--list", "-l", "--show-origin", "--show-scope", "--name-only",
               "get", "list", "--get-urlmatch", "--get-color", "--get-colorbool"}
    if set(texts) & reading:
        return []
    positional = [t for t in texts if not t.startswith("-") and t not in ("set", "unset", "edit")]
    writes = len(positional) >= 2 or bool(set(texts) & {"--unset", "--unset-all", "--add", "--replace-all", "-e",
                                                          "--edit", "--remove-section", "--rename-section", "set",
                                                          "unset", "edit"})
    if not writes:
        return []
    if set(texts) & {"--global", "--system"}:
        return [call.say("bash.persistence", "changes git configuration beyond this repository")]
    if positional and _GIT_RISKY_KEYS.match(positional[0]):
        return [call.say("bash.persistence", f"points git at commands it will run ({positional[0]})")]
    return []


def _git_flagged(flags: frozenset[str], message: str, unless: frozenset[str] = frozenset(),
                 positional: frozenset[str] = frozenset()) -> Callable[[_Call, list[Word]], list[Reason]]:
    """A git subcommand that asks when given one of `flags` (or a `positional` word)."""

    def handler(call: _Call, args: list[Word]) -> list[Reason]:
        options, operands = _options(args)
        names = {name for name, _ in options} | {w.text for w in args if w.text.startswith("--")}
        if names & unless:
            return []
        if names & flags or {w.text for w in operands} & positional:
            return [call.say("bash.destructive", message)]
        return []

    return handler


def _git_branch(call: _Call, args: list[Word]) -> list[Reason]:
    options, _ = _options(args)
    names = {name for name, _ in options}
    if "-D" in names or ({"-d", "--delete"} & names and {"-f", "--force"} & names):
        return [call.say("bash.destructive", "force-deletes a branch")]
    return []


def _git_restore(call: _Call, args: list[Word]) -> list[Reason]:
    texts = {w.text for w in args}
    if texts & {"--staged", "-S"} and not texts & {"--worktree", "-W"}:
        return []
    return [call.say("bash.destructive", "discards uncommitted changes")]


def _git_rewrite(call: _Call, args: list[Word]) -> list[Reason]:
    return [call.say("bash.destructive", "rewrites the repository's history")]


def _git_credential(call: _Call, args: list[Word]) -> list[Reason]:
    if args and args[0].text in ("fill", "get"):
        return [call.say("bash.credentials", "prints stored git credentials")]
    return []


_GIT_SUBCOMMANDS: dict[str, Callable[[_Call, list[Word]], list[Reason]]] = {
    "push": _git_push,
    "config": _git_config,
    "reset": _git_flagged(frozenset({"--hard", "--merge"}), "discards commits and uncommitted changes"),
    "clean": _git_flagged(frozenset({"-f", "--force"}), "deletes untracked files", frozenset({"-n", "--dry-run"})),
    "checkout": _git_flagged(frozenset({"-f", "--force"}), "discards uncommitted changes", positional=frozenset({"."})),
    "restore": _git_restore,
    "branch": _git_branch,
    "stash": _git_flagged(frozenset(), "drops stashed changes", positional=frozenset({"drop", "clear"})),
    "reflog": _git_flagged(frozenset(), "expires the reflog", positional=frozenset({"expire", "delete"})),
    "filter-branch": _git_rewrite,
    "filter-repo": _git_rewrite,
    "update-ref": _git_flagged(frozenset({"-d"}), "deletes a ref"),
    "tag": _git_flagged(frozenset({"-d", "--delete"}), "deletes a tag"),
    "credential": _git_credential,
    "credential-store": _git_credential,
}


# --- handlers: infrastructure ------------------------------------------------------------------------


def _terraform(call: _Call) -> list[Reason]:
    texts = [w.text for w in call.args]
    positional = [t for t in texts if not t.startswith("-") and t not in ("run-all", "run", "--all")]
    action = positional[0] if positional else ""
    auto = any(t in ("-auto-approve", "--auto-approve", "-auto-approve=true", "--terragrunt-non-interactive",
                     "--non-interactive") for t in texts)
    destroy = action == "destroy" or (action == "apply" and ("-destroy" in texts or "--destroy" in texts))
    if destroy and auto:
        return [call.say("bash.irreversible", "destroys infrastructure without confirmation")]
    if destroy:
        return [call.say("bash.destructive", "destroys infrastructure")]
    if action == "apply":
        return [call.say("bash.destructive", "changes infrastructure")]
    if action in ("state", "workspace") and positional[1:2] and positional[1] in ("rm", "mv", "push", "delete",
                                                                                 "replace-provider"):
        return [call.say("bash.destructive", f"changes terraform {action}")]
    if action in ("taint", "force-unlock", "untaint"):
        return [call.say("bash.destructive", f"{action}s terraform state")]
    return []


def _pulumi(call: _Call) -> list[Reason]:
    texts = [w.text for w in call.args]
    positional = [t for t in texts if not t.startswith("-")]
    verb = positional[0] if positional else ""
    auto = bool({"--yes", "-y", "--force", "-f"} & set(texts))
    if verb == "destroy" and auto:
        return [call.say("bash.irreversible", "destroys infrastructure without confirmation")]
    if verb in ("destroy", "up", "update", "deploy", "remove") or positional[:2] in (["stack", "rm"],
                                                                                    ["state", "delete"]):
        return [call.say("bash.destructive", "changes or destroys infrastructure")]
    return []


_KUBECTL_VALUES = ("--namespace", "--context", "--cluster", "--kubeconfig", "--user", "--server", "--token",
                   "--as", "--as-group", "--selector", "--filename", "--output", "--container", "--field-selector",
                   "--grace-period", "--timeout", "--replicas", "--type", "--kustomize", "--label-columns",
                   "--template", "--request-timeout", "--cascade", "--for", "--image", "--port", "--overrides")
_NAMESPACE_KINDS = frozenset({"ns", "namespace", "namespaces"})


def _kubectl(call: _Call) -> list[Reason]:
    options, operands = _options(call.args, "nslfockL", _KUBECTL_VALUES)
    names = {name for name, _ in options}
    verb = operands[0].text if operands else ""
    rest = [w.text for w in operands[1:]]
    policy = call.judge.policy

    def protected(namespace: str) -> bool:
        return any(fnmatchcase(namespace.lower(), glob.lower()) for glob in policy.bash.protected_namespaces)

    if verb == "delete":
        namespaces = [w.text for w in _values(options, "-n", "--namespace")]
        targets = []
        if rest and rest[0] in _NAMESPACE_KINDS:
            targets = rest[1:]
        targets += [r.split("/", 1)[1] for r in rest if r.split("/", 1)[0] in _NAMESPACE_KINDS and "/" in r]
        hit = [t for t in targets if protected(t)]
        if hit:
            return [call.say("bash.irreversible", f"deletes protected namespace {hit[0]}")]
        if names & {"--all", "--all-namespaces", "-A"}:
            return [call.say("bash.irreversible", "deletes every resource of a kind (--all / --all-namespaces)")]
        hit = [n for n in namespaces if protected(n)]
        if hit:
            return [call.say("bash.irreversible", f"deletes resources in protected namespace {hit[0]}")]
        return [call.say("bash.destructive", "deletes cluster resources")]
    if verb == "scale" and any(v.text == "0" for v in _values(options, "--replicas")):
        return [call.say("bash.service", "scales a workload to zero")]
    if verb == "drain":
        return [call.say("bash.service", "drains a node")]
    if verb == "rollout" and rest[:1] and rest[0] in ("undo", "restart"):
        return [call.say("bash.service", f"{'rolls back' if rest[0] == 'undo' else 'restarts'} a rollout")]
    if (verb == "replace" and "--force" in names) or (verb == "apply" and "--prune" in names):
        return [call.say("bash.destructive", f"{verb} deletes resources")]
    if verb == "config" and rest[:1] == ["view"] and "--raw" in names:
        return [call.say("bash.credentials", "prints cluster credentials (--raw)")]
    if verb == "get" and rest and rest[0].split("/")[0] in ("secret", "secrets") and _values(options, "-o", "--output"):
        return [call.say("bash.credentials", "prints secret values")]
    if verb == "create" and rest[:1] == ["token"]:
        return [call.say("bash.credentials", "prints a service account token")]
    if verb == "exec" and "--" in [w.text for w in call.args]:
        inner = call.args[[w.text for w in call.args].index("--") + 1 :]
        if inner:
            return call.judge.layer(_Call(inner, call.cmd, call.judge))
    return []


def _helm(call: _Call) -> list[Reason]:
    verb = next((w.text for w in call.args if not w.text.startswith("-")), "")
    if verb in ("uninstall", "delete", "del", "un", "rollback"):
        return [call.say("bash.destructive", f"{'rolls back' if verb == 'rollback' else 'uninstalls'} a release")]
    return []


_DOCKER_VALUES = ("--host", "--context", "--config", "--log-level", "--tlscacert", "--tlscert", "--tlskey")
_DOCKER_GROUPS = frozenset({"container", "image", "volume", "network", "system", "builder", "compose", "buildx"})
_HOST_NAMESPACES = re.compile(r"--(?:pid|ipc|uts|userns|cgroupns)(?:=|\s)host")
_DANGEROUS_CAPS = re.compile(r"--cap-add[= ](?:ALL|SYS_ADMIN|SYS_MODULE|SYS_PTRACE|SYS_RAWIO|DAC_READ_SEARCH)",
                             re.IGNORECASE)
_UNCONFINED = re.compile(r"--security-opt[= ](?:seccomp[=:]unconfined|apparmor[=:]unconfined|label[=:]disable)")


def _docker(call: _Call) -> list[Reason]:
    args = call.args
    i = 0
    while i < len(args) and args[i].text.startswith("-"):  # global options: docker -H host --context x …
        i += 2 if args[i].text in ("-H", "-c", "-l", *_DOCKER_VALUES) else 1
    raw = ([Word("compose")] if call.name == "docker-compose" else []) + args[i:]
    words = [w.text for w in raw]
    skip = 2 if words[:1] and words[0] in _DOCKER_GROUPS and len(words) > 1 else 1
    group, verb = (words[0], words[1]) if skip == 2 else ("", words[0] if words else "")
    rest = raw[skip:]
    flags = {w.text for w in rest}
    if verb in ("run", "create") and group in ("", "container"):
        return _docker_run(call, rest)
    if verb == "exec" and group in ("", "container"):
        _, inner = _options(rest, "euw", ("--env", "--env-file", "--user", "--workdir", "--detach-keys"), stop=True)
        if len(inner) > 1:
            return call.judge.layer(_Call(inner[1:], call.cmd, call.judge))
        return []
    if verb == "prune":
        return [call.say("bash.destructive", f"prunes {group or 'docker'} data")]
    if (verb in ("rm", "rmi") and flags & {"-f", "--force", "-v", "--volumes"}) or (group == "volume" and verb == "rm"):
        return [call.say("bash.destructive", "force-removes containers, images or volumes")]
    if group == "compose" and verb == "down" and flags & {"-v", "--volumes", "--rmi"}:
        return [call.say("bash.destructive", "removes the project's volumes")]
    if verb in ("kill", "restart") or (group == "compose" and verb in ("kill", "restart", "stop")):
        return [call.say("bash.service", f"{verb}s containers")]
    if verb == "login" and flags & {"-p", "--password"}:
        return [call.say("bash.credentials", "puts a password on the command line")]
    return []


def _docker_run(call: _Call, args: list[Word]) -> list[Reason]:
    text = " ".join(w.text for w in args)
    found: list[Reason] = []
    if re.search(r"--privileged(?:=true)?(?:\s|$)", text):
        found.append(call.say("bash.privilege", "runs a privileged container"))
    if _HOST_NAMESPACES.search(text):
        found.append(call.say("bash.privilege", "shares the host's process or user namespace"))
    if _DANGEROUS_CAPS.search(text) or _UNCONFINED.search(text):
        found.append(call.say("bash.privilege", "lifts the container's confinement"))
    options, _ = _options(args, "vep", ("--volume", "--mount", "--env", "--publish", "--name", "--network", "--user",
                                        "--workdir", "--entrypoint", "--device"))
    for name, value in options:
        if value is None or name not in ("-v", "--volume", "--mount", "--device"):
            continue
        if name == "--mount":
            m = re.search(r"(?:source|src)=([^,]+)", value.text)
            source = m.group(1) if m else ""
        else:
            source = value.text.split(":", 1)[0]
        if not source.startswith(("/", "~", ".")):
            continue  # a named volume
        mount = Word(source, value.literal)
        path = _resolved(mount, call.cmd.cwd) or ""
        place = _place(mount, call.cmd.cwd)
        if place <= _Place.DATA or path.endswith("docker.sock") or _credential(mount, call.cmd.cwd) or _device(path):
            found.append(call.say("bash.privilege", f"mounts host path {source} into a container"))
    return found


def _aws(call: _Call) -> list[Reason]:
    options, operands = _options(call.args, "", ("--profile", "--region", "--output", "--endpoint-url", "--query",
                                                 "--cli-input-json", "--color", "--ca-bundle", "--cli-read-timeout"))
    words = [w.text for w in operands]
    service, op = [*words, "", ""][:2]
    flags = {name for name, _ in options}
    if "--dryrun" in flags or "--dry-run" in flags:
        return []
    if service == "s3":
        urls = [w for w in words[2:] if w.startswith("s3://")]
        if op == "rb":
            return [call.say("bash.irreversible" if "--force" in flags else "bash.destructive", "removes a bucket")]
        if op == "rm":
            return [call.say("bash.irreversible" if "--recursive" in flags else "bash.destructive",
                             "deletes objects from S3")]
        if op in ("cp", "sync", "mv") and urls and not words[2].startswith("s3://"):
            return [call.say("bash.remote-write", "uploads local files to S3")]
        if op in ("sync", "mv") and ("--delete" in flags or op == "mv"):
            return [call.say("bash.destructive", "deletes or moves objects")]
        return []
    if service == "configure" and op == "get" and len(words) > 2 and re.search("secret|token|password", words[2], re.I):
        return [call.say("bash.credentials", "prints a secret from the AWS configuration")]
    if (service, op) in (("configure", "export-credentials"), ("sts", "get-session-token"),
                         ("ecr", "get-login-password"), ("codeartifact", "get-authorization-token")):
        if service == "ecr" and call.cmd.downstream and all(_runs(d, frozenset({"docker", "helm", "podman"}))
                                                            for d in call.cmd.downstream):
            return []  # piped straight into `docker login --password-stdin`
        return [call.say("bash.credentials", "prints credentials")]
    if service == "rds" and op in ("delete-db-instance", "delete-db-cluster") and "--skip-final-snapshot" in flags:
        return [call.say("bash.irreversible", "deletes a database without a final snapshot")]
    if re.match(r"(delete|terminate|remove|deregister|purge|destroy|schedule-key-deletion)", op):
        return [call.say("bash.destructive", f"runs {service} {op}")]
    if re.match(r"(stop|reboot)-", op):
        return [call.say("bash.service", f"runs {service} {op}")]
    return []


_GCLOUD_PROTECTED = ("sql", "container", "storage", "spanner", "bigtable", "firestore", "redis", "filestore")


def _gcloud(call: _Call) -> list[Reason]:
    texts = [w.text for w in call.args]
    _, operands = _options(call.args, "", ("--project", "--zone", "--region", "--format", "--account", "--filter",
                                           "--configuration", "--location", "--instance", "--cluster"))
    path = [w.text for w in operands]
    quiet = bool({"--quiet", "-q"} & set(texts))
    if path[:2] in (["auth", "print-access-token"], ["auth", "print-identity-token"]) or \
            path[:3] == ["auth", "application-default", "print-access-token"]:
        return [call.say("bash.credentials", "prints an access token")]
    if path[:2] == ["projects", "delete"]:
        return [call.say("bash.irreversible", "deletes a whole project")]
    if path[:2] == ["storage", "rm"] and {"-r", "--recursive"} & set(texts):
        return [call.say("bash.irreversible", "deletes storage recursively")]
    if "delete" in path or path[:2] == ["storage", "rm"]:
        if quiet and path[:1] and path[0] in _GCLOUD_PROTECTED:
            return [call.say("bash.irreversible", "deletes a data resource without confirmation")]
        return [call.say("bash.destructive", "deletes cloud resources")]
    return []


def _gsutil(call: _Call) -> list[Reason]:
    texts = [w.text for w in call.args if w.text != "-m"]
    verb = texts[0] if texts else ""
    if verb == "rm" and {"-r", "-R", "-a"} & set(texts):
        return [call.say("bash.irreversible", "deletes storage recursively")]
    if verb in ("rm", "rb"):
        return [call.say("bash.destructive", "deletes storage")]
    if verb in ("cp", "rsync", "mv") and len(texts) > 2 and texts[-1].startswith("gs://"):
        return [call.say("bash.remote-write", "uploads local files to cloud storage")]
    return []


_AZ_PROTECTED = (["group"], ["storage", "account"], ["sql", "server"], ["sql", "db"], ["cosmosdb"], ["aks"],
                 ["keyvault"], ["mysql", "server"], ["postgres", "server"], ["postgres", "flexible-server"])


def _az(call: _Call) -> list[Reason]:
    texts = [w.text for w in call.args]
    path = [t for t in texts if not t.startswith("-")]
    if path[:2] == ["account", "get-access-token"]:
        return [call.say("bash.credentials", "prints an access token")]
    if "delete" in path or "purge" in path:
        yes = bool({"--yes", "-y"} & set(texts))
        if yes and any(path[: len(p)] == p for p in _AZ_PROTECTED):
            return [call.say("bash.irreversible", "deletes a resource group or data store without confirmation")]
        return [call.say("bash.destructive", "deletes cloud resources")]
    return []


def _gh(call: _Call) -> list[Reason]:
    options, operands = _options(call.args, "XfFRH", ("--method", "--field", "--raw-field", "--repo",
                                                         "--header", "--input", "--jq", "--hostname"))
    path = [w.text for w in operands]
    flags = {name for name, _ in options}
    if path[:2] == ["auth", "token"] or (path[:2] == ["auth", "status"] and flags & {"-t", "--show-token"}):
        return [call.say("bash.credentials", "prints the GitHub token")]
    if path[:2] == ["repo", "delete"]:
        return [call.say("bash.irreversible", "deletes a repository")]
    if path[:1] == ["api"]:
        method = next((v.text.upper() for v in _values(options, "-X", "--method")), "GET")
        fields = _values(options, "-f", "-F", "--field", "--raw-field")
        query = path[1:2] == ["graphql"] and not any("mutation" in f.text for f in fields)
        if method != "GET" or (not query and (fields or "--input" in flags)):
            return [call.say("bash.remote-write", f"sends {method if method != 'GET' else 'POST'} to the GitHub API")]
        return []
    risky = {("pr", "merge"), ("pr", "close"), ("release", "delete"), ("secret", "set"), ("secret", "delete"),
             ("secret", "remove"), ("variable", "set"), ("variable", "delete"), ("run", "delete"), ("run", "cancel"),
             ("issue", "delete"), ("issue", "close"), ("repo", "archive"), ("repo", "rename"), ("repo", "edit"),
             ("release", "delete-asset"), ("workflow", "disable"), ("cache", "delete")}
    if tuple(path[:2]) in risky:
        return [call.say("bash.remote-write", f"runs gh {path[0]} {path[1]}")]
    return []


# --- handlers: network -------------------------------------------------------------------------------

_CURL_VALUES = "dFTXoHuAebcKxrmwEUYyzCPQtD"
_CURL_LONG_VALUES = ("--data", "--data-binary", "--data-raw", "--data-ascii", "--data-urlencode", "--json", "--form",
                     "--form-string", "--upload-file", "--request", "--output", "--header", "--user", "--user-agent",
                     "--referer", "--cookie", "--cookie-jar", "--config", "--proxy", "--range", "--max-time",
                     "--write-out", "--cert", "--key", "--cacert", "--resolve", "--connect-to", "--output-dir",
                     "--retry", "--connect-timeout", "--url", "--oauth2-bearer")


def _url_name(words: Iterable[Word]) -> str | None:
    for word in words:
        if "://" in word.text:
            try:
                name = posixpath.basename(urlsplit(word.text).path)
            except ValueError:  # not a URL after all (`http://[x`)
                return None
            return name or None
    return None


def _curl(call: _Call) -> list[Reason]:
    options, operands = _options(call.args, _CURL_VALUES, _CURL_LONG_VALUES)
    found: list[Reason] = []
    for name, value in options:
        text = value.text if value is not None else ""
        uploads = (name in ("-d", "--data", "--data-binary", "--data-ascii", "--json") and text.startswith("@")) or \
            (name == "--data-urlencode" and "@" in text and "=" not in text.split("@", 1)[0]) or \
            (name in ("-F", "--form") and re.search(r"=[@<]", text)) or name in ("-T", "--upload-file")
        if uploads:
            found.append(call.say("bash.exfiltration", f"uploads a local file or input ({name} {text})"))
    method = next((v.text.upper() for v in _values(options, "-X", "--request")), None)
    sends = _flag(options, "-d", "--data", "--data-binary", "--data-raw", "--data-ascii", "--data-urlencode",
                  "--json", "-F", "--form", "--form-string")
    if not found and ((method and method not in ("GET", "HEAD", "OPTIONS")) or sends):
        found.append(call.say("bash.remote-write", f"sends {method or 'POST'} to a remote API"))
    for value in _values(options, "-o", "--output"):
        call.judge.fetched.add(posixpath.basename(value.text))
        reason = _write_reason(call, value, "downloads into")
        if reason is not None:
            found.append(reason)
    remote_name = _url_name(operands)
    if _flag(options, "-O", "--remote-name") and remote_name:
        call.judge.fetched.add(remote_name)
    return found


def _wget(call: _Call) -> list[Reason]:
    options, operands = _options(call.args, "OoPaeUTtwQ", ("--output-document", "--output-file", "--post-file",
                                                           "--body-file", "--post-data", "--body-data", "--method",
                                                           "--directory-prefix", "--header", "--user-agent"))
    found: list[Reason] = []
    for value in _values(options, "--post-file", "--body-file"):
        found.append(call.say("bash.exfiltration", f"uploads a local file ({value.text})"))
    method = next((v.text.upper() for v in _values(options, "--method")), None)
    if not found and (_flag(options, "--post-data", "--body-data") or (method and method not in ("GET", "HEAD"))):
        found.append(call.say("bash.remote-write", f"sends {method or 'POST'} to a remote API"))
    outputs = _values(options, "-O", "--output-document")
    for value in outputs:
        if value.text != "-":
            call.judge.fetched.add(posixpath.basename(value.text))
            reason = _write_reason(call, value, "downloads into")
            if reason is not None:
                found.append(reason)
    if not outputs and (name := _url_name(operands)):
        call.judge.fetched.add(name)
    return found


def _remote(word: Word) -> bool:
    """scp/rsync's [user@]host:path (not a local path holding a colon)."""
    text = word.text
    return text.startswith(("rsync://", "scp://", "sftp://")) or (
        re.match(r"(?:[\w.+-]+@)?[\w.-]+::?", text) is not None and not text.startswith(("/", ".", "~")))


_RSYNC_VALUES = ("--rsh", "--filter", "--exclude", "--include", "--exclude-from", "--include-from", "--files-from",
                 "--port", "--password-file", "--log-file", "--temp-dir", "--partial-dir", "--compare-dest",
                 "--copy-dest", "--link-dest", "--backup-dir", "--suffix", "--chmod", "--chown", "--timeout",
                 "--contimeout", "--block-size", "--max-size", "--min-size", "--bwlimit", "--remote-option",
                 "--rsync-path", "--out-format", "--usermap", "--groupmap", "--iconv")


def _copy_remote(call: _Call) -> list[Reason]:
    if call.name == "rsync":
        options, operands = _options(call.args, "efTBM", _RSYNC_VALUES)
    else:
        options, operands = _options(call.args, "cFiJloPSo")
    found: list[Reason] = []
    for code in _values(options, "-e", "--rsh"):
        found += call.judge.code(code, call)
    if len(operands) >= 2 and _remote(operands[-1]) and any(not _remote(w) for w in operands[:-1]):
        found.append(call.say("bash.exfiltration", f"copies local files to a remote host ({operands[-1].text})"))
    elif call.name == "rsync" and any(n.startswith("--delete") for n, _ in options):
        found.append(call.say("bash.destructive", "deletes files at the destination (--delete)"))
    return found


def _stdin_source(cmd: SimpleCommand) -> str | None:
    """What feeds `cmd`'s standard input, when it is data that may leave: 'a file', 'a pipe'."""
    if any(r.reads for r in cmd.redirects):
        return "a file"
    feeders = _feeders(cmd)
    if feeders and not all(_printed(f) is not None for f in feeders):
        return "piped data"
    return None


def _netcat(call: _Call) -> list[Reason]:
    texts = [w.text for w in call.args]
    if set(texts) & {"-e", "-c", "--exec", "--sh-exec", "--lua-exec"}:
        return [call.say("bash.remote-code", "serves a shell over the network")]
    if call.name == "socat":
        lowered = [t.lower() for t in texts]
        if any(t.startswith(("exec:", "system:")) for t in lowered):
            return [call.say("bash.remote-code", "connects a shell to the network")]
        if any(t.startswith(("file:", "open:", "gopen:")) for t in lowered):
            return [call.say("bash.exfiltration", "sends a file over the network")]
    source = _stdin_source(call.cmd)
    if source and "-l" not in texts:
        return [call.say("bash.exfiltration", f"sends {source} over a raw network connection")]
    return []


_SSH_VALUES = "BbcDEeFIiJLlmOoPpQRSWw"


def _ssh(call: _Call) -> list[Reason]:
    options, operands = _options(call.args, _SSH_VALUES, stop=True)
    found: list[Reason] = []
    for value in _values(options, "-o"):
        m = re.match(r"(?i)(?:proxycommand|localcommand)[= ](.*)", value.text)
        if m:
            found += call.judge.code(Word(m.group(1), value.literal, None, value.inner), call)
    source = _stdin_source(call.cmd)
    if source:
        found.append(call.say("bash.exfiltration", f"sends {source} to a remote host"))
    if len(operands) > 1:  # the remote command: judged as if run here (danger is danger)
        remote = operands[1:]
        found += call.judge.code(Word(" ".join(w.text for w in remote), all(w.literal for w in remote), None,
                                      tuple(c for w in remote for c in w.inner)), call)
    return found


def _rclone(call: _Call) -> list[Reason]:
    positional = [w for w in call.args if not w.text.startswith("-")]
    verb = positional[0].text if positional else ""
    if verb in ("purge", "delete", "deletefile", "rmdir", "rmdirs", "cleanup"):
        return [call.say("bash.destructive", f"{verb}s remote files")]
    if verb in ("copy", "sync", "move", "copyto", "moveto") and len(positional) >= 3 and ":" in positional[-1].text:
        return [call.say("bash.remote-write", "uploads files to remote storage")]
    return []


# --- handlers: code runners --------------------------------------------------------------------------


def _script_source(call: _Call, script: Word) -> list[Reason]:
    """A script file a shell or interpreter runs: downloaded earlier, a process substitution, a file."""
    if not script.literal:
        source = _untrusted(script.inner)
        if source:
            return [call.say("bash.remote-code", f"runs a {source} script ({script.text[:60]})")]
        return [call.say("bash.unreadable", f"runs a script known only at run time ({script.text[:60]})")]
    if posixpath.basename(script.text) in call.judge.fetched:
        return [call.say("bash.remote-code", f"runs {script.text}, downloaded earlier in the same command")]
    written = call.judge.written.get(posixpath.basename(script.text))
    if written is not None:  # `echo 'rm -rf ~' > x.sh; bash x.sh`
        call.judge.nested(written, call.cmd)
        return []
    if script.text.startswith(("http://", "https://")):
        return [call.say("bash.remote-code", f"runs a script straight from {script.text}")]
    if script.text in ("/dev/stdin", "-", "/proc/self/fd/0", "/dev/fd/0"):
        return _stdin_code(call, None)
    return []


def _stdin_code(call: _Call, inspect: Callable[[str], list[Reason]] | None) -> list[Reason]:
    """Code a shell or interpreter reads on standard input: a heredoc, a here-string or a pipe.

    `inspect` judges known code; None means shell code (parsed and judged like the command line).
    """
    cmd = call.cmd
    found: list[Reason] = []
    judge = call.judge
    for redirect in cmd.redirects:
        if redirect.op in ("<<", "<<-", "<<<") and redirect.body is not None:
            source = _untrusted(redirect.inner)
            if source:
                found.append(call.say("bash.remote-code", f"runs {source} code from a here-document or here-string"))
            elif inspect is not None:
                found += inspect(redirect.body)
            elif redirect.op == "<<<" and not redirect.body_literal:
                found.append(call.say("bash.unreadable", "runs a here-string known only at run time"))
            else:
                judge.nested(redirect.body, cmd)
        elif redirect.reads and redirect.target is not None:
            found += _script_source(call, redirect.target) if redirect.target.text not in ("/dev/stdin",) else []
    feeders = _feeders(cmd)
    if feeders:
        source = _untrusted(cmd.upstream)
        texts = [_printed(f) for f in feeders]
        if source:
            found.append(call.say("bash.remote-code", f"runs {source} code piped into it"))
        elif all(t is not None for t in texts):
            code = "\n".join(t for t in texts if t is not None)
            if inspect is not None:
                found += inspect(code)
            else:
                judge.nested(code, cmd)
        else:
            shown = " ".join(w.text for w in feeders[0].words)[:60]
            found.append(call.say("bash.unreadable", f"runs code piped from `{shown}`, unknown until run time"))
    return found


def _shell(call: _Call) -> list[Reason]:
    options, operands = _options(call.args, "oO", ("--rcfile", "--init-file"), stop=True)
    names = {name for name, _ in options}
    found: list[Reason] = []
    for rc in _values(options, "--rcfile", "--init-file"):
        found += _script_source(call, rc)
    if "-c" in names:
        if not operands:
            return [*found, call.say("bash.unreadable", "has -c but no code")]
        return found + call.judge.code(operands[0], call)
    if operands and "-s" not in names:
        return found + _script_source(call, operands[0])
    return found + _stdin_code(call, None)


def _source(call: _Call) -> list[Reason]:
    if not call.args:
        return []
    return _script_source(call, call.args[0])


def _eval(call: _Call) -> list[Reason]:
    if not call.args:
        return []
    words = call.args
    joined = Word(" ".join(w.text for w in words), all(w.literal for w in words), None,
                  tuple(c for w in words for c in w.inner))
    return call.judge.code(joined, call)


def _alias(call: _Call) -> list[Reason]:
    """`alias x='rm -rf ~'`: the value is judged as if run (the alias is used later)."""
    found: list[Reason] = []
    for word in call.args:
        _, eq, value = word.text.partition("=")
        if eq and value:
            found += call.judge.code(Word(value, word.literal, None, word.inner), call)
    return found


def _trap(call: _Call) -> list[Reason]:
    args = [w for w in call.args if w.text not in ("--", "-p", "-l")]
    if len(args) >= 2:
        return call.judge.code(args[0], call)
    return []


# Interpreter code: the calls that run shell commands, and patterns of known danger.
_LANGUAGES = {"python": "python", "pypy": "python", "perl": "perl", "ruby": "ruby", "node": "node",
              "nodejs": "node", "php": "php", "deno": "node", "bun": "node", "awk": "awk", "gawk": "awk",
              "mawk": "awk", "nawk": "awk", "lua": "lua"}
_VALUE_OPTIONS = {"python": ("-W", "-X", "-Q"), "node": ("-r", "--require", "--import", "--loader", "--env-file"),
                  "ruby": ("-I", "-r", "-E", "-C"), "php": ("-d", "-c", "-z", "-t"), "perl": ("-I", "-M", "-m", "-x"),
                  "lua": ("-l",)}
_CODE_OPTIONS = {"python": ("-c",), "perl": ("-e", "-E"), "ruby": ("-e",), "node": ("-e", "--eval", "-p", "--print"),
                 "php": ("-r",), "lua": ("-e",)}
_EXEC_CALL = {
    "python": r"(?:\.(?:system|popen\d?|exec[lv]\w*|spawn[lv]\w*)|subprocess\.\w+|commands\.get\w+|pty\.spawn)\s*\(",
    "node": r"(?:\bexec|\bexecSync|\bexecFile|\bexecFileSync|\bspawn|\bspawnSync)\s*\(",
    "perl": r"(?:\bsystem|\bexec)\s*\(?",
    "ruby": r"(?:\bsystem|\bexec|\bspawn|IO\.popen|Open3\.\w+)\s*\(?",
    "php": r"(?:\bsystem|\bexec|\bshell_exec|\bpassthru|\bpopen|\bproc_open|\bpcntl_exec)\s*\(",
    "awk": r"\bsystem\s*\(",
    "lua": r"os\.execute\s*\(|io\.popen\s*\(",
}
_EXEC_RE = {lang: re.compile(pattern) for lang, pattern in _EXEC_CALL.items()}
_STRING = re.compile(r"""\s*(?P<q>['"`])(?P<s>(?:\\.|(?!(?P=q)).)*)(?P=q)""", re.DOTALL)
_LIST = re.compile(r"""\s*,?\s*\[(?P<items>[^\]]*)\]""")
_BACKTICKS = re.compile(r"`([^`]+)`|\b(?:qx|%x)\s*[({\[/|]([^)}\]/|]+)[)}\]/|]")
_REMOVE_TREE = re.compile(r"(?:shutil\.rmtree|\brmtree|remove_tree|\brm_rf|\brm_r|rmSync|rmdirSync|rimraf(?:\.sync)?"
                          r"|removedirs)\s*\(\s*")
_HOME_EXPR = re.compile(r"""(?:Path\.home\(\)|os\.homedir\(\)|Dir\.home|os\.environ\[['"]HOME['"]\]|\$ENV\{HOME\}"""
                        r"""|ENV\[['"]HOME['"]\]|os\.getenv\(['"]HOME['"]\)|process\.env\.HOME)""")
_EXPANDUSER = re.compile(r"""(?:os\.path\.expanduser|File\.expand_path)\(\s*(['"])([^'"]*)\1\s*\)""")
_SOCKET = re.compile(r"socket\.socket|socket\.create_connection|\bnet\.(?:connect|createConnection|Socket)|IO::Socket|"
                     r"TCPSocket|UDPSocket|fsockopen|stream_socket_client|Socket\.new|/dev/tcp/")
_HOST_LITERAL = re.compile(r"""['"]((?:\d{1,3}\.){3}\d{1,3}|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+|localhost|::1)['"]""")
_SHELL_USE = re.compile(r"/bin/(?:ba)?sh|\bdup2\b|pty\.spawn|subprocess|child_process|\bexec\b")
_FETCH = re.compile(r"urlopen|urllib\.request|requests\.get|http\.client|httpx\.get|\bfetch\(|https?\.get\(|LWP::|"
                    r"HTTP::Tiny|open-uri|Net::HTTP|URI\.open|file_get_contents\(\s*['\"]https?:|curl_exec")
_EVAL = re.compile(r"\bexec\s*\(|\beval\s*\(|new\s+Function|vm\.run|\bFunction\s*\(|\bload\s*\(|loadstring")
_DECODED_EVAL = re.compile(r"(?:exec|eval|Function)\s*\(\s*(?:base64\.b64decode|b64decode|atob|Buffer\.from|"
                           r"decode_base64|Base64\.decode64|base64_decode|zlib\.decompress|codecs\.decode|"
                           r"bytes\.fromhex|gzinflate|str_rot13|__import__\(['\"]base64)")
_FORK = re.compile(r"\bfork\b")
_ENDLESS = re.compile(r"while\s*\(?\s*(?:1|true|True)\s*\)?|while\s+fork|fork\s+while|loop\s*(?:do|\{)|"
                      r"for\s*\(\s*;\s*;\s*\)")
_UPLOAD = re.compile(r"requests\.(?:post|put)\([^)]*(?:files\s*=|data\s*=\s*open\()")


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text)


def _exec_strings(code: str, lang: str) -> tuple[list[str], bool]:
    """Shell commands the code runs, and whether some command is built at run time (unknown)."""
    commands: list[str] = []
    unknown = False
    for m in _EXEC_RE[lang].finditer(code):
        rest = code[m.end() :]
        lst = _LIST.match(rest)
        string = _STRING.match(rest)
        if lst and rest.lstrip().startswith("["):
            commands.append(shlex.join(_unescape(s.group("s")) for s in _STRING.finditer(lst.group("items"))))
        elif string:
            first = _unescape(string.group("s"))
            follow = _LIST.match(rest[string.end() :])
            if follow:  # spawn("rm", ["-rf", "/"])
                items = [_unescape(s.group("s")) for s in _STRING.finditer(follow.group("items"))]
                commands.append(shlex.join([first, *items]))
            else:
                commands.append(first)
        else:
            unknown = True
    if lang in ("perl", "ruby", "php"):
        commands += [a or b for a, b in _BACKTICKS.findall(code)]
    if lang == "awk":
        commands += re.findall(r'"([^"]*)"\s*\|\s*getline', code)
        commands += re.findall(r'\|\s*"([^"]*)"', code)
    return commands, unknown


def _inspect_code(call: _Call, code: str, lang: str) -> list[Reason]:
    """Known dangers inside interpreter code: shell commands it runs, credential files, sockets."""
    found: list[Reason] = []
    commands, unknown = _exec_strings(code, lang)
    for command in commands:  # Ruby's "#{x}" interpolates like the shell's ${x}
        call.judge.nested(command.replace("#{", "${") if lang == "ruby" else command, call.cmd)
    if unknown:
        found.append(call.say("bash.unreadable", "runs a shell command built at run time"))
    for m in _REMOVE_TREE.finditer(code):
        rest = code[m.end() :]
        string, expanded, home = _STRING.match(rest), _EXPANDUSER.match(rest), _HOME_EXPR.match(rest)
        target = (expanded.group(2) if expanded else _unescape(string.group("s")) if string
                  else "~" if home else None)
        call.judge.nested(f"rm -rf {shlex.quote(target)}" if target is not None else 'rm -rf "$UNKNOWN"', call.cmd)
    if _CODE_CREDENTIAL.search(code):
        found.append(call.say("bash.credentials", "reads a credential file in its code"))
    if _DECODED_EVAL.search(code):
        found.append(call.say("bash.remote-code", "runs a decoded payload"))
    elif _FETCH.search(code) and _EVAL.search(code):
        found.append(call.say("bash.remote-code", "downloads code and runs it"))
    if _SOCKET.search(code):
        hosts = _HOST_LITERAL.findall(code)
        if _SHELL_USE.search(code):
            found.append(call.say("bash.remote-code", "connects a shell to a socket (reverse shell)"))
        elif not hosts or not all(h == "localhost" or h.startswith("127.") or h == "::1" for h in hosts):
            found.append(call.say("bash.exfiltration", "opens a network socket to another host"))
    if _UPLOAD.search(code):
        found.append(call.say("bash.exfiltration", "uploads a local file"))
    if _FORK.search(code) and _ENDLESS.search(code):
        found.append(call.say("bash.exhaustion", "forks in an endless loop"))
    return found


def _interpreter(call: _Call) -> list[Reason]:
    lang = _LANGUAGES.get(re.sub(r"[\d.]+$", "", call.name), "")
    args = call.args
    if lang == "awk":
        return _awk(call)
    if call.name == "deno" and args and args[0].text in ("eval", "run"):
        return (_code_word(call, args[-1], lang) if args[0].text == "eval" else _script_source(call, args[-1]))
    code_options = _CODE_OPTIONS.get(lang, ())
    found: list[Reason] = []
    saw_code = False
    i = 0
    while i < len(args):
        word, text = args[i], args[i].text
        if not word.literal or not text.startswith("-") or text == "-":
            break  # the script (or `-`: standard input)
        if lang == "python" and text.startswith("-m"):  # python -m pip install …: judge `pip install …`
            module = ([Word(text[2:])] if text[2:] else []) + args[i + 1 :]
            return found + (call.judge.layer(_Call(module, call.cmd, call.judge)) if module else [])
        name, eq, value = text.partition("=")
        if text in _VALUE_OPTIONS.get(lang, ()):
            i += 2
            continue
        if eq and name in code_options:
            found += _code_word(call, Word(value, word.literal), lang)
            saw_code = True
        elif i + 1 < len(args) and any(text == o or (len(o) == 2 and re.fullmatch(rf"-[A-Za-z]*{o[1]}", text))
                                       for o in code_options):
            found += _code_word(call, args[i + 1], lang)
            saw_code = True
            i += 1
        i += 1
    if saw_code:
        return found
    inspect = lambda code: _inspect_code(call, code, lang)  # noqa: E731 - a small closure reads best here
    if i < len(args) and args[i].text != "-":
        return _script_source(call, args[i])
    return _stdin_code(call, inspect)


def _code_word(call: _Call, word: Word, lang: str) -> list[Reason]:
    if word.literal:
        return _inspect_code(call, word.text, lang)
    source = _untrusted(word.inner)
    if source:
        return [call.say("bash.remote-code", f"runs {source} code")]
    return [call.say("bash.unreadable", f"runs code known only at run time ({word.text[:60]})")]


def _awk(call: _Call) -> list[Reason]:
    options, operands = _options(call.args, "Fvf", ("--field-separator", "--assign", "--file", "--source"))
    if _flag(options, "-f", "--file"):
        return []
    programs = _values(options, "--source") + operands[:1]
    return [r for program in programs for r in _code_word(call, program, "awk")]


def _sql(call: _Call) -> list[Reason]:
    option_names = _SQL_CLIENTS[call.name]
    texts: list[str] = []
    if option_names is None:
        texts = [w.text for w in call.args if not w.text.startswith("-")][1 if call.name != "redis-cli" else 0 :]
    else:
        options, _ = _options(call.args, "".join(o[1] for o in option_names if len(o) == 2),
                              [o for o in option_names if o.startswith("--")])
        texts = [w.text for w in _values(options, *option_names)]
    texts += [r.body for r in call.cmd.redirects if r.body is not None]
    texts += [t for f in _feeders(call.cmd) if (t := _printed(f)) is not None]
    if any(_SQL_DESTRUCTIVE.search(t) for t in texts):
        return [call.say("bash.destructive", "runs a query that deletes or drops data")]
    return []


def _credential_command(call: _Call) -> list[Reason]:
    texts = [w.text for w in call.args]
    if call.name == "security" and texts[:1] and texts[0].startswith("find-") and "password" in texts[0]:
        return [call.say("bash.credentials", "reads the keychain")]
    if call.name == "vault" and texts[:2] == ["print", "token"]:
        return [call.say("bash.credentials", "prints the Vault token")]
    if call.name == "heroku" and texts[:1] == ["auth:token"]:
        return [call.say("bash.credentials", "prints the Heroku token")]
    return []


def _ps(call: _Call) -> list[Reason]:
    # BSD-style `ps e`, `ps auxe`, `ps eww`: every process's environment, tokens included.
    if any(re.fullmatch(r"[a-zA-Z]*e[a-zA-Z]*", w.text) for w in call.args[:1]):
        return [call.say("bash.credentials", "prints processes' environments")]
    return []


_TAR_COMMANDS = ("--to-command", "--use-compress-program", "--rsh-command", "--info-script", "--new-volume-script",
                 "-I", "-F")


def _tar(call: _Call) -> list[Reason]:
    """tar runs commands given by option: --checkpoint-action=exec=CMD, --to-command=CMD, -I CMD."""
    options, _ = _options(call.args, "IFfCbHKLNTVX", (*_TAR_COMMANDS, "--file", "--directory", "--exclude"))
    found: list[Reason] = []
    for name, value in options:
        if value is None:
            continue
        if name in _TAR_COMMANDS:
            found += call.judge.code(value, call)
        elif name == "--checkpoint-action" and value.text.startswith("exec="):
            found += call.judge.code(Word(value.text[5:], value.literal, None, value.inner), call)
    return found


def _sudo(call: _Call) -> list[Reason]:
    texts = {w.text for w in call.args}
    what = "opens a root shell" if texts & {"-i", "-s", "--login", "--shell"} else "runs as root"
    return [call.say("bash.privilege", what)]


def _all(*handlers: _Handler) -> _Handler:
    def handler(call: _Call) -> list[Reason]:
        return [r for h in handlers for r in h(call)]

    return handler


_HANDLERS: dict[str, _Handler] = {
    "rm": _rm, "unlink": _rm, "dd": _dd, "shred": _shred, "wipefs": _wipefs, "blkdiscard": _mkfs,
    "mkswap": _mkfs, "mke2fs": _mkfs,
    "fdisk": _disk_tool(frozenset({"-l", "--list"})), "sfdisk": _disk_tool(frozenset({"-l", "--list", "-d", "--dump",
                                                                                      "-J", "--json", "-s"})),
    "parted": _disk_tool(frozenset({"-l", "--list", "print"})), "sgdisk": _disk_tool(frozenset({"-p", "--print",
                                                                                                "-i", "--info"})),
    "gdisk": _disk_tool(frozenset({"-l"})), "cryptsetup": _disk_tool(frozenset({"status", "luksDump", "isLuks"})),
    "chmod": _chmod, "chown": _chmod, "chgrp": _chmod,
    "cp": _write_targets, "mv": _write_targets, "install": _all(_write_targets, _install), "ln": _write_targets,
    "tee": _write_targets, "sed": _write_targets, "truncate": _write_targets,
    "yes": _yes, "cat": _cat, "head": _cat, "tail": _cat, "pv": _cat,
    "env": _env_dump, "printenv": _env_dump, "set": _env_dump, "export": _env_dump, "declare": _env_dump,
    "typeset": _env_dump, "ps": _ps,
    "kill": _kill, "pkill": _kill, "killall": _kill,
    "mount": _mount, "sysctl": _sysctl, "iptables": _firewall, "ip6tables": _firewall, "nft": _firewall,
    "ufw": _firewall, "init": _init, "sudo": _sudo,
    "crontab": _crontab, "at": _at, "batch": _at, "systemctl": _systemctl, "service": _service,
    "launchctl": _launchctl,
    "pm2": _process_manager(frozenset({"restart", "stop", "delete", "kill", "reload"})),
    "supervisorctl": _process_manager(frozenset({"restart", "stop", "remove"})),
    "nginx": _process_manager(frozenset({"stop", "quit", "reload"})),
    "git": _git, "terraform": _terraform, "tofu": _terraform, "terragrunt": _terraform, "pulumi": _pulumi,
    "cdk": _pulumi, "serverless": _pulumi, "sls": _pulumi,
    "kubectl": _kubectl, "oc": _kubectl, "helm": _helm, "docker": _docker, "podman": _docker, "nerdctl": _docker,
    "docker-compose": _docker, "aws": _aws, "gcloud": _gcloud, "gsutil": _gsutil, "az": _az, "gh": _gh,
    "curl": _curl, "wget": _wget, "scp": _copy_remote, "rsync": _all(_copy_remote, _write_targets),
    "nc": _netcat, "ncat": _netcat, "netcat": _netcat, "socat": _netcat, "telnet": _netcat, "ssh": _ssh,
    "rclone": _rclone, "source": _source, ".": _source, "eval": _eval, "alias": _alias, "trap": _trap,
    "tar": _tar, "security": _credential_command, "vault": _credential_command, "heroku": _credential_command,
}
for _name in ("mkfs", "mkfs.ext2", "mkfs.ext3", "mkfs.ext4", "mkfs.xfs", "mkfs.btrfs", "mkfs.vfat", "mkfs.fat",
              "mkfs.ntfs", "mkfs.exfat", "mkntfs", "mkdosfs"):
    _HANDLERS[_name] = _mkfs
for _name in _PRIVILEGED:
    _HANDLERS.setdefault(_name, _privileged)
for _name in _SHELLS:
    _HANDLERS[_name] = _shell
for _name in _SQL_CLIENTS:
    _HANDLERS[_name] = _sql
for _name in ("python", "python2", "python3", "pypy", "pypy3", "perl", "ruby", "node", "nodejs", "php", "deno", "bun",
              "awk", "gawk", "mawk", "nawk", "lua"):
    _HANDLERS[_name] = _interpreter
for _program in {key[0] for key in _INSTALLS} - {"install"}:
    _HANDLERS[_program] = _all(_HANDLERS[_program], _install) if _program in _HANDLERS else _install
_KNOWN_NAMES = frozenset(_HANDLERS) | _SHELLS
_GLOB_SUSPECTS = frozenset({"rm", "dd", "sudo", "su", "sh", "bash", "chmod", "chown", "mkfs", "shred", "curl", "wget",
                            "nc", "python3", "eval"})
