"""Marks text that came from outside, so whatever returns it to a model fences it first."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Untrusted:
    """Field marker: `Annotated[str, Untrusted("github:pr-body")]` is outside text, fenced on output."""

    source: str
