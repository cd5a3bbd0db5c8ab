"""Shaping a tool's output before it leaves: fence untrusted text, redact secrets, cap the size.

The same shaped data is the result's `structuredContent` and, as JSON, its text block, so a
client that reads either sees the same fenced, redacted, bounded result.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from server.budget import cap_text
from server.fence import fence_untrusted
from server.redact import redact_value
from tools.untrusted import Untrusted

_MIN_LEAF = 200  # a capped string keeps at least this much, notice included
_HOW_TO_GET_MORE = "narrow the request (a shorter window, a search filter, fewer paths) or write the output to a file"


def fence_fields(model: BaseModel) -> dict[str, Any]:
    """The model as JSON data, with every `Untrusted` field (and list of them) fenced."""
    data: dict[str, Any] = {}
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        key = info.alias or name
        marker = next((m for m in info.metadata if isinstance(m, Untrusted)), None)
        if marker is not None:
            data[key] = _fence_value(value, marker.source)
        else:
            data[key] = _plain(value)
    return data


def _fence_value(value: Any, source: str) -> Any:
    if isinstance(value, str):
        return fence_untrusted(value, source) if value else value
    if isinstance(value, list | tuple):
        return [_fence_value(item, source) for item in value]
    return _plain(value)


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return fence_fields(value)
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return to_jsonable_python(value)


def to_text(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


def fit_budget(data: dict[str, Any], budget: int) -> tuple[dict[str, Any], int]:
    """Cap the longest strings until the JSON text fits `budget`; returns the data and characters cut."""
    cut_total = 0
    for _ in range(64):  # each round shortens the longest leaf; a bounded loop, never a hang
        excess = len(to_text(data)) - budget
        if excess <= 0:
            return data, cut_total
        path, leaf = _longest_leaf(data)
        if leaf is None or len(leaf) <= _MIN_LEAF:
            break
        # JSON escaping can make the text longer than the string; cut a little more than the excess.
        target = max(_MIN_LEAF, len(leaf) - excess - excess // 4 - 100)
        capped, cut = cap_text(leaf, target, _HOW_TO_GET_MORE)
        _set(data, path, capped)
        cut_total += cut
    return _truncate_lists(data, budget, cut_total)


def _leaves(value: Any, path: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in _leaves(item, (*path, key))]
    if isinstance(value, list):
        return [leaf for i, item in enumerate(value) for leaf in _leaves(item, (*path, i))]
    return []


def _longest_leaf(data: Any) -> tuple[tuple[Any, ...], str | None]:
    leaves = _leaves(data, ())
    if not leaves:
        return (), None
    return max(leaves, key=lambda leaf: len(leaf[1]))


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    target = data
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


def _lists(value: Any, path: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], list[Any]]]:
    found: list[tuple[tuple[Any, ...], list[Any]]] = []
    if isinstance(value, list):
        found.append((path, value))
        for i, item in enumerate(value):
            found += _lists(item, (*path, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            found += _lists(item, (*path, key))
    return found


def _truncate_lists(data: dict[str, Any], budget: int, cut_total: int) -> tuple[dict[str, Any], int]:
    """Many small items: drop items from the end of the longest lists until the text fits."""
    while len(to_text(data)) > budget:
        lists = [found for found in _lists(data, ()) if found[1]]
        if not lists:
            break
        _, longest = max(lists, key=lambda found: len(to_text(found[1])))
        cut_total += len(to_text(longest.pop()))
    return data, cut_total


def shape(model: BaseModel, budget: int) -> tuple[dict[str, Any], int]:
    """Fence, then redact (fencing first, so a secret inside fenced text is still redacted), then cap."""
    data = redact_value(fence_fields(model))
    assert isinstance(data, dict)
    return fit_budget(data, budget)
