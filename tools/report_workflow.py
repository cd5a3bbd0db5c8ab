"""GitHub Actions workflows in a report: the workflow JSON Schema, then zizmor's offline audit."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import yaml

from tools.report_model import Problem

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

ZIZMOR_TIMEOUT_S = 30
# Findings that are errors whatever zizmor's own severity: they let an attacker run code in CI.
ALWAYS_ERRORS = frozenset({"template-injection", "unpinned-uses"})
# jsonschema walks aliases once per use, so a YAML "billion laughs" would never finish.
MAX_NODES = 50_000
MAX_MESSAGE = 300


try:  # libyaml parses several times faster, and caps nesting depth instead of recursing
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class Yaml12Loader(_SafeLoader):
    """A safe loader reading booleans as YAML 1.2 does, as GitHub does: `on:` is a key, not True."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclass(frozen=True)
class Workflow:
    part: str
    path: str
    content: str
    documents: list[Any]


def check_workflows(workflows: list[Workflow]) -> list[Problem]:
    """Schema problems for each workflow; the schema-valid ones then go to zizmor together."""
    problems: list[Problem] = []
    valid: list[Workflow] = []
    for workflow in workflows:
        found = _schema_problems(workflow)
        problems += found
        if not found:
            valid.append(workflow)
    if valid:
        problems += _zizmor_problems(valid)
    return problems


def _error(workflow: Workflow, message: str) -> Problem:
    return Problem(part=workflow.part, message=message[:MAX_MESSAGE], severity="error")


@lru_cache(maxsize=1)
def _workflow_validator() -> Validator:
    from importlib.resources import files

    import jsonschema

    schema_file = files("check_jsonschema") / "builtin_schemas" / "vendor" / "github-workflows.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    validator_class: Any = jsonschema.validators.validator_for(schema)
    validator: Validator = validator_class(schema)
    return validator


def _schema_problems(workflow: Workflow) -> list[Problem]:
    documents = workflow.documents
    if len(documents) != 1:
        return [_error(workflow, f"{workflow.path}: a workflow is exactly one YAML document")]
    if _exceeds(documents[0], MAX_NODES):
        return [_error(workflow, f"{workflow.path}: expands to more than {MAX_NODES} YAML nodes")]
    leaves = [leaf for top in _workflow_validator().iter_errors(documents[0]) for leaf in _leaves(top)]
    if not leaves:
        return []
    root = yaml.compose(workflow.content, Loader=Yaml12Loader)  # only now: for line numbers
    return [
        _error(
            workflow,
            f"{workflow.path} line {_line_of(root, list(error.absolute_path))}: GitHub workflow schema: "
            f"{_dotted(error.absolute_path)}: {error.message}",
        )
        for error in leaves
    ]


def _exceeds(value: object, limit: int) -> bool:
    stack, count = [value], 0
    while stack:
        count += 1
        if count > limit:
            return True
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _leaves(error: ValidationError) -> list[ValidationError]:
    """The errors that explain a failed oneOf/anyOf, from its most plausible branch.

    A job is `oneOf` a normal job or a reusable-workflow call; saying "not valid under any of the
    given schemas" helps nobody, "'runs-on' is a required property" does.
    """
    if not error.context:
        return [error]
    branches: dict[object, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)

    def implausibility(errors: list[ValidationError]) -> tuple[bool, int, int]:
        # A branch whose type does not even match is the wrong branch; then fewer, deeper errors win.
        wrong_type = any(e.validator == "type" and len(e.path) == 0 for e in errors)
        return wrong_type, len(errors), -max(len(e.absolute_path) for e in errors)

    best = min(branches.values(), key=implausibility)
    return [leaf for sub in best for leaf in _leaves(sub)]


def _dotted(path: Any) -> str:
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)
    return text.lstrip(".") or "(top level)"


