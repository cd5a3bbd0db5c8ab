"""A Report as Markdown: one heading per part, in order; files in fences their content cannot close."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePosixPath

from tools.report_model import (
    PART_NAMES,
    AlertingRules,
    ArchitectureDiagram,
    Artifact,
    CicdPipeline,
    CostAnalysis,
    DisasterRecoveryPlan,
    IacTemplates,
    MonitoringDashboard,
    PerformanceMetrics,
    Report,
    Runbook,
    SecurityHardening,
)

PART_TITLES: dict[str, str] = dict(
    zip(
        PART_NAMES,
        (
            "Architecture Diagram", "CI/CD Pipeline", "IaC Templates", "Monitoring Dashboard",
            "Alerting Rules", "Runbooks", "Disaster Recovery Plan", "Cost Analysis",
            "Security Hardening", "Performance Metrics",
        ),
        strict=True,
    )
)  # fmt: skip

_LANGUAGES = {
    ".yml": "yaml", ".yaml": "yaml", ".json": "json", ".tf": "hcl", ".tfvars": "hcl", ".hcl": "hcl",
    ".sh": "bash", ".py": "python", ".toml": "toml", ".sql": "sql", ".md": "markdown", ".ini": "ini",
}  # fmt: skip
_BACKTICK_RUN = re.compile(r"`+")


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in _BACKTICK_RUN.findall(text)), default=0)


def fence(content: str, language: str = "") -> list[str]:
    """A code block that no backtick run inside `content` can close."""
    ticks = "`" * max(3, _longest_backtick_run(content) + 1)
    return [f"{ticks}{language}", content.rstrip("\n"), ticks, ""]


def _code(text: str) -> str:
    """An inline code span, safe for any backticks inside."""
    text = " ".join(text.split())
    ticks = "`" * (_longest_backtick_run(text) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _inline(text: str) -> str:
    return " ".join(text.split())


def _cell(text: str) -> str:
    return _inline(text).replace("|", "\\|")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    return [*lines, ""]


def _paragraph(text: str | None) -> list[str]:
    return [text.strip(), ""] if text and text.strip() else []


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _language(path: str) -> str:
    pure = PurePosixPath(path)
    return "dockerfile" if pure.name == "Dockerfile" else _LANGUAGES.get(pure.suffix.lower(), "")


def _files(files: list[Artifact], heading: str = "### Files") -> list[str]:
    if not files:
        return []
    lines = [heading, ""]
    for artifact in files:
        lines += [f"#### {_code(artifact.path)}", "", *_paragraph(artifact.description)]
        lines += fence(artifact.content, _language(artifact.path))
    return lines


def _architecture(part: ArchitectureDiagram) -> list[str]:
    return [*_paragraph(part.description), *fence(part.mermaid, "mermaid")]


def _pipeline(part: CicdPipeline) -> list[str]:
    lines = [f"**Deployment strategy:** {_inline(part.deployment_strategy)}", ""] if part.deployment_strategy else []
    lines += ["### Stages", ""]
    for number, stage in enumerate(part.stages, 1):
        lines.append(f"{number}. **{_inline(stage.name)}**")
        lines += [f"   - {_inline(step)}" for step in stage.steps]
    return [*lines, "", *_files(part.files)]


def _iac(part: IacTemplates) -> list[str]:
    return [*_paragraph(part.description), *_files(part.files)]


def _monitoring(part: MonitoringDashboard) -> list[str]:
    lines = [f"**Stack:** {_inline(part.tool)}", ""] if part.tool else []
    signals = part.golden_signals
    rows = [
        (name.capitalize(), _code(signal.query), signal.description or "")
        for name, signal in (
            ("latency", signals.latency),
            ("traffic", signals.traffic),
            ("errors", signals.errors),
            ("saturation", signals.saturation),
        )
    ]
    return [
        *lines,
        "### Golden signals",
        "",
        *_table(("Signal", "Query", "Description"), rows),
        *_files(part.files),
    ]


def _alerting(part: AlertingRules) -> list[str]:
    rows = [(rule.name, rule.severity, _code(rule.condition), rule.route, rule.runbook) for rule in part.rules]
    header = ("Alert", "Severity", "Condition", "Route", "Runbook")
    return [*_table(header, rows), *_files(part.files)]


def _runbooks(runbooks: list[Runbook]) -> list[str]:
    lines: list[str] = []
    for runbook in runbooks:
        lines += [
            f"### {_inline(runbook.title)}",
            "",
            f"{_code(runbook.path)} — when: {_inline(runbook.when)}",
            "",
        ]
        lines += [f"{number}. {_inline(step)}" for number, step in enumerate(runbook.steps, 1)]
        lines.append("")
    return lines


def _disaster_recovery(part: DisasterRecoveryPlan) -> list[str]:
    backup = part.backup
    lines = [
        f"- **RTO:** {_inline(part.rto)}",
        f"- **RPO:** {_inline(part.rpo)}",
        f"- **Backups (3-2-1):** {backup.copies} copies, {backup.media} media, {backup.offsite} offsite; "
        f"{_inline(backup.schedule)}; " + ("encrypted" if backup.encrypted else "NOT encrypted"),
    ]
    if backup.retention:
        lines.append(f"- **Retention:** {_inline(backup.retention)}")
    lines += [f"- **Restore test:** {_inline(part.restore_test_cadence)}", "", "### Procedures", ""]
    for procedure in part.procedures:
        lines += [f"#### {_inline(procedure.scenario)}", ""]
        lines += [f"{number}. {_inline(step)}" for number, step in enumerate(procedure.steps, 1)]
        lines.append("")
    return lines


def _cost(part: CostAnalysis) -> list[str]:
    def money(amount: float) -> str:
        return f"{amount:,.2f} {part.currency}"

    saving = sum(item.estimated_monthly_saving for item in part.items)
    share = f" ({saving / part.current_monthly:.0%} of current)" if part.current_monthly else ""
    rows = [
        (item.resource, money(item.monthly_cost), item.optimization, money(item.estimated_monthly_saving))
        for item in part.items
    ]
    return [
        f"**Current monthly cost:** {money(part.current_monthly)}",
        "",
        *_table(("Resource", "Monthly cost", "Optimization", "Estimated saving"), rows),
        f"**Estimated monthly saving:** {money(saving)}{share}",
        "",
    ]


def _security(part: SecurityHardening) -> list[str]:
    rows = [(control.area, control.control, control.implementation) for control in part.controls]
    return [*_table(("Area", "Control", "Implementation"), rows), *_files(part.files)]


def _performance(part: PerformanceMetrics) -> list[str]:
    rows = []
    for label, metric in (
        ("Deployment frequency", part.deployment_frequency),
        ("Lead time for changes", part.lead_time),
        ("MTTR", part.mttr),
        ("Change failure rate", part.change_failure_rate),
    ):
        target = f"{_number(metric.target)} {metric.unit}" if metric.target is not None else ""
        rows.append((label, f"{_number(metric.value)} {metric.unit}", target))
    return _table(("Metric", "Value", "Target"), rows)


def render_markdown(report: Report) -> str:
    """The report as one Markdown document; deterministic, so a rendering can be committed."""
    sections = (
        _architecture(report.architecture_diagram),
        _pipeline(report.cicd_pipeline),
        _iac(report.iac_templates),
        _monitoring(report.monitoring_dashboard),
        _alerting(report.alerting_rules),
        _runbooks(report.runbooks),
        _disaster_recovery(report.disaster_recovery_plan),
        _cost(report.cost_analysis),
        _security(report.security_hardening),
        _performance(report.performance_metrics),
    )
    lines = ["# DevOps Report", ""]
    for number, (name, body) in enumerate(zip(PART_NAMES, sections, strict=True), 1):
        lines += [f"## {number}. {PART_TITLES[name]}", "", *body]
    return "\n".join(lines).rstrip("\n") + "\n"
