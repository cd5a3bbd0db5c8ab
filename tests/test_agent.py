"""run_devops_agent end to end: a scripted model drives the real server through both model paths.

- MCP sampling: an in-memory client whose sampling callback plays a script of turns.
- The Anthropic API: `tests/doubles/anthropic_api.py` on 127.0.0.1, the `anthropic` SDK pointed at it.

The tools are the real `bash` (in a temporary DEVOPS_MCP_WORKSPACE) and `report` toolsets, behind the
real pipeline and a SQLite audit store. `UPDATE_DOCS=1 pytest tests/test_agent.py` rewrites the scripted
run in docs/agent-run.md.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client
from mcp.client import ClientRequestContext

from server.app import build_server
from server.audit import AuditRecord, SQLiteAuditStore
from server.config import load_settings
from server.policy import Policy
from tests.doubles.anthropic_api import AnthropicDouble, Turn, text, tool_use, turn
from tools.agent import parse_report
from tools.report import validate_report

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "agent-run.md"
REPORT = json.loads((REPO / "examples" / "report.json").read_text())
KEY = "test-" + "anthropic-key"
TASK = "Set up CI/CD, monitoring and disaster recovery for the web service in this workspace."
TOOLS_CAPABLE = types.SamplingCapability(tools=types.SamplingToolsCapability())

SamplingStep = Turn | Callable[[types.CreateMessageRequestParams], Awaitable[Turn]]


def full_script() -> list[Turn]:
    """Five steps and a report: one command that runs, one the guard refuses, then the example report."""
    return [
        turn(tool_use("bash", {"command": "ls -la"}, id="toolu_ls")),
        turn(text("Research: the workspace holds app.py and no pipeline, manifests or alerting yet.")),
        turn(tool_use("bash", {"command": "rm -rf ~"}, id="toolu_rm")),
        turn(text("Design: the clean-up was refused by the guard; not needed. Blue-green on Kubernetes, RTO 15m.")),
        turn(text("Automate: a GitHub Actions workflow, actions pinned to commit SHAs; Terraform for the cluster.")),
        turn(text("Monitor: golden-signal dashboard in Grafana, SLO burn-rate alerts with runbooks.")),
        turn(text("Optimize: right-size the node pool, spot for CI runners; track the four DORA metrics.")),
        turn(text(json.dumps(REPORT))),
    ]


class ScriptedSampler:
    """The client's model: plays its script whatever it is asked, and keeps every request."""

    def __init__(self, script: list[SamplingStep]) -> None:
        self.script = list(script)
        self.requests: list[types.CreateMessageRequestParams] = []

    async def __call__(
        self, context: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResultWithTools:
        self.requests.append(params)
        entry = self.script.pop(0)
        scripted = await entry(params) if callable(entry) else entry
        content: list[types.TextContent | types.ToolUseContent] = [
            types.TextContent(type="text", text=block["text"])
            if block["type"] == "text"
            else types.ToolUseContent(type="tool_use", id=block["id"], name=block["name"], input=block["input"])
            for block in scripted["content"]
        ]
        stop = "toolUse" if scripted["stop_reason"] == "tool_use" else "endTurn"
        return types.CreateMessageResultWithTools(
            role="assistant", model="scripted-model", content=content, stop_reason=stop
        )


@pytest.fixture(autouse=True)
def agent_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("ANTHROPIC_BASE_URL", "DEVOPS_MCP_AGENT_MODEL", "DEVOPS_MCP_TOOLSETS"):
        monkeypatch.delenv(name, raising=False)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "app.py").write_text("print('hello')\n")
    monkeypatch.setenv("DEVOPS_MCP_WORKSPACE", str(workspace))
    return workspace


@pytest.fixture
def store(tmp_path: Path) -> SQLiteAuditStore:
    return SQLiteAuditStore(tmp_path / "audit.sqlite3")


def agent_server(store: SQLiteAuditStore, policy: dict[str, Any] | None = None, **settings: Any) -> Any:
    # A whole report and its Markdown are ~55k characters: room for them beside the default budget.
    rules = {"output_budget": 200_000, **(policy or {})}
    loaded = load_settings(toolsets=("bash", "report", "agent"), **settings)
    return build_server(loaded, policy=Policy.model_validate(rules), audit=store)