def _line_of(root: yaml.Node | None, path: list[Any]) -> int:
    """Line (1-based) of the deepest key or item on `path` that exists, so a message points into the file."""
    node, line = root, 1
    for key in path:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == str(key)), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _zizmor_executable() -> str | None:
    beside_python = Path(sys.executable).with_name("zizmor")
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return str(beside_python)
    return shutil.which("zizmor")


def _warning(part: str, message: str) -> Problem:
    return Problem(part=part, message=message[:MAX_MESSAGE], severity="warning")


def _zizmor_problems(workflows: list[Workflow]) -> list[Problem]:
    part = workflows[0].part
    executable = _zizmor_executable()
    if executable is None:
        return [_warning(part, "zizmor is not installed: the workflow security audit was skipped")]
    with tempfile.TemporaryDirectory(prefix="devops-report-") as tmp:
        # The report's own paths never touch the disk: each workflow gets an index-based name.
        folder = Path(tmp, ".github", "workflows")
        folder.mkdir(parents=True)
        by_name: dict[str, Workflow] = {}
        for index, workflow in enumerate(workflows):
            name = f"w{index}{PurePosixPath(workflow.path).suffix}"
            (folder / name).write_text(workflow.content, encoding="utf-8")
            by_name[name] = workflow
        command = [
            executable, "--offline", "--format=json", "--no-config", "--no-ignores", "--no-exit-codes",
            "--no-progress", "--color=never", *(f".github/workflows/{name}" for name in by_name),
        ]  # fmt: skip
        try:
            done = subprocess.run(
                command,
                cwd=tmp,
                capture_output=True,
                text=True,
                timeout=ZIZMOR_TIMEOUT_S,
                env={"PATH": os.environ.get("PATH", "")},  # offline: no token, no config from home
                check=False,
            )
            findings = json.loads(done.stdout) if done.returncode == 0 else None
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            return [_warning(part, f"zizmor could not run ({type(exc).__name__}): the audit was skipped")]
    if not isinstance(findings, list):
        reason = _last_error_line(done.stderr) or f"exit code {done.returncode}"
        return [_warning(part, f"zizmor failed ({reason}): the workflow security audit was skipped")]
    try:
        return [_finding_problem(finding, by_name) for finding in findings]
    except (AttributeError, TypeError):  # a zizmor whose JSON no longer has the v1 shape
        return [_warning(part, "zizmor output was not understood: the workflow security audit was skipped")]


def _last_error_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip().startswith("error:")]
    return lines[-1] if lines else ""


def _finding_problem(finding: dict[str, Any], by_name: dict[str, Workflow]) -> Problem:
    """One zizmor v1 JSON finding as a problem naming the audit id, the file and the line."""
    ident = str(finding.get("ident", "unknown"))
    determinations = finding.get("determinations") or {}
    severity = str(determinations.get("severity", "Unknown"))
    locations = finding.get("locations") or [{}]
    primary = next((loc for loc in locations if loc.get("symbolic", {}).get("kind") == "Primary"), locations[0])
    symbolic = primary.get("symbolic", {})
    verbatim = str(symbolic.get("key", {}).get("Local", {}).get("verbatim_path", ""))
    workflow = by_name.get(PurePosixPath(verbatim).name)
    path, part = (workflow.path, workflow.part) if workflow else ("a workflow", "cicd_pipeline")
    row = primary.get("concrete", {}).get("location", {}).get("start_point", {}).get("row")
    line = f" line {row + 1}" if isinstance(row, int) else ""
    annotation = symbolic.get("annotation")
    message = (
        f"zizmor {ident} in {path}{line}: {finding.get('desc', '')}"
        + (f" ({annotation})" if annotation else "")
        + f" [severity {severity}, confidence {determinations.get('confidence', 'Unknown')}]"
        # --no-ignores reports what the file's own ignore comments would hide: say why it still counts.
        + (" (an ignore comment in a report does not silence it)" if finding.get("ignored") else "")
    )
    is_error = severity == "High" or ident in ALWAYS_ERRORS
    return Problem(part=part, message=message[:MAX_MESSAGE], severity="error" if is_error else "warning")
