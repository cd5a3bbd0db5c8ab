"""The output budget: results that fit pass untouched, longer ones are cut head-and-tail with a notice."""

from __future__ import annotations

import re

import pytest

from server.budget import MIN_BUDGET, cap_text

HINT = "narrow the query or write the output to a file in the workspace"
NOTICE = re.compile(r"\[… ([\d,]+) characters \(([\d,]+) lines?\) cut here; to get the rest: (.*) …\]")


def numbered_lines(count: int, width: int = 40) -> str:
    return "".join(f"line {i:05d} ".ljust(width, "x") + "\n" for i in range(count))


def notice_of(capped: str) -> re.Match[str]:
    matches = list(NOTICE.finditer(capped))
    assert len(matches) == 1
    return matches[0]


@pytest.mark.parametrize(
    "text", ["", "short", "x" * 1000, numbered_lines(24)], ids=["empty", "short", "exactly-the-budget", "lines"]
)
def test_text_that_fits_is_unchanged(text: str) -> None:
    assert cap_text(text, 1000, HINT) == (text, 0)


def test_long_text_is_cut_within_budget_with_a_notice() -> None:
    text = numbered_lines(5000)
    capped, cut = cap_text(text, 20_000, HINT)
    assert len(capped) <= 20_000
    assert cut == len(text) - (len(capped) - len(notice_of(capped)[0]) - 1)
    notice = notice_of(capped)
    assert int(notice[1].replace(",", "")) == cut
    removed_lines = 5000 - capped.count("line ")
    assert int(notice[2].replace(",", "")) == removed_lines
    assert notice[3] == HINT


def test_head_and_tail_are_kept_and_cut_at_line_boundaries() -> None:
    text = numbered_lines(5000)
    capped, _ = cap_text(text, 20_000, HINT)
    head, tail = capped.split(notice_of(capped)[0])
    assert text.startswith(head)
    assert text.endswith(tail.removeprefix("\n"))
    assert head.endswith("\n")
    assert tail.startswith("\nline ")
    assert "line 00000" in head
    assert "line 04999" in tail
    assert 0.5 < len(head) / (len(head) + len(tail)) < 0.7  # about 60% head, 40% tail


def test_single_long_line_is_cut_mid_line() -> None:
    text = "a" * 50_000 + "b" * 50_000
    capped, cut = cap_text(text, 1000, HINT)
    assert len(capped) <= 1000
    assert capped.startswith("a")
    assert capped.endswith("b")
    assert f"{cut:,} characters (1 line) cut here" in capped


@pytest.mark.parametrize("budget", [MIN_BUDGET, MIN_BUDGET + 1, 999, 1000, 1001, 20_000])
@pytest.mark.parametrize("length", [1, 199, 200, 201, 1000, 1001, 100_000])
def test_result_never_exceeds_budget(budget: int, length: int) -> None:
    text = numbered_lines(length // 40 + 1)[:length]
    capped, cut = cap_text(text, budget, HINT)
    assert len(capped) <= budget
    assert (cut == 0) == (length <= budget)
    if cut:
        assert notice_of(capped)


def test_long_hint_is_shortened_to_keep_room_for_text() -> None:
    capped, _ = cap_text("z" * 10_000, MIN_BUDGET, "use the file " * 100)
    assert len(capped) <= MIN_BUDGET
    assert capped.count("z") >= MIN_BUDGET // 3


def test_multiline_hint_stays_on_the_notice_line() -> None:
    capped, _ = cap_text(numbered_lines(100), 1000, "narrow\nthe query")
    assert "to get the rest: narrow the query …]" in capped


@pytest.mark.parametrize("budget", [MIN_BUDGET - 1, 0, -5])
def test_tiny_budget_is_rejected(budget: int) -> None:
    with pytest.raises(ValueError, match="at least"):
        cap_text("anything", budget, HINT)
