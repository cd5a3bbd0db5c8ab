"""Tool declarations: what a tool is called, takes, returns and touches — one pydantic model each way.

A `ToolSpec` wraps a plain function from `tools/` and carries everything the pipeline and
`tools/list` need; the function itself knows nothing of MCP or of guardrails.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import mcp_types as types
from pydantic import BaseModel

from server.config import Settings, Transport
from server.policy import Policy
from server.rules import Touches

# Claude Code asks its user before a tool marked so; our fallback when a client cannot elicit.
REQUIRES_USER_INTERACTION = "anthropic/requiresUserInteraction"

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)


@dataclass
class ToolEnv:
    """What a running tool may use: settings, policy, and the backends built from them on first use."""

    settings: Settings
    policy: Policy
    transport: Transport = "stdio"
    backends: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ToolSpec(Generic[In, Out]):
    name: str
    title: str
    description: str
    toolset: str
    input_model: type[In]
    output_model: type[Out]
    # Runs with the facts the decision was made on, so a tool acts on exactly what was judged.
    run: Callable[[In, ToolEnv, Touches], Awaitable[Out]]
    read_only: bool
    destructive: bool = False
    idempotent: bool = False
    open_world: bool = False
    # Can a call be asked about (an `ask` rule may apply)? Then hosts must be able to confirm it too.
    may_ask: bool = False
    touches: Callable[[In, ToolEnv], Awaitable[Touches]] | None = None
    # One line saying exactly what a call will do, shown when the user is asked.
    describe: Callable[[In], str] | None = None

    def to_mcp(self) -> types.Tool:
        return types.Tool(
            name=self.name,
            title=self.title,
            description=self.description,
            input_schema=self.input_model.model_json_schema(),
            output_schema=self.output_model.model_json_schema(),
            annotations=types.ToolAnnotations(
                title=self.title,
                read_only_hint=self.read_only,
                destructive_hint=self.destructive or self.may_ask,
                idempotent_hint=self.idempotent,
                open_world_hint=self.open_world,
            ),
            _meta={REQUIRES_USER_INTERACTION: True} if self.may_ask or self.destructive else None,
        )


AnySpec = ToolSpec[Any, Any]


class ToolRegistry:
    """The tools this server instance serves, in a stable order, with their wire form computed once."""

    def __init__(self, specs: Iterable[AnySpec]) -> None:
        self._specs = {spec.name: spec for spec in specs}
        self._listing = [spec.to_mcp() for spec in self._specs.values()]

    def get(self, name: str) -> AnySpec | None:
        return self._specs.get(name)

    def listing(self) -> list[types.Tool]:
        return list(self._listing)

    def names(self) -> list[str]:
        return list(self._specs)