def sampling_client(server: Any, sampler: ScriptedSampler, **extra: Any) -> Client:
    return Client(server, mode="legacy", sampling_callback=sampler, sampling_capabilities=TOOLS_CAPABLE, **extra)


def text_of(result: types.CallToolResult) -> str:
    return "".join(block.text for block in result.content if isinstance(block, types.TextContent))


def tool_results(message: types.SamplingMessage) -> list[types.ToolResultContent]:
    return [block for block in message.content_as_list if isinstance(block, types.ToolResultContent)]


async def rows(store: SQLiteAuditStore) -> list[AuditRecord]:
    return await store.tail(100)


async def run(client: Client, progress: list[tuple[float, float | None, str | None]] | None = None, **args: Any) -> Any:
    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        if progress is not None:
            progress.append((done, total, message))

    return await client.call_tool("run_devops_agent", {"task": TASK, **args}, progress_callback=on_progress)


# --- a whole run ---------------------------------------------------------------------------------


async def test_a_scripted_run_through_sampling(store: SQLiteAuditStore) -> None:
    sampler = ScriptedSampler(full_script())
    progress: list[tuple[float, float | None, str | None]] = []
    async with sampling_client(agent_server(store), sampler) as client:
        result = await run(client, progress)

    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert data is not None
    assert json.loads(text_of(result)) == data  # the text block carries the same result
    assert (data["stopped_by"], data["report_valid"], data["problems"]) == (None, True, [])
    assert data["report"] == REPORT
    assert "untrusted-data" in data["markdown"] and "## 1. Architecture Diagram" in data["markdown"]
    summary = data["summary"]
    assert summary["model_access"] == "sampling" and summary["model"] == "scripted-model"
    assert [step["step"] for step in summary["steps"]] == ["research", "design", "automate", "monitor", "optimize"]
    assert [(call["tool"], call["outcome"]) for call in summary["tool_calls"]] == [("bash", "ok"), ("bash", "refused")]
    assert "bash.irreversible" in summary["tool_calls"][1]["detail"]
    assert (summary["turns"], summary["report_attempts"], summary["tokens_estimated"]) == (8, 1, True)

    # The model sees this server's tools, never the runner itself, and the persona as its system prompt.
    first = sampler.requests[0]
    assert sorted(tool.name for tool in first.tools or []) == ["bash", "validate_report"]
    assert first.system_prompt and "## How this run works" in first.system_prompt
    assert "DevOps" in first.system_prompt and TASK in str(first.messages[0].content)

    # The refusal is fed back to the model as the tool's result in the next request.
    (refusal,) = tool_results(sampler.requests[3].messages[-1])
    assert refusal.tool_use_id == "toolu_rm" and refusal.is_error
    assert "Refused: bash was not run" in refusal.content[0].text  # type: ignore[union-attr]
    assert "bash.irreversible" in refusal.content[0].text  # type: ignore[union-attr]
    (listing,) = tool_results(sampler.requests[1].messages[-1])
    assert not listing.is_error and "app.py" in listing.content[0].text  # type: ignore[union-attr]

    # Each model call went through the pipeline and the audit log; the run itself too.
    audit = await rows(store)
    assert [(row.tool, row.outcome, row.verdict) for row in audit] == [
        ("bash", "ok", "allow"),
        ("bash", "denied", "deny"),
        ("run_devops_agent", "ok", "allow"),
    ]
    assert audit[1].arguments == {"command": "rm -rf ~"}
    assert any("bash.irreversible" in reason for reason in audit[1].reasons)

    # Progress: one notification per step, in procedure order, then the report and the end.
    assert [message for _, _, message in progress] == [
        "step 1 of 5: research",
        "step 2 of 5: design",
        "step 3 of 5: automate",
        "step 4 of 5: monitor",
        "step 5 of 5: optimize",
        "report",
        "done",
    ]
    assert [done for done, _, _ in progress] == [0, 1, 2, 3, 4, 5, 6]
    assert {total for _, total, _ in progress} == {6}

    if os.environ.get("UPDATE_DOCS") == "1":
        write_doc(data)


