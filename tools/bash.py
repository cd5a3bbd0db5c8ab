"""Run one shell command in a sandbox, bounded, and report what happened.

This module knows nothing about MCP and nothing about which commands are allowed: a parser-based guard has
already judged the command. Its job is containment: a bubblewrap sandbox where one works (see
`tools.sandbox`), a cleared environment, resource limits, a timeout that ends the whole process tree, and
output capped to a budget without ever blocking the command on a full pipe.

Without bubblewrap (`mode="auto"` on a machine where it does not work, or `mode="off"`), the command runs as
`bash -c` as the server's own user, with the same environment, rlimits and cwd, in its own session. When it
exits or times out, its process group is killed, and so is any process still holding its output pipes (a
`setsid` child that kept stdout). A child that calls `setsid` *and* closes or redirects its output escapes
that path; only the sandbox's PID namespace closes that gap. RLIMIT_NPROC is not applied there either: the
kernel counts it per user across the whole host (and exempts root), so it cannot bound one command.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from server.errors import ToolFailure
from tools import sandbox
from tools.untrusted import Untrusted

# How long to wait for the pipes to close once the command has exited or been killed: in the sandbox the PID
# namespace is gone by then; outside it a straggler that left the process group may hold them open.
_PIPE_GRACE_S = 0.1
# UTF-8 continuation bytes: deleting them from a chunk leaves one byte per character, whatever the chunking.
_CONTINUATION = bytes(range(0x80, 0xC0))
# Names env_allow may not pass on, whatever the policy says: secrets never reach a bash child.
_SECRET_NAME = re.compile(
    r"TOKEN|SECRET|PASSW|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIAL|AUTH|COOKIE|SESSION", re.IGNORECASE
)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class SandboxSettings(BaseModel):
    mode: Literal["auto", "required", "off"] = "auto"
    network: bool = False
    timeout_s: float = Field(default=120.0, gt=0)
    memory_mb: int = Field(default=2048, gt=0)
    max_processes: int = Field(default=256, gt=0)
    # RLIMIT_FSIZE: the largest file a command may write, so `yes > file` cannot fill the disk.
    file_size_mb: int = Field(default=1024, gt=0)
    env_allow: tuple[str, ...] = ()
    # Characters of stdout + stderr returned, notices included.
    output_limit: int = Field(default=20_000, gt=0)
    workspace: Path = Field(default_factory=Path.cwd)


class BashResult(BaseModel):
    # None when the command was killed by the timeout; 128+N when it died of signal N (the shell's convention).
    exit_code: int | None
    stdout: Annotated[str, Untrusted("bash:stdout")]
    stderr: Annotated[str, Untrusted("bash:stderr")]
    duration_ms: float
    timed_out: bool
    sandboxed: bool
    truncated: bool
    note: str | None = None


class _Capture:
    """One stream's output: the first and the last `keep` bytes, and how much went by.

    Memory stays below 3 * keep bytes however much the command writes, and feeding never blocks, so the
    command never stalls on a full pipe.
    """

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.head = bytearray()
        self.tail = bytearray()
        self.total_bytes = 0
        self.total_chars = 0

    def feed(self, data: bytes) -> None:
        self.total_bytes += len(data)
        self.total_chars += len(data.translate(None, _CONTINUATION))
        room = self.keep - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            # Trim only once the tail is twice its size, so trimming costs O(1) per byte fed.
            if len(self.tail) > 2 * self.keep:
                del self.tail[: len(self.tail) - self.keep]

    def texts(self) -> tuple[str, str, int]:
        """(head, tail, characters that were neither kept in head nor in tail)."""
        if self.total_bytes == len(self.head) + len(self.tail):
            return (bytes(self.head + self.tail).decode("utf-8", "replace"), "", 0)
        # The head may end inside a character and the tail may start inside one: drop those partial bytes.
        head = codecs.getincrementaldecoder("utf-8")("replace").decode(bytes(self.head), final=False)
        skip = 0
        while skip < min(3, len(self.tail)) and 0x80 <= self.tail[skip] < 0xC0:
            skip += 1
        tail = bytes(self.tail[skip:]).decode("utf-8", "replace")
        return head, tail, max(0, self.total_chars - len(head) - len(tail))


def _notice(stream: str, cut: int, total: int) -> str:
    return (
        f"\n[... {cut:,} of {total:,} characters of {stream} cut here. To see all of it, redirect the output to "
        f"a file in the workspace (`cmd > out.log 2>&1`) and read it in parts (`head`, `tail`, `grep`, "
        f"`sed -n '100,200p' out.log`). ...]\n"
    )


def _shape(name: str, head: str, tail: str, cut: int, budget: int) -> tuple[str, bool]:
    """Fit one stream into `budget` characters (notice included), keeping its head and its tail."""
    total = len(head) + len(tail) + cut
    if cut == 0 and total <= budget:
        return head + tail, False
    if cut == 0:
        # One contiguous text: treat its two halves as head and tail.
        whole = head + tail
        head, tail = whole[: len(whole) // 2], whole[len(whole) // 2 :]
    # Reserve room for the notice, sized with the largest number it could show.
    room = max(0, budget - len(_notice(name, total, total)))
    keep_tail = min(len(tail), room // 2)
    keep_head = min(len(head), room - keep_tail)
    keep_tail = min(len(tail), room - keep_head)
    shown_tail = tail[len(tail) - keep_tail :] if keep_tail else ""
    return head[:keep_head] + _notice(name, total - keep_head - keep_tail, total) + shown_tail, True


def _cap_output(out: _Capture, err: _Capture, limit: int) -> tuple[str, str, bool]:
    """Cap stdout + stderr to `limit` characters in all, each keeping its head and tail."""
    out_head, out_tail, out_cut = out.texts()
    err_head, err_tail, err_cut = err.texts()
    out_len = len(out_head) + len(out_tail) + out_cut
    err_len = len(err_head) + len(err_tail) + err_cut
    if out_len + err_len <= limit and out_cut == err_cut == 0:
        return out_head + out_tail, err_head + err_tail, False
    # A short stream keeps all of itself; the other gets the rest. Both long: half each.
    half = limit // 2
    if err_len <= half:
        err_budget = err_len
    elif out_len <= half:
        err_budget = limit - out_len
    else:
        err_budget = half
    stdout, cut_out = _shape("stdout", out_head, out_tail, out_cut, limit - err_budget)
    stderr, cut_err = _shape("stderr", err_head, err_tail, err_cut, err_budget)
    return stdout, stderr, cut_out or cut_err


class _PipeReader(asyncio.Protocol):
    """Feeds a pipe into a `_Capture` as data arrives (no buffering, no back-pressure on the command)."""

    def __init__(self, sink: _Capture, closed: asyncio.Future[None]) -> None:
        self.sink = sink
        self.closed = closed

    def data_received(self, data: bytes) -> None:
        self.sink.feed(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


def child_environment(env_allow: Sequence[str], home: str, parent: Mapping[str, str]) -> tuple[dict[str, str], str]:
    """The command's whole environment, and a note naming allowed variables that were refused."""
    env = {"PATH": sandbox.SAFE_PATH, "HOME": home, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TERM": "dumb"}
    refused: list[str] = []
    for name in env_allow:
        if name in env or name not in parent:
            continue
        if not _ENV_NAME.match(name) or _SECRET_NAME.search(name):
            refused.append(name)
            continue
        env[name] = parent[name]
    note = f"not passed to the command (secret-like names): {', '.join(refused)}" if refused else ""
    return env, note


def _resolve_workspace(workspace: Path) -> Path:
    try:
        resolved = workspace.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise ToolFailure(f"the workspace {workspace} does not exist ({exc}); set DEVOPS_MCP_WORKSPACE") from exc
    if not resolved.is_dir():
        raise ToolFailure(f"the workspace {resolved} is not a folder; set DEVOPS_MCP_WORKSPACE to a folder")
    return resolved


def _resolve_cwd(workspace: Path, cwd: str | None) -> Path:
    if not cwd:
        return workspace
    if "\0" in cwd:
        raise ToolFailure("cwd holds a NUL character; give a folder inside the workspace")
    try:
        # resolve() follows symlinks, so a link inside the workspace that points out of it is caught too.
        target = (workspace / cwd).resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise ToolFailure(f"cwd {cwd!r} does not exist in the workspace {workspace}") from exc
    if not target.is_relative_to(workspace):
        raise ToolFailure(
            f"cwd {cwd!r} resolves to {target}, outside the workspace {workspace}; "
            "give a folder inside the workspace (relative to it)"
        )
    if not target.is_dir():
        raise ToolFailure(f"cwd {cwd!r} is not a folder in the workspace {workspace}")
    return target


def _effective_timeout(timeout_s: float | None, settings: SandboxSettings) -> float:
    if timeout_s is None:
        return settings.timeout_s
    if not timeout_s > 0:
        raise ToolFailure(f"timeout_s must be a positive number of seconds (at most {settings.timeout_s:g})")
    return min(timeout_s, settings.timeout_s)


def _kill_group(pgid: int) -> None:
    # The child was started in its own session, so its pid is its process group id.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _kill_pipe_holders(inodes: set[int]) -> None:
    """SIGKILL every process that has one of these pipes open (that this uid may see and signal)."""
    wanted = {f"pipe:[{inode}]" for inode in inodes}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            holds = any(os.readlink(fd.path) in wanted for fd in os.scandir(f"/proc/{entry.name}/fd"))
        except OSError:
            continue
        if holds:
            with contextlib.suppress(OSError):
                os.kill(int(entry.name), signal.SIGKILL)


async def _sandbox_probe() -> sandbox.Probe:
    found = sandbox.cached_probe()
    return found if found is not None else await asyncio.to_thread(sandbox.probe)


def sandbox_status() -> tuple[bool, str]:
    """Is bubblewrap usable here, and a one-line explanation (for `devops-mcp doctor`). Cached."""
    found = sandbox.probe()
    return found.usable, found.detail


async def _spawn_and_wait(
    argv: Sequence[str],
    *,
    env: dict[str, str],
    cwd: str,
    setup: Callable[[], None] | None,
    limit_s: float,
    output_limit: int,
    end_group: bool,
) -> tuple[int | None, _Capture, _Capture, bool, bool]:
    """Run argv; return (returncode, stdout, stderr, timed_out, pipes_abandoned).

    `end_group`: kill the process group once the command exits (the unsandboxed path; in the sandbox, the end
    of bubblewrap's PID namespace already took everything).
    """
    loop = asyncio.get_running_loop()
    out, err = _Capture(output_limit), _Capture(output_limit)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out_w,
            stderr=err_w,
            cwd=cwd,
            env=env,
            # Its own session: signals to the server's terminal group do not reach it, and killpg reaches
            # everything it starts that does not call setsid.
            start_new_session=True,
            # None on the normal path, so that Python spawns with vfork (see sandbox.rlimit_preexec).
            preexec_fn=setup,
        )
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        os.close(out_r)
        os.close(err_r)
        raise ToolFailure(f"could not start the command: {exc}") from exc
    except BaseException:
        os.close(out_r)
        os.close(err_r)
        raise
    finally:
        os.close(out_w)
        os.close(err_w)

    closed = [loop.create_future(), loop.create_future()]
    pipe_inodes = {os.fstat(out_r).st_ino, os.fstat(err_r).st_ino}
    pipes = [os.fdopen(out_r, "rb", buffering=0), os.fdopen(err_r, "rb", buffering=0)]
    transports: list[asyncio.ReadTransport] = []
    try:
        for pipe, sink, done in zip(pipes, (out, err), closed, strict=True):
            transport, _ = await loop.connect_read_pipe(partial(_PipeReader, sink, done), pipe)
            transports.append(transport)
        timed_out = False
        try:
            await asyncio.wait_for(proc.wait(), limit_s)
        except TimeoutError:
            timed_out = True
        if timed_out or end_group:
            # Whatever is left of the command's process group goes too: background jobs end with the command,
            # as they do in the sandbox when its PID namespace ends. A group outlives its leader while members
            # remain, so its id cannot have been reused for another process's group meanwhile.
            _kill_group(proc.pid)
        await proc.wait()
        # asyncio.wait, not wait_for: a timeout must not cancel the futures tested below.
        _, pending = await asyncio.wait(closed, timeout=_PIPE_GRACE_S)
        if pending:
            # Something that left the process group (setsid) still holds the pipes. Only the command's own
            # descendants can hold them, so find them by the pipes and end them too.
            await asyncio.to_thread(_kill_pipe_holders, pipe_inodes)
            _, pending = await asyncio.wait(closed, timeout=5 * _PIPE_GRACE_S)
        abandoned = bool(pending)
    finally:
        for transport in transports:
            transport.close()
        # Pipes not yet handed to a transport (connect_read_pipe failed) are still ours to close.
        for pipe in pipes[len(transports) :]:
            pipe.close()
        if proc.returncode is None:
            _kill_group(proc.pid)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    return proc.returncode, out, err, timed_out, abandoned


