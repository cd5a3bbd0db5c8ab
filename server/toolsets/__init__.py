"""Assembles the toolsets a server instance serves from its settings (SPEC: MCP surface)."""

from __future__ import annotations

from server.config import Settings
from server.policy import Policy
from server.registry import AnySpec, ToolRegistry
from server.toolsets import agent, bash, github, report, supabase


def build_registry(settings: Settings, policy: Policy, specs: list[AnySpec] | None = None) -> ToolRegistry:
    """The configured toolsets' tools (or `specs`, for tests), less every write tool in read-only mode."""
    enabled = settings.configured_toolsets() if specs is None else ()
    if specs is None:
        specs = []
        if "github" in enabled:
            specs.extend(github.SPECS)
        if "supabase" in enabled:
            specs.extend(supabase.specs(policy.scope.supabase_project))
        if "bash" in enabled:
            specs.extend(bash.SPECS)
        if "report" in enabled:
            specs.extend(report.SPECS)
    if settings.read_only:
        # Read-only mode registers no write tool at all, so no client can even ask for one.
        specs = [spec for spec in specs if spec.read_only]
    if "agent" in enabled:
        # Last, after the read-only filter: it reaches exactly the tools above, so it is read-only when they are.
        specs = [*specs, agent.spec(read_only=all(spec.read_only for spec in specs))]
    return ToolRegistry(specs)