async def test_a_scripted_run_through_the_anthropic_api(store: SQLiteAuditStore, era: str) -> None:
    with AnthropicDouble(api_key=KEY, script=full_script()) as api:
        server = agent_server(store, anthropic_api_key=KEY, anthropic_base_url=api.url, agent_model="claude-test")
        # A 2026-07-28 client that could sample still gets the API: that era samples only in rounds.
        sampler = ScriptedSampler([])
        extra = {"sampling_callback": sampler, "sampling_capabilities": TOOLS_CAPABLE} if era == "auto" else {}
        progress: list[tuple[float, float | None, str | None]] = []
        async with Client(server, mode=era, **extra) as client:
            result = await run(client, progress, steps=["design", "research", "automate", "monitor", "optimize"])

    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert data is not None
    assert (data["stopped_by"], data["report_valid"], data["report"]) == (None, True, REPORT)
    assert data["summary"]["model_access"] == "anthropic-api" and data["summary"]["model"] == "claude-test"
    assert data["summary"]["tokens_estimated"] is False and data["summary"]["input_tokens"] > 0
    assert sampler.requests == []
    assert api.violations == []
    assert len(api.requests) == 8
    assert [message for _, _, message in progress][:2] == ["step 1 of 5: research", "step 2 of 5: design"]
    assert progress[-1] == (6, 6, "done")

    first = api.requests[0]
    assert first["model"] == "claude-test"
    # Prompt caching: the persona system prompt carries its own breakpoint.
    (system,) = first["system"]
    assert system["cache_control"] == {"type": "ephemeral"} and "## How this run works" in system["text"]
    assert sorted(tool["name"] for tool in first["tools"]) == ["bash", "validate_report"]
    # Steps run in procedure order whatever order they were asked in.
    assert "Step 1 of 5: research" in first["messages"][0]["content"][0]["text"]

    refusal = api.requests[3]["messages"][-1]
    assert refusal["role"] == "user"
    (block,) = refusal["content"]
    assert (block["type"], block["tool_use_id"], block["is_error"]) == ("tool_result", "toolu_rm", True)
    assert "bash.irreversible" in block["content"]
    assert all(KEY not in json.dumps(headers) for headers in api.headers)  # the double drops the key

    audit = await rows(store)
    assert [(row.tool, row.outcome) for row in audit][-3:] == [
        ("bash", "ok"),
        ("bash", "denied"),
        ("run_devops_agent", "ok"),
    ]


async def test_an_overloaded_api_is_retried_by_the_sdk(store: SQLiteAuditStore) -> None:
    with AnthropicDouble(api_key=KEY, script=full_script()) as api:
        api.fail_next(529, times=2)
        server = agent_server(store, anthropic_api_key=KEY, anthropic_base_url=api.url)
        async with Client(server, mode="legacy") as client:
            result = await run(client, markdown=False)
    data = result.structured_content
    assert data is not None and data["report_valid"] is True and data["markdown"] == ""
    assert data["summary"]["model"] == "claude-sonnet-5-5"  # the default model
    assert [headers.get("x-stainless-retry-count") for headers in api.headers[:3]] == ["0", "1", "2"]


async def test_an_api_error_ends_the_run_with_what_to_do(store: SQLiteAuditStore) -> None:
    with AnthropicDouble(api_key="another-key", script=full_script()) as api:
        server = agent_server(store, anthropic_api_key=KEY, anthropic_base_url=api.url)
        async with Client(server, mode="legacy") as client:
            result = await run(client)
    data = result.structured_content
    assert data is not None and data["stopped_by"] == "model_error"
    assert "refused ANTHROPIC_API_KEY (401" in data["outcome"]
    assert KEY not in text_of(result)


async def test_a_report_that_does_not_validate_is_sent_back_to_be_fixed(store: SQLiteAuditStore) -> None:
    draft = {"architecture_diagram": {"mermaid": "flowchart LR\n  user --> web"}}
    script = [
        turn(text("Research: nothing deployed yet.")),
        turn(text("Here is the report:\n```json\n" + json.dumps(draft) + "\n```")),
        turn(text(json.dumps(REPORT))),
    ]
    sampler = ScriptedSampler(script)
    async with sampling_client(agent_server(store), sampler) as client:
        result = await run(client, steps=["research"])
    data = result.structured_content
    assert data is not None
    assert (data["stopped_by"], data["report_valid"], data["summary"]["report_attempts"]) == (None, True, 2)
    repair = sampler.requests[2].messages[-1].content
    assert isinstance(repair, types.TextContent)
    assert repair.text.startswith("The report does not validate yet.")
    assert "- cicd_pipeline: cicd_pipeline: Field required" in repair.text


