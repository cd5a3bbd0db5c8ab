"""The bash toolset: one shell command, judged by the parser-based guard, run in the sandbox."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from server.registry import AnySpec, ToolEnv, ToolSpec
from server.rules import Touches
from tools.bash import BashResult, SandboxSettings, run_command

# The output budget keeps room for the result's other fields and the fences around stdout and stderr.
_ENVELOPE = 1_500


class BashInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    command: str = Field(min_length=1, max_length=20_000, description="A bash command line")
    cwd: str | None = Field(default=None, description="Folder inside the workspace (relative), default its root")
    timeout_s: float | None = Field(default=None, gt=0, le=3600, description="Default and maximum: the policy's")


def sandbox_settings(env: ToolEnv) -> SandboxSettings:
    bash = env.policy.bash
    # A shared HTTP instance never runs a command unsandboxed unless the policy says so explicitly.
    mode = bash.sandbox or ("required" if env.transport == "http" else "auto")
    return SandboxSettings(
        mode=mode,
        network=bash.network,
        timeout_s=bash.timeout_s,
        memory_mb=bash.memory_mb,
        max_processes=bash.max_processes,
        env_allow=bash.env_allow,
        output_limit=max(1_000, env.policy.output_budget - _ENVELOPE),
        workspace=env.settings.workspace,
    )


async def _touches(args: BashInput, env: ToolEnv) -> Touches:
    return Touches(command=args.command)


async def _run(args: BashInput, env: ToolEnv, touches: Touches) -> BashResult:
    return await run_command(args.command, args.cwd, args.timeout_s, sandbox_settings(env))


def _describe(args: BashInput) -> str:
    where = f" in {args.cwd}" if args.cwd else ""
    return f"run{where}: {args.command}"


SPECS: tuple[AnySpec, ...] = (
    ToolSpec(
        name="bash",
        title="Run a shell command",
        description="Run one bash command in the workspace, inside a sandbox (bubblewrap: unprivileged, read-only "
        "system, writable workspace only, no network unless the policy allows it, process/memory/time limits). "
        "A parser reads every part of the command: irreversible harm, credential reads, exfiltration and remote "
        "code are refused; destructive but legitimate work (terraform apply, kubectl delete, git reset --hard, "
        "package installs) is asked about. Returns exit code, stdout and stderr (capped), duration, and whether "
        "it timed out or ran sandboxed.",
        toolset="bash",
        input_model=BashInput,
        output_model=BashResult,
        run=_run,
        touches=_touches,
        describe=_describe,
        read_only=False,
        may_ask=True,
        open_world=True,
    ),
)
