"""The names the configuration is read under: toolsets and environment variables. Standard library only.

`server.config` (pydantic settings) and the fast-start manifest key (`server.manifest`, which must not
import pydantic) both read these, so a variable added to the settings cannot be missed by the key.
"""

from __future__ import annotations

TOOLSETS: tuple[str, ...] = ("github", "supabase", "bash", "report", "agent")

# Variable names, not values (ruff S105 reads *_TOKEN = "..." as a password).
GITHUB_TOKEN = "GITHUB_TOKEN"  # noqa: S105
GITHUB_PERSONAL_ACCESS_TOKEN = "GITHUB_PERSONAL_ACCESS_TOKEN"  # noqa: S105
GITHUB_APP_ID = "GITHUB_APP_ID"
GITHUB_APP_PRIVATE_KEY = "GITHUB_APP_PRIVATE_KEY"
GITHUB_APP_PRIVATE_KEY_FILE = "GITHUB_APP_PRIVATE_KEY_FILE"
GITHUB_APP_INSTALLATION_ID = "GITHUB_APP_INSTALLATION_ID"
GITHUB_API_URL = "GITHUB_API_URL"
SUPABASE_ACCESS_TOKEN = "SUPABASE_ACCESS_TOKEN"  # noqa: S105
SUPABASE_PROJECT_REF = "SUPABASE_PROJECT_REF"
SUPABASE_API_URL = "SUPABASE_API_URL"
READ_ONLY = "DEVOPS_MCP_READ_ONLY"
TOOLSETS_VARIABLE = "DEVOPS_MCP_TOOLSETS"
POLICY = "DEVOPS_MCP_POLICY"
WORKSPACE = "DEVOPS_MCP_WORKSPACE"
AUDIT = "DEVOPS_MCP_AUDIT"
HTTP_TOKEN = "DEVOPS_MCP_HTTP_TOKEN"  # noqa: S105
ALLOWED_HOSTS = "DEVOPS_MCP_ALLOWED_HOSTS"
ALLOWED_ORIGINS = "DEVOPS_MCP_ALLOWED_ORIGINS"
OAUTH_ISSUER = "DEVOPS_MCP_OAUTH_ISSUER"
OAUTH_JWKS_URL = "DEVOPS_MCP_OAUTH_JWKS_URL"
OAUTH_AUDIENCE = "DEVOPS_MCP_OAUTH_AUDIENCE"
OAUTH_SCOPES = "DEVOPS_MCP_OAUTH_SCOPES"
STATE_KEY = "DEVOPS_MCP_STATE_KEY"
ANTHROPIC_API_KEY = "ANTHROPIC_API_KEY"
ANTHROPIC_BASE_URL = "ANTHROPIC_BASE_URL"
AGENT_MODEL = "DEVOPS_MCP_AGENT_MODEL"

# Only whether these are set may be recorded anywhere (the manifest key): their values are credentials,
# or URLs that may carry one (a database URL with a password, a proxy URL with user info).
SECRET_VARIABLES: tuple[str, ...] = (
    GITHUB_TOKEN,
    GITHUB_PERSONAL_ACCESS_TOKEN,
    GITHUB_APP_PRIVATE_KEY,
    SUPABASE_ACCESS_TOKEN,
    AUDIT,
    HTTP_TOKEN,
    STATE_KEY,
    ANTHROPIC_API_KEY,
    ANTHROPIC_BASE_URL,
)
PLAIN_VARIABLES: tuple[str, ...] = (
    GITHUB_APP_ID,
    GITHUB_APP_PRIVATE_KEY_FILE,
    GITHUB_APP_INSTALLATION_ID,
    GITHUB_API_URL,
    SUPABASE_PROJECT_REF,
    SUPABASE_API_URL,
    READ_ONLY,
    TOOLSETS_VARIABLE,
    POLICY,
    WORKSPACE,
    ALLOWED_HOSTS,
    ALLOWED_ORIGINS,
    OAUTH_ISSUER,
    OAUTH_JWKS_URL,
    OAUTH_AUDIENCE,
    OAUTH_SCOPES,
    AGENT_MODEL,
)
VARIABLES: tuple[str, ...] = SECRET_VARIABLES + PLAIN_VARIABLES


def parse_toolsets(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [name for name in names if name not in TOOLSETS]
    if unknown:
        raise ValueError(f"unknown toolset {', '.join(unknown)}; choose from {', '.join(TOOLSETS)}")
    return names
