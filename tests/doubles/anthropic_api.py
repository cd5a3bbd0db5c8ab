"""An Anthropic Messages API double on 127.0.0.1: `POST /v1/messages` answered from a script.

    with AnthropicDouble(api_key=KEY, script=[turn(tool_use("bash", {...})), turn(text("done"))]) as api:
        client = anthropic.AsyncAnthropic(api_key=KEY, base_url=api.url)
        ...
        api.requests    # the JSON bodies received, in order
        api.violations  # what a real endpoint would have refused with 400; should stay []

It checks what the agent depends on, as the real endpoint does: the key (`x-api-key`, or the
`Authorization: Bearer` the SDK 2.x sends; 401 `authentication_error` otherwise) and
`anthropic-version`; the body's shape (model, max_tokens,
messages starting with a user turn, every `tool_use` answered by a `tool_result` with its id in
the next message, tools with a name and an object input schema, at most 4 `cache_control`
breakpoints), answering 400 `invalid_request_error` otherwise. Replies have the Messages API
shape, usage included. `fail_next(529, times=1)` programs transient failures for the SDK's
retries; a script entry may be a callable that sees the request (and may block: see `release`).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Turn = dict[str, Any]
ScriptEntry = Turn | Callable[[dict[str, Any]], Turn]

_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_MAX_BREAKPOINTS = 4
_ids = itertools.count(1)


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool_use(name: str, arguments: dict[str, Any], id: str | None = None) -> dict[str, Any]:
    return {"type": "tool_use", "id": id or f"toolu_{next(_ids):04d}", "name": name, "input": arguments}


def turn(*blocks: dict[str, Any], usage: tuple[int, int] | None = None) -> Turn:
    """One scripted assistant turn; `stop_reason` follows from the blocks, usage may be fixed."""
    stop = "tool_use" if any(block["type"] == "tool_use" for block in blocks) else "end_turn"
    entry: Turn = {"content": list(blocks), "stop_reason": stop}
    if usage is not None:
        entry["usage"] = {"input_tokens": usage[0], "output_tokens": usage[1]}
    return entry


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_double"}


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [block for block in content if isinstance(block, dict)] if isinstance(content, list) else []


def check_request(body: Any) -> list[str]:
    """What the real endpoint would refuse in this request body (empty when it is acceptable)."""
    if not isinstance(body, dict):
        return ["the body must be a JSON object"]
    problems = []
    if not isinstance(body.get("model"), str) or not body["model"]:
        problems.append("model: Field required")
    if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
        problems.append("max_tokens: Field required (a positive integer)")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return [*problems, "messages: at least one message is required"]
    if messages[0].get("role") != "user":
        problems.append("messages: the first message must use the user role")
    breakpoints = sum(1 for block in _blocks(body.get("system", [])) if "cache_control" in block)
    pending: set[str] = set()
    for index, message in enumerate(messages):
        role, blocks = message.get("role"), _blocks(message.get("content"))
        if role not in ("user", "assistant") or not blocks:
            problems.append(f"messages.{index}: a role of user or assistant and non-empty content")
        results = {block.get("tool_use_id") for block in blocks if block.get("type") == "tool_result"}
        if pending and (role != "user" or not pending <= results):
            problems.append(
                f"messages.{index}: `tool_use` ids were found without `tool_result` blocks immediately after"
            )
        if results - pending:
            problems.append(f"messages.{index}: unexpected `tool_use_id` found in `tool_result` blocks")
        pending = {block["id"] for block in blocks if block.get("type") == "tool_use"} if role == "assistant" else set()
        breakpoints += sum(1 for block in blocks if block.get("cache_control"))
    for index, tool in enumerate(body.get("tools", [])):
        if not _TOOL_NAME.match(str(tool.get("name", ""))):
            problems.append(f"tools.{index}.name: String should match pattern '{_TOOL_NAME.pattern}'")
        if not isinstance(tool.get("input_schema"), dict) or tool["input_schema"].get("type") != "object":
            problems.append(f"tools.{index}.input_schema: the schema's type must be object")
    if breakpoints > _MAX_BREAKPOINTS:
        problems.append(f"A maximum of {_MAX_BREAKPOINTS} blocks with cache_control may be provided")
    return problems


@dataclass
class AnthropicDouble:
    api_key: str
    script: list[ScriptEntry] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    # Set on exit so that a script entry blocking on it (a slow model) lets the server stop.
    release: threading.Event = field(default_factory=threading.Event)
    _failures: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start the double first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def fail_next(self, status: int, times: int = 1) -> None:
        self._failures.extend([status] * times)

    def __enter__(self) -> AnthropicDouble:
        double = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                status, body, extra = double._answer(self.path, dict(self.headers), self._body())
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.send_header("request-id", "req_double")
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def _body(self) -> Any:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                try:
                    return json.loads(raw)
                except ValueError:
                    return None

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="anthropic-double", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _answer(self, path: str, headers: dict[str, str], body: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
        folded = {name.lower(): value for name, value in headers.items()}
        if path.split("?")[0] != "/v1/messages":
            return 404, _error("not_found_error", f"Not found: {path}"), {}
        # SDK 2.x sends the key as a bearer token; older clients send x-api-key. Either must match.
        bearer = folded.get("authorization", "").removeprefix("Bearer ")
        if self.api_key not in (folded.get("x-api-key"), bearer):
            return 401, _error("authentication_error", "invalid x-api-key"), {}
        if not folded.get("anthropic-version"):
            return 400, _error("invalid_request_error", "anthropic-version: header is required"), {}
        with self._lock:
            self.headers.append({k: v for k, v in folded.items() if k not in ("x-api-key", "authorization")})
            if self._failures:
                status = self._failures.pop(0)
                kind = "overloaded_error" if status == 529 else "api_error"
                # retry-after-ms keeps the SDK's backoff short in tests.
                return status, _error(kind, "Overloaded"), {"retry-after-ms": "10", "x-should-retry": "true"}
            self.requests.append(body)
            problems = check_request(body)
            if problems:
                self.violations.extend(problems)
                return 400, _error("invalid_request_error", "; ".join(problems)), {}
            if not self.script:
                self.violations.append("the script ran out: the agent asked for more turns than scripted")
                return 500, _error("api_error", "the double's script ran out"), {"x-should-retry": "false"}
            entry = self.script.pop(0)
        scripted = entry(body) if callable(entry) else entry
        return 200, self._message(body, scripted), {}

    def _message(self, request: dict[str, Any], scripted: Turn) -> dict[str, Any]:
        usage = scripted.get("usage") or {
            # Roughly what the real API would count: four characters a token.
            "input_tokens": len(json.dumps(request)) // 4,
            "output_tokens": len(json.dumps(scripted["content"])) // 4 + 1,
        }
        return {
            "id": f"msg_double_{next(_ids):04d}",
            "type": "message",
            "role": "assistant",
            "model": request["model"],
            "content": scripted["content"],
            "stop_reason": scripted.get("stop_reason", "end_turn"),
            "stop_sequence": None,
            "usage": {"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, **usage},
        }


@contextmanager
def anthropic_double(api_key: str, script: list[ScriptEntry]) -> Iterator[AnthropicDouble]:
    with AnthropicDouble(api_key=api_key, script=list(script)) as double:
        yield double
