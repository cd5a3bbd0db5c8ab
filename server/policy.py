"""The policy file (TOML): every guardrail default, and the keys that tighten or loosen it.

Every key is documented in docs/policy.md. An unknown key or a wrong value stops the server at
start with one line naming the key.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from server.decision import Verdict
from server.errors import ConfigError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScopePolicy(_Section):
    repositories: tuple[str, ...] = Field(
        default=(), description="owner/repo globs the GitHub tools may touch; empty: any"
    )
    supabase_projects: tuple[str, ...] = Field(
        default=(), description="Supabase project refs the Supabase tools may read; empty: any"
    )
    supabase_project: str | None = Field(
        default=None,
        pattern=r"^[a-z]{20}$",
        description="single-project mode: the one project; list_projects is hidden and project ids default to it",
    )


class GitHubPolicy(_Section):
    required_approvals: int = Field(default=1, ge=0, description="approvals a merge needs")
    merge_methods: tuple[Literal["merge", "squash", "rebase"], ...] = ("merge", "squash", "rebase")


class SupabasePolicy(_Section):
    max_window_hours: float = Field(default=24, gt=0, le=24 * 7)
    max_limit: int = Field(default=1000, ge=1, le=10_000)


class BashPolicy(_Section):
    allow: tuple[str, ...] = Field(default=(), description="command patterns to allow, e.g. 'kubectl get *'")
    ask: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    protected_namespaces: tuple[str, ...] = ("prod*", "production*", "kube-system")
    sandbox: Literal["auto", "required", "off"] | None = Field(
        default=None, description="default: 'required' in http mode, 'auto' in stdio mode"
    )
    network: bool = False
    timeout_s: float = Field(default=120, gt=0, le=3600)
    memory_mb: int = Field(default=2048, ge=64)
    max_processes: int = Field(default=256, ge=8)
    env_allow: tuple[str, ...] = Field(default=(), description="extra environment variables passed through")


class HttpPolicy(_Section):
    max_request_bytes: int = Field(default=1_000_000, ge=10_000, description="larger request bodies get 413")
    rate_limit_per_minute: int = Field(default=600, ge=1, description="calls per client per minute; then 429")


class Policy(_Section):
    confirm: Literal["elicit-or-host", "require-elicitation"] = Field(
        default="elicit-or-host",
        description="'ask' decisions: elicit where the client can, else rely on the host's confirmation;"
        " 'require-elicitation' refuses where the client cannot elicit",
    )
    protected_branches: tuple[str, ...] = Field(
        default=("main", "master", "release/*"),
        description="branch globs never written or force-pushed, besides each repository's default"
        " branch and the branches GitHub protects",
    )
    output_budget: int = Field(default=20_000, ge=1_000, le=1_000_000)
    rules: dict[str, Verdict] = Field(
        default_factory=dict, description="rule id -> allow/ask/deny, overriding that rule's verdict"
    )
    scope: ScopePolicy = ScopePolicy()
    github: GitHubPolicy = GitHubPolicy()
    supabase: SupabasePolicy = SupabasePolicy()
    bash: BashPolicy = BashPolicy()
    http: HttpPolicy = HttpPolicy()

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, value: dict[str, Verdict]) -> dict[str, Verdict]:
        from server.rules import rule_ids  # the rules read the policy; imported here to avoid a cycle

        unknown = sorted(set(value) - set(rule_ids()))
        if unknown:
            raise ValueError(f"unknown rule id {', '.join(unknown)}; see docs/policy.md for the rule ids")
        return value


def load_policy(path: Path | None) -> Policy:
    """The policy at `path`, or the defaults. Raises ConfigError with one line naming the key."""
    if path is None:
        return Policy()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read policy file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"policy file {path} is not valid TOML: {exc}") from None
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_input=False, include_url=False)[0]
        key = ".".join(str(part) for part in error["loc"])
        raise ConfigError(f"policy file {path}: {key}: {error['msg']}") from None
