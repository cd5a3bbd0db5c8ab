"""The stdio fast-start front: its early answers are the SDK's, byte for byte, and every failure path ends.

Two kinds of test. In-process ones feed the same JSON lines to a `Front` holding a recorded manifest and
to the real server behind the SDK's own stdio transport, and compare the lines each writes. Subprocess
ones spawn the real `devops-mcp serve`; where a test must know that an answer came from the front, the
server runs under GATED, which holds the SDK thread's first heavy import (`server.app`) until the test
creates a gate file, or makes it fail.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

from server import config_names, manifest
from server.config import Settings
from server.fast_start import Front, LineQueue, LineSink
from server.manifest import Launch, Manifest
from server.transports import serve_stdio
from tests.conftest import REPO, make_server

DEVOPS_MCP = str(Path(sys.executable).parent / "devops-mcp")
HEAVY = ("mcp", "mcp_types", "pydantic", "pydantic_core", "pydantic_settings", "structlog", "anyio", "httpx")

# `devops-mcp serve` as the console script runs it, with the SDK thread's first heavy import held at a gate.
GATED = r"""
import os, sys, time

class Gate:
    def find_spec(self, name, path=None, target=None):
        if name == "server.app":
            while not os.path.exists(os.environ["FAST_START_TEST_GATE"]):
                time.sleep(0.005)
            if os.environ.get("FAST_START_TEST_FAIL"):
                raise ImportError("simulated: the SDK cannot be imported")
        return None

sys.meta_path.insert(0, Gate())
from server.cli import main
sys.exit(main(sys.argv[1:]))
"""

CLIENT = {"name": "mcp", "version": "0.1.0"}


def envelope(extra: dict[str, Any] | None = None, version: str = "2026-07-28") -> dict[str, Any]:
    return {
        "io.modelcontextprotocol/protocolVersion": version,
        "io.modelcontextprotocol/clientInfo": CLIENT,
        "io.modelcontextprotocol/clientCapabilities": {},
        **(extra or {}),
    }


def request(request_id: Any, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    return message


def notification(method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        message["params"] = params
    return message


def initialize(request_id: Any = 1, version: str = "2025-11-25", **params: Any) -> dict[str, Any]:
    return request(
        request_id, "initialize", {"protocolVersion": version, "capabilities": {}, "clientInfo": CLIENT, **params}
    )


LISTS = ("tools/list", "prompts/list", "resources/list", "resources/templates/list")


def legacy_script(version: str = "2025-11-25") -> list[dict[str, Any]]:
    """What the SDK's Client sends in the 2025 era (mode="legacy")."""
    lists = [request(i + 2, method) for i, method in enumerate(LISTS)]
    return [initialize(1, version), notification("notifications/initialized"), *lists, request(6, "ping")]


def modern_script() -> list[dict[str, Any]]:
    """What the SDK's Client sends in the 2026-07-28 era (mode="auto"): the envelope on every request."""
    methods = ("server/discover", *LISTS, "ping")
    return [request(i + 1, method, {"_meta": envelope()}) for i, method in enumerate(methods)]


def lines(messages: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(message) + "\n" for message in messages]


def answer_id(line: str) -> Any:
    return json.loads(line).get("id")


# ---------------------------------------------------------------- in process: the front against the SDK


def sdk_answers(server: Any, script: list[str], expected: int) -> list[str]:
    """The lines the real server writes for `script`, through the SDK's stdio transport."""
    inbox, out = LineQueue(), []

    def collect(line: str) -> None:
        out.append(line)
        if sum("method" not in json.loads(o) for o in out) == expected:
            inbox.close_input()

    for line in script:
        inbox.put(line)
    thread = threading.Thread(target=serve_stdio, args=(server,), kwargs={"stdin": inbox, "stdout": LineSink(collect)})
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive(), f"the SDK answered {len(out)} of {expected}"
    return out


def front_answers(recorded: Manifest, script: list[str]) -> tuple[list[str], Front]:
    out: list[str] = []
    front = Front(out.append, lambda replay_id: pytest.fail(f"replay {replay_id} differs"))
    front.use_manifest(recorded)
    for line in script:
        front.route(line)
    return out, front


