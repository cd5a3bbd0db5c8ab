"""The ten-part report: what validate_report accepts, what it rejects and says, how it renders."""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import tools.report
from tools import report_workflow
from tools.report import (
    PART_NAMES,
    Problem,
    Report,
    ReportValidation,
    render_markdown,
    report_json_schema,
    validate_report,
)
from tools.report_checks import parse_duration

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EXAMPLE: dict[str, Any] = json.loads((EXAMPLES / "report.json").read_text(encoding="utf-8"))
PLANTED = "ZQX-planted-7731"

Mutation = Callable[[dict[str, Any]], None]


def example() -> dict[str, Any]:
    return copy.deepcopy(EXAMPLE)


def errors(result: ReportValidation) -> list[Problem]:
    return [problem for problem in result.problems if problem.severity == "error"]


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"the example no longer holds {old!r} exactly once"
    return text.replace(old, new)


def edit_workflow(old: str, new: str) -> Mutation:
    def mutate(report: dict[str, Any]) -> None:
        workflow = report["cicd_pipeline"]["files"][0]
        workflow["content"] = replace_once(workflow["content"], old, new)

    return mutate


def setter(*path_then_value: Any) -> Mutation:
    *path, value = path_then_value

    def mutate(report: dict[str, Any]) -> None:
        target: Any = report
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def deleter(*path: str | int) -> Mutation:
    def mutate(report: dict[str, Any]) -> None:
        target: Any = report
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


INJECTION = '      - run: echo "${{ github.event.issue.title }}"\n'
UNPINNED = "      - uses: actions/checkout@v4\n        with:\n          persist-credentials: false\n"

# (mutation, part the error must be in, text its message must hold)
REJECTIONS: dict[str, tuple[Mutation, str, str]] = {
    "missing part": (deleter("runbooks"), "runbooks", "runbooks"),
    "workflow job without runs-on": (
        edit_workflow("    runs-on: ubuntu-24.04\n    timeout-minutes: 20\n", "    timeout-minutes: 20\n"),
        "cicd_pipeline",
        "'runs-on' is a required property",
    ),
    "template injection": (
        edit_workflow("      - name: Dependency audit\n", INJECTION + "      - name: Dependency audit\n"),
        "cicd_pipeline",
        "template-injection",
    ),
    "template injection behind an ignore comment": (
        edit_workflow(
            "      - name: Dependency audit\n",
            INJECTION.rstrip("\n") + "  # zizmor: ignore[template-injection]\n      - name: Dependency audit\n",
        ),
        "cicd_pipeline",
        "template-injection",
    ),
    "action not pinned to a SHA": (
        edit_workflow("      - name: Dependency audit\n", UNPINNED + "      - name: Dependency audit\n"),
        "cicd_pipeline",
        "unpinned-uses",
    ),
    "unparsable IaC YAML": (
        setter("iac_templates", "files", 1, "content", "kind: Deployment\nspec: [replicas: 3\n"),
        "iac_templates",
        "k8s/shop-api.yaml: YAML does not parse",
    ),
    "unparsable dashboard JSON": (
        setter("monitoring_dashboard", "files", 0, "content", '{\n  "title": "x",\n}\n'),
        "monitoring_dashboard",
        "monitoring/dashboards/shop-api.json: JSON does not parse",
    ),
    "RTO not a duration": (
        setter("disaster_recovery_plan", "rto", "about four hours"),
        "disaster_recovery_plan",
        "disaster_recovery_plan.rto",
    ),
    "RPO not a duration": (setter("disaster_recovery_plan", "rpo", "1h30"), "disaster_recovery_plan", ".rpo"),
    "3-2-1: too few copies": (
        setter("disaster_recovery_plan", "backup", "copies", 2),
        "disaster_recovery_plan",
        "3-2-1",
    ),
    "3-2-1: one medium": (
        setter("disaster_recovery_plan", "backup", "media", 1),
        "disaster_recovery_plan",
        "3-2-1",
    ),
    "3-2-1: nothing offsite": (
        setter("disaster_recovery_plan", "backup", "offsite", 0),
        "disaster_recovery_plan",
        "3-2-1",
    ),
    "alert rule without runbook": (
        deleter("alerting_rules", "rules", 0, "runbook"),
        "alerting_rules",
        "alerting_rules.rules[0].runbook",
    ),
    "alert runbook neither URL nor report runbook": (
        setter("alerting_rules", "rules", 1, "runbook", "runbooks/not-written-yet.md"),
        "alerting_rules",
        "alerting_rules.rules[1].runbook must be an http(s) URL",
    ),
    "alert severity outside critical/warning/info": (
        setter("alerting_rules", "rules", 0, "severity", "page"),
        "alerting_rules",
        "alerting_rules.rules[0].severity",
    ),
    "DORA metric without unit": (
        deleter("performance_metrics", "mttr", "unit"),
        "performance_metrics",
        "performance_metrics.mttr.unit",
    ),
    "DORA metric missing": (
        deleter("performance_metrics", "lead_time"),
        "performance_metrics",
        "performance_metrics.lead_time",
    ),
    "change failure rate above 100%": (
        setter("performance_metrics", "change_failure_rate", "value", 140),
        "performance_metrics",
        "above 100%",
    ),
    "Mermaid without a diagram keyword": (
        setter("architecture_diagram", "mermaid", "%% topology\nA --> B\n"),
        "architecture_diagram",
        "diagram keyword",
    ),
    "Mermaid wrapped in a Markdown fence": (
        setter("architecture_diagram", "mermaid", "```mermaid\nflowchart LR\n  A --> B\n```\n"),
        "architecture_diagram",
        "without a ``` fence",
    ),
    "no CI file": (setter("cicd_pipeline", "files", []), "cicd_pipeline", "cicd_pipeline.files"),
    "no IaC file": (setter("iac_templates", "files", []), "iac_templates", "iac_templates.files"),
    "no alert rule": (setter("alerting_rules", "rules", []), "alerting_rules", "alerting_rules.rules"),
    "no runbook": (setter("runbooks", []), "runbooks", "runbooks"),
    "saving above the item's cost": (
        setter("cost_analysis", "items", 0, "estimated_monthly_saving", 5000),
        "cost_analysis",
        "cost_analysis.items[0].estimated_monthly_saving",
    ),
    "artifact path escaping the repository": (
        setter("iac_templates", "files", 1, "path", "../k8s/shop-api.yaml"),
        "iac_templates",
        "iac_templates.files[1].path must not contain '..'",
    ),
    "same file delivered twice": (
        setter("security_hardening", "files", 0, "path", "k8s/shop-api.yaml"),
        "security_hardening",
        "k8s/shop-api.yaml is delivered twice",
    ),
    "unknown top-level field": (setter("summary", "all good"), "report", "summary: Extra inputs"),
}


