"""The Linux plumbing under the bash tool: the bubblewrap command line, who the command runs as, and its limits.

Nothing here knows about MCP or about which commands are allowed; a parser-based guard decides that before
`tools.bash` is called.

Who the command runs as:

* A server running as an ordinary user runs bubblewrap as itself; bubblewrap then needs unprivileged user
  namespaces, and the workspace is writable when that user can write it.
* A server running as root never hands root to a command: bubblewrap started by root keeps root's
  capabilities and could remount `/` read-write. The uid is switched before bubblewrap is executed, by
  util-linux's `nsenter -S UID -G GID` (which also drops supplementary groups; `setpriv` when there is no
  namespace to enter; from root to a non-root uid the kernel clears every capability): to the workspace
  owner when that is not root, otherwise `nobody` (65534). Bubblewrap then builds an unprivileged user
  namespace as usual.
* For that root server, nsenter first enters a private mount namespace made once per workspace by a small
  helper process. There the workspace is attached at `HOLDER_WORKSPACE`, reachable by the
  unprivileged uid even when a parent folder (/root, pytest's 0700 temp root) is closed to it. When root
  owns the workspace, that attachment is an *idmapped mount* (Linux 5.12+; ext4, xfs, btrfs, tmpfs...):
  on-disk root shows as `nobody` and what `nobody` writes is stored as root, so the command can build in
  the workspace and every file it leaves behind belongs to the workspace owner. Nothing is mounted in the
  server's own namespace.
"""

from __future__ import annotations

import glob
import math
import os
import resource
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

SANDBOX_HOME = "/home/sandbox"
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# The uid a root server runs a command as when the workspace is root-owned: owns nothing on a normal system.
NOBODY = 65534

# Readable secrets in /etc are hidden even though DAC already denies them to an unprivileged uid: a server run
# by a user in the `shadow` group would otherwise pass that group on to the command.
_MASKED_FILES = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/security/opasswd")
_MASKED_FILE_GLOBS = ("/etc/ssh/ssh_host_*_key",)
_MASKED_DIRS = ("/etc/ssl/private",)
# Workspaces that would unmask or replace what the sandbox is built from.
_FORBIDDEN_WORKSPACE_ROOTS = ("/etc", "/proc", "/sys", "/dev", "/boot", SANDBOX_HOME)


@dataclass(frozen=True)
class Limits:
    """Resource limits for the command, applied by `prlimit` right before bash is executed."""

    memory_mb: int
    cpu_s: float
    file_size_mb: int
    max_processes: int

    def rlimits(self) -> list[tuple[int, int, int]]:
        """(resource, soft, hard), RLIMIT_NPROC aside (see `bwrap_argv`)."""
        cpu = max(1, math.ceil(self.cpu_s))
        return [
            (resource.RLIMIT_AS, self.memory_mb * 2**20, self.memory_mb * 2**20),
            # SIGXCPU at the soft limit, SIGKILL one second later.
            (resource.RLIMIT_CPU, cpu, cpu + 1),
            # So that `yes > file` cannot fill the disk.
            (resource.RLIMIT_FSIZE, self.file_size_mb * 2**20, self.file_size_mb * 2**20),
            # No core files dropped into the workspace.
            (resource.RLIMIT_CORE, 0, 0),
        ]

    def prlimit_args(self, *, nproc: bool) -> list[str]:
        names = {
            resource.RLIMIT_AS: "--as",
            resource.RLIMIT_CPU: "--cpu",
            resource.RLIMIT_FSIZE: "--fsize",
            resource.RLIMIT_CORE: "--core",
        }
        args = [f"{names[which]}={soft}:{hard}" for which, soft, hard in self.rlimits()]
        if nproc:
            args.append(f"--nproc={self.max_processes}:{self.max_processes}")
        return args


@dataclass(frozen=True)
class Identity:
    """The unprivileged uid/gid a root server switches to, and the mount namespace to enter first (if any).

    The namespace fd stays close-on-exec in the server; nsenter opens it through /proc/<server pid>/fd.
    """

    uid: int
    gid: int
    mount_ns_fd: int | None = None
    # Where bubblewrap finds the workspace after entering that namespace; None: at the workspace's own path.
    workspace_source: str | None = None


