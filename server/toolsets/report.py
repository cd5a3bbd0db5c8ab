"""The report toolset: `validate_report`."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from pydantic import BaseModel, ConfigDict, Field

from server.registry import AnySpec, ToolEnv, ToolSpec
from server.rules import Touches
from tools.report_model import ReportValidation


class ValidateReportInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    report: dict[str, Any] | str = Field(
        description="The ten-part report as a JSON object (or JSON text); schema: devops://report/schema"
    )


async def _validate(args: ValidateReportInput, env: ToolEnv, touches: Touches) -> ReportValidation:
    # Imported on first use: the checks pull in YAML and JSON Schema machinery that start-up does not need.
    from tools.report import validate_report

    # The checks parse YAML and run zizmor in a subprocess: keep them off the event loop.
    return await anyio.to_thread.run_sync(validate_report, args.report)


SPECS: tuple[AnySpec, ...] = (
    ToolSpec(
        name="validate_report",
        title="Validate a DevOps report",
        description=(
            "Check a ten-part DevOps report (architecture diagram, CI/CD pipeline, IaC templates, "
            "monitoring dashboard, alerting rules, runbooks, disaster recovery plan, cost analysis, "
            "security hardening, performance metrics) beyond its shape: embedded YAML/JSON parses, "
            "GitHub workflows pass the workflow schema and an offline security audit, alert rules "
            "have severities and runbooks, RTO/RPO are durations. Returns the problems and the "
            "rendered Markdown."
        ),
        toolset="report",
        input_model=ValidateReportInput,
        output_model=ReportValidation,
        run=_validate,
        read_only=True,
        idempotent=True,
    ),
)
