"""The prompt classifier behind the `UserPromptSubmit` hook: labelled sets, hard cases, contract, cost.

tests/data/devops_prompts.jsonl was written before the classifier and then tuned on (general vocabulary,
never a rule for one prompt's exact text). tests/data/devops_prompts_holdout.jsonl was written after the
classifier was done and never tuned on, so its bound is looser and its numbers are the honest ones.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import subprocess
import sys
import time
from dataclasses import FrozenInstanceError
from pathlib import Path
from typing import Any

import pytest

from server import classify as classify_module
from server.classify import Classification, classify

DATA = Path(__file__).resolve().parent / "data"
MAIN = DATA / "devops_prompts.jsonl"
HOLDOUT = DATA / "devops_prompts_holdout.jsonl"
TOPICS = {"ci", "deploy", "incident", "kubernetes", "containers", "iac", "cloud", "monitoring", "alerting", "dr",
          "cost", "security"}


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def scores(rows: list[dict[str, Any]]) -> tuple[float, float, list[str]]:
    """Precision and recall of `is_devops`, and the misclassified prompts (for the failure message)."""
    tp = fp = fn = 0
    wrong = []
    for row in rows:
        got = classify(row["prompt"]).is_devops
        tp += got and row["devops"]
        fp += got and not row["devops"]
        fn += row["devops"] and not got
        if got != row["devops"]:
            wrong.append(f"{'FP' if got else 'FN'}: {row['prompt'][:100]!r}")
    return tp / (tp + fp), tp / (tp + fn), wrong


@pytest.mark.parametrize(("path", "minimum"), [(MAIN, 200), (HOLDOUT, 60)], ids=["main", "holdout"])
def test_labelled_set_is_well_formed(path: Path, minimum: int) -> None:
    rows = load(path)
    assert len(rows) >= minimum
    for row in rows:
        assert set(row) == {"prompt", "devops", "note"}, row
        assert isinstance(row["prompt"], str) and row["prompt"].strip(), row
        assert isinstance(row["devops"], bool), row
        assert isinstance(row["note"], str), row
    prompts = [row["prompt"] for row in rows]
    assert len(set(prompts)) == len(prompts), "duplicate prompts"
    share = sum(row["devops"] for row in rows) / len(rows)
    assert 0.4 <= share <= 0.6, f"about half must be DevOps, got {share:.0%}"


def test_holdout_shares_no_prompt_with_the_main_set() -> None:
    main = {row["prompt"].casefold() for row in load(MAIN)}
    assert not [row["prompt"] for row in load(HOLDOUT) if row["prompt"].casefold() in main]


def test_main_set_precision_and_recall() -> None:
    precision, recall, wrong = scores(load(MAIN))
    assert precision >= 0.95 and recall >= 0.90, (precision, recall, wrong)


def test_holdout_precision_and_recall() -> None:
    precision, recall, wrong = scores(load(HOLDOUT))
    assert precision >= 0.85 and recall >= 0.85, (precision, recall, wrong)


# The cases the classifier must tell apart, in the words of the brief.
HARD_CASES = [
    # Not DevOps: an ambiguous word in another meaning, or plain coding.
    ("data pipeline in pandas", False),
    ("deploy a chess piece", False),
    ("CSS container queries", False),
    ("logarithms", False),
    ("a new monitor for my desk", False),
    ("what is a docker in a shipyard?", False),
    ("kubernetes the Greek word", False),
    ("my git commit message style", False),
    ("explain merge sort", False),
    ("pipeline of a CPU", False),
    ("alerting my team about a birthday", False),
    ("cost of a cup of coffee", False),
    ("disaster recovery after a breakup", False),
    ("React rendering performance", False),
    ("SQL query optimisation for a report", False),
    ("unit test for a function", False),
    ("refactor this function", False),
    ("fix the TypeError in utils.py", False),
    # DevOps.
    ("the build on main has been red since yesterday", True),
    ("users see 502s since we shipped", True),
    ("roll back the last release", True),
    ("our pods keep restarting OOMKilled", True),
    ("terraform plan wants to destroy the database", True),
    ("set up alerts for p99 latency", True),
    ("how do we do blue-green on ECS", True),
    ("the nightly backup didn't run", True),
    ("cut our AWS bill", True),
    ("rotate the leaked token in CI", True),
    ("GitHub Actions cache not restoring", True),
    ("helm upgrade failed", True),
    ("postmortem for yesterday's outage", True),
    ("canary deploy with Argo Rollouts", True),
    ("why is the deploy stuck at 'waiting for approval'", True),
]


@pytest.mark.parametrize(("prompt", "devops"), HARD_CASES, ids=[prompt for prompt, _ in HARD_CASES])
def test_hard_case(prompt: str, devops: bool) -> None:
    assert classify(prompt).is_devops is devops


def test_topics_name_the_area() -> None:
    assert "kubernetes" in classify("our pods keep restarting OOMKilled").topics
    assert "iac" in classify("terraform plan wants to destroy the database").topics
    assert "cost" in classify("cut our AWS bill").topics
    assert "alerting" in classify("set up alerts for p99 latency").topics
    assert classify("rotate the leaked token in CI").topics[0] in {"security", "ci"}


def test_classification_contract() -> None:
    for row in load(MAIN):
        result = classify(row["prompt"])
        assert isinstance(result, Classification)
        assert 0.0 < result.score < 1.0
        assert result.is_devops == (result.score >= 0.5), row["prompt"]
        assert bool(result.topics) == result.is_devops, row["prompt"]  # topics only for a DevOps prompt
        assert set(result.topics) <= TOPICS
        assert len(set(result.topics)) == len(result.topics)
    with pytest.raises(FrozenInstanceError):
        classify("helm upgrade failed").is_devops = False  # type: ignore[misc]


@pytest.mark.parametrize("prompt", ["", "   \n\t", "?", "ok", "deploy"])
def test_little_or_no_text_is_not_devops(prompt: str) -> None:
    assert classify(prompt) == Classification(False, classify(prompt).score, ())


def test_repetition_does_not_add_up() -> None:
    """Each term counts once: an ordinary word said fifty times is still one ordinary word."""
    assert not classify("deploy " * 50).is_devops
    assert classify("deploy " * 50).score == classify("deploy").score


def test_score_stays_inside_the_open_interval() -> None:
    """Every term at once, positive or negative: the score saturates, it does not overflow or reach 0 or 1."""
    vocab = classify_module._VOCAB
    every_positive = classify(" . ".join(term for term, (weight, _) in vocab.items() if weight > 0))
    every_negative = classify(" . ".join(term for term, (weight, _) in vocab.items() if weight < 0))
    assert every_positive.is_devops and 0.5 < every_positive.score < 1.0
    assert not every_negative.is_devops and 0.0 < every_negative.score < 0.5


def test_long_paste_keeps_the_question_and_stays_fast() -> None:
    log = "2024-05-01T12:00:00Z INFO GET /api/v1/items 200 12ms user=octocat\n" * 20_000
    start = time.perf_counter()
    tail = classify(log + "why did the helm upgrade fail?")
    head = classify("helm upgrade failed, log below:\n" + log)
    elapsed = time.perf_counter() - start
    assert tail.is_devops and head.is_devops
    assert not classify(log).is_devops
    assert elapsed < 0.05  # two 1.3 MB prompts; each is cut to its head and tail first


def test_fast_per_prompt() -> None:
    """The budget is 5 ms a prompt; the classifier takes tens of microseconds. Best of three passes, so a
    busy machine does not fail the test."""
    prompts = [row["prompt"] for row in load(MAIN)]
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for prompt in prompts:
            classify(prompt)
        best = min(best, (time.perf_counter() - start) / len(prompts))
    assert best < 0.001, f"{best * 1e6:.0f} µs a prompt"


def test_import_loads_only_the_standard_library() -> None:
    """The hook imports this on every prompt: no third-party module, nothing of the server's."""
    code = (
        "import json, sys; before = set(sys.modules); import server.classify; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent).stdout
    loaded = json.loads(out)
    ours = {"server", "server.classify"}
    foreign = [name for name in loaded if name not in ours and name.split(".")[0] not in sys.stdlib_module_names]
    assert not foreign, foreign


def _vocabulary_calls() -> list[tuple[str, float, list[str]]]:
    """(group function, weight, terms) for every `_group(...)` and `_not(...)` call in the module source."""
    calls = []
    for node in ast.walk(ast.parse(inspect.getsource(classify_module))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in {"_group", "_not"}:
            args = [arg.value for arg in node.args if isinstance(arg, ast.Constant)]
            if node.func.id == "_group":
                calls.append(("_group", args[1], args[2:]))
            else:
                calls.append(("_not", args[0], args[1:]))
    return calls


def test_vocabulary_is_consistent() -> None:
    calls = _vocabulary_calls()
    terms = [term for _, _, group in calls for term in group]
    # `{**a, **b}` keeps the last weight silently: a term must live in one group only.
    assert len(terms) == len(set(terms)), sorted({term for term in terms if terms.count(term) > 1})
    assert len(terms) == len(classify_module._VOCAB)
    for term, (weight, topic) in classify_module._VOCAB.items():
        # Written as the tokenizer splits text, or it could never match.
        assert re.fullmatch(r"[a-z0-9]+(?: [a-z0-9]+){0,2}", term), term
        assert weight != 0, term
        assert (topic in TOPICS) if weight > 0 else (topic == ""), term
