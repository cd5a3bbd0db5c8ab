"""Start-up stays lazy: a stdio host starts this server for every session."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("github", "anthropic", "supabase", "yaml", "jsonschema", "tools.report")

PROBE = """
import json, sys, anyio
from mcp import Client
from server.app import build_server
from server.config import load_settings

async def main():
    async with Client(build_server(load_settings())) as client:
        await client.list_tools()
        await client.list_prompts()

anyio.run(main)
print(json.dumps(sorted(sys.modules)))
"""


def test_start_up_and_listing_import_no_backend(tmp_path: object) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        check=True,
        # Tokens switch every toolset on, so each toolset's start-up is covered.
        env={"XDG_STATE_HOME": str(tmp_path), "GITHUB_TOKEN": "x", "SUPABASE_ACCESS_TOKEN": "x"},
    ).stdout
    loaded = set(json.loads(out.splitlines()[-1]))
    assert "server.pipeline" in loaded, "the probe did not build the server"
    assert not [name for name in loaded if name.split(".")[0] in HEAVY or name in HEAVY]