@pytest.fixture(scope="module")
def full_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Manifest]]:
    """Every toolset (fake tokens), and the manifest recorded from it."""
    saved = dict(os.environ)
    os.environ.update(
        GITHUB_TOKEN="ghp_" + "x" * 36,
        SUPABASE_ACCESS_TOKEN="sbp_" + "y" * 40,
        XDG_STATE_HOME=str(tmp_path_factory.mktemp("state")),
    )
    try:
        server = make_server()
        yield server, Manifest.from_body(manifest.record(server))
    finally:
        os.environ.clear()
        os.environ.update(saved)


CAPABILITIES = {
    "elicitation": {"form": {}, "url": {}},
    "sampling": {"context": {}, "tools": {}},
    "roots": {"listChanged": True},
    "experimental": {"x": {"deep": [1, 2, {"y": None}]}},
    "extensions": {"io.example/ext": {}},
    "tasks": {"list": {}, "cancel": {}, "requests": {"sampling": {"createMessage": {}}, "elicitation": {"create": {}}}},
    "somethingNew": 42,
}
RICH_CLIENT = {"name": "claude-code", "version": "2.1.0", "title": "Claude Code", "websiteUrl": "https://claude.ai"}
ODD_IDS = ["é-ü-😀", 'q"b\\s\n\t\x01', 2**52, -7, 0, ""]


def test_modern_answers_equal_the_sdk_for_plain_variants(full_server: tuple[Any, Manifest]) -> None:
    server, recorded = full_server
    variants = [
        envelope(),
        envelope({"io.modelcontextprotocol/clientCapabilities": CAPABILITIES}),
        envelope({"io.modelcontextprotocol/clientInfo": RICH_CLIENT}),
        envelope({"io.modelcontextprotocol/logLevel": "debug", "progressToken": "tok"}),
        envelope({"progressToken": 7}),
        {k: v for k, v in envelope().items() if k != "io.modelcontextprotocol/clientInfo"},
    ]
    script = [request(100, "server/discover", {"_meta": envelope()})]
    methods = ("server/discover", *LISTS, "ping")
    for i, meta in enumerate(variants):
        script += [request(i * 10 + j, method, {"_meta": meta}) for j, method in enumerate(methods)]
    script += [request(odd, "tools/list", {"_meta": envelope()}) for odd in ODD_IDS]
    front, _ = front_answers(recorded, lines(script))
    assert len(front) == len(script), "the front left a plain request to the SDK"
    sdk = sdk_answers(server, lines(script), len(script))
    assert sorted(front) == sorted(sdk)  # byte for byte; the SDK may answer out of order


@pytest.mark.parametrize(
    "variant",
    [
        *[{"version": version} for version in HANDSHAKE_PROTOCOL_VERSIONS],
        {"version": "2099-01-01"},
        {"version": "2026-07-28"},
        {"capabilities": CAPABILITIES},
        {"clientInfo": RICH_CLIENT},
        {"_meta": {"progressToken": 3}},
    ],
    ids=lambda v: json.dumps(v)[:40],
)
def test_legacy_answers_equal_the_sdk(full_server: tuple[Any, Manifest], variant: dict[str, Any]) -> None:
    server, recorded = full_server
    version = variant.pop("version", "2025-11-25")
    script = [initialize(1, version, **variant), notification("notifications/initialized")]
    script += [request(i + 2, method) for i, method in enumerate(LISTS)]
    script += [
        request(6, "ping"),
        request(7, "tools/list", {}),
        request(8, "tools/list", {"_meta": {"progressToken": "p"}}),
    ]
    front, _ = front_answers(recorded, lines(script))
    assert len(front) == 8
    sdk = sdk_answers(server, lines(script), 8)
    assert sorted(front) == sorted(sdk)


def test_a_ping_before_initialize_equals_the_sdk(full_server: tuple[Any, Manifest]) -> None:
    server, recorded = full_server
    script = lines([request("p", "ping"), *legacy_script()])
    front, _ = front_answers(recorded, script)
    assert sorted(front) == sorted(sdk_answers(server, script, 7))


