"""End to end over stdio: every call is audited, and no planted secret leaks anywhere.

The server runs from the built wheel with a GitHub token in its environment and debug logging;
after a series of calls, `devops-mcp audit --json` must list every call, and neither the results,
the server's log lines nor the audit file's bytes may hold a planted secret.
"""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError

from tests import fakes
from tests.conftest import REPO

pytestmark = pytest.mark.slow


async def test_audit_lists_every_call_and_nothing_leaks(installed: Path, tmp_path: Path) -> None:
    server_token = fakes.github_token()
    planted = {
        "aws": fakes.aws_secret_access_key(),
        "supabase": fakes.supabase_token(),
        "jwt": fakes.service_role_jwt(),
        "github": fakes.github_token(),
    }
    env = {
        "PYTHONPATH": str(installed),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "DEVOPS_MCP_AUDIT": str(tmp_path / "audit.sqlite3"),
        "GITHUB_TOKEN": server_token,
        "GITHUB_API_URL": "http://127.0.0.1:9",
    }
    report = json.loads((REPO / "examples" / "report.json").read_text())
    leaky = copy.deepcopy(report)
    leaky["runbooks"][0]["steps"].append(f"export AWS_SECRET_ACCESS_KEY={planted['aws']}")
    leaky["runbooks"][0]["steps"].append(f"curl -H 'apikey: {planted['jwt']}' with token {planted['supabase']}")
    params = StdioServerParameters(
        command=str(installed / "bin" / "devops-mcp"),
        args=["serve", "--log-level", "DEBUG"],
        env=env,
        cwd=str(tmp_path),
    )
    results: list[str] = []
    with (tmp_path / "server.log").open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            calls = [
                ("validate_report", {"report": report}),
                ("validate_report", {"report": leaky}),
                ("validate_report", {"report": 42, "extra": planted["github"]}),
                ("validate_report", {"report": json.dumps(leaky)}),
            ]
            for name, arguments in calls:
                result = await client.call_tool(name, arguments)
                results.append(result.model_dump_json())
            with pytest.raises(MCPError):
                await client.call_tool("no_such_tool", {"token": planted["github"]})

    audit = subprocess.run(
        [str(installed / "bin" / "devops-mcp"), "audit", "--json", "--tail", "100"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = [json.loads(line) for line in audit.splitlines()]
    assert "REDACTED:" in results[1], "the planted secrets were in the rendered report"
    assert [row["tool"] for row in rows] == ["validate_report"] * 4 + ["no_such_tool"]
    assert [row["outcome"] for row in rows] == ["ok", "ok", "invalid", "ok", "invalid"]
    assert all(row["duration_ms"] >= 0 for row in rows)

    audit_bytes = b"".join(path.read_bytes() for path in tmp_path.glob("audit.sqlite3*"))
    log_text = (tmp_path / "server.log").read_text()
    log_lines = [json.loads(line) for line in log_text.splitlines()]  # structlog JSON, one event a line
    assert sum(line["event"] == "tool_call" for line in log_lines) == 5
    for value in [server_token, *planted.values()]:
        assert all(value not in result for result in results)
        assert value not in log_text
        assert value.encode() not in audit_bytes
        assert value not in audit