@pytest.mark.parametrize("case", list(REJECTIONS), ids=list(REJECTIONS))
def test_rejects(case: str) -> None:
    mutate, part, text = REJECTIONS[case]
    report = example()
    mutate(report)
    result = validate_report(report)
    assert not result.valid
    matching = [p for p in errors(result) if p.part == part and text in p.message]
    assert matching, f"no error in {part} mentioning {text!r}; got {result.problems}"


def test_schema_problem_points_at_the_job_line() -> None:
    report = example()
    edit_workflow("    runs-on: ubuntu-24.04\n    timeout-minutes: 20\n", "    timeout-minutes: 20\n")(report)
    job_line = report["cicd_pipeline"]["files"][0]["content"].splitlines().index("  deploy-production:") + 1
    messages = [p.message for p in errors(validate_report(report)) if "runs-on" in p.message]
    assert messages
    assert all(m.startswith(f".github/workflows/ci.yml line {job_line}:") for m in messages), messages


def test_zizmor_finding_names_audit_file_and_line() -> None:
    report = example()
    edit_workflow("      - name: Dependency audit\n", INJECTION + "      - name: Dependency audit\n")(report)
    line = report["cicd_pipeline"]["files"][0]["content"].splitlines().index(INJECTION.rstrip("\n")) + 1
    messages = [p.message for p in errors(validate_report(report))]
    assert f"zizmor template-injection in .github/workflows/ci.yml line {line}:" in "\n".join(messages)


