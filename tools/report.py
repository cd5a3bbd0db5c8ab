"""The ten-part DevOps report: its model, its validation beyond shape, and its Markdown rendering.

This is the public face; other modules import from here. It knows nothing about MCP.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from tools.report_checks import CHECKS
from tools.report_model import PART_NAMES, Problem, Report, ReportValidation
from tools.report_render import render_markdown

__all__ = [
    "PART_NAMES",
    "Problem",
    "Report",
    "ReportValidation",
    "render_markdown",
    "report_json_schema",
    "validate_report",
]

_MAX_KEY = 80


def report_json_schema() -> dict[str, Any]:
    """The JSON Schema of Report, parts in order."""
    return Report.model_json_schema()


def validate_report(data: Mapping[str, Any] | str) -> ReportValidation:
    """Every problem in `data` (a report, or its JSON text), and its Markdown when the shape holds.

    Never raises: unreadable input, a wrong shape and failed checks all come back as problems.
    """
    parsed, problems = _load(data)
    if parsed is None:
        return ReportValidation(valid=False, problems=problems, markdown="")
    try:
        report = Report.model_validate(parsed)
    except ValidationError as exc:
        return ReportValidation(valid=False, problems=_shape_problems(exc), markdown="")
    for check in CHECKS:
        try:
            problems += check(report)
        except Exception as exc:
            # The tool must answer whatever it is given; an unforeseen failure is still an answer.
            problems.append(
                Problem(
                    part="report",
                    message=f"check {check.__name__} failed unexpectedly ({type(exc).__name__})",
                    severity="error",
                )
            )
    valid = not any(problem.severity == "error" for problem in problems)
    return ReportValidation(valid=valid, problems=problems, markdown=render_markdown(report))


def _load(data: object) -> tuple[dict[str, Any] | None, list[Problem]]:
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            message = f"the report is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            return None, [Problem(part="report", message=message, severity="error")]
        except (ValueError, RecursionError) as exc:
            message = f"the report is not valid JSON ({type(exc).__name__})"
            return None, [Problem(part="report", message=message, severity="error")]
    if not isinstance(data, Mapping):
        message = f"the report must be a JSON object with the parts {', '.join(PART_NAMES)}"
        return None, [Problem(part="report", message=message, severity="error")]
    return dict(data), []


def _shape_problems(exc: ValidationError) -> list[Problem]:
    """pydantic's errors as problems built from location and message only, never the input value."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        loc = error["loc"]
        part = loc[0] if loc and loc[0] in PART_NAMES else "report"
        path = "".join(f"[{key}]" if isinstance(key, int) else f".{str(key)[:_MAX_KEY]}" for key in loc)
        where = path.lstrip(".") or "report"
        problems.append(Problem(part=str(part), message=f"{where}: {error['msg']}", severity="error"))
    return problems
