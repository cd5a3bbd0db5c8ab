"""`devops-mcp doctor`: is each toolset configured and usable, is the policy valid, is the audit log writable.

A check is `ok`, `off` (optional and not configured: not a problem) or `problem` (the exit code
becomes non-zero). Each problem says what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import httpx
from pydantic import BaseModel, SecretStr

from server.audit import audit_location, open_audit_store
from server.config import Settings
from server.errors import ConfigError
from server.policy import load_policy
from server.redact import redact

Status = Literal["ok", "off", "problem"]


class Check(BaseModel):
    area: str
    check: str
    status: Status
    detail: str


def _api_check(area: str, url: str, token: SecretStr | None, variable: str, auth: Callable[[str], str]) -> Check:
    if token is None:
        return Check(area=area, check="token", status="off", detail=f"{variable} is not set; toolset not served")
    try:
        response = httpx.get(url, headers={"Authorization": auth(token.get_secret_value())}, timeout=5)
    except httpx.HTTPError as exc:
        detail = f"{url} unreachable ({type(exc).__name__}); check the network and the API URL"
        return Check(area=area, check="api", status="problem", detail=detail)
    if response.status_code == 401:
        return Check(area=area, check="api", status="problem", detail=f"{variable} was rejected (401); renew the token")
    if response.status_code >= 400:
        return Check(area=area, check="api", status="problem", detail=f"{url} answered {response.status_code}")
    scopes = response.headers.get("x-oauth-scopes")
    detail = f"reachable; token accepted{f' (scopes: {scopes})' if scopes else ''}"
    return Check(area=area, check="api", status="ok", detail=detail)


def run_checks(settings: Settings) -> list[Check]:
    checks = [
        _api_check(
            "github", f"{settings.github_api_url}/user", settings.github_token, "GITHUB_TOKEN", lambda t: f"Bearer {t}"
        ),
        _api_check(
            "supabase",
            f"{settings.supabase_api_url}/v1/projects",
            settings.supabase_access_token,
            "SUPABASE_ACCESS_TOKEN",
            lambda t: f"Bearer {t}",
        ),
    ]
    from tools.bash import sandbox_status

    works, explanation = sandbox_status()
    # Without a sandbox, stdio mode runs commands with the guard alone and http mode refuses them.
    checks.append(Check(area="bash", check="sandbox", status="ok" if works else "off", detail=explanation))
    try:
        load_policy(settings.policy_path)
        checks.append(
            Check(area="policy", check="valid", status="ok", detail=str(settings.policy_path or "defaults"))
        )
    except ConfigError as exc:
        checks.append(Check(area="policy", check="valid", status="problem", detail=str(exc)))
    checks.append(_audit_check(settings))
    return checks


def _audit_check(settings: Settings) -> Check:
    import anyio

    async def ping() -> None:
        store = open_audit_store(settings)
        try:
            await store.ping()
        finally:
            await store.aclose()

    where = redact(audit_location(settings))
    try:
        anyio.run(ping)
    except ConfigError as exc:
        return Check(area="audit", check="writable", status="problem", detail=str(exc))
    except Exception as exc:
        detail = f"{where} unreachable ({type(exc).__name__}); check DEVOPS_MCP_AUDIT"
        return Check(area="audit", check="writable", status="problem", detail=detail)
    return Check(area="audit", check="writable", status="ok", detail=where)
