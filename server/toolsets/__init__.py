"""Assembles the toolsets a server instance serves from its settings (SPEC: MCP surface)."""

from __future__ import annotations

from server.config import Settings
from server.policy import Policy
from server.registry import AnySpec, ToolRegistry
from server.toolsets import bash, github, report, supabase


def build_registry(settings: Settings, policy: Policy, specs: list[AnySpec] | None = None) -> ToolRegistry:
    """The configured toolsets' tools (or `specs`, for tests), less every write tool in read-only mode."""
    if specs is None:
        enabled = settings.configured_toolsets()
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
    return ToolRegistry(specs)
