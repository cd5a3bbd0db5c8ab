"""Blocking clients (PyGithub) run in worker threads, each call under a deadline."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread

from server.errors import ToolFailure

T = TypeVar("T")


async def run_blocking(fn: Callable[[], T], timeout_s: float, what: str, writes: bool) -> T:
    """`fn()` in a worker thread; past the deadline the caller gets a clear error and moves on."""
    try:
        with anyio.fail_after(timeout_s):
            return await anyio.to_thread.run_sync(fn, abandon_on_cancel=True)
    except TimeoutError:
        # A thread cannot be stopped: an abandoned write may still land, and the model must know that.
        maybe = " It may still complete: check the result before trying again." if writes else " Try again."
        raise ToolFailure(f"{what} did not finish within {timeout_s:.0f} s.{maybe}") from None