async def run_command(command: str, cwd: str | None, timeout_s: float | None, settings: SandboxSettings) -> BashResult:
    """Run `command` with bash in the workspace, sandboxed where possible, and report what happened.

    Raises ToolFailure for a cwd outside the workspace, a bad timeout, or `mode="required"` without a usable
    sandbox.
    """
    workspace = _resolve_workspace(settings.workspace)
    work_dir = _resolve_cwd(workspace, cwd)
    timeout = _effective_timeout(timeout_s, settings)
    limits = sandbox.Limits(settings.memory_mb, timeout, settings.file_size_mb, settings.max_processes)
    notes: list[str] = []

    probe: sandbox.Probe | None = None
    if settings.mode == "off":
        notes.append('ran without a sandbox: bash.sandbox is "off"')
    else:
        probe = await _sandbox_probe()
        if not probe.usable:
            if settings.mode == "required":
                raise ToolFailure(
                    f'bash.sandbox is "required" but the sandbox is not usable: {probe.detail}. '
                    'Install bubblewrap (apt-get install bubblewrap) or set bash.sandbox = "auto" in the policy '
                    "file to run commands unsandboxed."
                )
            notes.append(f"ran without a sandbox: {probe.detail}")
            probe = None

    started = time.perf_counter()
    private_home: str | None = None
    try:
        if probe is not None:
            problem = sandbox.check_workspace(workspace)
            if problem is not None:
                raise ToolFailure(problem)
            found = sandbox.cached_identity(workspace)
            identity, ws_note = (
                found if found is not None else await asyncio.to_thread(sandbox.workspace_identity, workspace)
            )
            if ws_note:
                notes.append(ws_note)
            env, env_note = child_environment(settings.env_allow, sandbox.SANDBOX_HOME, os.environ)
            argv = sandbox.bwrap_argv(
                probe,
                identity,
                workspace=str(workspace),
                cwd=str(work_dir),
                network=settings.network,
                limits=limits,
                command=["bash", "-c", command],
            )
            spawn_cwd = "/"
            setup = None
        else:
            bash = shutil.which("bash", path=sandbox.SAFE_PATH)
            if bash is None:
                raise ToolFailure("bash is not installed on this machine")
            # A private, empty HOME, as in the sandbox; removed afterwards.
            private_home = tempfile.mkdtemp(prefix="devops-mcp-home-")
            env, env_note = child_environment(settings.env_allow, private_home, os.environ)
            prlimit = shutil.which("prlimit", path=sandbox.SAFE_PATH)
            if prlimit is not None:
                argv, setup = [prlimit, *limits.prlimit_args(nproc=False), "--", bash, "-c", command], None
            else:
                argv, setup = [bash, "-c", command], sandbox.rlimit_preexec(limits)
            spawn_cwd = str(work_dir)
        if env_note:
            notes.append(env_note)
        returncode, out, err, timed_out, abandoned = await _spawn_and_wait(
            argv,
            env=env,
            cwd=spawn_cwd,
            setup=setup,
            limit_s=timeout,
            output_limit=settings.output_limit,
            end_group=probe is None,
        )
    finally:
        if private_home is not None:
            shutil.rmtree(private_home, ignore_errors=True)
    duration_ms = (time.perf_counter() - started) * 1000

    if abandoned:
        notes.append(
            "a background process that left the command's process group kept its output open and could not be "
            "ended; stopped reading its output"
        )
    if timed_out:
        notes.append(f"timed out after {timeout:g} s; the command and everything it started were killed")
    exit_code: int | None = None
    if not timed_out and returncode is not None:
        exit_code = 128 - returncode if returncode < 0 else returncode
    stdout, stderr, truncated = _cap_output(out, err, settings.output_limit)
    return BashResult(
        exit_code=exit_code,
        stdout=stdout,
        stderr=stderr,
        duration_ms=round(duration_ms, 3),
        timed_out=timed_out,
        sandboxed=probe is not None,
        truncated=truncated,
        note="; ".join(notes) or None,
    )
