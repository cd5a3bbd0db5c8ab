"""OAuth 2.1 resource server: verifies JWT access tokens issued by the organisation's authorization server.

MCP authorization: this server is a resource server. Clients get an access token from the issuer for our
resource (RFC 8707 `resource` = DEVOPS_MCP_OAUTH_AUDIENCE) and send it as a bearer token; we check the JWT
(RFC 9068) against the issuer's published keys (JWKS, RFC 7517), found through its metadata (OpenID Connect
discovery or RFC 8414) unless DEVOPS_MCP_OAUTH_JWKS_URL names them.

Asymmetric signatures only: `none` and HS* are refused before any key is looked at, so neither an unsigned token
nor one "signed" with the public key as an HMAC secret can pass. Keys are fetched with httpx (async, never on the
event loop's critical path for long: single-flight, short timeout), cached for `JWKS_TTL_S`, refetched once when a
token names an unknown `kid` (key rotation; at most every `REFETCH_INTERVAL_S`, so made-up kids cannot turn this
server into a load generator against the issuer). When the keys cannot be fetched and none are cached, requests get
`KeysUnavailable` (503, Retry-After); stale keys keep serving while the issuer is briefly down.

The check of a token itself runs inline: about 0.1 ms of CPU (measured, whole `verify`: RS256 2048-bit ~95 µs,
ES256 ~120 µs), close to the cost of a hop to a worker thread (~60 µs), whose pool the blocking GitHub client needs.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
import jwt
import structlog
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from mcp.server.auth.provider import AccessToken

from server.config import _check_api_url

log = structlog.get_logger(__name__)

# alg -> (kty, crv). Asymmetric only: `none` and HS* never verify here.
KEY_TYPES: dict[str, tuple[str, str | None]] = {
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "RS512": ("RSA", None),
    "PS256": ("RSA", None),
    "PS384": ("RSA", None),
    "PS512": ("RSA", None),
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
}
MIN_RSA_BITS = 2048
LEEWAY_S = 30
JWKS_TTL_S = 300.0
REFETCH_INTERVAL_S = 10.0
RETRY_AFTER_S = 2
FETCH_TIMEOUT_S = 5.0
MAX_DOCUMENT_BYTES = 256 * 1024


class InvalidToken(Exception):
    """The token does not verify: 401 `invalid_token`. The message is ours, never the token's content."""


