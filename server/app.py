"""Builds the MCP server: the persona's prompts and resources, and the tools behind one pipeline."""

from __future__ import annotations

import hashlib
from typing import Any

import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.request_state import RequestStateBoundary, RequestStateSecurity

import prompts
from server import __version__, persona
from server.audit import AuditStore, open_audit_store
from server.config import Settings, Transport
from server.pipeline import ToolPipeline
from server.policy import Policy, load_policy
from server.registry import AnySpec, ToolEnv
from server.telemetry import Telemetry
from server.toolsets import build_registry

SERVER_NAME = "devops-engineer-mcp"


def build_server(
    settings: Settings,
    *,
    policy: Policy | None = None,
    audit: AuditStore | None = None,
    specs: list[AnySpec] | None = None,
    telemetry: Telemetry | None = None,
    transport: Transport = "stdio",
) -> Server[Any]:
    """The server for `settings`; tests may pass their own policy, audit store or tool specs."""
    policy = policy if policy is not None else load_policy(settings.policy_path)
    if settings.supabase_project_ref and not policy.scope.supabase_project:
        # SUPABASE_PROJECT_REF is the policy's single-project mode, set from the environment.
        scope = policy.scope.model_copy(update={"supabase_project": settings.supabase_project_ref})
        policy = policy.model_copy(update={"scope": scope})
    registry = build_registry(settings, policy, specs)
    pipeline = ToolPipeline(
        registry,
        ToolEnv(settings=settings, policy=policy, transport=transport),
        policy,
        audit if audit is not None else open_audit_store(settings),
        telemetry,
    )

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=pipeline.registry.listing())

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult | types.InputRequiredResult:
        return await pipeline.call(ctx, params)

    async def list_prompts(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        return types.ListPromptsResult(prompts=persona.list_prompts())

    async def get_prompt(
        ctx: ServerRequestContext[Any], params: types.GetPromptRequestParams
    ) -> types.GetPromptResult:
        return persona.get_prompt(params.name, params.arguments)

    async def list_resources(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=persona.list_resources())

    async def list_resource_templates(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(resource_templates=persona.list_resource_templates())

    async def read_resource(
        ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        return persona.read_resource(str(params.uri))

    server: Server[Any] = Server(
        SERVER_NAME,
        version=__version__,
        title="DevOps engineer",
        instructions=prompts.instructions(),
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
        on_list_resources=list_resources,
        on_list_resource_templates=list_resource_templates,
        on_read_resource=read_resource,
    )
    # Seals the request state of confirmation rounds (2026-07-28) so a client cannot forge one; replicas
    # that share DEVOPS_MCP_STATE_KEY accept each other's rounds.
    security = RequestStateSecurity.ephemeral()
    if settings.state_key is not None:
        key = hashlib.sha256(settings.state_key.get_secret_value().encode()).digest()
        security = RequestStateSecurity(keys=[key], ttl=600.0)
    server.middleware.append(RequestStateBoundary(security, default_audience=SERVER_NAME))
    return server
