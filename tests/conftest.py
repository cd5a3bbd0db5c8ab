"""Shared fixtures: a server built from a clean environment, and clients for both protocol eras."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp.server import Server

from server.app import build_server
from server.config import Settings, load_settings
from server.logs import configure_logging

# In-process servers log like the real one: redacted JSON on stderr, never on stdout.
configure_logging("INFO")

REPO = Path(__file__).resolve().parent.parent

# Both protocol eras the server must serve: the 2025 handshake ("legacy") and, through discovery
# ("auto"), the 2026-07-28 per-request envelope.
ERAS = ("legacy", "auto")
ERA_VERSIONS = {"legacy": "2025-11-25", "auto": "2026-07-28"}

_ENV_VARS = (
    "GITHUB_TOKEN",
    "GITHUB_PERSONAL_ACCESS_TOKEN",
    "GITHUB_API_URL",
    "SUPABASE_ACCESS_TOKEN",
    "SUPABASE_API_URL",
    "DEVOPS_MCP_READ_ONLY",
    "DEVOPS_MCP_TOOLSETS",
    "DEVOPS_MCP_POLICY",
    "DEVOPS_MCP_WORKSPACE",
    "DEVOPS_MCP_AUDIT",
    "DEVOPS_MCP_HTTP_TOKEN",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "DEVOPS_MCP_AGENT_MODEL",
    "SUPABASE_PROJECT_REF",
    "DEVOPS_MCP_STATE_KEY",
    "DEVOPS_MCP_OAUTH_ISSUER",
    "DEVOPS_MCP_OAUTH_AUDIENCE",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test sees the developer's tokens or settings; state goes to a temporary directory."""
    for name in _ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
    # Fast-start manifests recorded by tests stay out of the developer's own cache.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(params=ERAS)
def era(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def make_server(**overrides: Any) -> Server[Any]:
    settings: Settings = load_settings(**overrides)
    return build_server(settings)


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the wheel and install it (no deps: the test environment has them) into its own folder."""
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("*.whl")
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
    )
    return target