# --- guardrails inside a run ---------------------------------------------------------------------


async def test_the_model_cannot_call_the_runner_itself(store: SQLiteAuditStore) -> None:
    script = [
        turn(tool_use("run_devops_agent", {"task": "again"}, id="toolu_self")),
        turn(text("Research: could not start another run; carrying on.")),
        turn(text(json.dumps(REPORT))),
    ]
    sampler = ScriptedSampler(script)
    async with sampling_client(agent_server(store), sampler) as client:
        result = await run(client, steps=["research"])
    data = result.structured_content
    assert data is not None and data["report_valid"] is True
    (answer,) = tool_results(sampler.requests[1].messages[-1])
    assert answer.is_error and "Unknown tool 'run_devops_agent'" in answer.content[0].text  # type: ignore[union-attr]
    audit = await rows(store)
    assert [(row.tool, row.outcome) for row in audit] == [("run_devops_agent", "invalid"), ("run_devops_agent", "ok")]


@pytest.mark.parametrize(
    ("elicits", "outcome", "audited"), [(True, "declined", "declined"), (False, "unconfirmed", "denied")]
)
async def test_an_ask_is_put_to_the_user_never_assumed(
    store: SQLiteAuditStore, elicits: bool, outcome: str, audited: str
) -> None:
    asked: list[str] = []

    async def decline(context: ClientRequestContext, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action="decline")

    script = [
        turn(tool_use("bash", {"command": "git reset --hard"}, id="toolu_reset")),
        turn(text("Research: left the working tree alone.")),
        turn(text(json.dumps(REPORT))),
    ]
    sampler = ScriptedSampler(script)
    extra = {"elicitation_callback": decline} if elicits else {}
    async with sampling_client(agent_server(store), sampler, **extra) as client:
        result = await run(client, steps=["research"])
    data = result.structured_content
    assert data is not None
    assert [call["outcome"] for call in data["summary"]["tool_calls"]] == [outcome]
    assert len(asked) == (1 if elicits else 0)
    (answer,) = tool_results(sampler.requests[1].messages[-1])
    assert answer.is_error
    # Without elicitation the host's own confirmation does not count: it never saw this call.
    expected = "the user declined bash" if elicits else "this client cannot ask the user"
    assert expected in answer.content[0].text  # type: ignore[union-attr]
    audit = await rows(store)
    assert [(row.tool, row.outcome) for row in audit] == [("bash", audited), ("run_devops_agent", "ok")]


# --- budgets -------------------------------------------------------------------------------------


async def assert_clean_stop(store: SQLiteAuditStore, result: types.CallToolResult, budget: str) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert data is not None
    assert data["stopped_by"] == budget
    assert f"({budget}=" in data["outcome"]
    assert (await rows(store))[-1].tool == "run_devops_agent"
    return data


async def test_the_turn_budget_ends_the_run_with_the_best_report_so_far(store: SQLiteAuditStore) -> None:
    draft = {"architecture_diagram": {"mermaid": "flowchart LR\n  user --> web"}}
    script = [turn(text("Research: nothing deployed yet.")), turn(text(json.dumps(draft)))]
    sampler = ScriptedSampler(script)
    async with sampling_client(agent_server(store), sampler) as client:
        result = await run(client, steps=["research"], max_turns=2)
    data = await assert_clean_stop(store, result, "max_turns")
    assert (data["report"], data["report_valid"]) == (draft, False)
    assert data["problems"] and "the best report so far has the problems listed" in data["outcome"]
    assert len(sampler.requests) == 2


