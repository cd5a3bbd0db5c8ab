"""The ten-part DevOps report as pydantic models: the contract between the agent and its reader.

The descriptions are part of the contract: they become the JSON Schema a host shows the model
that writes the report, so they say what each field means and what the checks will demand.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Text = Annotated[str, Field(min_length=1)]
DURATION_HELP = "a duration: ISO 8601 (PT15M, PT1H30M, P1D) or shorthand (30s, 15m, 4h30m, 1d)"


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Artifact(_Closed):
    """One file the report delivers, ready to commit."""

    path: Text = Field(
        description="Repository-relative path, e.g. `.github/workflows/ci.yml` or `k8s/deployment.yaml`. "
        "The suffix decides the checks: .yml/.yaml must parse as YAML, .json as JSON, and "
        "`.github/workflows/*.yml` must be a valid, audited GitHub Actions workflow."
    )
    content: Text = Field(description="The complete file content.")
    description: str | None = Field(default=None, description="What the file is for.")


class ArchitectureDiagram(_Closed):
    mermaid: Text = Field(
        description="Mermaid source (no ``` fence) starting with a diagram keyword such as `flowchart LR`, "
        "`sequenceDiagram` or `architecture-beta`: infrastructure topology and data flow."
    )
    description: str | None = Field(default=None, description="The design decisions the diagram shows.")


class PipelineStage(_Closed):
    name: Text = Field(description="Stage name, e.g. Commit, Build, Test, Staging, Production.")
    steps: list[Text] = Field(min_length=1, description="What the stage does, in order.")


class CicdPipeline(_Closed):
    files: list[Artifact] = Field(
        min_length=1, description="Pipeline configuration files, e.g. `.github/workflows/ci.yml`."
    )
    stages: list[PipelineStage] = Field(min_length=1, description="The pipeline stages, in order.")
    deployment_strategy: str | None = Field(
        default=None, description="How production is released without downtime and rolled back."
    )


class IacTemplates(_Closed):
    files: list[Artifact] = Field(min_length=1, description="Terraform, CloudFormation or Kubernetes manifests.")
    description: str | None = Field(default=None, description="How the templates are organised and applied.")


class GoldenSignal(_Closed):
    query: Text = Field(description="The query or metric that measures the signal, e.g. PromQL.")
    description: str | None = Field(default=None, description="What the panel shows and what is normal.")


class GoldenSignals(_Closed):
    latency: GoldenSignal = Field(description="Response time, e.g. P50/P95/P99.")
    traffic: GoldenSignal = Field(description="Demand, e.g. requests per second.")
    errors: GoldenSignal = Field(description="Rate of failed requests.")
    saturation: GoldenSignal = Field(description="How full the service is: CPU, memory, disk, connections.")


class MonitoringDashboard(_Closed):
    tool: str | None = Field(default=None, description="Dashboard and metrics stack, e.g. Grafana + Prometheus.")
    golden_signals: GoldenSignals = Field(description="The four golden signals, each with its query.")
    files: list[Artifact] = Field(default_factory=list, description="Dashboard definitions, e.g. Grafana JSON.")


class AlertRule(_Closed):
    name: Text = Field(description="Alert name, e.g. HighErrorRate.")
    severity: Literal["critical", "warning", "info"] = Field(
        description="critical: immediate action (page); warning: attention soon; info: awareness only."
    )
    condition: Text = Field(description="When it fires: the expression, threshold and duration.")
    route: Text = Field(description="Where it goes, e.g. PagerDuty, Slack #ops, Email.")
    runbook: Text = Field(description="An http(s) URL, or the `path` of a runbook in this report's `runbooks`.")


class AlertingRules(_Closed):
    rules: list[AlertRule] = Field(min_length=1, description="Every alert, symptom-based and actionable.")
    files: list[Artifact] = Field(
        default_factory=list, description="Alert configuration, e.g. a PrometheusRule manifest."
    )


class Runbook(_Closed):
    path: Text = Field(description="Where the runbook lives, e.g. `runbooks/high-error-rate.md`; alerts link here.")
    title: Text = Field(description="What the runbook resolves.")
    when: Text = Field(description="The symptom or alert that calls for it.")
    steps: list[Text] = Field(min_length=1, description="The procedure, in order, including how to verify.")


class BackupPolicy(_Closed):
    copies: int = Field(ge=0, description="Copies of the data, the live one included; 3-2-1 needs at least 3.")
    media: int = Field(ge=0, description="Different storage media or services holding them; at least 2.")
    offsite: int = Field(ge=0, description="Copies in another region or provider; at least 1.")
    schedule: Text = Field(description="When backups run, e.g. daily snapshots plus continuous WAL archiving.")
    retention: str | None = Field(default=None, description="How long backups are kept.")
    encrypted: bool = Field(description="Whether backups are encrypted at rest.")


class DrProcedure(_Closed):
    scenario: Text = Field(description="What failed, e.g. loss of the primary region.")
    steps: list[Text] = Field(min_length=1, description="The recovery steps, in order.")


class DisasterRecoveryPlan(_Closed):
    rto: Text = Field(description=f"Recovery time objective, {DURATION_HELP}.")
    rpo: Text = Field(description=f"Recovery point objective, {DURATION_HELP}.")
    backup: BackupPolicy = Field(description="The backup strategy; must satisfy 3-2-1.")
    restore_test_cadence: Text = Field(description="How often a restore is tested, and how, e.g. monthly drill.")
    procedures: list[DrProcedure] = Field(min_length=1, description="Recovery procedures per scenario.")


class CostItem(_Closed):
    resource: Text = Field(description="What costs money, e.g. EKS node group.")
    monthly_cost: float = Field(ge=0, description="Current monthly cost of the resource.")
    optimization: Text = Field(description="The optimization, e.g. right-size or reserved instances.")
    estimated_monthly_saving: float = Field(ge=0, description="Monthly saving the optimization brings.")


class CostAnalysis(_Closed):
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 currency code, e.g. USD.")
    current_monthly: float = Field(ge=0, description="Current total monthly cost.")
    items: list[CostItem] = Field(min_length=1, description="Cost lines and their optimization opportunities.")


class SecurityControl(_Closed):
    area: Text = Field(description="e.g. supply chain, secrets, network, identity, runtime.")
    control: Text = Field(description="The control, e.g. image signing, least-privilege IAM.")
    implementation: Text = Field(description="How and where it is enforced: tool, file, policy.")


class SecurityHardening(_Closed):
    controls: list[SecurityControl] = Field(min_length=1, description="The DevSecOps controls in place.")
    files: list[Artifact] = Field(
        default_factory=list, description="Policy files, e.g. Kubernetes NetworkPolicy manifests."
    )


class DoraMetric(_Closed):
    value: float = Field(ge=0, description="The measured value.")
    unit: Text = Field(description='The unit, e.g. "deploys/day", "hours", "minutes", "%".')
    target: float | None = Field(default=None, ge=0, description="The target, in the same unit.")


class PerformanceMetrics(_Closed):
    deployment_frequency: DoraMetric = Field(description="How often production is deployed.")
    lead_time: DoraMetric = Field(description="Lead time for changes: commit to running in production.")
    mttr: DoraMetric = Field(description="Mean time to recovery from a production failure.")
    change_failure_rate: DoraMetric = Field(description="Share of deployments that cause a failure.")


class Report(_Closed):
    """A DevOps implementation report: the ten parts the devops-engineer persona promises, in order."""

    architecture_diagram: ArchitectureDiagram = Field(description="Infrastructure topology and data flow.")
    cicd_pipeline: CicdPipeline = Field(description="The pipeline files and stages.")
    iac_templates: IacTemplates = Field(description="Infrastructure as code: Terraform or Kubernetes files.")
    monitoring_dashboard: MonitoringDashboard = Field(description="The golden signals and their queries.")
    alerting_rules: AlertingRules = Field(description="Alerts with severity, route and runbook.")
    runbooks: list[Runbook] = Field(min_length=1, description="Operational procedures for common tasks.")
    disaster_recovery_plan: DisasterRecoveryPlan = Field(description="RTO/RPO targets, backups, procedures.")
    cost_analysis: CostAnalysis = Field(description="Current costs and optimization opportunities.")
    security_hardening: SecurityHardening = Field(description="The DevSecOps implementation.")
    performance_metrics: PerformanceMetrics = Field(
        description="DORA metrics: deployment frequency, lead time, MTTR, change failure rate."
    )


PART_NAMES: tuple[str, ...] = tuple(Report.model_fields)


class Problem(BaseModel):
    part: str = Field(description='The part the problem is in, or "report" for the document as a whole.')
    message: str = Field(description="What is wrong and where.")
    severity: Literal["error", "warning"] = Field(description="An error makes the report invalid.")


class ReportValidation(BaseModel):
    valid: bool = Field(description="True when no problem has severity error.")
    problems: list[Problem] = Field(description="Every problem found, errors and warnings.")
    markdown: str = Field(description='The rendered report when its shape is valid, else "".')