def zizmor_finding(ident: str, severity: str) -> dict[str, Any]:
    """A finding in zizmor's v1 JSON shape, trimmed from a real run."""
    key = {"Local": {"verbatim_path": ".github/workflows/w0.yml"}}
    return {
        "ident": ident,
        "desc": "a description",
        "url": f"https://docs.zizmor.sh/audits/#{ident}",
        "determinations": {"confidence": "High", "severity": severity, "persona": "Regular"},
        "locations": [
            {
                "symbolic": {"key": key, "annotation": "this step", "kind": "Related"},
                "concrete": {"location": {"start_point": {"row": 2, "column": 0}}},
            },
            {
                "symbolic": {"key": key, "annotation": "the culprit", "kind": "Primary"},
                "concrete": {"location": {"start_point": {"row": 8, "column": 14}}},
            },
        ],
        "ignored": False,
        "fixes": [],
    }


@pytest.mark.parametrize(
    ("ident", "zizmor_severity", "severity"),
    [
        ("unpinned-uses", "Low", "error"),
        ("template-injection", "Medium", "error"),
        ("dangerous-triggers", "High", "error"),
        ("artipacked", "Medium", "warning"),
        ("excessive-permissions", "Informational", "warning"),
    ],
)
def test_zizmor_severity_mapping(
    ident: str, zizmor_severity: str, severity: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "zizmor"
    output = json.dumps([zizmor_finding(ident, zizmor_severity)])
    fake.write_text(f"#!/bin/sh\ncat <<'EOF'\n{output}\nEOF\n", encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setattr(report_workflow, "_zizmor_executable", lambda: str(fake))
    result = validate_report(example())
    assert [(p.severity, p.part) for p in result.problems] == [(severity, "cicd_pipeline")]
    assert result.problems[0].message.startswith(f"zizmor {ident} in .github/workflows/ci.yml line 9: ")
    assert "the culprit" in result.problems[0].message


def test_missing_zizmor_is_a_warning_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_workflow, "_zizmor_executable", lambda: None)
    result = validate_report(example())
    assert result.valid
    assert [p.severity for p in result.problems if "zizmor" in p.message] == ["warning"]


def test_failing_zizmor_is_a_warning_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_workflow, "_zizmor_executable", lambda: "/bin/false")
    result = validate_report(example())
    assert result.valid
    assert any(p.severity == "warning" and "zizmor failed" in p.message for p in result.problems)


def test_yaml_alias_bomb_in_a_workflow_is_refused_quickly() -> None:
    layers = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    layers += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    bomb = "on: push\n" + "\n".join(layers) + "\njobs: {}\n"
    report = example()
    report["cicd_pipeline"]["files"][0]["content"] = bomb
    started = time.monotonic()
    messages = [p.message for p in errors(validate_report(report))]
    assert time.monotonic() - started < 5
    assert any("expands to more than" in m for m in messages), messages


def test_shape_errors_never_echo_the_input_value() -> None:
    report = example()
    report["disaster_recovery_plan"]["backup"]["copies"] = PLANTED
    report["alerting_rules"]["rules"][0]["severity"] = PLANTED
    report["performance_metrics"]["mttr"]["value"] = PLANTED
    report["cicd_pipeline"]["stages"] = PLANTED
    report["cost_analysis"]["currency"] = PLANTED
    report["architecture_diagram"] = {"mermaid": ["flowchart LR", PLANTED]}
    del report["security_hardening"]
    result = validate_report(report)
    assert not result.valid
    assert result.markdown == ""
    parts = {p.part for p in result.problems}
    assert {"disaster_recovery_plan", "alerting_rules", "security_hardening", "architecture_diagram"} <= parts
    assert PLANTED not in result.model_dump_json()


@pytest.mark.parametrize(
    "data",
    ["{", '{"architecture_diagram": ', "", "[1, 2]", "null", "[" * 100_000, 42, None, ["a"]],
    ids=["open brace", "truncated", "empty", "array", "null", "deep nesting", "int", "None", "list"],
)
def test_unreadable_input_is_a_problem_not_an_exception(data: Any) -> None:
    result = validate_report(data)
    assert not result.valid
    assert [p.part for p in result.problems] == ["report"]
    assert result.markdown == ""


def test_invalid_json_names_the_position() -> None:
    result = validate_report('{"architecture_diagram": {,}}')
    assert [p.message for p in result.problems] == [
        "the report is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 27"
    ]