class KeysUnavailable(Exception):
    """The issuer's signing keys cannot be fetched and none are cached: 503, try again after `retry_after` s."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class _FetchFailed(Exception):
    pass


@dataclass(frozen=True)
class _Key:
    kid: str | None
    kty: str
    crv: str | None
    alg: str | None
    public_key: Any

    def fits(self, kid: str | None, alg: str) -> bool:
        kty, crv = KEY_TYPES[alg]
        return (
            (kid is None or self.kid == kid)
            and self.kty == kty
            and (crv is None or self.crv == crv)
            and self.alg in (None, alg)
        )


async def _get_json(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    try:
        async with client.stream("GET", url, headers={"Accept": "application/json"}) as response:
            if response.status_code != 200:
                raise _FetchFailed(f"{url} answered HTTP {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_DOCUMENT_BYTES:
                    raise _FetchFailed(f"{url} is larger than {MAX_DOCUMENT_BYTES} bytes")
    except httpx.HTTPError as exc:
        raise _FetchFailed(f"{url} unreachable ({type(exc).__name__})") from None
    try:
        document = json.loads(body)
    except ValueError:
        raise _FetchFailed(f"{url} is not JSON") from None
    if not isinstance(document, dict):
        raise _FetchFailed(f"{url} is not a JSON object")
    return document


def _parse_keys(document: dict[str, Any]) -> list[_Key]:
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise _FetchFailed("the JWKS has no `keys` array")
    keys: list[_Key] = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig" or entry.get("kty") not in ("RSA", "EC"):
            continue
        try:
            public_key = (RSAAlgorithm if entry["kty"] == "RSA" else ECAlgorithm).from_jwk(entry)
        except (jwt.PyJWTError, KeyError, TypeError, ValueError):
            log.warning("oauth_jwk_skipped", kid=str(entry.get("kid")), reason="unreadable key")
            continue
        if isinstance(public_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            public_key = public_key.public_key()  # a JWKS should never publish one; use only its public half
        if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size < MIN_RSA_BITS:
            log.warning("oauth_jwk_skipped", kid=str(entry.get("kid")), reason=f"RSA key under {MIN_RSA_BITS} bits")
            continue
        kid, alg, crv = entry.get("kid"), entry.get("alg"), entry.get("crv")
        keys.append(
            _Key(
                kid if isinstance(kid, str) else None,
                entry["kty"],
                crv if isinstance(crv, str) else None,
                alg if isinstance(alg, str) else None,
                public_key,
            )
        )
    if not keys:
        raise _FetchFailed("the JWKS holds no usable RSA or EC signing key")
    return keys


class SigningKeys:
    """The issuer's JWKS, fetched lazily, cached for `ttl` s, refetched once on an unknown `kid`."""

    def __init__(
        self,
        issuer: str,
        jwks_url: str | None = None,
        *,
        ttl: float = JWKS_TTL_S,
        refetch_interval: float = REFETCH_INTERVAL_S,
        retry_after: int = RETRY_AFTER_S,
        timeout: float = FETCH_TIMEOUT_S,
    ) -> None:
        self.issuer = issuer
        self.jwks_url = jwks_url
        self.ttl = ttl
        self.refetch_interval = refetch_interval
        self.retry_after = retry_after
        self.timeout = timeout
        self._keys: list[_Key] | None = None
        self._generation = 0
        self._fresh_until = 0.0
        self._retry_at = 0.0
        self._last_refetch = float("-inf")
        self._lock = anyio.Lock()

    async def find(self, kid: str | None, alg: str) -> Any:
        """The public key for a token's `kid` and `alg`. Raises InvalidToken or KeysUnavailable."""
        now = time.monotonic()
        seen = self._generation
        # With keys in hand, a due refresh already under way elsewhere is not waited for: the stale keys serve.
        if self._keys is None or (now >= self._fresh_until and not self._lock.locked()):
            await self._refresh(seen)
        key = self._match(kid, alg)
        rotated = key is None and kid is not None and self._generation == seen
        if rotated and now - self._last_refetch >= self.refetch_interval:
            # An unknown kid: the issuer may have rotated its keys. One refetch, then the answer stands.
            self._last_refetch = now
            await self._refresh(seen)
            key = self._match(kid, alg)
        if key is None:
            raise InvalidToken("the token's signing key (kid) is not in the issuer's key set")
        return key.public_key

    def _match(self, kid: str | None, alg: str) -> _Key | None:
        matches = [key for key in self._keys or () if key.fits(kid, alg)]
        return matches[0] if len(matches) == 1 or (matches and kid is not None) else None

    async def _refresh(self, seen: int) -> None:
        async with self._lock:
            if self._generation != seen:
                return  # another request refreshed the keys while this one waited
            if time.monotonic() < self._retry_at:
                self._raise_if_empty()
                return
            try:
                async with httpx.AsyncClient(timeout=self.timeout) as client:
                    url = self.jwks_url or await self._discover(client)
                    keys = _parse_keys(await _get_json(client, url))
            except _FetchFailed as exc:
                self._retry_at = time.monotonic() + self.retry_after
                log.warning("oauth_jwks_unavailable", reason=str(exc), serving_cached_keys=self._keys is not None)
                self._raise_if_empty()
                return
            self._keys = keys
            self._generation += 1
            self._fresh_until = time.monotonic() + self.ttl
            log.info("oauth_jwks_fetched", url=url, keys=len(keys))

    def _raise_if_empty(self) -> None:
        if self._keys is None:
            raise KeysUnavailable(
                "the authorization server's signing keys cannot be fetched; try again shortly", self.retry_after
            )

    async def _discover(self, client: httpx.AsyncClient) -> str:
        """`jwks_uri` from the issuer's metadata: OpenID Connect discovery, then RFC 8414 (path-inserted forms too)."""
        base = self.issuer.rstrip("/")
        parts = urlsplit(base)
        origin = f"{parts.scheme}://{parts.netloc}"
        candidates = [
            f"{base}/.well-known/openid-configuration",
            f"{origin}/.well-known/oauth-authorization-server{parts.path}",
        ]
        if parts.path:
            candidates.append(f"{origin}/.well-known/openid-configuration{parts.path}")
        failures: list[str] = []
        for url in candidates:
            try:
                metadata = await _get_json(client, url)
            except _FetchFailed as exc:
                failures.append(str(exc))
                continue
            if metadata.get("issuer") != self.issuer:
                # RFC 8414 §3.3: metadata naming another issuer must not be used (a trailing slash counts).
                raise _FetchFailed(
                    f"{url} names issuer {metadata.get('issuer')!r}, not DEVOPS_MCP_OAUTH_ISSUER {self.issuer!r}"
                )
            jwks_uri = metadata.get("jwks_uri")
            if not isinstance(jwks_uri, str):
                raise _FetchFailed(f"{url} has no jwks_uri")
            try:
                _check_api_url(jwks_uri, "jwks_uri")
            except ValueError as exc:
                raise _FetchFailed(f"{url}: {exc}") from None
            self.jwks_url = jwks_uri
            return jwks_uri
        raise _FetchFailed("no authorization server metadata found: " + "; ".join(failures))


