"""A guardrail decision is data: a verdict and the reasons (rule ids) that led to it."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Verdict(StrEnum):
    ALLOW = "allow"
    ASK = "ask"
    DENY = "deny"

    @property
    def strictness(self) -> int:
        return _STRICTNESS[self]


_STRICTNESS = {Verdict.ALLOW: 0, Verdict.ASK: 1, Verdict.DENY: 2}


class Reason(BaseModel):
    model_config = ConfigDict(frozen=True)

    rule: str
    verdict: Verdict
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.message}"


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True)

    verdict: Verdict
    reasons: tuple[Reason, ...] = ()

    @classmethod
    def of(cls, reasons: list[Reason]) -> Decision:
        """The strictest reason wins; with no reason at all the call is allowed."""
        verdict = max((r.verdict for r in reasons), key=lambda v: v.strictness, default=Verdict.ALLOW)
        return cls(verdict=verdict, reasons=tuple(reasons))

    def explain(self, verdict: Verdict | None = None) -> str:
        """The reasons for one verdict (default: the decision's own), one per line."""
        wanted = verdict or self.verdict
        return "\n".join(f"- {reason}" for reason in self.reasons if reason.verdict == wanted)
