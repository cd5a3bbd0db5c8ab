"""What the pipeline reports about each call, and the Prometheus metrics that count it in http mode.

The pipeline talks to a `Telemetry`; stdio mode uses `NoTelemetry` so prometheus-client is never
imported for a session-scoped server that nobody scrapes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from server.decision import Decision

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry


class Telemetry(Protocol):
    def call_started(self, tool: str) -> None: ...

    def call_finished(self, tool: str, outcome: str, seconds: float) -> None: ...

    def decided(self, decision: Decision) -> None: ...

    def confirmed(self, outcome: str) -> None: ...

    def audit_written(self, seconds: float) -> None: ...

    def audit_failed(self) -> None: ...


class NoTelemetry:
    def call_started(self, tool: str) -> None:
        pass

    def call_finished(self, tool: str, outcome: str, seconds: float) -> None:
        pass

    def decided(self, decision: Decision) -> None:
        pass

    def confirmed(self, outcome: str) -> None:
        pass

    def audit_written(self, seconds: float) -> None:
        pass

    def audit_failed(self) -> None:
        pass


_ERROR_OUTCOMES = {"error", "invalid", "denied", "declined", "cancelled"}


class PrometheusTelemetry:
    """Per tool: calls, errors by kind, latency, in flight; guard decisions; confirmations; audit latency."""

    def __init__(self, registry: CollectorRegistry, tools: Iterable[str], sandbox_available: bool) -> None:
        from prometheus_client import GC_COLLECTOR, PLATFORM_COLLECTOR, Counter, Gauge, Histogram, ProcessCollector

        self.calls = Counter("devops_mcp_tool_calls", "Tool calls by outcome", ["tool", "outcome"], registry=registry)
        self.errors = Counter("devops_mcp_tool_errors", "Tool calls that did not succeed", ["tool", "kind"],
                              registry=registry)  # fmt: skip
        self.duration = Histogram(
            "devops_mcp_tool_duration_seconds", "Tool call latency", ["tool"], registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
        )  # fmt: skip
        self.in_flight = Gauge("devops_mcp_tool_in_flight", "Tool calls running now", ["tool"], registry=registry)
        self.decisions = Counter(
            "devops_mcp_guard_decisions", "Guard reasons by verdict and rule", ["verdict", "rule"], registry=registry
        )
        self.confirmations = Counter(
            "devops_mcp_confirmations", "Confirmations by outcome", ["outcome"], registry=registry
        )
        self.audit = Histogram(
            "devops_mcp_audit_write_seconds", "Audit write latency", registry=registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
        )  # fmt: skip
        self.audit_failures = Counter(
            "devops_mcp_audit_write_failures", "Audit rows that could not be written", registry=registry
        )
        # Process CPU, memory and file descriptors, as the default registry would export them.
        ProcessCollector(registry=registry)
        registry.register(PLATFORM_COLLECTOR)
        registry.register(GC_COLLECTOR)
        sandbox = Gauge("devops_mcp_sandbox_available", "1 when bubblewrap works here", registry=registry)
        sandbox.set(1 if sandbox_available else 0)
        for tool in tools:  # every tool's series exists from the start, so a rate() has a baseline
            self.in_flight.labels(tool)
            self.calls.labels(tool, "ok")

    def call_started(self, tool: str) -> None:
        self.in_flight.labels(tool).inc()

    def call_finished(self, tool: str, outcome: str, seconds: float) -> None:
        self.in_flight.labels(tool).dec()
        self.calls.labels(tool, outcome).inc()
        self.duration.labels(tool).observe(seconds)
        if outcome in _ERROR_OUTCOMES:
            self.errors.labels(tool, outcome).inc()

    def decided(self, decision: Decision) -> None:
        if not decision.reasons:
            self.decisions.labels(decision.verdict.value, "none").inc()
        for reason in decision.reasons:
            self.decisions.labels(reason.verdict.value, reason.rule).inc()

    def confirmed(self, outcome: str) -> None:
        self.confirmations.labels(outcome).inc()

    def audit_written(self, seconds: float) -> None:
        self.audit.observe(seconds)

    def audit_failed(self) -> None:
        self.audit_failures.inc()
