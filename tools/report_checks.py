"""Checks a report must pass beyond its shape: each takes a parsed Report and returns problems."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import yaml

from tools.report_model import DURATION_HELP, Artifact, Problem, Report
from tools.report_workflow import Workflow, Yaml12Loader, check_workflows

Check = Callable[[Report], list[Problem]]

MERMAID_KEYWORDS = frozenset(
    {
        "flowchart", "flowchart-elk", "graph", "sequenceDiagram", "classDiagram", "classDiagram-v2",
        "stateDiagram", "stateDiagram-v2", "erDiagram", "journey", "gantt", "pie", "quadrantChart",
        "requirementDiagram", "gitGraph", "C4Context", "C4Container", "C4Component", "C4Dynamic",
        "C4Deployment", "mindmap", "timeline", "zenuml", "sankey", "sankey-beta", "xychart",
        "xychart-beta", "block", "block-beta", "packet", "packet-beta", "kanban", "architecture",
        "architecture-beta", "radar-beta", "treemap-beta",
    }
)  # fmt: skip

_WORKFLOW_PATH = re.compile(r"(?:^|/)\.github/workflows/.+\.ya?ml$")
_NUM = r"(\d{1,6})"  # bounded so a duration always fits a timedelta
_ISO_DURATION = re.compile(
    rf"P(?!$)(?:{_NUM}W)?(?:{_NUM}D)?(?:T(?=\d)(?:{_NUM}H)?(?:{_NUM}M)?(?:(\d{{1,6}}(?:\.\d{{1,6}})?)S)?)?",
    re.IGNORECASE,
)
_SHORT_DURATION = re.compile(
    rf"(?=\d)(?:{_NUM}\s*w\s*)?(?:{_NUM}\s*d\s*)?(?:{_NUM}\s*h\s*)?(?:{_NUM}\s*m\s*)?(?:{_NUM}\s*s)?",
    re.IGNORECASE,
)


def parse_duration(text: str) -> timedelta | None:
    """`PT1H30M`, `P1D`, `4h30m`, `15m` as a timedelta; None when the text is not a duration."""
    text = text.strip()
    match = _ISO_DURATION.fullmatch(text) or _SHORT_DURATION.fullmatch(text)
    if match is None:
        return None
    weeks, days, hours, minutes, seconds = (float(group or 0) for group in match.groups())
    return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)


def _error(part: str, message: str) -> Problem:
    return Problem(part=part, message=message, severity="error")


def check_mermaid(report: Report) -> list[Problem]:
    lines = iter(report.architecture_diagram.mermaid.splitlines())
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("%%"):
            continue
        if stripped == "---":  # YAML frontmatter (title, config) runs to the next ---
            for closing in lines:
                if closing.strip() == "---":
                    break
            continue
        if stripped.split(maxsplit=1)[0].rstrip(";") in MERMAID_KEYWORDS:
            return []
        break
    hint = (
        " (give the Mermaid source itself, without a ``` fence)" if "```" in report.architecture_diagram.mermaid else ""
    )
    return [
        _error(
            "architecture_diagram",
            "architecture_diagram.mermaid must start with a Mermaid diagram keyword such as "
            f"flowchart, graph, sequenceDiagram or architecture-beta{hint}",
        )
    ]


def _artifacts(report: Report) -> Iterator[tuple[str, str, Artifact]]:
    """(part, field path, artifact) for every file the report delivers."""
    groups = {
        "cicd_pipeline": report.cicd_pipeline.files,
        "iac_templates": report.iac_templates.files,
        "monitoring_dashboard": report.monitoring_dashboard.files,
        "alerting_rules": report.alerting_rules.files,
        "security_hardening": report.security_hardening.files,
    }
    for part, files in groups.items():
        for index, artifact in enumerate(files):
            yield part, f"{part}.files[{index}]", artifact


def _normal_path(path: str) -> str:
    return path.removeprefix("./")


def _unsafe_path_reason(path: str) -> str | None:
    # These files are meant to be committed (push_files), which refuses the same paths.
    parts = PurePosixPath(path).parts
    if path.startswith("/") or "\\" in path or "\x00" in path:
        return "must be a relative POSIX path"
    if ".." in parts:
        return "must not contain '..'"
    if ".git" in parts:
        return "must not enter .git/"
    return None


def check_files(report: Report) -> list[Problem]:
    """Paths are safe and unique, YAML and JSON parse, and workflows pass schema and audit."""
    problems: list[Problem] = []
    workflows: list[Workflow] = []
    seen: set[str] = set()
    for part, where, artifact in _artifacts(report):
        path = _normal_path(artifact.path)
        reason = _unsafe_path_reason(path)
        if reason:
            problems.append(_error(part, f"{where}.path {reason}"))
            continue
        if path in seen:
            problems.append(_error(part, f"{where}: {path} is delivered twice"))
        seen.add(path)
        suffix = PurePosixPath(path).suffix.lower()
        if suffix in (".yml", ".yaml"):
            documents, problem = _load_yaml(artifact.content)
            if problem:
                problems.append(_error(part, f"{path}: YAML does not parse, {problem}"))
            elif _WORKFLOW_PATH.search(path):
                workflows.append(Workflow(part, path, artifact.content, documents))
        elif suffix == ".json":
            try:
                json.loads(artifact.content)
            except (ValueError, RecursionError) as exc:
                detail = f"{exc.msg} at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else "too deep"
                problems.append(_error(part, f"{path}: JSON does not parse, {detail}"))
    return problems + check_workflows(workflows)


def _load_yaml(content: str) -> tuple[list[Any], str | None]:
    """The documents in `content`, or why it does not parse."""
    try:
        return list(yaml.load_all(content, Loader=Yaml12Loader)), None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}" if mark else ""
        return [], f"{exc.problem or exc.context or 'syntax error'}{where}"
    except (yaml.YAMLError, RecursionError) as exc:
        return [], type(exc).__name__


def check_alert_runbooks(report: Report) -> list[Problem]:
    runbook_paths = {_normal_path(runbook.path) for runbook in report.runbooks}
    problems = []
    for index, rule in enumerate(report.alerting_rules.rules):
        link = rule.runbook.strip()
        url = urlsplit(link)
        if url.scheme in ("http", "https") and url.netloc:
            continue
        if not url.scheme and _normal_path(url.path) in runbook_paths:
            continue
        problems.append(
            _error(
                "alerting_rules",
                f"alerting_rules.rules[{index}].runbook must be an http(s) URL or the path of a runbook "
                f"in this report (one of: {', '.join(sorted(runbook_paths))})",
            )
        )
    return problems


def check_disaster_recovery(report: Report) -> list[Problem]:
    plan = report.disaster_recovery_plan
    problems = [
        _error("disaster_recovery_plan", f"disaster_recovery_plan.{name} is not {DURATION_HELP}")
        for name, value in (("rto", plan.rto), ("rpo", plan.rpo))
        if parse_duration(value) is None
    ]
    backup = plan.backup
    if backup.copies < 3 or backup.media < 2 or backup.offsite < 1:
        problems.append(
            _error(
                "disaster_recovery_plan",
                "disaster_recovery_plan.backup breaks the 3-2-1 rule: needs at least 3 copies, on 2 "
                f"different media, 1 offsite (has {backup.copies}, {backup.media}, {backup.offsite})",
            )
        )
    if not backup.encrypted:
        problems.append(
            Problem(
                part="disaster_recovery_plan",
                message="disaster_recovery_plan.backup.encrypted is false: backups should be encrypted",
                severity="warning",
            )
        )
    return problems


def check_costs(report: Report) -> list[Problem]:
    return [
        _error(
            "cost_analysis",
            f"cost_analysis.items[{index}].estimated_monthly_saving exceeds the item's monthly_cost",
        )
        for index, item in enumerate(report.cost_analysis.items)
        if item.estimated_monthly_saving > item.monthly_cost
    ]


def check_dora(report: Report) -> list[Problem]:
    rate = report.performance_metrics.change_failure_rate
    if rate.unit.strip() == "%" and rate.value > 100:
        return [_error("performance_metrics", "performance_metrics.change_failure_rate is above 100%")]
    return []


CHECKS: tuple[Check, ...] = (
    check_mermaid,
    check_files,
    check_alert_runbooks,
    check_disaster_recovery,
    check_costs,
    check_dora,
)