def test_a_failing_check_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(report: Report) -> list[Problem]:
        raise RuntimeError(PLANTED)

    monkeypatch.setattr(tools.report, "CHECKS", (broken,))
    result = validate_report(example())
    assert not result.valid
    assert [p.message for p in result.problems] == ["check broken failed unexpectedly (RuntimeError)"]


def test_accepts_the_example() -> None:
    result = validate_report(json.dumps(EXAMPLE))
    for problem in result.problems:
        print(f"{problem.severity}: {problem.part}: {problem.message}")
    assert errors(result) == []
    assert result.valid
    assert result.markdown.startswith("# DevOps Report\n")


def test_committed_markdown_is_the_rendering_of_the_example() -> None:
    rendered = render_markdown(Report.model_validate(EXAMPLE))
    assert (EXAMPLES / "report.md").read_text(encoding="utf-8") == rendered


def test_markdown_has_one_heading_per_part_in_order() -> None:
    headings = re.findall(r"^## (\d+)\. ", render_markdown(Report.model_validate(EXAMPLE)), re.MULTILINE)
    assert headings == [str(n) for n in range(1, len(PART_NAMES) + 1)]


def test_backticks_in_a_file_cannot_break_its_fence() -> None:
    content = "a: |\n  ```\n  ````still inside````\n  ```\n"
    report = example()
    report["iac_templates"]["files"][1]["content"] = content
    markdown = render_markdown(Report.model_validate(report))
    after_heading = markdown.split("#### `k8s/shop-api.yaml`", 1)[1]
    block = re.search(r"^(`{3,})yaml\n(.*?)\n\1$", after_heading, re.MULTILINE | re.DOTALL)
    assert block is not None
    assert block.group(1) == "`````"
    assert block.group(2) + "\n" == content


def test_json_schema_lists_the_ten_parts_in_order() -> None:
    schema = report_json_schema()
    assert list(schema["properties"]) == list(PART_NAMES)
    assert schema["required"] == list(PART_NAMES)
    assert len(PART_NAMES) == 10
    assert all(schema["properties"][name].get("description") for name in PART_NAMES)


def test_json_schema_is_usable_on_its_own() -> None:
    from jsonschema import Draft202012Validator

    schema = report_json_schema()
    Draft202012Validator.check_schema(schema)
    assert list(Draft202012Validator(schema).iter_errors(EXAMPLE)) == []
    broken = example()
    del broken["performance_metrics"]["mttr"]["unit"]
    assert [e.message for e in Draft202012Validator(schema).iter_errors(broken)] == ["'unit' is a required property"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT15M", timedelta(minutes=15)),
        ("P1D", timedelta(days=1)),
        ("PT1H30M", timedelta(hours=1, minutes=30)),
        ("PT0.5S", timedelta(seconds=0.5)),
        ("P1W", timedelta(weeks=1)),
        ("15m", timedelta(minutes=15)),
        ("1h", timedelta(hours=1)),
        ("4h30m", timedelta(hours=4, minutes=30)),
        ("4h 30m", timedelta(hours=4, minutes=30)),
        ("30s", timedelta(seconds=30)),
        ("1d", timedelta(days=1)),
        ("0m", timedelta(0)),
        ("P", None),
        ("PT", None),
        ("PT1", None),
        ("P1H", None),
        ("15", None),
        ("1h30", None),
        ("four hours", None),
        ("", None),
        ("9999999d", None),
    ],
)
def test_parse_duration(text: str, expected: timedelta | None) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "mermaid",
    [
        "flowchart LR\n  a --> b",
        "graph TD;\n  a-->b",
        "\n%% comment\n%%{init: {'theme': 'dark'}}%%\nsequenceDiagram\n  a->>b: hi",
        "---\ntitle: Topology\n---\narchitecture-beta\n  service db(database)[DB]",
        "stateDiagram-v2\n  [*] --> Up",
        "C4Deployment\n  title Production",
        "erDiagram\n  ORDER ||--o{ LINE : has",
    ],
)
def test_mermaid_keywords_accepted(mermaid: str) -> None:
    report = example()
    report["architecture_diagram"]["mermaid"] = mermaid
    assert [p for p in validate_report(report).problems if p.part == "architecture_diagram"] == []
