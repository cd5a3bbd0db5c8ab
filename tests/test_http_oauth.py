"""OAuth resource-server mode of `serve --transport http`: JWT access tokens checked against a local issuer's JWKS.

The issuer is a tiny HTTP server on 127.0.0.1 (OpenID configuration + JWKS, keys generated at run time); the MCP
server is the real `devops-mcp serve --transport http` subprocess.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import jwt
import mcp_types as types
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.auth.provider import TokenVerifier
from mcp.shared.exceptions import MCPError

from server.oauth import JwtVerifier, KeysUnavailable, SigningKeys
from tests.conftest import ERA_VERSIONS
from tests.http_server import RunningServer, http_server

pytestmark = pytest.mark.slow

AUDIENCE = "https://devops-mcp.example.test/mcp"
SCOPE = "devops:use"
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}

KEY_A = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KEY_B = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # published later: rotation
KEY_OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # never published
KEY_EC = ec.generate_private_key(ec.SECP256R1())


def public_jwk(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, kid: str) -> dict[str, Any]:
    if isinstance(key, rsa.RSAPrivateKey):
        jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    else:
        jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return jwk | {"kid": kid, "use": "sig"}


@dataclass
class Issuer:
    """An authorization server's public face: OpenID configuration and JWKS, switchable keys and outage."""

    keys: list[dict[str, Any]]
    available: bool = True
    jwks_fetches: int = 0
    port: int = 0
    path: str = "/realms/devops"
    httpd: ThreadingHTTPServer | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def start(self) -> Issuer:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if not issuer.available:
                    self._send(503, {"error": "down"})
                elif self.path == f"{issuer.path}/.well-known/openid-configuration":
                    self._send(200, {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks"})
                elif self.path == f"{issuer.path}/jwks":
                    issuer.jwks_fetches += 1
                    self._send(200, {"keys": issuer.keys})
                else:
                    self._send(404, {"error": "not found"})

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()


@pytest.fixture
def new_issuer() -> Iterator[Issuer]:
    issuer = Issuer([public_jwk(KEY_A, "a")]).start()
    yield issuer
    issuer.stop()


def oauth_env(issuer: Issuer, **extra: str) -> dict[str, str]:
    return {"DEVOPS_MCP_OAUTH_ISSUER": issuer.url, "DEVOPS_MCP_OAUTH_AUDIENCE": AUDIENCE,
            "DEVOPS_MCP_OAUTH_SCOPES": SCOPE} | extra  # fmt: skip


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    issuer = Issuer([public_jwk(KEY_A, "a"), public_jwk(KEY_EC, "ec")]).start()
    yield issuer
    issuer.stop()


@pytest.fixture(scope="module")
def service(issuer: Issuer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with http_server(tmp_path_factory.mktemp("oauth"), oauth_env(issuer)) as server:
        yield server


def claims(issuer: Issuer, lifetime: int = 300, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": issuer.url, "aud": AUDIENCE, "sub": "user-1", "client_id": "claude-code", "scope": SCOPE,
            "iat": now - 5, "exp": now + lifetime, "jti": uuid.uuid4().hex}  # fmt: skip
    return {name: value for name, value in (base | changes).items() if value is not None}


def token(issuer: Issuer, key: Any = KEY_A, kid: str = "a", alg: str = "RS256", **changes: Any) -> str:
    return jwt.encode(claims(issuer, **changes), key, algorithm=alg, headers={"kid": kid})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(issuer: Issuer, alg: str, secret: bytes | None) -> str:
    """A token PyJWT would refuse to make: `alg: none`, or HS256 keyed with the issuer's public key."""
    header = _b64(json.dumps({"alg": alg, "typ": "JWT", "kid": "a"}).encode())
    payload = _b64(json.dumps(claims(issuer)).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = b"" if secret is None else hmac.new(secret, signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def bearer(value: str) -> dict[str, str]:
    return ACCEPT | {"Authorization": f"Bearer {value}"}


def challenge(response: httpx.Response) -> dict[str, str]:
    """The WWW-Authenticate parameters (RFC 6750 §3), scheme checked."""
    value = response.headers["www-authenticate"]
    scheme, _, rest = value.partition(" ")
    assert scheme == "Bearer"
    params = {}
    for part in rest.split(", "):
        name, _, quoted = part.partition("=")
        params[name] = quoted.strip('"')
    return params


def test_no_token_is_401_pointing_at_metadata_that_names_the_issuer(service: RunningServer, issuer: Issuer) -> None:
    response = httpx.post(service.mcp, json=PING, headers=ACCEPT)
    assert response.status_code == 401
    params = challenge(response)
    assert "error" not in params  # RFC 6750 §3.1: no error code when the request carried no token
    assert params["scope"] == SCOPE
    metadata_url = params["resource_metadata"]
    assert metadata_url == "https://devops-mcp.example.test/.well-known/oauth-protected-resource/mcp"
    # The URL is the public one (the audience's host); fetch the same path from the local server.
    document = httpx.get(service.base + httpx.URL(metadata_url).path).json()
    assert document["resource"] == AUDIENCE
    assert document["authorization_servers"] == [issuer.url]
    assert document["scopes_supported"] == [SCOPE]
    assert httpx.get(f"{service.base}/.well-known/oauth-protected-resource").json() == document


async def test_a_valid_token_works_in_both_eras(service: RunningServer, issuer: Issuer, era: str) -> None:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token(issuer)}"}) as http,
        Client(streamable_http_client(service.mcp, http_client=http), mode=era) as client,
    ):
        assert client.protocol_version == ERA_VERSIONS[era]
        tools = {tool.name for tool in (await client.list_tools()).tools}
        result = await client.call_tool("validate_report", {"report": {}})
    assert "validate_report" in tools
    assert result.structured_content is not None
    assert result.structured_content["valid"] is False


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param({"aud": ["https://other.example.test", AUDIENCE]}, id="audience-list"),
        pytest.param({"scope": None, "scp": ["openid", SCOPE]}, id="scp-list"),
        pytest.param({"lifetime": -10}, id="expired-within-leeway"),
        pytest.param({"key": KEY_EC, "kid": "ec", "alg": "ES256"}, id="es256"),
    ],
)
def test_accepted_token_variants(service: RunningServer, issuer: Issuer, variant: dict[str, Any]) -> None:
    assert httpx.post(service.mcp, json=PING, headers=bearer(token(issuer, **variant))).status_code == 200


def public_pem() -> bytes:
    return KEY_A.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


INVALID: dict[str, Callable[[Issuer], str]] = {
    "expired": lambda issuer: token(issuer, lifetime=-120),
    "not-yet-valid": lambda issuer: token(issuer, nbf=int(time.time()) + 120),
    "no-exp": lambda issuer: token(issuer, exp=None),
    "wrong-audience": lambda issuer: token(issuer, aud="https://other.example.test/mcp"),
    "no-audience": lambda issuer: token(issuer, aud=None),
    "wrong-issuer": lambda issuer: token(issuer, iss="https://evil.example.test"),
    "bad-signature": lambda issuer: token(issuer, key=KEY_OTHER),
    "unknown-kid": lambda issuer: token(issuer, key=KEY_OTHER, kid="nobody"),
    "alg-none": lambda issuer: forged(issuer, "none", None),
    "hs256-with-public-key": lambda issuer: forged(issuer, "HS256", public_pem()),
    "rs-key-as-es": lambda issuer: token(issuer, key=KEY_EC, kid="a", alg="ES256"),
    "garbage": lambda issuer: "not.a.jwt",
}


@pytest.mark.parametrize("case", INVALID)
def test_invalid_tokens_are_401_invalid_token(service: RunningServer, issuer: Issuer, case: str) -> None:
    response = httpx.post(service.mcp, json=PING, headers=bearer(INVALID[case](issuer)))
    assert response.status_code == 401
    params = challenge(response)
    assert params["error"] == "invalid_token"
    assert params["resource_metadata"].endswith("/.well-known/oauth-protected-resource/mcp")
    assert response.json()["error"] == "invalid_token"


def test_missing_scope_is_403_insufficient_scope(service: RunningServer, issuer: Issuer) -> None:
    response = httpx.post(service.mcp, json=PING, headers=bearer(token(issuer, scope="openid profile")))
    assert response.status_code == 403
    params = challenge(response)
    assert params["error"] == "insufficient_scope"
    assert params["scope"] == SCOPE
    assert response.json()["error"] == "insufficient_scope"


def test_open_paths_need_no_token(service: RunningServer) -> None:
    assert httpx.get(f"{service.base}/healthz").status_code == 200
    assert httpx.get(f"{service.base}/readyz").status_code == 200
    assert httpx.get(f"{service.base}/metrics").status_code == 200


def test_the_log_holds_no_token_and_no_traceback(service: RunningServer, issuer: Issuer) -> None:
    sent = token(issuer)
    httpx.post(service.mcp, json=PING, headers=bearer(sent))
    httpx.post(service.mcp, json=PING, headers=bearer(sent + "x"))
    log = service.log.read_text()
    assert sent.split(".")[2] not in log
    assert "Traceback" not in log
    assert all(json.loads(line) for line in log.splitlines())


def test_key_rotation_is_accepted_after_one_refetch(new_issuer: Issuer, tmp_path: Path) -> None:
    with http_server(tmp_path, oauth_env(new_issuer)) as server:
        assert httpx.post(server.mcp, json=PING, headers=bearer(token(new_issuer))).status_code == 200
        assert new_issuer.jwks_fetches == 1
        assert httpx.post(server.mcp, json=PING, headers=bearer(token(new_issuer))).status_code == 200
        assert new_issuer.jwks_fetches == 1  # cached
        new_issuer.keys = [public_jwk(KEY_A, "a"), public_jwk(KEY_B, "b")]
        rotated = token(new_issuer, key=KEY_B, kid="b")
        assert httpx.post(server.mcp, json=PING, headers=bearer(rotated)).status_code == 200
        assert new_issuer.jwks_fetches == 2
        # Another unknown kid right after: refused without hammering the issuer again.
        unknown = token(new_issuer, key=KEY_OTHER, kid="c")
        assert httpx.post(server.mcp, json=PING, headers=bearer(unknown)).status_code == 401
        assert new_issuer.jwks_fetches == 2


def test_issuer_down_at_start_gives_503_then_recovers(new_issuer: Issuer, tmp_path: Path) -> None:
    new_issuer.available = False
    with http_server(tmp_path, oauth_env(new_issuer)) as server:
        assert httpx.get(f"{server.base}/readyz").status_code == 200  # an issuer outage is not this replica's
        response = httpx.post(server.mcp, json=PING, headers=bearer(token(new_issuer)))
        assert response.status_code == 503
        assert response.json()["error"] == "temporarily_unavailable"
        assert int(response.headers["retry-after"]) >= 1
        # No token at all is still a plain 401 (nothing to verify).
        assert httpx.post(server.mcp, json=PING, headers=ACCEPT).status_code == 401
        new_issuer.available = True
        time.sleep(int(response.headers["retry-after"]) + 0.5)
        assert httpx.post(server.mcp, json=PING, headers=bearer(token(new_issuer))).status_code == 200
        log = server.log.read_text()
    assert "oauth_jwks_unavailable" in log
    assert "Traceback" not in log


def test_unreachable_jwks_url_gives_503_not_500(new_issuer: Issuer, tmp_path: Path) -> None:
    from tests.http_server import free_port

    env = oauth_env(new_issuer, DEVOPS_MCP_OAUTH_JWKS_URL=f"http://127.0.0.1:{free_port()}/jwks")
    with http_server(tmp_path, env) as server:
        response = httpx.post(server.mcp, json=PING, headers=bearer(token(new_issuer)), timeout=30)
        log = server.log.read_text()
    assert response.status_code == 503
    assert "Traceback" not in log
    assert new_issuer.jwks_fetches == 0  # the configured URL wins over discovery


def test_rate_limit_follows_the_subject_not_the_token(new_issuer: Issuer, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("[http]\nrate_limit_per_minute = 2\n")
    with http_server(tmp_path, oauth_env(new_issuer, DEVOPS_MCP_POLICY=str(policy))) as server:
        # A fresh token for the same subject (as after a refresh) does not start a fresh bucket.
        codes = [httpx.post(server.mcp, json=PING, headers=bearer(token(new_issuer))).status_code for _ in range(3)]
        other = httpx.post(server.mcp, json=PING, headers=bearer(token(new_issuer, sub="user-2")))
    assert codes == [200, 200, 429]
    assert other.status_code == 200


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEVOPS_MCP_HTTP_TOKEN": "x" * 32}, "not both"),
        ({"DEVOPS_MCP_OAUTH_AUDIENCE": ""}, "DEVOPS_MCP_OAUTH_AUDIENCE"),
        ({"DEVOPS_MCP_OAUTH_ISSUER": "http://idp.example.test"}, "https://"),
        ({"DEVOPS_MCP_OAUTH_ISSUER": ""}, "DEVOPS_MCP_OAUTH_ISSUER is not"),
    ],
)
def test_bad_oauth_configuration_is_one_line(tmp_path: Path, env: dict[str, str], message: str) -> None:
    devops_mcp = shutil.which("devops-mcp")
    assert devops_mcp
    base = {"XDG_STATE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    full = base | {"DEVOPS_MCP_OAUTH_ISSUER": "https://idp.example.test", "DEVOPS_MCP_OAUTH_AUDIENCE": AUDIENCE} | env
    command = [devops_mcp, "serve", "--transport", "http", "--port", "9"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=full)
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stderr.count("\n") == 1


# In process: the parts the subprocess tests cannot reach in reasonable time (TTL, stale keys, discovery checks).


async def test_verifier_meets_the_sdk_token_verifier_protocol(new_issuer: Issuer) -> None:
    verifier: TokenVerifier = JwtVerifier(new_issuer.url, AUDIENCE, SigningKeys(new_issuer.url))
    access = await verifier.verify_token(token(new_issuer, scope=f"openid {SCOPE}"))
    assert access is not None
    assert (access.subject, access.client_id, access.resource) == ("user-1", "claude-code", AUDIENCE)
    assert access.scopes == ["openid", SCOPE]
    assert await verifier.verify_token(token(new_issuer, lifetime=-120)) is None


async def test_keys_refresh_after_the_ttl_and_stale_keys_serve_through_an_outage(new_issuer: Issuer) -> None:
    keys = SigningKeys(new_issuer.url, ttl=0.2, retry_after=1)
    assert await keys.find("a", "RS256") is not None
    assert new_issuer.jwks_fetches == 1
    await anyio.sleep(0.3)
    await keys.find("a", "RS256")
    assert new_issuer.jwks_fetches == 2
    new_issuer.available = False
    await anyio.sleep(0.3)
    assert await keys.find("a", "RS256") is not None  # stale, but better than refusing everyone
    assert new_issuer.jwks_fetches == 2


async def test_discovery_refuses_metadata_for_another_issuer(new_issuer: Issuer) -> None:
    keys = SigningKeys(new_issuer.url + "/")  # RFC 8414: the issuer must match exactly, trailing slash included
    with pytest.raises(KeysUnavailable):
        await keys.find("a", "RS256")
    assert new_issuer.jwks_fetches == 0


async def _ask_round(server: RunningServer, bearer_token: str, **kwargs: Any) -> Any:
    async def never(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        raise AssertionError("the rounds are driven by hand")

    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {bearer_token}"}, timeout=30) as http,
        Client(streamable_http_client(server.mcp, http_client=http), mode="auto", elicitation_callback=never) as client,
    ):
        return await client.session.call_tool("bash", {"command": "rm -r ./build"}, allow_input_required=True, **kwargs)


async def test_a_confirmation_round_is_bound_to_the_token_subject(new_issuer: Issuer, tmp_path: Path) -> None:
    """2026-07-28: the SDK seals the round's state to the verified principal; another user cannot finish it."""
    workspace = tmp_path / "workspace"
    (workspace / "build").mkdir(parents=True)
    policy = tmp_path / "policy.toml"
    policy.write_text('[bash]\nsandbox = "auto"\n')
    env = oauth_env(new_issuer, DEVOPS_MCP_TOOLSETS="bash", DEVOPS_MCP_WORKSPACE=str(workspace),
                    DEVOPS_MCP_POLICY=str(policy))  # fmt: skip
    with http_server(tmp_path / "state", env) as server:
        question = await _ask_round(server, token(new_issuer))
        assert isinstance(question, types.InputRequiredResult)
        answer = {"devops_confirm": types.ElicitResult(action="accept", content={"confirm": True})}
        with pytest.RaisesGroup(pytest.RaisesExc(MCPError, match="requestState"), flatten_subgroups=True):
            await _ask_round(
                server, token(new_issuer, sub="user-2"), input_responses=answer, request_state=question.request_state
            )
        assert (workspace / "build").exists()
        # The same subject with a fresh token (as after a refresh) finishes it.
        state = question.request_state
        result = await _ask_round(server, token(new_issuer), input_responses=answer, request_state=state)
    assert isinstance(result, types.CallToolResult)
    assert result.structured_content is not None, result
    assert result.structured_content["exit_code"] == 0
    assert not (workspace / "build").exists()
