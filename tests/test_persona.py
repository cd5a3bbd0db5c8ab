"""The persona over MCP: prompts, resources and instructions, in both protocol eras."""

from __future__ import annotations

import json

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

import prompts
from tests.conftest import ERA_VERSIONS, make_server

STEP_PROMPTS = [f"devops-{step}" for step in prompts.STEPS]
TEN_PARTS = [
    "Architecture Diagram",
    "CI/CD Pipeline",
    "IaC Templates",
    "Monitoring Dashboard",
    "Alerting Rules",
    "Runbooks",
    "Disaster Recovery Plan",
    "Cost Analysis",
    "Security Hardening",
    "Performance Metrics",
]
FIVE_STEPS = [
    "Research Latest Practices",
    "Design Infrastructure",
    "Implement Automation",
    "Setup Monitoring",
    "Optimize Operations",
]


async def test_prompts_listed(era: str) -> None:
    async with Client(make_server(), mode=era) as client:
        listed = {p.name: p for p in (await client.list_prompts()).prompts}
    assert set(listed) == {"devops-engineer", *STEP_PROMPTS, "devops-report"}
    engineer = listed["devops-engineer"]
    assert [(a.name, a.required) for a in engineer.arguments or []] == [("task", True)]
    assert (engineer.description or "").startswith(
        "Use proactively for CI/CD pipelines, infrastructure automation, and production operations"
    )


async def test_persona_prompt_carries_steps_parts_and_task(era: str) -> None:
    async with Client(make_server(), mode=era) as client:
        result = await client.get_prompt("devops-engineer", {"task": "Our deploys to prod fail at night"})
    text = result.messages[0].content.text  # type: ignore[union-attr]
    for step in FIVE_STEPS:
        assert step in text
    for part in TEN_PARTS:
        assert f"**{part}**" in text
    assert "Zero Downtime" in text
    assert text.rstrip().endswith("Our deploys to prod fail at night")
    assert "---" not in text.splitlines()[0], "the frontmatter is not part of the persona prompt"


@pytest.mark.parametrize("name", STEP_PROMPTS)
async def test_step_prompts_hold_their_step_only(name: str) -> None:
    step_index = STEP_PROMPTS.index(name)
    async with Client(make_server()) as client:
        result = await client.get_prompt(name, {"task": "ship the API", "context": "found: no CI"})
    text = result.messages[0].content.text  # type: ignore[union-attr]
    assert FIVE_STEPS[step_index] in text
    others = [s for i, s in enumerate(FIVE_STEPS) if i != step_index]
    assert not any(other in text for other in others)
    assert "ship the API" in text
    assert "found: no CI" in text


async def test_report_prompt_names_the_ten_parts_and_the_schema() -> None:
    async with Client(make_server()) as client:
        result = await client.get_prompt("devops-report")
    text = result.messages[0].content.text  # type: ignore[union-attr]
    for part in TEN_PARTS:
        assert part in text
    assert "devops://report/schema" in text
    assert "validate_report" in text


async def test_prompt_errors_are_invalid_params(era: str) -> None:
    async with Client(make_server(), mode=era) as client:
        with pytest.raises(MCPError) as unknown:
            await client.get_prompt("devops-nonsense")
        with pytest.raises(MCPError) as missing:
            await client.get_prompt("devops-engineer", {})
    assert unknown.value.error.code == -32602
    assert "devops-nonsense" in unknown.value.error.message
    assert missing.value.error.code == -32602
    assert "task" in missing.value.error.message


async def test_resources_listed_and_read(era: str) -> None:
    async with Client(make_server(), mode=era) as client:
        uris = {str(r.uri) for r in (await client.list_resources()).resources}
        templates = [t.uri_template for t in (await client.list_resource_templates()).resource_templates]
        agent = (await client.read_resource("devops://agent")).contents[0]
        procedure = (await client.read_resource("devops://procedure")).contents[0]
    assert uris == {"devops://agent", "devops://procedure", "devops://report/schema"}
    assert templates == ["devops://standards/{topic}"]
    assert agent.text.startswith("---\nname: devops-engineer\n")  # type: ignore[union-attr]
    for step in FIVE_STEPS:
        assert step in procedure.text  # type: ignore[union-attr]
    assert "Golden Signals" not in procedure.text  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("cicd", "Pipeline Stages"),
        ("kubernetes", "Pod disruption budgets"),
        ("monitoring", "Golden Signals"),
        ("alerting", "PagerDuty"),
        ("disaster-recovery", "3-2-1 Rule"),
        ("cost", "Spot instances"),
        ("security", "SBOM generation"),
    ],
)
async def test_standards_topics(topic: str, expected: str) -> None:
    async with Client(make_server()) as client:
        content = (await client.read_resource(f"devops://standards/{topic}")).contents[0]
    assert expected in content.text  # type: ignore[union-attr]
    assert content.mime_type == "text/markdown"


@pytest.mark.parametrize("uri", ["devops://standards/nope", "devops://nothing", "file:///etc/passwd"])
async def test_unknown_resource_is_invalid_params(uri: str, era: str) -> None:
    async with Client(make_server(), mode=era) as client:
        with pytest.raises(MCPError) as err:
            await client.read_resource(uri)
    assert err.value.error.code == -32602


async def test_report_schema_resource_has_the_ten_parts() -> None:
    async with Client(make_server()) as client:
        content = (await client.read_resource("devops://report/schema")).contents[0]
    schema = json.loads(content.text)  # type: ignore[union-attr]
    assert list(schema["properties"]) == [
        "architecture_diagram",
        "cicd_pipeline",
        "iac_templates",
        "monitoring_dashboard",
        "alerting_rules",
        "runbooks",
        "disaster_recovery_plan",
        "cost_analysis",
        "security_hardening",
        "performance_metrics",
    ]
    assert set(schema["required"]) == set(schema["properties"])


async def test_instructions_tell_a_host_when_to_use_the_server(era: str) -> None:
    async with Client(make_server(), mode=era) as client:
        instructions = client.instructions or ""
        assert client.protocol_version == ERA_VERSIONS[era]
    for word in ("CI/CD", "infrastructure", "deployments", "monitoring", "incident", "cost"):
        assert word in instructions