async def test_the_tool_call_budget_stops_before_the_next_call(store: SQLiteAuditStore) -> None:
    sampler = ScriptedSampler(full_script())
    async with sampling_client(agent_server(store), sampler) as client:
        result = await run(client, max_tool_calls=1)
    data = await assert_clean_stop(store, result, "max_tool_calls")
    assert [step["step"] for step in data["summary"]["steps"]] == ["research"]
    assert data["report"] is None and "no report had been written yet" in data["outcome"]
    # The second command was never sent to the pipeline.
    assert [row.tool for row in await rows(store)] == ["bash", "run_devops_agent"]


async def test_the_token_budget_counts_reported_usage(store: SQLiteAuditStore) -> None:
    script = [turn(*entry["content"], usage=(600, 100)) for entry in full_script()]
    with AnthropicDouble(api_key=KEY, script=script) as api:
        server = agent_server(store, anthropic_api_key=KEY, anthropic_base_url=api.url)
        async with Client(server, mode="legacy") as client:
            result = await run(client, max_tokens=1_000)
    data = await assert_clean_stop(store, result, "max_tokens")
    summary = data["summary"]
    assert (summary["turns"], summary["input_tokens"], summary["output_tokens"]) == (2, 1200, 200)
    assert len(api.requests) == 2


async def test_the_time_limit_cuts_a_slow_model_call(store: SQLiteAuditStore) -> None:
    async def slow(params: types.CreateMessageRequestParams) -> Turn:
        await anyio.sleep(5)
        return turn(text("too late"))

    sampler = ScriptedSampler([turn(text("Research: quick.")), slow])
    async with sampling_client(agent_server(store), sampler) as client:
        with anyio.fail_after(4):
            result = await run(client, time_limit_s=0.5)
    data = await assert_clean_stop(store, result, "time_limit_s")
    assert data["summary"]["duration_s"] < 2
    assert [step["step"] for step in data["summary"]["steps"]] == ["research"]


# --- cancellation --------------------------------------------------------------------------------


async def test_cancelling_the_request_stops_the_run_sampling(store: SQLiteAuditStore) -> None:
    reached = anyio.Event()

    async def stall(params: types.CreateMessageRequestParams) -> Turn:
        # Answers after a moment: a run that outlived the cancel would then make this call.
        reached.set()
        await anyio.sleep(0.5)
        return turn(tool_use("bash", {"command": "echo never"}))

    sampler = ScriptedSampler([*full_script()[:3], stall, turn(text("never asked"))])
    async with sampling_client(agent_server(store), sampler) as client:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(run, client)
                await reached.wait()
                group.cancel_scope.cancel()
        await anyio.sleep(1)
    assert len(sampler.requests) == 4
    assert [(row.tool, row.outcome) for row in await rows(store)] == [("bash", "ok"), ("bash", "denied")]


async def test_cancelling_the_request_stops_the_run_api(store: SQLiteAuditStore, era: str) -> None:
    reached = threading.Event()

    def stall(body: dict[str, Any]) -> Turn:
        reached.set()
        api.release.wait(0.5)
        return turn(tool_use("bash", {"command": "echo never"}))

    with AnthropicDouble(api_key=KEY, script=[*full_script()[:3], stall, turn(text("never asked"))]) as api:
        server = agent_server(store, anthropic_api_key=KEY, anthropic_base_url=api.url)
        async with Client(server, mode=era) as client:
            with anyio.fail_after(10):
                async with anyio.create_task_group() as group:
                    group.start_soon(run, client)
                    await anyio.to_thread.run_sync(reached.wait, 10)
                    group.cancel_scope.cancel()
            await anyio.sleep(1)
        assert len(api.requests) == 4
    assert [(row.tool, row.outcome) for row in await rows(store)] == [("bash", "ok"), ("bash", "denied")]


# --- no model ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "sampling", "why"),
    [
        ("legacy", None, "this client does not offer sampling"),
        ("legacy", types.SamplingCapability(), "not sampling with tools"),
        ("auto", None, "where a server can sample only through input_required rounds"),
        ("auto", TOOLS_CAPABLE, "where a server can sample only through input_required rounds"),
    ],
)
async def test_without_sampling_or_a_key_the_tool_says_how_to_enable_it(
    store: SQLiteAuditStore, mode: str, sampling: types.SamplingCapability | None, why: str
) -> None:
    extra: dict[str, Any] = {}
    if sampling is not None:
        extra = {"sampling_callback": ScriptedSampler([]), "sampling_capabilities": sampling}
    async with Client(agent_server(store), mode=mode, **extra) as client:
        result = await run(client)
    assert result.is_error
    message = text_of(result)
    assert why in message
    assert "either connect with an MCP client that supports sampling with tools" in message
    assert "set ANTHROPIC_API_KEY in the server's environment and restart it" in message
    assert [(row.tool, row.outcome) for row in await rows(store)] == [("run_devops_agent", "error")]


