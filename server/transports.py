"""stdio and streamable HTTP. Both serve the 2026-07-28 protocol and the 2025 handshake era."""

from __future__ import annotations

from io import TextIOBase
from typing import IO, Any, cast

import anyio
from mcp.server import Server

from server.config import Settings


def serve_stdio(server: Server[Any], stdin: TextIOBase | None = None, stdout: TextIOBase | None = None) -> None:
    """Serve on the process's stdin and stdout, or on the given text files (the fast-start front's pipe)."""
    from mcp.server.stdio import stdio_server

    async def run() -> None:
        read = anyio.wrap_file(cast(IO[str], stdin)) if stdin is not None else None
        write = anyio.wrap_file(cast(IO[str], stdout)) if stdout is not None else None
        async with stdio_server(read, write) as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    anyio.run(run)


def allowed_hosts(host: str, port: int, settings: Settings) -> tuple[list[str], list[str]]:
    """Host and Origin values the DNS-rebinding check accepts: the bound address, loopback, and configured."""
    names = {host, "127.0.0.1", "localhost", "[::1]"}
    hosts = sorted({f"{name}:{port}" for name in names} | {f"{name}:*" for name in names - {host}})
    hosts += list(settings.allowed_hosts)
    origins = sorted(f"http://{entry}" for entry in hosts if "://" not in entry) + list(settings.allowed_origins)
    return hosts, origins


def serve_http(settings: Settings, host: str, port: int) -> None:
    import uvicorn
    from mcp.server.transport_security import TransportSecuritySettings
    from prometheus_client import CollectorRegistry, generate_latest

    from server.app import build_server
    from server.audit import open_audit_store
    from server.errors import ConfigError
    from server.http_app import extra_routes, wrap
    from server.policy import load_policy
    from server.telemetry import PrometheusTelemetry
    from server.toolsets import build_registry
    from tools.bash import sandbox_status

    oauth_extras = settings.oauth_jwks_url or settings.oauth_audience or settings.oauth_scopes
    if settings.oauth_issuer is not None:
        if settings.http_token is not None:
            raise ConfigError("set DEVOPS_MCP_HTTP_TOKEN or DEVOPS_MCP_OAUTH_ISSUER, not both: a static token or OAuth")
        if settings.oauth_audience is None:
            raise ConfigError(
                "DEVOPS_MCP_OAUTH_ISSUER needs DEVOPS_MCP_OAUTH_AUDIENCE, this server's public URL "
                "(e.g. https://devops-mcp.example.com/mcp)"
            )
    elif oauth_extras:
        raise ConfigError("DEVOPS_MCP_OAUTH_* settings are set but DEVOPS_MCP_OAUTH_ISSUER is not; set the issuer URL")
    elif settings.http_token is None and host not in ("127.0.0.1", "localhost", "::1"):
        raise ConfigError(
            f"serving on {host} needs DEVOPS_MCP_HTTP_TOKEN (a bearer token clients must send) "
            "or DEVOPS_MCP_OAUTH_ISSUER (OAuth access tokens)"
        )
    policy = load_policy(settings.policy_path)
    audit = open_audit_store(settings)
    registry = CollectorRegistry(auto_describe=True)
    telemetry = PrometheusTelemetry(
        registry, build_registry(settings, policy).names(), sandbox_available=sandbox_status()[0]
    )
    server = build_server(settings, policy=policy, audit=audit, telemetry=telemetry, transport="http")
    hosts, origins = allowed_hosts(host, port, settings)
    # The SDK turns DNS-rebinding protection on only for loopback hosts; we always set it.
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )
    base = f"http://{host}:{port}"
    # OAuth: the resource is the public URL that tokens name in `aud` (the ingress's, not the bind address).
    resource = settings.oauth_audience or base + "/mcp"
    app = server.streamable_http_app(
        transport_security=security,
        host=host,
        stateless_http=True,
        json_response=True,
        max_request_body_size=policy.http.max_request_bytes,
        custom_starlette_routes=extra_routes(settings, audit, lambda: generate_latest(registry), resource),
    )
    config = uvicorn.Config(
        wrap(app, settings, policy, base),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        # SIGTERM: stop accepting, let in-flight calls finish (and their audit rows land), then exit.
        timeout_graceful_shutdown=30,
    )
    uvicorn.Server(config).run()