@dataclass(frozen=True)
class Probe:
    """What `sandbox_status` found, cached for the life of the process."""

    usable: bool
    detail: str
    bwrap: str | None = None
    prlimit: str | None = None
    # Used by a root server to switch uid (and enter the workspace's mount namespace).
    nsenter: str | None = None
    setpriv: str | None = None
    disable_userns: bool = False


def rlimit_preexec(limits: Limits) -> Callable[[], None]:
    """Fallback preexec_fn where prlimit is missing (unsandboxed path only): system calls, nothing else.

    The normal path avoids preexec_fn: without one, Python starts the child with vfork, which stays fast however
    large the server grows (fork copies the page tables: 17 ms against 8 ms for a 210 MB process here).
    """
    rlimits = limits.rlimits()

    def setup() -> None:
        for which, soft, hard in rlimits:
            resource.setrlimit(which, (soft, hard))

    return setup


def switch_prefix(probe: Probe, identity: Identity | None) -> list[str]:
    """The command-line prefix that drops a root server to `identity` before bubblewrap runs."""
    if identity is None:
        return []
    assert probe.nsenter is not None and probe.setpriv is not None
    uid, gid = str(identity.uid), str(identity.gid)
    if identity.mount_ns_fd is not None:
        # nsenter, still root, opens the namespace through the server's own fd table, so the fd is never
        # inherited (bubblewrap would pass it on to the command). -G also drops the supplementary groups.
        ns = f"/proc/{os.getpid()}/fd/{identity.mount_ns_fd}"
        return [probe.nsenter, f"--mount={ns}", "-S", uid, "-G", gid, "--"]
    return [probe.setpriv, f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--inh-caps=-all", "--"]


def check_workspace(workspace: Path) -> str | None:
    """Why this folder cannot be the sandbox's writable workspace, or None when it can."""
    text = str(workspace)
    if text == "/":
        return "the workspace is `/`: everything would be writable; set DEVOPS_MCP_WORKSPACE to a project folder"
    for root in _FORBIDDEN_WORKSPACE_ROOTS:
        if text == root or text.startswith(root + "/"):
            return f"the workspace {text} lies in {root}; set DEVOPS_MCP_WORKSPACE to a project folder"
    return None


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    # On merged-/usr systems /bin, /lib... are symlinks into /usr: recreate them as symlinks.
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    args += ["--ro-bind", "/etc", "/etc"]
    return args


def _masks() -> list[str]:
    files = [path for path in _MASKED_FILES if os.path.lexists(path)]
    for pattern in _MASKED_FILE_GLOBS:
        files += sorted(glob.glob(pattern))
    args: list[str] = []
    for path in files:
        # A read-only bind is mounted nodev, so opening the device node fails: the file cannot be read at all.
        args += ["--ro-bind", "/dev/null", path]
    for path in _MASKED_DIRS:
        if os.path.isdir(path):
            args += ["--tmpfs", path, "--remount-ro", path]
    return args


def bwrap_argv(
    probe: Probe,
    identity: Identity | None,
    *,
    workspace: str | None,
    cwd: str,
    network: bool,
    limits: Limits,
    command: Sequence[str],
) -> list[str]:
    """The full command line: uid switch (root server only), bubblewrap, prlimit, the command.

    The rlimits are set *inside* the sandbox (prlimit runs as the sandbox's first command). For RLIMIT_NPROC
    that is essential: the kernel counts processes per user namespace, so the limit counts only this
    command's processes, not every process the same uid has on the host (a user's desktop session, or
    another command running concurrently).
    """
    assert probe.bwrap is not None and probe.prlimit is not None
    argv = [*switch_prefix(probe, identity), probe.bwrap, "--unshare-all"]
    if network:
        argv.append("--share-net")
    # Explicit, so that --disable-userns is accepted; nested user namespaces are kernel attack surface.
    argv.append("--unshare-user")
    if probe.disable_userns:
        argv.append("--disable-userns")
    # --die-with-parent: bubblewrap's pid-1 reaper gets SIGKILL when the outer bubblewrap dies, which ends the
    # whole PID namespace; --new-session: no TIOCSTI into a terminal the server may have.
    argv += ["--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    argv += _system_binds()
    # Private /tmp, HOME and /dev/shm: the command never sees or touches the host's. Each is a tmpfs of at most
    # `memory_mb`, since tmpfs pages are memory that RLIMIT_AS does not count. /dev itself is made read-only
    # (its device nodes still work) so it cannot be filled either.
    # (S108: these are mount points inside the sandbox, not temporary files on the host.)
    size = str(limits.memory_mb * 2**20)
    shm = ["--size", size, "--tmpfs", "/dev/shm", "--remount-ro", "/dev"]  # noqa: S108  # nosec B108
    argv += ["--proc", "/proc", "--dev", "/dev", *shm]
    argv += ["--size", size, "--tmpfs", "/tmp", "--size", size, "--tmpfs", SANDBOX_HOME]  # noqa: S108  # nosec B108
    if network:
        # Name resolution through systemd-resolved: /etc/resolv.conf may point into /run.
        argv += ["--ro-bind-try", "/run/systemd/resolve", "/run/systemd/resolve"]
    if workspace is not None:
        # After /tmp so that a workspace under /tmp is bound onto the private tmpfs, not hidden by it.
        source = identity.workspace_source if identity is not None else None
        argv += ["--bind", source or workspace, workspace]
    # After the workspace bind, so a workspace cannot cover them.
    argv += _masks()
    # bubblewrap's own root is a writable tmpfs: make it read-only, so only the workspace, /tmp and HOME take
    # writes (the remount is not recursive).
    argv += ["--remount-ro", "/"]
    argv += ["--chdir", cwd, "--", probe.prlimit, *limits.prlimit_args(nproc=True), "--", *command]
    return argv


def probe_identity() -> Identity | None:
    """Who a root server runs the probe as; None when the server is not root (it runs bubblewrap as itself)."""
    return Identity(NOBODY, NOBODY) if os.geteuid() == 0 else None


def _run_probe(probe: Probe, identity: Identity | None) -> subprocess.CompletedProcess[bytes]:
    argv = bwrap_argv(
        probe,
        identity,
        workspace=None,
        cwd="/",
        network=False,
        limits=Limits(memory_mb=256, cpu_s=10, file_size_mb=1, max_processes=16),
        command=["/bin/sh", "-c", ":"],
    )
    return subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env={"PATH": SAFE_PATH, "LANG": "C.UTF-8"},
        timeout=20,
        check=False,
    )


def _probe() -> Probe:
    found = {name: shutil.which(name, path=SAFE_PATH) for name in ("bwrap", "prlimit", "nsenter", "setpriv")}
    bwrap, prlimit, nsenter, setpriv = found.values()
    if bwrap is None:
        return Probe(False, "bubblewrap is not installed (apt-get install bubblewrap)")
    identity = probe_identity()
    needed = ["prlimit"] + (["nsenter", "setpriv"] if identity else [])
    missing = [name for name in needed if found[name] is None]
    if missing:
        return Probe(False, f"{', '.join(missing)} (util-linux) not found; the sandbox needs it")
    who = f"uid {identity.uid}" if identity else f"the server's uid {os.geteuid()}"
    # --disable-userns needs bubblewrap 0.8; older ones still sandbox, without that extra.
    for disable_userns in (True, False):
        candidate = Probe(True, "", bwrap, prlimit, nsenter, setpriv, disable_userns)
        try:
            done = _run_probe(candidate, identity)
        except (OSError, subprocess.SubprocessError) as exc:
            return Probe(False, f"bubblewrap at {bwrap} could not be started: {exc}")
        if done.returncode == 0:
            detail = f"bubblewrap at {bwrap} works: commands run as {who}, no capabilities, no network by default"
            return Probe(True, detail, bwrap, prlimit, nsenter, setpriv, disable_userns)
    why = done.stderr.decode("utf-8", "replace").strip().splitlines()
    return Probe(
        False,
        f"bubblewrap at {bwrap} cannot start a sandbox here ({why[-1] if why else f'exit {done.returncode}'}); "
        "unprivileged user namespaces may be disabled (sysctl kernel.unprivileged_userns_clone, "
        "user.max_user_namespaces, an AppArmor userns restriction, or a container seccomp profile)",
    )


_probe_lock = threading.Lock()
_probe_result: Probe | None = None


def probe() -> Probe:
    """Run the trivial sandboxed command once per process and remember the answer."""
    global _probe_result
    with _probe_lock:
        if _probe_result is None:
            _probe_result = _probe()
        return _probe_result


def cached_probe() -> Probe | None:
    """The answer if `probe` already ran: lets async callers skip a thread hop."""
    return _probe_result


# --- a root server: the workspace in a private mount namespace ---------------------------------------------

# Inside that namespace a small tmpfs covers /tmp and the workspace is attached at this path: bubblewrap,
# already running as the unprivileged uid, can reach it even when a parent folder (say /root) is closed to
# that uid. The sandbox still shows the workspace at its own path; bubblewrap never uses the host's /tmp.
HOLDER_WORKSPACE = "/tmp/workspace"  # noqa: S108  # nosec B108

# Runs in a fresh, single-threaded interpreter (`python -I -S -c`), because unshare(CLONE_NEWNS) must not touch
# the server's own namespace. Arguments: workspace, "idmap" or "plain", uid/gid map text. It prints "ready"
# once the workspace is attached, then waits for stdin to close so the server can open its namespace.
_HOLDER_HELPER = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
L = ctypes.c_long
def check(result, what):
    if result == -1:
        errno = ctypes.get_errno()
        sys.exit(f"{what}: {os.strerror(errno)}")
    return result
ws, kind, id_map = os.fsencode(sys.argv[1]), sys.argv[2], sys.argv[3]
userns = None
if kind == "idmap":
    # A user namespace that only carries the mapping; an open fd keeps it alive after its process exits.
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(ready_r); os.close(go_w)
        if libc.unshare(0x10000000) != 0:
            os._exit(1)
        os.write(ready_w, b"x")
        os.read(go_r, 1)
        os._exit(0)
    os.close(ready_w); os.close(go_r)
    if os.read(ready_r, 1) != b"x":
        sys.exit("could not create a user namespace for the idmapped mount")
    for name in ("uid_map", "gid_map"):
        fd = os.open(f"/proc/{pid}/{name}", os.O_WRONLY)
        os.write(fd, id_map.encode())
        os.close(fd)
    userns = os.open(f"/proc/{pid}/ns/user", os.O_RDONLY)
    os.close(go_w)
    os.waitpid(pid, 0)
# A private mount namespace (slave: later host mounts still show up in it, ours never leak out).
check(libc.unshare(0x00020000), "unshare(CLONE_NEWNS)")
check(libc.mount(None, b"/", None, L(0x4000 | (1 << 19)), None), "mount --make-rslave /")
# OPEN_TREE_CLONE, plus AT_RECURSIVE for a plain bind (an idmap may not apply to every submount's filesystem).
flags = 1 | os.O_CLOEXEC | (0 if userns is not None else 0x8000)
tree = check(libc.syscall(L(428), L(-100), ws, L(flags)), "open_tree")
if userns is not None:
    class Attr(ctypes.Structure):
        _fields_ = [("set", ctypes.c_uint64), ("clr", ctypes.c_uint64), ("prop", ctypes.c_uint64),
                    ("userns", ctypes.c_uint64)]
    attr = Attr(0x00100000, 0, 0, userns)
    check(libc.syscall(L(442), L(tree), b"", L(0x1000), ctypes.byref(attr), L(ctypes.sizeof(attr))),
          "mount_setattr(MOUNT_ATTR_IDMAP)")
check(libc.mount(b"tmpfs", b"/tmp", b"tmpfs", L(2 | 4 | 8), b"mode=0755,size=64k"), "mount tmpfs on /tmp")
os.mkdir(b"/tmp/workspace", 0o755)
check(libc.syscall(L(429), L(tree), b"", L(-100), b"/tmp/workspace", L(4)), "move_mount")
print("ready", flush=True)
sys.stdin.read()
"""

_holder_lock = threading.Lock()
# (workspace, st_dev, st_ino, idmap) -> mount-namespace fd, or the reason it could not be made.
_holder_cache: dict[tuple[str, int, int, bool], int | str] = {}


def _make_holder_namespace(workspace: str, idmap: bool) -> int | str:
    # On-disk root (0) <-> nobody; other ids map to themselves, so their owners still show correctly.
    id_map = f"0 {NOBODY} 1\n1 1 {NOBODY - 1}\n"
    try:
        helper = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _HOLDER_HELPER, workspace, "idmap" if idmap else "plain", id_map],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={"PATH": SAFE_PATH},
        )
    except OSError as exc:
        return f"could not start the mount helper: {exc}"
    assert helper.stdin is not None and helper.stdout is not None and helper.stderr is not None
    try:
        if helper.stdout.readline().strip() == b"ready":
            return os.open(f"/proc/{helper.pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
        helper.stdin.close()
        helper.wait(timeout=10)
        return helper.stderr.read().decode("utf-8", "replace").strip() or f"mount helper exited {helper.returncode}"
    finally:
        if not helper.stdin.closed:
            helper.stdin.close()
        helper.wait(timeout=10)
        helper.stdout.close()
        helper.stderr.close()


def _owner(workspace: Path) -> tuple[int, int, tuple[str, int, int, bool]]:
    st = workspace.stat()
    return st.st_uid, st.st_gid, (str(workspace), st.st_dev, st.st_ino, st.st_uid == 0)


def _identity(uid: int, gid: int, key: tuple[str, int, int, bool], found: int | str) -> tuple[Identity, str | None]:
    idmap = key[3]
    # A root-owned workspace: run as nobody, the idmapped mount makes the workspace nobody's. Otherwise run as
    # the owner (never with gid 0: the root group can read files the owner cannot).
    run_uid, run_gid = (NOBODY, NOBODY) if idmap else (uid, gid if gid != 0 else NOBODY)
    if isinstance(found, int):
        return Identity(run_uid, run_gid, found, HOLDER_WORKSPACE), None
    what = "idmapped mount" if idmap else "private mount of the workspace"
    note = f"the sandbox could not prepare the {what} ({found})"
    if idmap:
        note += (
            "; the workspace is not writable inside the sandbox: run the server as the workspace owner, or chown "
            "the workspace to an unprivileged user"
        )
    return Identity(run_uid, run_gid), note


def cached_identity(workspace: Path) -> tuple[Identity | None, str | None] | None:
    """`workspace_identity`'s answer when it is already known (no helper to start), else None."""
    if os.geteuid() != 0:
        return None, None
    uid, gid, key = _owner(workspace)
    found = _holder_cache.get(key)
    return None if found is None else _identity(uid, gid, key, found)


def workspace_identity(workspace: Path) -> tuple[Identity | None, str | None]:
    """Who runs commands in this (resolved) workspace, and a note when something is degraded.

    A server that is not root runs bubblewrap as itself (None). A root server switches to the workspace owner,
    or to nobody with an idmapped mount when root owns the workspace, after entering a private mount namespace
    prepared once per workspace (blocking, ~16 ms, on first use; cached after that).
    """
    if os.geteuid() != 0:
        return None, None
    uid, gid, key = _owner(workspace)
    with _holder_lock:
        found = _holder_cache.get(key)
        if found is None:
            found = _make_holder_namespace(str(workspace), key[3])
            _holder_cache[key] = found
    return _identity(uid, gid, key, found)
