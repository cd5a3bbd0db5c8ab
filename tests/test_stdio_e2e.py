"""A real `devops-mcp serve` over stdio, from the built wheel (not the source tree), in both eras."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from tests.conftest import ERA_VERSIONS, ERAS

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def server_params(site: Path, cwd: Path, *args: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=str(site / "bin" / "devops-mcp"),
        args=["serve", *args],
        # PYTHONPATH puts the installed wheel ahead of any editable install of the source tree.
        env={"PYTHONPATH": str(site), "XDG_STATE_HOME": str(cwd / "state")},
        cwd=str(cwd),
    )


def test_wheel_carries_agent_and_prompts(installed: Path, tmp_path: Path) -> None:
    probe = "import prompts, server; print(prompts.__file__); print(prompts.agent_path())"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PYTHONPATH": str(installed)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert all(line.startswith(str(installed)) for line in out), out
    bundled = ("prompts/agent.md", "prompts/report.md", "prompts/instructions.md", "prompts/steps/design.md")
    for relative in bundled:
        assert (installed / relative).is_file(), relative


@pytest.mark.parametrize("era", ERAS)
async def test_stdio_serves_the_persona(installed: Path, tmp_path: Path, era: str) -> None:
    async with Client(server_params(installed, tmp_path), mode=era) as client:
        assert client.protocol_version == ERA_VERSIONS[era]
        assert "CI/CD" in (client.instructions or "")
        prompt_names = {p.name for p in (await client.list_prompts()).prompts}
        resource_uris = {str(r.uri) for r in (await client.list_resources()).resources}
        persona = await client.get_prompt("devops-engineer", {"task": "a zero-downtime deploy"})
        schema_text = (await client.read_resource("devops://report/schema")).contents[0].text  # type: ignore[union-attr]
        example = json.loads((REPO / "examples" / "report.json").read_text())
        checked = await client.call_tool("validate_report", {"report": example})
    assert "devops-engineer" in prompt_names
    assert {"devops-research", "devops-optimize", "devops-report"} <= prompt_names
    assert {"devops://agent", "devops://procedure", "devops://report/schema"} <= resource_uris
    text = persona.messages[0].content.text  # type: ignore[union-attr]
    assert "Optimize Operations" in text
    assert "Performance Metrics" in text
    assert len(json.loads(schema_text)["properties"]) == 10
    assert not checked.is_error
    assert checked.structured_content is not None
    assert checked.structured_content["valid"] is True


def test_cli_errors_are_one_line(installed: Path, tmp_path: Path) -> None:
    cli = str(installed / "bin" / "devops-mcp")
    env = {"PYTHONPATH": str(installed), "GITHUB_API_URL": "http://example.com"}
    bad = subprocess.run([cli, "serve"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0
    assert bad.stderr.strip().count("\n") == 0, bad.stderr
    assert "GITHUB_API_URL" in bad.stderr
    assert "Traceback" not in bad.stderr
