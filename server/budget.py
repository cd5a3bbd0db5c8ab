"""The output budget: no tool result is longer than the configured number of characters."""

from __future__ import annotations

__all__ = ["MIN_BUDGET", "cap_text"]

MIN_BUDGET = 200  # below this the notice would leave almost no room for the text itself
_HEAD_SHARE = 0.6  # the start of an output usually says what it is, the end how it finished
_SNAP = 0.2  # move a cut to a line boundary if one lies within this share of the kept part
_HINT_MAX_SHARE = 0.25  # a long hint is shortened so that the notice cannot eat the budget


def _notice(chars: int, lines: int, hint: str) -> str:
    return f"[… {chars:,} characters ({lines:,} line{'s' * (lines != 1)}) cut here; to get the rest: {hint} …]"


def cap_text(text: str, budget: int, how_to_get_more: str) -> tuple[str, int]:
    """`text` cut to at most `budget` characters, and how many characters were cut.

    Text that fits comes back unchanged with 0. Longer text keeps about 60% of the room from its
    start and 40% from its end, each cut moved to a nearby line boundary, with a notice line in
    between giving the characters and lines cut and `how_to_get_more`.
    """
    if budget < MIN_BUDGET:
        raise ValueError(f"budget must be at least {MIN_BUDGET} characters, got {budget}")
    if len(text) <= budget:
        return text, 0
    hint_max = int(budget * _HINT_MAX_SHARE)
    hint = " ".join(how_to_get_more.split()) or "narrow the request"  # one line, whatever the caller passed
    if len(hint) > hint_max:
        hint = hint[: hint_max - 1] + "…"
    # The longest the notice can be (counts never exceed these), plus the newlines around it.
    room = budget - len(_notice(len(text), text.count("\n") + 1, hint)) - 2
    head_end = int(room * _HEAD_SHARE)
    tail_start = len(text) - (room - head_end)
    snap = int(room * _SNAP)
    newline = text.rfind("\n", head_end - snap, head_end)
    if newline >= 0:
        head_end = newline + 1
    newline = text.find("\n", tail_start, tail_start + snap)
    if newline >= 0:
        tail_start = newline + 1
    cut = text[head_end:tail_start]
    lines = cut.count("\n") + (not cut.endswith("\n"))  # a partly cut line counts as one
    head = text[:head_end]
    separator = "" if head.endswith("\n") else "\n"
    capped = f"{head}{separator}{_notice(len(cut), lines, hint)}\n{text[tail_start:]}"
    return capped, len(cut)