def token_scopes(claims: dict[str, Any]) -> list[str]:
    """Scopes from `scope` (space-separated, RFC 9068) and `scp` (a list, or a string as some issuers send)."""
    found: list[str] = []
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            found += value.split()
        elif isinstance(value, list):
            found += [item for item in value if isinstance(item, str)]
    return list(dict.fromkeys(found))


class JwtVerifier:
    """Verifies JWT access tokens for one issuer and audience. Implements the SDK's `TokenVerifier` protocol."""

    def __init__(self, issuer: str, audience: str, keys: SigningKeys, *, leeway: float = LEEWAY_S) -> None:
        self.issuer = issuer
        self.audience = audience
        self.keys = keys
        self.leeway = leeway

    async def verify_token(self, token: str) -> AccessToken | None:
        """TokenVerifier protocol: None when the token does not verify (KeysUnavailable propagates)."""
        try:
            return await self.verify(token)
        except InvalidToken:
            return None

    async def verify(self, token: str) -> AccessToken:
        """The verified token's identity and scopes. Raises InvalidToken or KeysUnavailable."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("the token is not a well-formed JWT") from None
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in KEY_TYPES:
            raise InvalidToken("the token's signing algorithm is not accepted (RS*, PS* or ES* only)")
        if kid is not None and not isinstance(kid, str):
            raise InvalidToken("the token's kid is not a string")
        key = await self.keys.find(kid, alg)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("the token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("the token was not issued for this server (aud)") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("the token was not issued by the configured authorization server (iss)") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("the token's signature does not verify") from None
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(f"the token has no {exc.claim} claim") from None
        except (jwt.PyJWTError, TypeError, ValueError):
            raise InvalidToken("the token does not verify") from None
        subject = claims.get("sub") if isinstance(claims.get("sub"), str) else None
        client_id = next(
            (value for name in ("client_id", "azp") if isinstance(value := claims.get(name), str)), subject
        )
        return AccessToken(
            token=token,
            client_id=client_id or "unknown",
            scopes=token_scopes(claims),
            expires_at=int(claims["exp"]),
            resource=self.audience,
            subject=subject,
            claims={"iss": claims["iss"]},
        )


def build_verifier(issuer: str, audience: str, jwks_url: str | None) -> JwtVerifier:
    return JwtVerifier(issuer, audience, SigningKeys(issuer, jwks_url))
