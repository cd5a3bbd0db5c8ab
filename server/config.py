"""Configuration from the environment (SPEC: Configuration), validated once at start-up."""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from server import config_names as names
from server.config_names import TOOLSETS as TOOLSETS  # re-exported: callers import them from here
from server.config_names import parse_toolsets as parse_toolsets
from server.errors import ConfigError

Transport = Literal["stdio", "http"]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_api_url(url: str, variable: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url.rstrip("/")
    # Plain http would send the token in clear; only a local test double may use it.
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return url.rstrip("/")
    raise ValueError(f"{variable} must be an https:// URL (plain http:// only on loopback)")


class Settings(BaseSettings):
    """Everything the server reads from its environment. Secrets stay `SecretStr` end to end."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    github_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices(names.GITHUB_TOKEN, names.GITHUB_PERSONAL_ACCESS_TOKEN)
    )
    github_app_id: str | None = Field(default=None, validation_alias=names.GITHUB_APP_ID)
    github_app_private_key: SecretStr | None = Field(default=None, validation_alias=names.GITHUB_APP_PRIVATE_KEY)
    github_app_private_key_file: Path | None = Field(default=None, validation_alias=names.GITHUB_APP_PRIVATE_KEY_FILE)
    github_app_installation_id: int | None = Field(default=None, validation_alias=names.GITHUB_APP_INSTALLATION_ID)
    github_api_url: str = Field(default="https://api.github.com", validation_alias=names.GITHUB_API_URL)
    supabase_access_token: SecretStr | None = Field(default=None, validation_alias=names.SUPABASE_ACCESS_TOKEN)
    supabase_project_ref: str | None = Field(
        default=None, pattern=r"^[a-z]{20}$", validation_alias=names.SUPABASE_PROJECT_REF
    )
    supabase_api_url: str = Field(default="https://api.supabase.com", validation_alias=names.SUPABASE_API_URL)
    read_only: bool = Field(default=False, validation_alias=names.READ_ONLY)
    toolsets: Annotated[tuple[str, ...] | None, NoDecode] = Field(
        default=None, validation_alias=names.TOOLSETS_VARIABLE
    )
    policy_path: Path | None = Field(default=None, validation_alias=names.POLICY)
    workspace: Path = Field(default_factory=Path.cwd, validation_alias=names.WORKSPACE)
    audit: str | None = Field(default=None, validation_alias=names.AUDIT)
    http_token: SecretStr | None = Field(default=None, validation_alias=names.HTTP_TOKEN)
    allowed_hosts: Annotated[tuple[str, ...], NoDecode] = Field(default=(), validation_alias=names.ALLOWED_HOSTS)
    allowed_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), validation_alias=names.ALLOWED_ORIGINS
    )
    oauth_issuer: str | None = Field(default=None, validation_alias=names.OAUTH_ISSUER)
    oauth_jwks_url: str | None = Field(default=None, validation_alias=names.OAUTH_JWKS_URL)
    oauth_audience: str | None = Field(default=None, validation_alias=names.OAUTH_AUDIENCE)
    oauth_scopes: Annotated[tuple[str, ...], NoDecode] = Field(default=(), validation_alias=names.OAUTH_SCOPES)
    state_key: SecretStr | None = Field(default=None, validation_alias=names.STATE_KEY)
    anthropic_api_key: SecretStr | None = Field(default=None, validation_alias=names.ANTHROPIC_API_KEY)
    # run_devops_agent's model when it calls the Anthropic API itself; the URL is for proxies and test doubles.
    agent_model: str = Field(default="claude-sonnet-5-5", min_length=1, validation_alias=names.AGENT_MODEL)
    anthropic_base_url: str | None = Field(default=None, validation_alias=names.ANTHROPIC_BASE_URL)

    @field_validator("github_api_url")
    @classmethod
    def _github_url(cls, value: str) -> str:
        return _check_api_url(value, "GITHUB_API_URL")

    @field_validator("supabase_api_url")
    @classmethod
    def _supabase_url(cls, value: str) -> str:
        return _check_api_url(value, "SUPABASE_API_URL")

    @field_validator("anthropic_base_url")
    @classmethod
    def _anthropic_url(cls, value: str | None) -> str | None:
        return None if value is None else _check_api_url(value, "ANTHROPIC_BASE_URL")

    @field_validator("oauth_issuer", "oauth_jwks_url", "oauth_audience")
    @classmethod
    def _oauth_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        variable = f"DEVOPS_MCP_{info.field_name.upper()}" if info.field_name else "the OAuth URL"
        parts = urlsplit(value)
        if parts.fragment or (parts.query and info.field_name != "oauth_jwks_url"):
            raise ValueError(f"{variable} must be a URL without query or fragment")
        _check_api_url(value, variable)
        # Kept verbatim, trailing slash included: RFC 8414/9068 compare issuer and audience as exact strings.
        return value

    @field_validator("allowed_hosts", "allowed_origins", "oauth_scopes", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("oauth_scopes")
    @classmethod
    def _scope_tokens(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # RFC 6749 scope-token: printable ASCII without space, quote or backslash (it goes into WWW-Authenticate).
        bad = [scope for scope in value if not re.fullmatch(r"[\x21\x23-\x5b\x5d-\x7e]+", scope)]
        if bad:
            raise ValueError("scopes are a comma list of OAuth scope names (no spaces, quotes or backslashes)")
        return tuple(dict.fromkeys(value))

    @field_validator("state_key")
    @classmethod
    def _key_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < 32:
            raise ValueError("must be at least 32 bytes (e.g. `openssl rand -hex 32`), the same on every replica")
        return value

    @field_validator("toolsets", mode="before")
    @classmethod
    def _split_toolsets(cls, value: object) -> object:
        if isinstance(value, str):
            return parse_toolsets(value)
        return value

    @field_validator(
        "github_token",
        "github_app_private_key",
        "supabase_access_token",
        "http_token",
        "state_key",
        "anthropic_api_key",
        "anthropic_base_url",
        "oauth_issuer",
        "oauth_jwks_url",
        "oauth_audience",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `${VAR:-}` expansions in client configs hand us empty strings for unset tokens.
        return None if value == "" else value

    def github_configured(self) -> bool:
        app = self.github_app_id and self.github_app_installation_id
        return self.github_token is not None or bool(
            app and (self.github_app_private_key or self.github_app_private_key_file)
        )

    def oauth_enabled(self) -> bool:
        """OAuth resource-server mode for http: on when an issuer is configured."""
        return self.oauth_issuer is not None

    def configured_toolsets(self) -> tuple[str, ...]:
        """The toolsets to serve: the explicit list, else every toolset whose credentials are present."""
        if self.toolsets is not None:
            return self.toolsets
        present = {
            "github": self.github_configured(),
            "supabase": self.supabase_access_token is not None,
            # run_devops_agent needs no credential of its own: whether the client can sample (or
            # ANTHROPIC_API_KEY is set) is known per call, and it says then how to enable a model.
            # Like `report`, which it builds on, it is always served.
            "agent": True,
        }
        return tuple(name for name in TOOLSETS if present.get(name, True))


def load_settings(**overrides: object) -> Settings:
    """Read the environment; command-line flags arrive as `overrides`. Raises ConfigError, one line."""
    try:
        values = {key: value for key, value in overrides.items() if value is not None}
        return Settings(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "configuration"
        # The message only, never the input: a bad value may be a token.
        raise ConfigError(f"invalid {where}: {first['msg']}") from None


def state_dir() -> Path:
    """Where the server keeps its own files (audit log, caches): XDG state dir, per user."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "devops-engineer-mcp"