# --- the listing ---------------------------------------------------------------------------------


async def test_the_agent_is_served_beside_the_report_toolset(store: SQLiteAuditStore) -> None:
    async def names(**settings: Any) -> dict[str, types.Tool]:
        server = build_server(load_settings(**settings), policy=Policy(), audit=store)
        async with Client(server) as client:
            return {tool.name: tool for tool in (await client.list_tools()).tools}

    default = await names()
    assert "run_devops_agent" in default and "validate_report" in default
    assert default["run_devops_agent"].annotations is not None
    assert default["run_devops_agent"].annotations.read_only_hint is False
    assert "run_devops_agent" not in await names(toolsets=("bash", "report"))
    read_only = await names(read_only=True)
    assert read_only["run_devops_agent"].annotations is not None
    assert read_only["run_devops_agent"].annotations.read_only_hint is True


def test_a_report_is_found_in_prose_or_a_fence() -> None:
    document = {"a": 1}
    assert parse_report(json.dumps(document)) == document
    assert parse_report("Here it is:\n```json\n" + json.dumps(document) + "\n```\nDone.") == document
    assert parse_report("no JSON here") == "no JSON here"


# --- docs/agent-run.md ---------------------------------------------------------------------------

_RUN_START = "<!-- scripted-run:start -->"
_RUN_END = "<!-- scripted-run:end -->"


def write_doc(data: dict[str, Any]) -> None:
    """Replace the scripted run in docs/agent-run.md with this one: summary, then the rendered report."""
    summary = data["summary"]
    lines = [
        _RUN_START,
        "",
        f"**Outcome:** {data['outcome']}",
        "",
        f"Model access `{summary['model_access']}` ({summary['model']}); {summary['turns']} turns; "
        f"~{summary['input_tokens']:,} input and ~{summary['output_tokens']:,} output tokens (estimated); "
        f"{summary['report_attempts']} report draft(s); {summary['duration_s']:.2f} s.",
        "",
        "| step | turns | tool calls | the model's summary |",
        "|---|---|---|---|",
    ]
    for step in summary["steps"]:
        words = re.sub(r"\s+", " ", _unfence(step["summary"]))
        lines.append(f"| {step['step']} | {step['turns']} | {step['tool_calls']} | {words} |")
    lines += ["", "| step | tool | outcome | detail |", "|---|---|---|---|"]
    for call in summary["tool_calls"]:
        lines.append(f"| {call['step']} | `{call['tool']}` | {call['outcome']} | {call['detail'] or '—'} |")
    markdown = validate_report(data["report"]).markdown
    lines += ["", _nest_headings(markdown).strip(), "", _RUN_END]
    page = DOC.read_text()
    start, end = page.index(_RUN_START), page.index(_RUN_END) + len(_RUN_END)
    DOC.write_text(page[:start] + "\n".join(lines) + page[end:])


def _nest_headings(markdown: str) -> str:
    """The report's headings two levels down, under this page's; code blocks untouched."""
    out, in_code = [], False
    for line in markdown.splitlines():
        if line.startswith(("```", "~~~")):
            in_code = not in_code
        out.append("##" + line if not in_code and re.match(r"#+ ", line) else line)
    return "\n".join(out)


def _unfence(text: str) -> str:
    inner = re.search(r"<untrusted-data-[0-9a-f]+[^>]*>\n(.*)\n</untrusted-data-", text, flags=re.DOTALL)
    return inner.group(1) if inner else text


def test_the_doc_holds_a_scripted_run() -> None:
    page = DOC.read_text()
    assert _RUN_START in page and _RUN_END in page
    run_part = page[page.index(_RUN_START) : page.index(_RUN_END)]
    assert "| design | `bash` | refused |" in run_part
    assert "Disaster Recovery" in run_part
