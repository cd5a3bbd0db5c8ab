"""The bash tool's containment: sandbox (bubblewrap) and the unsandboxed path (`mode="off"`).

Every check that applies to both paths runs on both. The sandbox tests use `mode="required"`, so a broken
sandbox fails them instead of silently falling back; they are skipped only where bubblewrap cannot start a
sandbox at all on this machine.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from server.errors import ToolFailure
from tools import sandbox
from tools.bash import SandboxSettings, run_command, sandbox_status

USABLE, WHY = sandbox_status()
needs_sandbox = pytest.mark.skipif(not USABLE, reason=f"bubblewrap cannot start a sandbox here: {WHY}")
BOTH = [pytest.param("sandbox", marks=needs_sandbox), "off"]
FAKE_TOKEN = "ghp_" + "F4keT0ken" * 4


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    # Under pytest's 0700 /tmp/pytest-of-root when run as root: the sandbox must reach it all the same.
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws


@pytest.fixture
def settings(workspace: Path) -> Callable[..., SandboxSettings]:
    def make(mode: str, **overrides: Any) -> SandboxSettings:
        values: dict[str, Any] = {
            "mode": "required" if mode == "sandbox" else mode,
            "timeout_s": 20.0,
            "memory_mb": 1024,
            "max_processes": 64,
            "output_limit": 20_000,
            "workspace": workspace,
        }
        values.update(overrides)
        return SandboxSettings(**values)

    return make


def marker() -> str:
    # A sleep duration no other process on the machine uses: `pgrep -f` finds exactly what the test started.
    return f"1000.{secrets.randbelow(10**8):08d}"


def running(mark: str) -> list[int]:
    done = subprocess.run(["pgrep", "-f", f"^sleep {mark}$"], capture_output=True, text=True, check=False)
    return [int(pid) for pid in done.stdout.split()]


@pytest.fixture
def cleanup_markers() -> Iterator[list[str]]:
    marks: list[str] = []
    yield marks
    # Only what this test started (unique markers), and only if the code under test let it escape.
    for mark in marks:
        for pid in running(mark):
            os.kill(pid, 9)


# --- results: exit codes, stderr, decoding ------------------------------------------------------------------


@pytest.mark.parametrize("mode", BOTH)
async def test_exit_code_stdout_and_stderr(mode: str, settings: Callable[..., SandboxSettings]) -> None:
    result = await run_command("echo out; echo err >&2; exit 7", None, None, settings(mode))
    assert (result.exit_code, result.stdout, result.stderr) == (7, "out\n", "err\n")
    assert result.sandboxed is (mode == "sandbox")
    assert not result.timed_out and not result.truncated
    assert result.duration_ms > 0


@pytest.mark.parametrize("mode", BOTH)
async def test_death_by_signal_reports_128_plus_signal(mode: str, settings: Callable[..., SandboxSettings]) -> None:
    result = await run_command("kill -TERM $$", None, None, settings(mode))
    assert result.exit_code == 143


@pytest.mark.parametrize("mode", BOTH)
async def test_invalid_utf8_is_replaced(mode: str, settings: Callable[..., SandboxSettings]) -> None:
    result = await run_command(r"printf 'a\377b\n'", None, None, settings(mode))
    assert result.stdout == "a\ufffdb\n"


# --- environment ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", BOTH)
async def test_environment_is_cleared_and_tokens_never_pass(
    mode: str, settings: Callable[..., SandboxSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", FAKE_TOKEN)
    monkeypatch.setenv("SUPABASE_ACCESS_TOKEN", FAKE_TOKEN + "x")
    monkeypatch.setenv("DEVOPS_TEST_SETTING", "visible")
    monkeypatch.setenv("DEVOPS_TEST_OTHER", "hidden")
    # Even a policy that lists a token by name does not get it through.
    conf = settings(mode, env_allow=("DEVOPS_TEST_SETTING", "GITHUB_TOKEN"))
    result = await run_command('env; echo "home=$(ls -A "$HOME" | wc -l)"', None, None, conf)
    assert result.exit_code == 0
    assert FAKE_TOKEN not in result.stdout
    names = {line.split("=", 1)[0] for line in result.stdout.splitlines() if "=" in line} - {"home"}
    # bash itself adds PWD, SHLVL and _.
    assert names <= {"PATH", "HOME", "LANG", "LC_ALL", "TERM", "DEVOPS_TEST_SETTING", "PWD", "SHLVL", "_"}
    assert "DEVOPS_TEST_SETTING=visible" in result.stdout
    assert f"PATH={sandbox.SAFE_PATH}" in result.stdout
    assert "TERM=dumb" in result.stdout and "LC_ALL=C.UTF-8" in result.stdout
    assert "home=0" in result.stdout  # a private, empty HOME
    assert result.note is not None and "GITHUB_TOKEN" in result.note


@pytest.mark.parametrize("mode", BOTH)
async def test_no_descriptor_of_the_server_is_inherited(mode: str, settings: Callable[..., SandboxSettings]) -> None:
    # 0-2, and the one `ls` opens to list the folder.
    result = await run_command("ls /proc/self/fd", None, None, settings(mode))
    assert result.stdout.split() == ["0", "1", "2", "3"]


# --- output cap ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", BOTH)
async def test_five_megabytes_come_back_capped_head_and_tail(
    mode: str, settings: Callable[..., SandboxSettings]
) -> None:
    command = (
        "echo FIRST-LINE; head -c 5000000 /dev/zero | tr '\\0' x; echo; echo LAST-LINE; head -c 1000000 /dev/zero >&2"
    )
    started = time.monotonic()
    result = await run_command(command, None, None, settings(mode, output_limit=10_000))
    assert time.monotonic() - started < 10  # never blocked on a full pipe
    assert result.exit_code == 0 and result.truncated
    assert len(result.stdout) + len(result.stderr) <= 10_000
    assert result.stdout.startswith("FIRST-LINE\nxxx")
    assert result.stdout.endswith("xxx\nLAST-LINE\n")
    assert "characters of stdout cut here" in result.stdout
    assert "characters of stderr cut here" in result.stderr
    assert "out.log" in result.stdout  # the hint: redirect to a file and read it in parts
    start = result.stdout.index("\n[... ")
    end = result.stdout.index("...]\n", start) + len("...]\n")
    cut, _, total = result.stdout[start + len("\n[... ") : end].split(" ")[:3]
    total_chars = len("FIRST-LINE\n") + 5_000_000 + len("\nLAST-LINE\n")
    assert int(total.replace(",", "")) == total_chars
    # What is shown plus what the notice says was cut is everything.
    assert int(cut.replace(",", "")) + len(result.stdout) - (end - start) == total_chars


@pytest.mark.parametrize("mode", BOTH)
async def test_small_output_is_untouched(mode: str, settings: Callable[..., SandboxSettings]) -> None:
    result = await run_command("seq 1 1000", None, None, settings(mode, output_limit=4000))
    assert result.stdout == "".join(f"{n}\n" for n in range(1, 1001))
    assert not result.truncated


# --- timeout and process trees ------------------------------------------------------------------------------


@needs_sandbox
async def test_sandbox_timeout_ends_setsid_and_nohup_grandchildren(
    settings: Callable[..., SandboxSettings], cleanup_markers: list[str]
) -> None:
    a, b, c = marker(), marker(), marker()
    cleanup_markers += [a, b, c]
    # The setsid child closes its output, so only the PID namespace can find it.
    command = f"setsid sleep {a} >/dev/null 2>&1 < /dev/null & nohup sleep {b} >/dev/null 2>&1 & sleep {c}"
    started = time.monotonic()
    result = await run_command(command, None, 1, settings("sandbox"))
    assert result.timed_out and result.exit_code is None
    assert time.monotonic() - started < 5
    await asyncio.sleep(0.3)
    assert running(a) == running(b) == running(c) == []


@needs_sandbox
async def test_sandbox_ends_when_the_server_dies(workspace: Path, tmp_path: Path, cleanup_markers: list[str]) -> None:
    mark = marker()
    cleanup_markers.append(mark)
    script = tmp_path / "server.py"
    script.write_text(
        "import asyncio, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})\n"
        "from tools.bash import SandboxSettings, run_command\n"
        f"settings = SandboxSettings(mode='required', timeout_s=60, workspace={str(workspace)!r})\n"
        f"asyncio.run(run_command('setsid sleep {mark} >/dev/null 2>&1 & sleep {mark}', None, None, settings))\n"
    )
    server = subprocess.Popen([sys.executable, str(script)])
    try:
        for _ in range(100):
            if len(running(mark)) == 2:
                break
            await asyncio.sleep(0.05)
        assert len(running(mark)) == 2
    finally:
        server.kill()
        server.wait()
    await asyncio.sleep(0.3)
    assert running(mark) == []


@needs_sandbox
async def test_sandbox_background_jobs_end_with_the_command(
    settings: Callable[..., SandboxSettings], cleanup_markers: list[str]
) -> None:
    a = marker()
    cleanup_markers.append(a)
    result = await run_command(f"setsid sleep {a} >/dev/null 2>&1 & echo started", None, None, settings("sandbox"))
    assert result.stdout == "started\n" and not result.timed_out
    await asyncio.sleep(0.3)
    assert running(a) == []


async def test_unsandboxed_timeout_ends_the_group_and_pipe_holding_setsid_children(
    settings: Callable[..., SandboxSettings], cleanup_markers: list[str]
) -> None:
    a, b, c = marker(), marker(), marker()
    cleanup_markers += [a, b, c]
    # Without the sandbox, a setsid child is found only through the output pipes it still holds.
    command = f"setsid sleep {a} & nohup sleep {b} >/dev/null 2>&1 & sleep {c}"
    started = time.monotonic()
    result = await run_command(command, None, 1, settings("off"))
    assert result.timed_out and result.exit_code is None
    assert time.monotonic() - started < 5
    await asyncio.sleep(0.3)
    assert running(a) == running(b) == running(c) == []
    assert result.note is not None and "without a sandbox" in result.note


async def test_timeout_is_clamped_to_the_configured_maximum(settings: Callable[..., SandboxSettings]) -> None:
    started = time.monotonic()
    result = await run_command("sleep 30", None, 600, settings("off", timeout_s=1))
    assert result.timed_out and time.monotonic() - started < 5
    with pytest.raises(ToolFailure, match="positive"):
        await run_command("true", None, 0, settings("off"))


# --- limits ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", BOTH)
async def test_rlimits_are_applied(mode: str, settings: Callable[..., SandboxSettings]) -> None:
    conf = settings(mode, memory_mb=512, file_size_mb=8, timeout_s=7, max_processes=48)
    result = await run_command(
        "echo $(ulimit -v) $(ulimit -f) $(ulimit -t) $(ulimit -c) $(ulimit -u)", None, None, conf
    )
    as_kb, fsize_blocks, cpu, core, nproc = result.stdout.split()
    assert (as_kb, fsize_blocks, cpu, core) == (str(512 * 1024), str(8 * 1024), "7", "0")
    if mode == "sandbox":
        assert nproc == "48"


async def test_unsandboxed_limits_without_prlimit_use_the_fallback(
    settings: Callable[..., SandboxSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    import tools.bash

    real_which = tools.bash.shutil.which
    monkeypatch.setattr(
        tools.bash.shutil, "which", lambda name, **kw: None if name == "prlimit" else real_which(name, **kw)
    )
    conf = settings("off", memory_mb=512, file_size_mb=8, timeout_s=7)
    result = await run_command("echo $(ulimit -v) $(ulimit -f) $(ulimit -t) $(ulimit -c)", None, None, conf)
    assert result.stdout.split() == [str(512 * 1024), str(8 * 1024), "7", "0"]


@pytest.mark.parametrize("mode", BOTH)
async def test_file_size_limit_stops_yes_filling_the_disk(
    mode: str, settings: Callable[..., SandboxSettings], workspace: Path
) -> None:
    # head stops at 5 MB, so a regression cannot fill the disk either.
    result = await run_command("yes | head -c 5000000 > big.txt", None, 5, settings(mode, file_size_mb=1))
    assert result.exit_code == 128 + 25  # SIGXFSZ
    assert (workspace / "big.txt").stat().st_size <= 2**20


@pytest.mark.parametrize("mode", BOTH)
async def test_memory_limit_stops_a_large_allocation(mode: str, settings: Callable[..., SandboxSettings]) -> None:
    command = "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo ${#x}"
    result = await run_command(command, None, None, settings(mode, memory_mb=64))
    assert result.exit_code != 0
    assert "200000000" not in result.stdout


@needs_sandbox
async def test_fork_bomb_is_contained(settings: Callable[..., SandboxSettings]) -> None:
    me = psutil.Process()
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            with_children = me.children(recursive=True)
            peak = max(peak, len(with_children))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        # `exec sleep` needs no fork, so the command outlives the bomb until the timeout.
        command = "bomb() { bomb | bomb & }; bomb; exec sleep 30"
        result = await run_command(command, None, 3, settings("sandbox", max_processes=40))
    finally:
        stop.set()
        sampler.join()
    assert result.timed_out
    # The sandbox's processes (bwrap's reaper included) plus the outer bwrap.
    assert 5 < peak <= 40 + 2, peak
    await asyncio.sleep(0.3)
    assert me.children(recursive=True) == []


@needs_sandbox
async def test_process_limit_counts_only_this_command(
    settings: Callable[..., SandboxSettings], cleanup_markers: list[str]
) -> None:
    # 40 processes of the sandbox's uid outside the sandbox, more than the limit: if the limit counted them, the
    # command could not start its 10 children.
    if os.geteuid() != 0:
        pytest.skip("needs root to start processes as the sandbox's uid")
    mark = marker()
    cleanup_markers.append(mark)
    drop = ["setpriv", f"--reuid={sandbox.NOBODY}", f"--regid={sandbox.NOBODY}", "--clear-groups"]
    outside = [subprocess.Popen([*drop, "sleep", mark]) for _ in range(40)]
    try:
        command = "for i in $(seq 10); do sleep 5 & done; ps -e --no-headers | grep -c sleep; kill $(jobs -p)"
        result = await run_command(command, None, None, settings("sandbox", max_processes=30))
        assert result.stdout.split() == ["10"], result
    finally:
        for proc in outside:
            proc.kill()
            proc.wait()


# --- the sandbox's walls -------------------------------------------------------------------------------------------


@needs_sandbox
async def test_cannot_write_outside_the_workspace(
    settings: Callable[..., SandboxSettings], workspace: Path, tmp_path: Path
) -> None:
    host_tmp = Path("/tmp") / f"devops-mcp-test-{secrets.token_hex(6)}"
    targets = ["/usr/evil", "/etc/evil", "/evil", "/var/tmp/evil", "/root/evil", "/home/evil", "/dev/evil", "/work/e"]
    command = "; ".join(f"(echo x > {t}) 2>/dev/null && echo WROTE {t}" for t in targets)
    # Under /tmp (the workspace's parent here) the command writes to its own private tmpfs, never the host's.
    command += f"; echo x > {host_tmp} && echo private-tmp-ok; echo x > {tmp_path}/beside-ws"
    command += "; echo x > ws-file && echo workspace-ok"
    result = await run_command(command, None, None, settings("sandbox"))
    assert "WROTE" not in result.stdout
    assert "private-tmp-ok" in result.stdout and "workspace-ok" in result.stdout
    assert not host_tmp.exists()
    assert not (tmp_path / "beside-ws").exists()
    assert not any(Path(t).exists() for t in targets)
    assert (workspace / "ws-file").read_text() == "x\n"


@needs_sandbox
async def test_private_tmpfs_are_bounded(settings: Callable[..., SandboxSettings]) -> None:
    # tmpfs pages are memory that RLIMIT_AS does not count: /tmp, HOME and /dev/shm hold at most memory_mb.
    command = "for d in /tmp $HOME /dev/shm; do head -c 100M /dev/zero > $d/fill 2>/dev/null; stat -c %s $d/fill; done"
    result = await run_command(command, None, None, settings("sandbox", memory_mb=64))
    assert [int(size) for size in result.stdout.split()] == [64 * 2**20] * 3


@needs_sandbox
async def test_etc_shadow_cannot_be_read(settings: Callable[..., SandboxSettings]) -> None:
    result = await run_command("cat /etc/shadow; cat /etc/gshadow", None, None, settings("sandbox"))
    assert result.exit_code != 0
    assert "root:" not in result.stdout
    assert "Permission denied" in result.stderr or "No such file" in result.stderr


@needs_sandbox
async def test_runs_unprivileged_without_capabilities(settings: Callable[..., SandboxSettings]) -> None:
    result = await run_command(
        "id -u; grep -E '^(CapEff|CapPrm|NoNewPrivs)' /proc/self/status", None, None, settings("sandbox")
    )
    lines = result.stdout.split("\n")
    if os.geteuid() == 0:
        assert lines[0] != "0"
    assert "CapEff:\t0000000000000000" in result.stdout
    assert "CapPrm:\t0000000000000000" in result.stdout
    assert "NoNewPrivs:\t1" in result.stdout


@needs_sandbox
@pytest.mark.parametrize("network", [False, True])
async def test_network_is_off_unless_allowed(settings: Callable[..., SandboxSettings], network: bool) -> None:
    connections = 0

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        command = f"exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected"
        result = await run_command(command, None, 10, settings("sandbox", network=network))
        await asyncio.sleep(0.1)
    finally:
        server.close()
        await server.wait_closed()
    if network:
        assert "connected" in result.stdout and connections == 1
    else:
        assert "connected" not in result.stdout and result.exit_code != 0 and connections == 0


@needs_sandbox
async def test_root_owned_workspace_is_writable_and_files_stay_root_owned(
    settings: Callable[..., SandboxSettings], workspace: Path
) -> None:
    if os.geteuid() != 0:
        pytest.skip("only a root server switches uid; as a user the command runs as that user")
    (workspace / "existing.txt").write_text("old\n")
    result = await run_command(
        "echo new >> existing.txt && mkdir -p out && echo made > out/new.txt && id -u", None, None, settings("sandbox")
    )
    assert result.exit_code == 0, result
    assert result.stdout.strip() == str(sandbox.NOBODY)
    assert (workspace / "existing.txt").read_text() == "old\nnew\n"
    for path in (workspace / "out", workspace / "out" / "new.txt"):
        assert path.stat().st_uid == 0 and path.stat().st_gid == 0


@needs_sandbox
async def test_workspace_owned_by_a_user_runs_as_that_user(
    settings: Callable[..., SandboxSettings], workspace: Path
) -> None:
    if os.geteuid() != 0:
        pytest.skip("only a root server switches uid")
    os.chown(workspace, 4242, 4242)
    result = await run_command("id -u; id -g; echo hi > mine.txt", None, None, settings("sandbox"))
    assert result.stdout.split() == ["4242", "4242"], result
    assert (workspace / "mine.txt").stat().st_uid == 4242


# --- cwd -------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", BOTH)
async def test_cwd_inside_the_workspace(mode: str, settings: Callable[..., SandboxSettings], workspace: Path) -> None:
    (workspace / "sub" / "deeper").mkdir(parents=True)
    (workspace / "inner-link").symlink_to(workspace / "sub")
    conf = settings(mode)
    assert (await run_command("pwd", "sub/deeper", None, conf)).stdout == f"{workspace}/sub/deeper\n"
    assert (await run_command("pwd", "inner-link", None, conf)).stdout == f"{workspace}/sub\n"
    assert (await run_command("pwd", None, None, conf)).stdout == f"{workspace}\n"


@pytest.mark.parametrize("mode", BOTH)
@pytest.mark.parametrize("cwd", ["../", "..", "sub/../..", "/", "/etc", "escape", "escape/x", "missing"])
async def test_cwd_escapes_are_refused(
    mode: str, cwd: str, settings: Callable[..., SandboxSettings], workspace: Path, tmp_path: Path
) -> None:
    (workspace / "sub").mkdir()
    (tmp_path / "x").mkdir()
    (workspace / "escape").symlink_to(tmp_path)
    with pytest.raises(ToolFailure, match="workspace"):
        await run_command("pwd", cwd, None, settings(mode))


# --- without bubblewrap ---------------------------------------------------------------------------------------------


async def test_required_mode_without_bubblewrap_says_how_to_fix(
    settings: Callable[..., SandboxSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox, "_probe_result", sandbox.Probe(False, "bubblewrap is not installed"))
    with pytest.raises(ToolFailure, match=r"apt-get install bubblewrap.*bash\.sandbox = \"auto\""):
        await run_command("true", None, None, settings("required"))


async def test_auto_mode_without_bubblewrap_runs_unsandboxed_and_says_so(
    settings: Callable[..., SandboxSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox, "_probe_result", sandbox.Probe(False, "bubblewrap is not installed"))
    result = await run_command("echo hi", None, None, settings("auto"))
    assert result.stdout == "hi\n" and not result.sandboxed
    assert result.note is not None and "ran without a sandbox: bubblewrap is not installed" in result.note


def test_sandbox_status_is_a_one_line_answer() -> None:
    usable, detail = sandbox_status()
    assert isinstance(usable, bool) and detail and "\n" not in detail
    assert sandbox_status() == (usable, detail)  # cached


async def test_system_folders_cannot_be_the_workspace(settings: Callable[..., SandboxSettings]) -> None:
    if not USABLE:
        pytest.skip(f"bubblewrap cannot start a sandbox here: {WHY}")
    for folder in ("/", "/etc"):
        with pytest.raises(ToolFailure, match="DEVOPS_MCP_WORKSPACE"):
            await run_command("true", None, None, settings("sandbox", workspace=Path(folder)))
