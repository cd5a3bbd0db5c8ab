"""The `devops-mcp` command line. Errors are one line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from server import __version__
from server.config_names import TOOLSETS, parse_toolsets
from server.errors import ConfigError


class CommandError(Exception):
    """A command could not do its work; the message is the one line the user sees."""


def _toolsets(text: str) -> tuple[str, ...]:
    try:
        return parse_toolsets(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="devops-mcp", description="The DevOps-engineer MCP server: persona, procedure and guarded tools."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve MCP over stdio (default) or streamable HTTP")
    serve.add_argument("--transport", choices=("stdio", "http"), default="stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="HTTP port (default 8765)")
    serve.add_argument(
        "--toolsets", type=_toolsets, help=f"comma list of {', '.join(TOOLSETS)} (default: all configured)"
    )
    serve.add_argument("--read-only", action="store_true", default=None, help="register no write tool")
    serve.add_argument("--policy", type=Path, help="policy file (TOML)")
    serve.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    serve.add_argument(
        "--no-fast-start",
        action="store_true",
        help="stdio: do not answer the handshake and listings from the cached manifest while the SDK loads",
    )
    serve.add_argument(
        "--prepare", action="store_true", help="record the fast-start manifest for this configuration, then exit"
    )
    serve.set_defaults(func=_serve)

    report = commands.add_parser("report", help="validate or render a report (JSON)")
    report_commands = report.add_subparsers(dest="report_command", required=True, metavar="ACTION")
    validate = report_commands.add_parser("validate", help="check a report against the output format")
    validate.add_argument("file", type=Path)
    validate.set_defaults(func=_report_validate)
    render = report_commands.add_parser("render", help="render a valid report as Markdown")
    render.add_argument("file", type=Path)
    render.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    render.set_defaults(func=_report_render)
    audit = commands.add_parser("audit", help="read the audit log")
    audit.add_argument("--tail", type=int, default=20, metavar="N", help="the last N calls (default 20)")
    audit.add_argument("--json", action="store_true", help="one JSON object per line")
    audit.set_defaults(func=_audit)

    install = commands.add_parser("install", help="set up a host to use this server")
    hosts = install.add_subparsers(dest="host", required=True, metavar="HOST")
    claude = hosts.add_parser("claude-code", help="the subagent file and the MCP registration for Claude Code")
    claude.add_argument("--dir", type=Path, default=Path.cwd(), help="project folder (default: current)")
    claude.add_argument("--scope", choices=("project", "user"), default="project")
    claude.add_argument("--dry-run", action="store_true", help="print the changes as a diff, write nothing")
    claude.add_argument(
        "--compat",
        action="store_true",
        help="also register as `github` and `supabase`, the names the original subagent file uses",
    )
    claude.set_defaults(func=_install_claude_code)

    hook = commands.add_parser("hook", help="Claude Code hooks (JSON on stdin, hook output on stdout)")
    hook_kinds = hook.add_subparsers(dest="hook", required=True, metavar="HOOK")
    prompt_hook = hook_kinds.add_parser(
        "user-prompt", help="UserPromptSubmit: suggest the subagent for CI/infra prompts"
    )
    prompt_hook.set_defaults(func=_hook_user_prompt)
    pre = hook_kinds.add_parser("pre-tool-use", help="PreToolUse: the bash guard on Claude Code's Bash")
    pre.add_argument("--policy", type=Path, help="policy file (TOML)")
    pre.set_defaults(func=_hook_pre_tool_use)

    policy = commands.add_parser("policy", help="the guardrail policy")
    policy_commands = policy.add_subparsers(dest="policy_command", required=True, metavar="ACTION")
    check = policy_commands.add_parser("check", help="the bash guard's verdict for one command")
    check.add_argument("--policy", type=Path, help="policy file (TOML)")
    check.add_argument("--json", action="store_true")
    check.add_argument("command", nargs="+", help="the command (after --), e.g. -- 'rm -rf ~'")
    check.set_defaults(func=_policy_check)

    doctor = commands.add_parser("doctor", help="check tokens, API reachability, sandbox, policy and audit log")
    doctor.add_argument("--policy", type=Path, help="policy file (TOML)")
    doctor.add_argument("--json", action="store_true")
    doctor.set_defaults(func=_doctor)
    return parser


def _serve(args: argparse.Namespace) -> int:
    if args.transport == "stdio" and not args.no_fast_start and not args.prepare:
        # Only the standard library is imported on this path until the front has answered (docs/fast-start.md).
        from server.fast_start import serve

        code = serve(args)
        if code >= 0:
            return code
    if args.prepare and args.transport != "stdio":
        raise CommandError("--prepare records the stdio fast-start manifest; it does not apply to http")

    from server.app import build_server
    from server.config import load_settings
    from server.logs import configure_logging
    from server.transports import serve_http, serve_stdio

    settings = load_settings(toolsets=args.toolsets, read_only=args.read_only, policy_path=args.policy)
    configure_logging(args.log_level)
    if args.prepare:
        from server.manifest import Launch, prepare

        path = prepare(Launch(args.toolsets, args.read_only, args.policy))
        if path is None:
            raise CommandError("cannot prepare the fast-start manifest: the policy file is unreadable")
        print(path)
        return 0
    if args.transport == "http":
        serve_http(settings, args.host, args.port)
    else:
        serve_stdio(build_server(settings))
    return 0


def _audit(args: argparse.Namespace) -> int:
    import anyio

    from server.audit import AuditRecord, open_audit_store
    from server.config import load_settings

    store = open_audit_store(load_settings())

    async def read() -> list[AuditRecord]:
        try:
            return await store.tail(max(args.tail, 1))
        finally:
            await store.aclose()

    try:
        records = anyio.run(read)
    except Exception as exc:
        raise CommandError(f"cannot read the audit log: {type(exc).__name__}: {exc}") from None
    for record in records:
        if args.json:
            print(record.model_dump_json())
        else:
            verdict = f" {record.verdict}" if record.verdict else ""
            print(
                f"{record.time:%Y-%m-%d %H:%M:%S} {record.tool} {record.outcome}{verdict} "
                f"{record.duration_ms:.0f}ms {record.client or '-'}"
            )
    return 0


def _doctor(args: argparse.Namespace) -> int:
    import json

    from server.config import load_settings
    from server.doctor import run_checks

    checks = run_checks(load_settings(policy_path=args.policy))
    if args.json:
        print(json.dumps([check.model_dump() for check in checks], indent=2))
    else:
        for check in checks:
            print(f"{check.status:8} {check.area:9} {check.check:9} {check.detail}")
    return 1 if any(check.status == "problem" for check in checks) else 0


def _install_claude_code(args: argparse.Namespace) -> int:
    from server.claude_code import apply, plan, prepare_fast_start

    try:
        changes = plan(args.dir.resolve(), args.scope, args.compat, Path.home())
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    if args.dry_run:
        sys.stdout.write("".join(change.diff() for change in changes) or "nothing to change\n")
        return 0
    written = apply(changes)
    for path in written:
        print(f"wrote {path}")
    if not written:
        print("already installed; nothing changed")
    for path in prepare_fast_start(args.compat):
        print(f"fast start: manifest {path}")
    return 0


def _read_hook_payload() -> dict[str, object]:
    import json

    try:
        payload = json.loads(sys.stdin.read() or "{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"the hook input is not JSON ({exc.msg})") from None
    if not isinstance(payload, dict):
        raise ValueError("the hook input is not a JSON object")
    return payload


def _hook_user_prompt(args: argparse.Namespace) -> int:
    import json

    from server.hooks import user_prompt

    try:
        output = user_prompt(_read_hook_payload())
    except ValueError:
        return 0  # a suggestion hook never gets in the user's way
    if output is not None:
        print(json.dumps(output))
    return 0


def _hook_pre_tool_use(args: argparse.Namespace) -> int:
    import json

    from server.config import load_settings
    from server.hooks import pre_tool_use
    from server.policy import load_policy

    policy = load_policy(args.policy or load_settings().policy_path)
    try:
        output = pre_tool_use(_read_hook_payload(), policy)
    except ValueError as exc:
        # Exit 2 blocks the tool call: a guard that cannot read the call does not wave it through.
        print(f"devops-mcp guard: {exc}", file=sys.stderr)
        return 2
    if output is not None:
        print(json.dumps(output))
    return 0


def _policy_check(args: argparse.Namespace) -> int:
    import json

    from server.bash_guard import judge_command
    from server.config import load_settings
    from server.decision import Decision
    from server.policy import load_policy

    policy = load_policy(args.policy or load_settings().policy_path)
    decision = Decision.of(judge_command(" ".join(args.command), policy))
    if args.json:
        reasons = [reason.model_dump(mode="json") for reason in decision.reasons]
        print(json.dumps({"verdict": decision.verdict.value, "reasons": reasons}))
    else:
        print(decision.verdict.value)
        for reason in decision.reasons:
            print(f"  {reason.verdict.value:5} {reason}")
    return 0


def _read_report(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from None


def _report_validate(args: argparse.Namespace) -> int:
    from tools.report import validate_report

    result = validate_report(_read_report(args.file))
    for problem in result.problems:
        print(f"{problem.severity}: {problem.part}: {problem.message}")
    print(f"{args.file}: {'valid' if result.valid else 'invalid'}")
    return 0 if result.valid else 1


def _report_render(args: argparse.Namespace) -> int:
    from tools.report import validate_report

    result = validate_report(_read_report(args.file))
    if not result.markdown:
        errors = [p for p in result.problems if p.severity == "error"]
        raise CommandError(f"{args.file} is not a report: {errors[0].part}: {errors[0].message}")
    if args.output is None:
        sys.stdout.write(result.markdown)
    else:
        args.output.write_text(result.markdown, encoding="utf-8")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except (CommandError, ConfigError) as exc:
        print(f"devops-mcp: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        # Still one line: a traceback would bury the message and could print a secret in a local.
        print(f"devops-mcp: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
