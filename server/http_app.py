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
from urllib.parse import urlsplit

from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from starlette.authentication import AuthCredentials
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from server.audit import AuditStore
from server.config import Settings
from server.oauth import InvalidToken, JwtVerifier, KeysUnavailable, build_verifier
from server.policy import Policy

OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/.well-known/oauth-protected-resource"})
METADATA_PATH = "/.well-known/oauth-protected-resource"


def _is_open(path: str) -> bool:
    # The metadata also answers at its RFC 9728 path, METADATA_PATH + the resource's path (/mcp).
    return path in OPEN_PATHS or path.startswith(METADATA_PATH + "/")


def metadata_url(resource_url: str) -> str:
    """RFC 9728 §3.1: the well-known path goes between the resource's host and its path."""
    parts = urlsplit(resource_url)
    return f"{parts.scheme}://{parts.netloc}{METADATA_PATH}{parts.path.rstrip('/')}"


def _bearer(scope: Scope) -> bytes:
    """The credential of an `Authorization: Bearer …` header; empty when there is none."""
    header = dict(scope["headers"]).get(b"authorization", b"")
    scheme, _, credential = header.partition(b" ")
    return credential.strip() if scheme.lower() == b"bearer" else b""


def _reject(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class BearerAuth:
    """Requires `Authorization: Bearer <DEVOPS_MCP_HTTP_TOKEN>` on everything but the open paths."""

    def __init__(self, app: ASGIApp, token: str, metadata_url: str) -> None:
        self.app = app
        self.token = token.encode()
        self.challenge = f'Bearer resource_metadata="{metadata_url}"'

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _is_open(scope["path"]):
            await self.app(scope, receive, send)
            return
        # compare_digest: the time taken says nothing about how much of the token matched.
        if not hmac.compare_digest(_bearer(scope), self.token):
            response = _reject(401, "a valid bearer token is required", {"WWW-Authenticate": self.challenge})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class OAuthBearer:
    """OAuth resource server: requires a JWT access token from the issuer, for our audience, with the scopes.

    Errors follow RFC 6750 §3 (401 `invalid_token`, 403 `insufficient_scope`; no error code when no token was
    sent) and point at the protected-resource metadata (RFC 9728 `resource_metadata`). The verified token goes
    into the scope as the SDK's `AuthenticatedUser`: the rate limit keys on its subject, and the SDK binds
    sealed confirmation state to that principal.
    """

    def __init__(self, app: ASGIApp, verifier: JwtVerifier, scopes: tuple[str, ...], metadata: str) -> None:
        self.app = app
        self.verifier = verifier
        self.scopes = scopes
        self.params = [f'resource_metadata="{metadata}"'] + ([f'scope="{" ".join(scopes)}"'] if scopes else [])

    def _error(self, status: int, error: str, description: str, challenge: bool = True) -> Response:
        # Descriptions are our own fixed sentences (no quotes), never token content.
        params = [f'error="{error}"', f'error_description="{description}"', *self.params] if challenge else []
        headers = {"WWW-Authenticate": "Bearer " + ", ".join(params)} if params else None
        return JSONResponse({"error": error, "error_description": description}, status_code=status, headers=headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _is_open(scope["path"]):
            await self.app(scope, receive, send)
            return
        credential = _bearer(scope)
        response: Response
        if not credential:
            response = JSONResponse(
                {"error": "unauthorized", "error_description": "an OAuth access token is required"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer " + ", ".join(self.params)},
            )
        else:
            try:
                token = await self.verifier.verify(credential.decode("latin-1"))
            except InvalidToken as exc:
                response = self._error(401, "invalid_token", str(exc))
            except KeysUnavailable as exc:
                response = self._error(503, "temporarily_unavailable", str(exc), challenge=False)
                response.headers["Retry-After"] = str(exc.retry_after)
            else:
                missing = [name for name in self.scopes if name not in token.scopes]
                if not missing:
                    scope["user"] = AuthenticatedUser(token)
                    scope["auth"] = AuthCredentials(token.scopes)
                    await self.app(scope, receive, send)
                    return
                response = self._error(403, "insufficient_scope", f"the token lacks the scope {' '.join(missing)}")
        await response(scope, receive, send)


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass
class RateLimit:
    """Token bucket per client (OAuth subject, else bearer token hash, else remote address): `per_minute` calls."""

    app: ASGIApp
    per_minute: int
    buckets: dict[str, _Bucket] = field(default_factory=dict)

    def _client(self, scope: Scope) -> str:
        user = scope.get("user")
        if isinstance(user, AuthenticatedUser) and user.access_token.subject:
            # OAuth: the verified subject, so a refreshed token does not start a fresh bucket.
            issuer = (user.access_token.claims or {}).get("iss", "")
            return "sub:" + hashlib.sha256(f"{issuer}\0{user.access_token.subject}".encode()).hexdigest()[:16]
        header = dict(scope["headers"]).get(b"authorization")
        if header:
            return hashlib.sha256(header).hexdigest()[:16]
        client = scope.get("client")
        return str(client[0]) if client else "unknown"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _is_open(scope["path"]):
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

    # RFC 9728. In OAuth mode it names the issuer (where clients get tokens) and the scopes to ask for.
    document: dict[str, object] = {"resource": resource_url, "bearer_methods_supported": ["header"],
                                   "authorization_servers": []}  # fmt: skip
    if settings.oauth_issuer is not None:
        document |= {"authorization_servers": [settings.oauth_issuer], "scopes_supported": list(settings.oauth_scopes)}

    async def resource_metadata(request: Request) -> Response:
        return JSONResponse(document)

    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route(METADATA_PATH, resource_metadata),
    ]
    suffixed = urlsplit(metadata_url(resource_url)).path
    if suffixed != METADATA_PATH:
        routes.append(Route(suffixed, resource_metadata))
    if metrics is not None:
        routes.append(Route("/metrics", metrics_route))
    return routes


def wrap(app: ASGIApp, settings: Settings, policy: Policy, base_url: str) -> ASGIApp:
    if settings.oauth_issuer is not None and settings.oauth_audience is not None:
        # The SDK's get_access_token() (and its request-state principal binding) reads the verified token.
        limited = RateLimit(AuthContextMiddleware(app), policy.http.rate_limit_per_minute)
        verifier = build_verifier(settings.oauth_issuer, settings.oauth_audience, settings.oauth_jwks_url)
        return OAuthBearer(limited, verifier, settings.oauth_scopes, metadata_url(settings.oauth_audience))
    wrapped: ASGIApp = RateLimit(app, policy.http.rate_limit_per_minute)
    if settings.http_token is not None:
        wrapped = BearerAuth(wrapped, settings.http_token.get_secret_value(), base_url + METADATA_PATH)
    return wrapped