NOT_PLAIN_MODERN = [
    {"_meta": envelope(), "cursor": "abc"},
    {"_meta": envelope(), "unknown": 1},
    {"_meta": envelope({"io.modelcontextprotocol/clientInfo": {**CLIENT, "icons": [{"src": "x"}]}})},
    {"_meta": envelope({"io.modelcontextprotocol/clientInfo": {"name": "x"}})},
    {"_meta": envelope({"io.modelcontextprotocol/clientCapabilities": {"roots": {"listChanged": "yes"}}})},
    {"_meta": envelope({"io.modelcontextprotocol/clientCapabilities": {"experimental": {"x": 1}}})},
    {"_meta": envelope({"io.modelcontextprotocol/clientCapabilities": {"sampling": []}})},
    {"_meta": envelope({"io.modelcontextprotocol/clientCapabilities": []})},
    {"_meta": envelope(version="2099-01-01")},
    {"_meta": envelope({"io.modelcontextprotocol/logLevel": "loud"})},
    {"_meta": envelope({"progressToken": True})},
    {"_meta": envelope({"io.modelcontextprotocol/requestState": "x"})},
    {"_meta": {k: v for k, v in envelope().items() if k != "io.modelcontextprotocol/clientCapabilities"}},
]


@pytest.mark.parametrize("params", NOT_PLAIN_MODERN, ids=lambda p: json.dumps(p)[-60:])
def test_what_the_front_cannot_vouch_for_goes_to_the_sdk(full_server: tuple[Any, Manifest], params: Any) -> None:
    _, recorded = full_server
    opener = request(1, "server/discover", {"_meta": envelope()})
    front, kept = front_answers(
        recorded, lines([opener, request(2, "tools/list", params), request(3, "tools/list", {"_meta": envelope()})])
    )
    assert [answer_id(line) for line in front] == [1], "only the opener is answered; the rest waits, in order"
    assert [k.line and answer_id(k.line) for k in kept._kept if k.line] == [2, 3]


@pytest.mark.parametrize(
    "raw",
    [
        '{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"_meta":{"progressToken":NaN}}}',
        '{"jsonrpc":"2.0","id":2,"id":3,"method":"tools/list"}',
        '{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"_meta":{"progressToken":"\\ud800"}}}',
        '{"jsonrpc":"2.0","id":null,"method":"tools/list"}',
        '{"jsonrpc":"2.0","id":true,"method":"tools/list"}',
        '{"jsonrpc":"2.0","id":1.5,"method":"tools/list"}',
        '{"jsonrpc":"1.0","id":2,"method":"tools/list"}',
        '{"jsonrpc":"2.0","id":2,"method":"tools/list","extra":1}',
        '{"jsonrpc":"2.0","id":2,"method":"tools/list","params":null}',
        '{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"cursor":"c"}}',
        '{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}',
        '{"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{}}}',
        '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"validate_report","arguments":{}}}',
        "not json",
        "[1, 2]",
    ],
)
def test_unusual_legacy_requests_go_to_the_sdk(full_server: tuple[Any, Manifest], raw: str) -> None:
    _, recorded = full_server
    front, kept = front_answers(recorded, [*lines([initialize()]), raw + "\n", *lines([request(9, "tools/list")])])
    assert [answer_id(line) for line in front] == [1]
    assert [k.line for k in kept._kept if k.line] == [raw + "\n", json.dumps(request(9, "tools/list")) + "\n"]


def test_a_second_initialize_and_a_modern_request_after_initialize_go_to_the_sdk(
    full_server: tuple[Any, Manifest],
) -> None:
    _, recorded = full_server
    for second in (initialize(2), request(2, "tools/list", {"_meta": envelope()})):
        front, _ = front_answers(recorded, lines([initialize(1), second]))
        assert [answer_id(line) for line in front] == [1]
    # and a handshake on a connection the envelope opened
    front, _ = front_answers(recorded, lines([request(1, "server/discover", {"_meta": envelope()}), initialize(2)]))
    assert [answer_id(line) for line in front] == [1]


