"""stdio and streamable HTTP. Both serve the 2026-07-28 protocol and the 2025 handshake era."""

from __future__ import annotations

from typing import Any

import anyio
from mcp.server import Server


def serve_stdio(server: Server[Any]) -> None:
    from mcp.server.stdio import stdio_server

    async def run() -> None:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    anyio.run(run)


def allowed_hosts(host: str, port: int) -> tuple[list[str], list[str]]:
    """Host and Origin values the DNS-rebinding check accepts: the bound address and loopback names."""
    names = {host, "127.0.0.1", "localhost", "[::1]"}
    hosts = sorted({f"{name}:{port}" for name in names} | {f"{name}:*" for name in names - {host}})
    origins = sorted(f"http://{entry}" for entry in hosts)
    return hosts, origins


def serve_http(server: Server[Any], host: str, port: int) -> None:
    import uvicorn
    from mcp.server.transport_security import TransportSecuritySettings
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    hosts, origins = allowed_hosts(host, port)
    # The SDK turns DNS-rebinding protection on only for loopback hosts; we always set it.
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )
    app = server.streamable_http_app(
        transport_security=security,
        host=host,
        custom_starlette_routes=[Route("/healthz", healthz), Route("/readyz", healthz)],
    )
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)
    uvicorn.Server(config).run()
