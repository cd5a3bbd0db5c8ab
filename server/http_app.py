"""Streamable HTTP for a shared instance: bearer auth, rate limit, body cap, health, readiness, metrics.

Stateless: every request stands alone (JSON responses, no session affinity), so any replica
serves any request; confirmation rounds (2026-07-28) carry their state sealed with a key that
replicas share (DEVOPS_MCP_STATE_KEY).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from server.audit import AuditStore
from server.config import Settings
from server.policy import Policy

OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/.well-known/oauth-protected-resource"})
METADATA_PATH = "/.well-known/oauth-protected-resource"


def _reject(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class BearerAuth:
    """Requires `Authorization: Bearer <DEVOPS_MCP_HTTP_TOKEN>` on everything but the open paths."""

    def __init__(self, app: ASGIApp, token: str, metadata_url: str) -> None:
        self.app = app
        self.token = token.encode()
        self.challenge = f'Bearer resource_metadata="{metadata_url}"'

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        header = dict(scope["headers"]).get(b"authorization", b"")
        scheme, _, credential = header.partition(b" ")
        # compare_digest: the time taken says nothing about how much of the token matched.
        if scheme.lower() != b"bearer" or not hmac.compare_digest(credential.strip(), self.token):
            response = _reject(401, "a valid bearer token is required", {"WWW-Authenticate": self.challenge})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass
class RateLimit:
    """Token bucket per client (bearer token hash, else remote address): `per_minute` calls, bursts to it."""

    app: ASGIApp
    per_minute: int
    buckets: dict[str, _Bucket] = field(default_factory=dict)

    def _client(self, scope: Scope) -> str:
        header = dict(scope["headers"]).get(b"authorization")
        if header:
            return hashlib.sha256(header).hexdigest()[:16]
        client = scope.get("client")
        return str(client[0]) if client else "unknown"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        now = time.monotonic()
        rate = self.per_minute / 60
        bucket = self.buckets.setdefault(self._client(scope), _Bucket(float(self.per_minute), now))
        bucket.tokens = min(float(self.per_minute), bucket.tokens + (now - bucket.stamp) * rate)
        bucket.stamp = now
        if bucket.tokens < 1:
            wait = max(1, round((1 - bucket.tokens) / rate))
            await _reject(429, "rate limit reached; slow down", {"Retry-After": str(wait)})(scope, receive, send)
            return
        bucket.tokens -= 1
        if len(self.buckets) > 10_000:  # forget idle clients so the table cannot grow without bound
            idle = [key for key, b in self.buckets.items() if now - b.stamp > 120]
            for key in idle:
                del self.buckets[key]
        await self.app(scope, receive, send)


def extra_routes(
    settings: Settings, audit: AuditStore, metrics: Callable[[], bytes] | None, resource_url: str
) -> list[Route]:
    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        try:
            await audit.ping()
        except Exception as exc:
            return JSONResponse({"status": "not ready", "audit": type(exc).__name__}, status_code=503)
        return JSONResponse({"status": "ready"})

    async def metrics_route(request: Request) -> Response:
        assert metrics is not None
        from prometheus_client import CONTENT_TYPE_LATEST

        return Response(metrics(), media_type=CONTENT_TYPE_LATEST)

    async def resource_metadata(request: Request) -> Response:
        return JSONResponse({"resource": resource_url, "bearer_methods_supported": ["header"],
                             "authorization_servers": []})  # fmt: skip

    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route(METADATA_PATH, resource_metadata),
    ]
    if metrics is not None:
        routes.append(Route("/metrics", metrics_route))
    return routes


def wrap(app: ASGIApp, settings: Settings, policy: Policy, base_url: str) -> ASGIApp:
    wrapped: ASGIApp = RateLimit(app, policy.http.rate_limit_per_minute)
    if settings.http_token is not None:
        wrapped = BearerAuth(wrapped, settings.http_token.get_secret_value(), base_url + METADATA_PATH)
    return wrapped