def test_handover_replays_only_what_sets_state_and_swallows_its_answer(full_server: tuple[Any, Manifest]) -> None:
    server, recorded = full_server
    script = lines(
        [*legacy_script(), request(7, "tools/call", {"name": "validate_report", "arguments": {"report": {}}})]
    )
    early, front = front_answers(recorded, script)
    assert [answer_id(line) for line in early] == [1, 2, 3, 4, 5, 6]
    inbox, late = LineQueue(), list[str]()
    front._write = late.append  # the SDK's answers now reach the client
    front.handover(inbox)
    sent = [inbox.readline() for _ in range(3)]
    methods = [json.loads(line).get("method") for line in sent]
    assert methods == ["initialize", "notifications/initialized", "tools/call"]
    replay = json.loads(sent[0])
    assert replay["id"].startswith("devops-mcp-fast-start-replay-") and replay["params"] == legacy_script()[0]["params"]
    # The SDK's answer to the replayed initialize is swallowed; the tool call's reaches the client.
    for line in sdk_answers(server, sent, 2):
        front.from_sdk(line)
    assert [answer_id(line) for line in late] == [7]


def test_a_cancelled_request_never_reaches_the_sdk(full_server: tuple[Any, Manifest]) -> None:
    _, recorded = full_server
    call = request(50, "tools/call", {"name": "validate_report", "arguments": {"report": {}}})
    script = [
        *legacy_script(),
        call,
        notification("notifications/cancelled", {"requestId": "50"}),
        request(8, "tools/list"),
    ]
    script.append(notification("notifications/cancelled", {"requestId": 2}))  # answered already: nothing to do
    early, front = front_answers(recorded, lines(script))
    assert [answer_id(line) for line in early] == [1, 2, 3, 4, 5, 6]
    assert [json.loads(k.line).get("id") for k in front._kept if k.line] == [None, 8]  # initialized, the list


# ---------------------------------------------------------------- the manifest and its key


def test_every_settings_variable_is_named_in_one_place() -> None:
    aliases: set[str] = set()
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        aliases |= set(getattr(alias, "choices", [alias]))
    assert aliases == set(config_names.VARIABLES)
    assert not set(config_names.SECRET_VARIABLES) & set(config_names.PLAIN_VARIABLES)


