"""The command line: --help everywhere, the report commands, doctor, audit, one-line errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from server.cli import build_parser, main

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "report.json"


def subcommand_paths() -> list[list[str]]:
    """Every command and subcommand the parser knows, so a new one cannot skip --help."""
    import argparse

    paths: list[list[str]] = [[]]

    def walk(parser: argparse.ArgumentParser, prefix: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    paths.append([*prefix, name])
                    walk(sub, [*prefix, name])

    walk(build_parser(), [])
    return paths


@pytest.mark.parametrize("path", subcommand_paths(), ids=lambda p: " ".join(p) or "devops-mcp")
def test_every_command_has_help(path: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*path, "--help"])
    assert exit_.value.code == 0
    assert "usage: devops-mcp" in capsys.readouterr().out


def test_report_validate_accepts_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "validate", str(EXAMPLE)]) == 0
    assert capsys.readouterr().out.strip().endswith("valid")


def test_report_validate_lists_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = json.loads(EXAMPLE.read_text())
    del report["runbooks"]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(report))
    assert main(["report", "validate", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "error: runbooks:" in out
    assert out.strip().endswith("invalid")


def test_report_render_writes_the_committed_markdown(tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    assert main(["report", "render", str(EXAMPLE), "-o", str(out)]) == 0
    assert out.read_text() == (REPO / "examples" / "report.md").read_text()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["report", "validate", "/nonexistent/report.json"], "cannot read /nonexistent/report.json"),
        (["report", "render", "/nonexistent/report.json"], "cannot read"),
    ],
)
def test_errors_are_one_line(argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert expected in err


def test_render_refuses_a_non_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["report", "render", str(bad)]) == 2
    assert capsys.readouterr().err.startswith("devops-mcp: ")


@pytest.mark.parametrize(
    ("policy", "key"),
    [
        ("output_budget = 'lots'\n", "output_budget"),
        ("[github]\nrequired_approvals = -1\n", "github.required_approvals"),
        ("[rules]\n'no.such.rule' = 'deny'\n", "rules"),
        ("[bash]\nsandbox = 'sometimes'\n", "bash.sandbox"),
        ("unknown_key = 1\n", "unknown_key"),
        ("this is not toml", "not valid TOML"),
    ],
)
def test_invalid_policy_stops_serve_with_one_line(policy: str, key: str, tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(policy)
    devops_mcp = shutil.which("devops-mcp") or sys.exit("devops-mcp not installed")
    done = subprocess.run(
        [devops_mcp, "serve", "--policy", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert key in done.stderr
    assert "Traceback" not in done.stderr


def test_doctor_is_zero_when_toolsets_are_merely_unconfigured(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--json"]) == 0
    checks = {(c["area"], c["check"]): c for c in json.loads(capsys.readouterr().out)}
    assert checks[("github", "token")]["status"] == "off"
    assert checks[("supabase", "token")]["status"] == "off"
    assert checks[("policy", "valid")]["status"] == "ok"
    assert checks[("audit", "writable")]["status"] == "ok"


def test_doctor_fails_on_an_invalid_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "policy.toml"
    path.write_text("[scope]\nrepositories = 'acme/*'\n")
    assert main(["doctor", "--policy", str(path)]) == 1
    out = capsys.readouterr().out
    assert "problem" in out
    assert "scope.repositories" in out


def test_doctor_reports_an_unreachable_api(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # Nothing listens on this loopback port: the API is unreachable, which is a problem once a token is set.
    monkeypatch.setenv("GITHUB_TOKEN", "not-a-real-token")
    monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9")
    assert main(["doctor", "--json"]) == 1
    checks = {(c["area"], c["check"]): c for c in json.loads(capsys.readouterr().out)}
    assert checks[("github", "api")]["status"] == "problem"
    assert "not-a-real-token" not in json.dumps(list(checks.values()))
