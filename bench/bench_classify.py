"""The prompt classifier: time per prompt after import, import cost, and its precision/recall on the sets.

Per prompt: every prompt of tests/data/devops_prompts*.jsonl timed on its own, `--rounds` times, in one
process after import and a warm-up pass; median and p99 over all timings, and a 1.3 MB pasted log.
Import: `--imports` fresh interpreters running `python -X importtime -c "import server.classify"`; the
module's own time, and its cumulative time with the standard-library modules it pulls in (dataclasses
brings inspect). The hook's real cost is import plus one call, measured in a fresh interpreter too.
Prints a Markdown snippet; `--write` also puts it in bench/RESULTS.md under `## Prompt classifier`,
replacing that section only.

    python bench/bench_classify.py [--rounds 50] [--imports 15] [--write]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.classify import classify  # noqa: E402 - after the path set-up

DATA = ROOT / "tests" / "data"
SETS = {"main": DATA / "devops_prompts.jsonl", "held-out": DATA / "devops_prompts_holdout.jsonl"}
RESULTS = ROOT / "bench" / "RESULTS.md"
HEADING = "## Prompt classifier"


def load(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def per_prompt_us(prompts: list[str], rounds: int) -> list[float]:
    for prompt in prompts:  # warm-up
        classify(prompt)
    times = []
    for _ in range(rounds):
        for prompt in prompts:
            start = time.perf_counter_ns()
            classify(prompt)
            times.append((time.perf_counter_ns() - start) / 1000)
    return times


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def import_times_ms(runs: int) -> tuple[float, float, float]:
    """Median self and cumulative import time of server.classify, and median import + first call, in ms.

    With bytecode cached, as an installed package has it: the interpreters write and read it under a
    temporary `-X pycache_prefix` (this environment may set PYTHONDONTWRITEBYTECODE, which would time the
    compiler instead); the first run, which fills the cache, is not counted.
    """
    own, cumulative, hook = [], [], []
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as cache:
        python = [sys.executable, "-X", f"pycache_prefix={cache}"]
        subprocess.run([*python, "-c", "import server.classify"], cwd=ROOT, env=env, check=True)
        for _ in range(runs):
            own_ms, cumulative_ms, hook_ms = _import_once(python, env)
            own.append(own_ms)
            cumulative.append(cumulative_ms)
            hook.append(hook_ms)
    return statistics.median(own), statistics.median(cumulative), statistics.median(hook)


def _import_once(python: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    err = subprocess.run([*python, "-X", "importtime", "-c", "import server.classify"], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True).stderr
    line = next(line for line in err.splitlines() if line.rstrip().endswith("| server.classify"))
    fields = line.split(":", 1)[1].split("|")
    code = ("import time; t = time.perf_counter(); from server.classify import classify; "
            "classify('helm upgrade failed'); print(time.perf_counter() - t)")
    out = subprocess.run([*python, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return int(fields[0]) / 1000, int(fields[1]) / 1000, float(out.stdout) * 1000


def quality(rows: list[dict[str, object]]) -> tuple[float, float, int, int]:
    tp = fp = fn = 0
    for row in rows:
        got, want = classify(str(row["prompt"])).is_devops, bool(row["devops"])
        tp += got and want
        fp += got and not want
        fn += want and not got
    return tp / (tp + fp), tp / (tp + fn), fp, fn


def snippet(rounds: int, imports: int) -> str:
    sets = {name: load(path) for name, path in SETS.items() if path.exists()}
    prompts = [str(row["prompt"]) for rows in sets.values() for row in rows]
    times = per_prompt_us(prompts, rounds)
    paste = "2024-05-01T12:00:00Z INFO GET /api/v1/items 200 12ms user=octocat\n" * 20_000 + "why did helm fail?"
    paste_ms = min(per_prompt_us([paste], 5)) / 1000
    own, cumulative, hook = import_times_ms(imports)
    lines = [
        HEADING,
        "",
        f"{datetime.date.today().isoformat()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.machine()}. `python bench/bench_classify.py --rounds {rounds} --imports {imports}`: "
        f"`server.classify.classify` on the {len(prompts)} prompts of the labelled sets ({min(map(len, prompts))} "
        f"to {max(map(len, prompts)):,} characters), each timed on its own {rounds} times after import and a "
        f"warm-up; import in {imports} fresh interpreters with bytecode cached (`-X importtime`, median).",
        "",
        "| what | time |",
        "| --- | ---: |",
        f"| per prompt, median | {statistics.median(times):.1f} µs |",
        f"| per prompt, p99 | {percentile(times, 0.99):.1f} µs |",
        f"| per prompt, max | {max(times):.1f} µs |",
        f"| 1.3 MB pasted log (cut to its first 4,000 and last 1,000 characters) | {paste_ms:.2f} ms |",
        f"| import, the module itself (regexes, vocabulary) | {own:.1f} ms |",
        f"| import, with the stdlib it pulls in (re, dataclasses → inspect) | {cumulative:.1f} ms |",
        f"| fresh interpreter: import + first call (the hook's share) | {hook:.1f} ms |",
        "",
        "| set | prompts | precision | recall | false positives | false negatives |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, rows in sets.items():
        precision, recall, fp, fn = quality(rows)
        lines.append(f"| {name} | {len(rows)} | {precision:.3f} | {recall:.3f} | {fp} | {fn} |")
    lines += [
        "",
        "The main set was tuned on; the held-out set was written after the classifier was done and never "
        "tuned on. The cumulative import time is mostly `dataclasses` (it imports `inspect`), which the "
        "`devops-mcp` command loads anyway; the module's own share is its few compiled regexes.",
    ]
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    """Put `text` in RESULTS.md in place of the old section, or at the end; the other sections stay."""
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmarks\n"
    lines = old.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == HEADING), None)
    if start is None:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        rest = "".join(lines[end:])
        new = "".join(lines[:start]) + text + ("\n" + rest if rest else "")
    RESULTS.write_text(new, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--imports", type=int, default=15)
    parser.add_argument("--write", action="store_true", help=f"update bench/RESULTS.md under {HEADING!r}")
    args = parser.parse_args()
    text = snippet(args.rounds, args.imports)
    print(text, end="")
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