def test_the_key_follows_the_configuration_but_never_a_secret_value(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("output_budget = 20000\n")
    base = {"GITHUB_TOKEN": "one", "HOME": "/h"}

    def key(launch: Launch | None = None, **env: str) -> str | None:
        return manifest.configuration_key(launch or Launch(), {**base, **env})

    same = key()
    assert key(GITHUB_TOKEN="two") == same, "a credential counts by presence only"
    assert key(HOME="/elsewhere", XDG_STATE_HOME="/s") == same
    assert manifest.configuration_key(Launch(), {"github_token": "x"}) == manifest.configuration_key(
        Launch(), {"GITHUB_TOKEN": "y"}
    )
    different = [
        key(GITHUB_TOKEN=""),
        key(SUPABASE_ACCESS_TOKEN="x"),
        key(DEVOPS_MCP_READ_ONLY="1"),
        key(DEVOPS_MCP_TOOLSETS="github"),
        key(SUPABASE_PROJECT_REF="abcdefghijklmnopqrst"),
        key(Launch(toolsets=("github",))),
        key(Launch(read_only=True)),
        key(Launch(policy=policy)),
        key(DEVOPS_MCP_POLICY=str(policy)),
    ]
    assert same not in different and len(set(different)) == len(different)
    with_policy = key(Launch(policy=policy))
    policy.write_text("output_budget = 10000\n")
    assert key(Launch(policy=policy)) != with_policy, "the policy counts by its bytes"
    assert key(Launch(policy=tmp_path / "missing.toml")) is None


def test_a_stale_torn_or_foreign_manifest_is_never_served(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    body = {
        "handshake_versions": ["2025-11-25"],
        "latest_handshake": "2025-11-25",
        "legacy_opening_ping": '"result":{}}',
        "legacy": {"2025-11-25": {m: '"result":{}}' for m in manifest.LEGACY_METHODS}},
        "modern": {"2026-07-28": {m: '"result":{}}' for m in manifest.MODERN_METHODS}},
    }
    path = manifest.store("a" * 64, body, env)
    assert manifest.load("a" * 64, env) is not None
    assert manifest.load("b" * 64, env) is None
    raw = path.read_bytes()
    assert manifest.decode("a" * 64, raw) is not None
    head, body_bytes = raw.split(b"\n", 1)
    assert manifest.decode("a" * 64, head + b"\n" + body_bytes.replace(b"result", b"resulT", 1)) is None  # checksum
    assert manifest.decode("a" * 64, raw[:-5]) is None
    assert manifest.decode("a" * 64, raw.replace(b'"format": 1', b'"format": 2')) is None
    assert manifest.decode("b" * 64, raw) is None, "the key inside the file must match, not only its name"
    incomplete = {**body, "modern": {"2026-07-28": {}}}
    assert manifest.decode("a" * 64, manifest.encode("a" * 64, incomplete)) is None


def test_the_cache_keeps_only_recent_manifests(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    for i in range(manifest.KEEP + 3):
        manifest.store(f"{i:02x}" + "0" * 62, {}, env)
    assert len(list((tmp_path / manifest.CACHE_DIR).glob("manifest-*.json"))) == manifest.KEEP


# ---------------------------------------------------------------- subprocesses: the real `devops-mcp serve`


class Session:
    """A spawned server spoken to in JSON lines."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path) -> None:
        self.stderr_path = cwd / f"stderr-{time.monotonic_ns()}.log"
        self.stderr = self.stderr_path.open("w")
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, env=env, cwd=cwd
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.decode())
        self.lines.put(None)

    def send(self, *messages: dict[str, Any] | str) -> None:
        assert self.process.stdin is not None
        data = "".join(m if isinstance(m, str) else json.dumps(m) + "\n" for m in messages)
        self.process.stdin.write(data.encode())
        self.process.stdin.flush()

    def read(self, timeout: float) -> str | None:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            return None

    def answers(self, count: int, timeout: float) -> list[str]:
        got: list[str] = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            line = self.read(max(0.0, deadline - time.monotonic()))
            if line is None:
                break
            got.append(line)
        return got

    def close(self, timeout: float = 30) -> int:
        assert self.process.stdin is not None
        if not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self.process.kill()
            self.stderr.close()

    def stderr_text(self) -> str:
        return self.stderr_path.read_text()


def server_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "HOME": str(tmp_path / "home"),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        **extra,
    }


def prepare(env: dict[str, str], *args: str) -> Path:
    done = subprocess.run(
        [DEVOPS_MCP, "serve", "--prepare", *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return Path(done.stdout.strip())


def gated(
    tmp_path: Path, env: dict[str, str], *args: str, fail: bool = False, python: tuple[str, ...] = ()
) -> tuple[Session, Path]:
    gate = tmp_path / f"gate-{time.monotonic_ns()}"
    extra = {"FAST_START_TEST_GATE": str(gate), **({"FAST_START_TEST_FAIL": "1"} if fail else {})}
    command = [sys.executable, *python, "-c", GATED, "serve", *args]
    return Session(command, {**env, **extra, "PYTHONPATH": str(REPO)}, tmp_path), gate


CONFIGS = {
    "all toolsets": ((), {"GITHUB_TOKEN": "ghp_" + "a" * 36, "SUPABASE_ACCESS_TOKEN": "sbp_" + "b" * 40}),
    "read-only": (("--read-only",), {"GITHUB_TOKEN": "ghp_" + "a" * 36, "SUPABASE_ACCESS_TOKEN": "sbp_" + "b" * 40}),
    "github only": (("--toolsets", "github"), {"GITHUB_TOKEN": "ghp_" + "a" * 36}),
    "policy file": (("--policy", "POLICY"), {"SUPABASE_ACCESS_TOKEN": "sbp_" + "b" * 40}),
}


@pytest.mark.slow
@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("era", ["legacy", "2026-07-28"])
def test_early_answers_equal_the_sdk_over_stdio(tmp_path: Path, config: str, era: str) -> None:
    args, tokens = CONFIGS[config]
    policy = tmp_path / "policy.toml"
    policy.write_text('[scope]\nsupabase_project = "abcdefghijklmnopqrst"\n')
    args = tuple(str(policy) if a == "POLICY" else a for a in args)
    env = server_env(tmp_path, **tokens)
    path = prepare(env, *args)
    script = legacy_script() if era == "legacy" else modern_script()
    front, gate = gated(tmp_path, env, *args)
    front.send(*script)
    early = front.answers(6, timeout=20)  # the SDK is held at the gate: these are the front's
    gate.touch()
    assert front.close() == 0
    sdk = Session([DEVOPS_MCP, "serve", "--no-fast-start", *args], env, tmp_path)
    sdk.send(*script)
    late = sdk.answers(6, timeout=60)
    sdk.close()
    assert len(early) == 6
    assert sorted(early) == sorted(late)  # byte for byte
    assert path.exists(), "the replayed handshake matched: the manifest stays"
    assert "differently" not in front.stderr_text()
    if config == "policy file":
        assert "list_projects" not in early[1]  # tools/list, in both scripts


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_the_sdk_client_cannot_tell(tmp_path: Path, mode: str) -> None:
    env = server_env(tmp_path, GITHUB_TOKEN="ghp_" + "a" * 36)
    prepare(env)
    gate = tmp_path / "gate"
    params = StdioServerParameters(
        command=sys.executable,
        args=["-c", GATED, "serve"],
        env={**env, "FAST_START_TEST_GATE": str(gate), "PYTHONPATH": str(REPO)},
    )
    async with Client(params, mode=mode) as client:
        listed = await client.list_tools()  # answered while the SDK waits at the gate
        prompts = await client.list_prompts()
        gate.touch()
        checked = await client.call_tool("validate_report", {"report": {}})  # the SDK, after the handover
        again = await client.list_tools()
    plain = StdioServerParameters(command=DEVOPS_MCP, args=["serve", "--no-fast-start"], env=env)
    async with Client(plain, mode=mode) as client:
        reference = await client.list_tools()
        reference_prompts = await client.list_prompts()
    assert listed.model_dump() == reference.model_dump() == again.model_dump()
    assert prompts.model_dump() == reference_prompts.model_dump()
    assert checked.structured_content is not None and checked.structured_content["valid"] is False


@pytest.mark.slow
def test_only_the_standard_library_is_imported_before_the_first_answer(tmp_path: Path) -> None:
    env = server_env(tmp_path)
    prepare(env)
    session, _ = gated(tmp_path, env, python=("-X", "importtime"))
    session.send(initialize(), notification("notifications/initialized"), request(2, "tools/list"))
    assert len(session.answers(2, timeout=20)) == 2
    session.process.kill()
    session.close()
    timings = [line for line in session.stderr_text().splitlines() if line.startswith("import time:")]
    imported = [line.rsplit("|", 1)[1].strip() for line in timings if not line.endswith("imported package")]
    tops = {name.split(".")[0] for name in imported}
    assert "server" in tops and "json" in tops
    assert not tops & set(HEAVY), sorted(tops & set(HEAVY))
    ours = {name for name in imported if name.startswith("server")}
    assert ours <= {
        "server",
        "server.cli",
        "server.config_names",
        "server.errors",
        "server.fast_start",
        "server.manifest",
    }
    allowed = set(sys.stdlib_module_names) | {"server", "_distutils_hack", "sitecustomize", "usercustomize"}
    assert tops <= allowed, sorted(tops - allowed)


@pytest.mark.slow
def test_stdin_closing_before_the_sdk_is_ready_exits_cleanly(tmp_path: Path) -> None:
    env = server_env(tmp_path)
    prepare(env)
    session, gate = gated(tmp_path, env)
    session.send(initialize())
    assert len(session.answers(1, timeout=20)) == 1
    session.process.stdin.close()  # type: ignore[union-attr]
    time.sleep(0.2)
    gate.touch()
    assert session.close(timeout=30) == 0
    assert session.read(1) is None, "nothing more on stdout"
    assert session.stderr_text() == ""
    # And with no manifest at all, and not a byte sent.
    bare = Session([DEVOPS_MCP, "serve"], server_env(tmp_path / "other"), tmp_path)
    assert bare.close(timeout=30) == 0


@pytest.mark.slow
def test_a_request_cancelled_before_the_sdk_is_ready_is_never_run(tmp_path: Path) -> None:
    env = server_env(tmp_path)
    prepare(env)
    session, gate = gated(tmp_path, env)
    call = request(50, "tools/call", {"name": "validate_report", "arguments": {"report": {}}})
    session.send(*legacy_script(), call, notification("notifications/cancelled", {"requestId": 50, "reason": "user"}))
    session.send(request(7, "tools/call", {"name": "validate_report", "arguments": {"report": {}}}))
    session.send(notification("notifications/cancelled", {"requestId": 2}))
    assert [answer_id(line) for line in session.answers(6, timeout=20)] == [1, 2, 3, 4, 5, 6]
    gate.touch()
    answered = session.answers(1, timeout=60)
    assert [answer_id(line) for line in answered] == [7]
    assert session.read(1.0) is None, "no answer for the cancelled call"
    assert session.close() == 0
    audit = subprocess.run([DEVOPS_MCP, "audit", "--json"], env=env, capture_output=True, text=True, check=True).stdout
    assert len(audit.splitlines()) == 1, "the cancelled call never ran; the other one did"


@pytest.mark.slow
def test_an_sdk_that_cannot_start_answers_every_request_with_an_error(tmp_path: Path) -> None:
    env = server_env(tmp_path)
    prepare(env)
    session, gate = gated(tmp_path, env, fail=True)
    session.send(*legacy_script(), request(7, "tools/call", {"name": "validate_report", "arguments": {"report": {}}}))
    answers = {answer_id(line): json.loads(line) for line in session.answers(6, timeout=20)}
    gate.touch()  # the SDK thread now fails to import
    answers.update((answer_id(line), json.loads(line)) for line in session.answers(1, timeout=20))
    assert set(answers) == {1, 2, 3, 4, 5, 6, 7}
    assert answers[7]["error"]["code"] == -32603
    assert "simulated: the SDK cannot be imported" in answers[7]["error"]["message"]
    session.send(request(8, "prompts/get", {"name": "devops-engineer"}))  # a later request, too
    later = json.loads(session.answers(1, timeout=10)[0])
    assert later["id"] == 8 and later["error"]["code"] == -32603
    assert session.close() == 1
    stderr = session.stderr_text()
    assert stderr.count("\n") == 1 and "ImportError" in stderr and "Traceback" not in stderr


@pytest.mark.slow
def test_a_configuration_error_is_one_line_and_an_error_answer(tmp_path: Path) -> None:
    session = Session([DEVOPS_MCP, "serve"], server_env(tmp_path, GITHUB_API_URL="http://example.com"), tmp_path)
    session.send(initialize())
    answer = json.loads(session.answers(1, timeout=30)[0])
    assert answer["id"] == 1 and "GITHUB_API_URL" in answer["error"]["message"]
    assert session.close() == 2, "the process ends at once, as without the front"
    stderr = session.stderr_text()
    assert stderr.count("\n") == 1 and stderr.startswith("devops-mcp: invalid") and "GITHUB_API_URL" in stderr


@pytest.mark.slow
@pytest.mark.parametrize("early", [True, False], ids=["front-answered", "kept"])
def test_messages_racing_the_handover_keep_their_order(tmp_path: Path, early: bool) -> None:
    env = server_env(tmp_path)
    prepare(env)
    session, gate = gated(tmp_path, env)
    # A handshake the front answers, or one it keeps (icons: only the SDK validates those).
    client = CLIENT if early else {**CLIENT, "icons": [{"src": "https://example.com/i.png"}]}
    session.send(initialize(1, clientInfo=client), notification("notifications/initialized"))
    assert len(session.answers(1, timeout=20 if early else 0.3)) == (1 if early else 0)
    gate.touch()
    sent, next_id, deadline = [], 100, time.monotonic() + 3.0
    while time.monotonic() < deadline:  # lists every few ms, across the handover (the SDK needs ~0.6 s)
        session.send(request(next_id, "tools/list"))
        sent.append(next_id)
        next_id += 1
        time.sleep(0.005)
    got = session.answers(len(sent) + (0 if early else 1), timeout=60)
    assert session.close() == 0
    answers = [json.loads(line) for line in got]
    ids = [a["id"] for a in answers]
    assert sorted(i for i in ids if i != 1) == sent and len(ids) == len(set(ids)), "each exactly once"
    assert all("result" in a for a in answers), [a for a in answers if "result" not in a][:1]
    tools = {json.dumps(a["result"]) for a in answers if a["id"] != 1}
    assert len(tools) == 1, "the front's lists and the SDK's are the same bytes"
    if not early:
        assert ids[0] == 1, "the kept initialize reached the SDK before every list"


@pytest.mark.slow
def test_a_manifest_the_sdk_contradicts_is_discarded(tmp_path: Path) -> None:
    env = server_env(tmp_path)
    path = prepare(env)
    key = json.loads(path.read_bytes().split(b"\n", 1)[0])["key"]
    body = json.loads(path.read_bytes().split(b"\n", 1)[1])
    tampered = body["legacy"]["2025-11-25"]["initialize"].replace("DevOps engineer", "DevOps engineer (stale)")
    body["legacy"]["2025-11-25"]["initialize"] = tampered
    path.write_bytes(manifest.encode(key, body))
    session, gate = gated(tmp_path, env)
    session.send(initialize())
    assert "(stale)" in session.answers(1, timeout=20)[0]
    gate.touch()
    session.send(notification("notifications/initialized"), request(2, "tools/list"))
    deadline = time.monotonic() + 60
    got = session.answers(1, timeout=60)
    assert got and answer_id(got[0]) == 2
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert session.close() == 0
    assert not path.exists()
    assert "differently" in session.stderr_text()


@pytest.mark.slow
def test_a_corrupt_manifest_is_not_served_and_is_replaced(tmp_path: Path) -> None:
    env = server_env(tmp_path)
    path = prepare(env)
    raw = path.read_bytes()
    path.write_bytes(raw.replace(b"DevOps engineer", b"DevOps engineeR", 1))
    session, gate = gated(tmp_path, env)
    session.send(initialize())
    assert session.answers(1, timeout=0.5) == [], "no early answer from a manifest that fails its checksum"
    gate.touch()
    assert answer_id(session.answers(1, timeout=60)[0]) == 1
    assert session.close() == 0
    assert path.read_bytes() != raw.replace(b"DevOps engineer", b"DevOps engineeR", 1)
    assert manifest.decode(json.loads(path.read_bytes().split(b"\n", 1)[0])["key"], path.read_bytes()) is not None


@pytest.mark.slow
def test_no_fast_start_and_install_prepare(tmp_path: Path) -> None:
    env = server_env(tmp_path)
    session = Session([DEVOPS_MCP, "serve", "--no-fast-start"], env, tmp_path)
    session.send(*legacy_script())
    assert len(session.answers(6, timeout=60)) == 6
    assert session.close() == 0
    assert not (tmp_path / "cache").exists(), "--no-fast-start neither reads nor writes a manifest"
    project = tmp_path / "project"
    done = subprocess.run(
        [DEVOPS_MCP, "install", "claude-code", "--dir", str(project)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "fast start: manifest" in done.stdout
    # What Claude Code starts from that registration finds its manifest: the front answers at once.
    entry = json.loads((project / ".mcp.json").read_text())["mcpServers"]["devops"]
    registered_env = {**env, **{k: v.split(":-", 1)[1].rstrip("}") for k, v in entry["env"].items()}}
    session, gate = gated(tmp_path, registered_env, *entry["args"][1:])
    session.send(initialize())
    assert len(session.answers(1, timeout=20)) == 1
    gate.touch()
    assert session.close() == 0
