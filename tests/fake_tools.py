"""Tool specs made for the guardrail tests: each declares what it touches, none judges itself."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from server.registry import AnySpec, ToolEnv, ToolSpec
from server.rules import FileWrite, Touches
from tools.untrusted import Untrusted

RUNS: list[str] = []  # the tools that actually ran, in order: "nothing happened" is checkable


class EchoIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str
    size: int = Field(default=0, ge=0, description="pad the output to this many characters")


class EchoOut(BaseModel):
    echoed: Annotated[str, Untrusted("test:echo")]
    note: str


async def _echo(args: EchoIn, env: ToolEnv, touches: Touches) -> EchoOut:
    RUNS.append("echo")
    return EchoOut(echoed=args.text + "x" * args.size, note=args.text)


class WriteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    repo: str
    branch: str
    path: str
    content: str = ""


class WriteOut(BaseModel):
    written: str


async def _write(args: WriteIn, env: ToolEnv, touches: Touches) -> WriteOut:
    RUNS.append("write")
    return WriteOut(written=f"{args.repo}@{args.branch}:{args.path}")


async def _write_touches(args: WriteIn, env: ToolEnv) -> Touches:
    return Touches(
        repository=args.repo,
        branch=args.branch,
        protected_branches=("trunk",),  # as if the repository's default branch were `trunk`
        files=(FileWrite(path=args.path, text=args.content),),
    )


class WipeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: str


async def _wipe(args: WipeIn, env: ToolEnv, touches: Touches) -> WriteOut:
    RUNS.append("wipe")
    return WriteOut(written=f"wiped {args.target}")


class CrashIn(BaseModel):
    model_config = ConfigDict(extra="forbid")


async def _crash(args: CrashIn, env: ToolEnv, touches: Touches) -> EchoOut:
    RUNS.append("crash")
    raise RuntimeError("boom with " + "gh" + "p_" + "A" * 36)


SPECS: list[AnySpec] = [
    ToolSpec(
        name="echo", title="Echo", description="Echo text", toolset="test",
        input_model=EchoIn, output_model=EchoOut, run=_echo, read_only=True,
    ),
    ToolSpec(
        name="write", title="Write a file", description="Write one file", toolset="test",
        input_model=WriteIn, output_model=WriteOut, run=_write, read_only=False, may_ask=True,
        touches=_write_touches,
    ),
    ToolSpec(
        name="wipe", title="Wipe", description="Irreversible", toolset="test",
        input_model=WipeIn, output_model=WriteOut, run=_wipe, read_only=False, destructive=True,
        describe=lambda args: f"wipe {args.target} for good",
    ),
    ToolSpec(
        name="crash", title="Crash", description="Raises", toolset="test",
        input_model=CrashIn, output_model=EchoOut, run=_crash, read_only=True,
    ),
]  # fmt: skip
