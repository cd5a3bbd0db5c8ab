"""Fast start for stdio: answer the handshake and the listings from the manifest while the SDK imports.

A host waits for `initialize` (or `server/discover`) and `tools/list` at every session start; importing
the SDK alone takes about half a second. This module imports only the standard library. It is the only
reader of the real stdin and the only writer of the real stdout; the SDK server runs in a background
thread on an in-process line pipe (`LineQueue` in, `LineSink` out) through the SDK's own stdio transport.

Until the SDK is up, the front answers what the manifest holds (the SDK's own answers, recorded for
this exact configuration) and keeps everything else, in arrival order, for the SDK. Handover: the
requests that set session state (the era's opening request and `initialize`) are replayed into the SDK
under private ids, their answers are compared with what the client got and swallowed; the kept messages
follow in order; from then on every line goes straight through. See docs/fast-start.md.
"""

from __future__ import annotations

import io
import json
import os
import queue
import re
import sys
import threading

from server import manifest as manifests
from server.errors import ConfigError
from server.manifest import LISTS, RESPONSE_PREFIX, Launch

# Not `typing.TYPE_CHECKING`: importing typing costs the front 2 ms; mypy honours any TYPE_CHECKING name.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from typing import Any

    from server.manifest import Manifest

PROTOCOL_VERSION = "io.modelcontextprotocol/protocolVersion"
CLIENT_INFO = "io.modelcontextprotocol/clientInfo"
CLIENT_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
LOG_LEVEL = "io.modelcontextprotocol/logLevel"
_LOG_LEVELS = frozenset({"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"})
_MODERN_META = frozenset({PROTOCOL_VERSION, CLIENT_INFO, CLIENT_CAPABILITIES, LOG_LEVEL, "progressToken"})
_INITIALIZE_PARAMS = frozenset({"protocolVersion", "capabilities", "clientInfo", "_meta"})
_REQUEST_KEYS = frozenset({"jsonrpc", "id", "method", "params"})
REPLAY_ID = "devops-mcp-fast-start-replay-"
INTERNAL_ERROR = -32603
# Held while the front answers alone, so a message arriving during the SDK import waits at most this long
# for the interpreter lock (the default, 5 ms, would be the bulk of an early answer's latency).
_FRONT_SWITCH_INTERVAL = 0.0005

# Client capabilities the SDK validates (2025-11-25, 2026-07-28 and its version-free model), by shape:
# "object" any JSON object, "objects" an object of objects, bool a boolean, a dict a nested object
# whose listed members have those shapes. A member may be null anywhere; anything unlisted is ignored.
_OBJECT, _OBJECTS = "object", "objects"
_CAPABILITIES: dict[str, object] = {
    "experimental": _OBJECTS,
    "extensions": _OBJECTS,
    "roots": {"listChanged": bool},
    "sampling": {"context": _OBJECT, "tools": _OBJECT},
    "elicitation": {"form": _OBJECT, "url": _OBJECT},
    "tasks": {
        "cancel": _OBJECT,
        "list": _OBJECT,
        "requests": {"sampling": {"createMessage": _OBJECT}, "elicitation": {"create": _OBJECT}},
    },
}
# A lone surrogate escape: json reads it, the SDK's parser drops the line. (A pair, an escaped emoji, is fine.)
_LONE_SURROGATE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F]"
)


class LineQueue(io.TextIOBase):
    """The SDK's stdin: `readline` blocks until a line is put; an empty string is the end of input."""

    def __init__(self) -> None:
        self._lines: queue.SimpleQueue[str] = queue.SimpleQueue()

    def put(self, line: str) -> None:
        self._lines.put(line)

    def close_input(self) -> None:
        self._lines.put("")

    def readable(self) -> bool:
        return True

    def readline(self, size: int = -1, /) -> str:  # type: ignore[override]  # as typeshed's TextIOBase
        line = self._lines.get()
        if not line:
            self._lines.put("")  # the end stays the end for any later read
        return line


class LineSink(io.TextIOBase):
    """The SDK's stdout: each write (the SDK writes one JSON-RPC message a line) goes to `emit`."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self._emit = emit

    def writable(self) -> bool:
        return True

    def write(self, text: str, /) -> int:
        self._emit(text)
        return len(text)

    def flush(self) -> None:
        pass


# ---------------------------------------------------------------- what the front may answer


def _fits(value: object, shape: object) -> bool:
    if value is None:
        return True
    if shape is bool:
        return isinstance(value, bool)
    if not isinstance(value, dict):
        return False
    if shape == _OBJECTS:
        return all(isinstance(member, dict) for member in value.values())
    if isinstance(shape, dict):
        return all(_fits(value.get(name), sub) for name, sub in shape.items())
    return True


def _capabilities_ok(value: object) -> bool:
    return isinstance(value, dict) and all(_fits(value.get(name), shape) for name, shape in _CAPABILITIES.items())


def _implementation_ok(value: object) -> bool:
    if not isinstance(value, dict) or not all(isinstance(value.get(name), str) for name in ("name", "version")):
        return False
    optional = (value.get(name) for name in ("title", "description", "websiteUrl"))
    # Icons have a shape of their own; a client sending them is answered by the SDK.
    return all(text is None or isinstance(text, str) for text in optional) and value.get("icons") is None


def _is_id(value: object) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, str) or (isinstance(value, int) and abs(value) < 2**53)


def _legacy_meta_ok(meta: object) -> bool:
    return isinstance(meta, dict) and set(meta) <= {"progressToken"} and _is_id(meta.get("progressToken", 0))


def _legacy_params_ok(params: dict[str, Any] | None) -> bool:
    return params is None or (set(params) <= {"_meta"} and ("_meta" not in params or _legacy_meta_ok(params["_meta"])))


def _has_envelope(params: dict[str, Any] | None) -> bool:
    meta = params.get("_meta") if params is not None else None
    return isinstance(meta, dict) and PROTOCOL_VERSION in meta


def _modern_version(params: dict[str, Any] | None, manifest: Manifest) -> str | None:
    """The envelope's protocol version when the request is plain enough to answer from the manifest."""
    if params is None or set(params) != {"_meta"}:
        return None  # a cursor, or anything else the SDK would look at
    meta = params["_meta"]
    if not isinstance(meta, dict) or not set(meta) <= _MODERN_META or CLIENT_CAPABILITIES not in meta:
        return None
    version = meta.get(PROTOCOL_VERSION)
    plain = (
        isinstance(version, str)
        and version in manifest.modern
        and _capabilities_ok(meta[CLIENT_CAPABILITIES])
        and (meta.get(CLIENT_INFO) is None or _implementation_ok(meta[CLIENT_INFO]))
        and meta.get(LOG_LEVEL, "info") in _LOG_LEVELS
        and _is_id(meta.get("progressToken", 0))
    )
    return version if plain and isinstance(version, str) else None


def _negotiate(params: dict[str, Any] | None, manifest: Manifest) -> str | None:
    """The version the SDK negotiates for this `initialize` (runner `_negotiate_initialize`), if it is plain."""
    if params is None or not set(params) <= _INITIALIZE_PARAMS:
        return None
    if "_meta" in params and not _legacy_meta_ok(params["_meta"]):
        return None
    requested = params.get("protocolVersion")
    if not isinstance(requested, str) or not _capabilities_ok(params.get("capabilities")):
        return None
    if not _implementation_ok(params.get("clientInfo")):
        return None
    return requested if requested in manifest.handshake_versions else manifest.latest_handshake


def _reject_constant(text: str) -> object:
    raise ValueError(f"non-standard JSON constant {text}")


def _finite(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise ValueError("number out of range")
    return number


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key")
    return result


def parse(line: str) -> object:
    """The message, or None where the SDK's parser (pydantic) might read the line differently from json."""
    if _LONE_SURROGATE.search(line):
        return None
    try:
        return json.loads(line, parse_constant=_reject_constant, parse_float=_finite, object_pairs_hook=_unique)
    except (ValueError, RecursionError):
        return None


def _request(message: object) -> tuple[str | int, str, dict[str, Any] | None] | None:
    """(id, method, params) of a well-formed JSON-RPC request; None for anything else."""
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0" or not set(message) <= _REQUEST_KEYS:
        return None
    request_id, method, params = message.get("id"), message.get("method"), message.get("params", {})
    if not _is_id(request_id) or not isinstance(method, str) or not isinstance(params, dict):
        return None
    assert isinstance(request_id, str | int)
    return request_id, method, (params if "params" in message else None)


def _correlation(request_id: object) -> object:
    """The SDK's `coerce_request_id`: "7" and 7 are one id for cancellation."""
    if isinstance(request_id, str):
        try:
            return int(request_id)
        except ValueError:
            return request_id
    return request_id


def _id_json(request_id: str | int) -> str:
    # The same text pydantic writes for the id: integers as digits, strings escaped but not ASCII-folded.
    return str(request_id) if isinstance(request_id, int) else json.dumps(request_id, ensure_ascii=False)


# ---------------------------------------------------------------- the front


class _Kept:
    """A message kept for the SDK, in arrival order."""

    __slots__ = ("line", "pending", "replay", "sent")

    def __init__(self, line: str | None, pending: object = None, replay: Any = None, sent: str = "") -> None:
        self.line = line  # None: the end of input
        self.pending = pending  # a request's correlation id, while the client waits for its answer
        self.replay: dict[str, Any] | None = replay  # a front-answered request that sets session state
        self.sent = sent  # the answer's tail the client got, to check the SDK's against


class Front:
    """Routes client lines: answered from the manifest, kept for the SDK, or (after handover) forwarded."""

    def __init__(self, write: Callable[[str], None], on_mismatch: Callable[[str], None]) -> None:
        self._write = write
        self._on_mismatch = on_mismatch
        self._lock = threading.Lock()
        self._manifest: Manifest | None = None
        self._inbox: LineQueue | None = None
        self._kept: list[_Kept] = []
        self._waiting = False  # a request waits for the SDK, so nothing after it is answered early
        self._era: str | None = None  # "legacy" or "modern", once the front answered the opening request
        self._version: str | None = None  # legacy: negotiated at the front-answered initialize
        self._answered: set[object] = set()
        self._replays: dict[str, str] = {}
        self._failure: tuple[str, int] | None = None
        self._end_of_input = False
        self.answered_early = 0
        self.done = threading.Event()
        self.exit_code = 0

    def use_manifest(self, manifest: Manifest | None) -> None:
        with self._lock:
            self._manifest = manifest

    @property
    def has_manifest(self) -> bool:
        return self._manifest is not None

    # -- client side (the stdin reader thread)

    def route(self, line: str) -> None:
        with self._lock:
            if self._inbox is not None:
                self._inbox.put(line)
                return
            message = parse(line)
            if self._failure is not None:
                self._refuse(message)
                return
            if self._drop_cancellation(message):
                return
            if not self._waiting and self._manifest is not None:
                answer = self._answer(message)
                if answer is not None:
                    return
            request = isinstance(message, dict) and "method" in message and "id" in message
            notification = isinstance(message, dict) and isinstance(message.get("method"), str) and "id" not in message
            self._waiting |= not notification  # only a notification leaves the front's state as it was
            kept = _Kept(line)
            if request:
                assert isinstance(message, dict)
                kept.pending = _correlation(message["id"])
            self._kept.append(kept)

    def end_of_input(self) -> None:
        with self._lock:
            self._end_of_input = True
            if self._inbox is not None:
                self._inbox.close_input()
            elif self._failure is not None:
                self._finish(self._failure[1])
            else:
                self._kept.append(_Kept(None))

    def _answer(self, message: object) -> str | None:
        request = _request(message)
        if request is None:
            return None
        request_id, method, params = request
        tail, sets_state = self._tail(method, params)
        if tail is None:
            return None
        self._send(RESPONSE_PREFIX + _id_json(request_id) + "," + tail + "\n")
        self._answered.add(_correlation(request_id))
        self.answered_early += 1
        if sets_state:
            assert isinstance(message, dict)
            self._kept.append(_Kept("", replay=message, sent=tail))
        return tail

    def _tail(self, method: str, params: dict[str, Any] | None) -> tuple[str | None, bool]:
        """The manifest's answer and whether the SDK must see the request too; updates the era state.

        Mirrors `serve_dual_era_loop`: the first request decides the era (the 2026-07-28 envelope opens a
        modern connection unless it is `initialize`); legacy lists need the handshake first.
        """
        manifest = self._manifest
        assert manifest is not None
        opening = self._era is None
        if self._era != "legacy" and method != "initialize" and _has_envelope(params):
            version = _modern_version(params, manifest)
            tail = manifest.modern[version].get(method) if version is not None else None
            if tail is not None:
                self._era = "modern"
            return tail, opening
        if self._era == "modern" or _has_envelope(params):
            return None, False
        if method == "initialize":
            version = _negotiate(params, manifest) if self._version is None else None
            if version is None:
                return None, False
            self._era, self._version = "legacy", version
            return manifest.legacy[version]["initialize"], True
        if not _legacy_params_ok(params):
            return None, False
        if method == "ping":
            self._era = "legacy"
            ping = manifest.legacy[self._version]["ping"] if self._version else manifest.legacy_opening_ping
            return ping, opening
        if method in LISTS and self._version is not None:
            return manifest.legacy[self._version][method], False
        return None, False

    def _drop_cancellation(self, message: object) -> bool:
        """A cancelled request the SDK has not seen is never sent to it, nor answered (spec: cancellation)."""
        if not isinstance(message, dict) or message.get("method") != "notifications/cancelled" or "id" in message:
            return False
        params = message.get("params")
        target = _correlation(params.get("requestId")) if isinstance(params, dict) else None
        if target is None:
            return False
        for index, kept in enumerate(self._kept):
            if kept.pending is not None and kept.pending == target:
                del self._kept[index]
                return True
        return target in self._answered  # answered already: nothing left to cancel

    # -- SDK side (the SDK thread, and the anyio worker threads that write for it)

    def handover(self, inbox: LineQueue) -> None:
        """Bring the SDK's session to the front's state, then let every line through, in order."""
        with self._lock:
            for number, kept in enumerate(self._kept):
                if kept.replay is not None:
                    replay_id = f"{REPLAY_ID}{number}"
                    self._replays[replay_id] = kept.sent
                    inbox.put(json.dumps({**kept.replay, "id": replay_id}, ensure_ascii=False) + "\n")
                elif kept.line is None:
                    inbox.close_input()
                else:
                    inbox.put(kept.line)
            self._kept.clear()
            self._inbox = inbox
        sys.setswitchinterval(_DEFAULT_SWITCH_INTERVAL)

    def from_sdk(self, line: str) -> None:
        if line.startswith(_REPLAY_PREFIX):
            replay_id, tail = manifests.tail_of(line)
            sent = self._replays.pop(json.loads(replay_id), None)
            if sent is not None:
                if tail != sent:
                    self._on_mismatch(replay_id)
                return  # the client already has this answer, from the front
        self._send(line)

    def fail(self, message: str, code: int) -> None:
        """The SDK could not start: every request still waiting, and every later one, gets an error."""
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
        with self._lock:
            self._failure = (message, code)
            for kept in self._kept:
                if kept.line:
                    self._refuse(parse(kept.line))
            self._kept.clear()
            # A client that got no early answer sees the same as without the front: the process ends.
            if self._end_of_input or not self.answered_early:
                self._finish(code)

    def finish(self, code: int) -> None:
        with self._lock:
            self._finish(code)

    def _finish(self, code: int) -> None:
        if not self.done.is_set():
            self.exit_code = code
            self.done.set()

    def _refuse(self, message: object) -> None:
        if isinstance(message, dict) and "method" in message and _is_id(message.get("id")):
            assert self._failure is not None
            error = {"code": INTERNAL_ERROR, "message": self._failure[0].removeprefix("devops-mcp: ")}
            self._send(json.dumps({"jsonrpc": "2.0", "id": message["id"], "error": error}, ensure_ascii=False) + "\n")

    def _send(self, line: str) -> None:
        try:  # noqa: SIM105 - contextlib is one more import before the first answer
            self._write(line)
        except OSError:
            pass  # the client stopped reading; its stdin end closes next


_REPLAY_PREFIX = RESPONSE_PREFIX + json.dumps(REPLAY_ID)[:-1]
_DEFAULT_SWITCH_INTERVAL = sys.getswitchinterval()


# ---------------------------------------------------------------- the process


def _private_copy(fd: int) -> int:
    """A non-inheritable duplicate above the standard range (so no child process gets the wire)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: os.dup is non-inheritable too; refuse a copy that landed on 0-2
        copy = os.dup(fd)
        if copy <= 2:
            os.close(copy)
            raise OSError(f"the copy of fd {fd} landed in the standard range") from None
        return copy
    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)


def _claim_std_streams() -> tuple[int, int]:
    """Private copies of fds 0 and 1 for the protocol; fd 0 then reads /dev/null and fd 1 goes to stderr.

    What the SDK's stdio transport does when it owns the streams: tool subprocesses and stray prints
    never touch the wire.
    """
    wire_in, wire_out = _private_copy(0), _private_copy(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    return wire_in, wire_out


def _restore_std_streams(wire_in: int, wire_out: int) -> None:
    try:
        os.dup2(wire_in, 0)
        os.dup2(wire_out, 1)
    except OSError:
        pass


def _one_line(exc: BaseException) -> tuple[str, int]:
    """The message and exit code `server.cli.main` would give for this error."""
    if isinstance(exc, ConfigError):
        return f"devops-mcp: {exc}", 2
    return f"devops-mcp: unexpected {type(exc).__name__}: {exc}", 1


def _run_sdk(front: Front, args: argparse.Namespace, key: str | None, manifest_loaded: threading.Event) -> None:
    """The SDK thread: import, build, hand over, serve; on a manifest miss, record one for next time."""
    import gc

    # Imports and model building allocate a great many objects and free almost none: collecting during
    # them is a tenth of the start-up. What they built lives as long as the process, so freeze it too.
    gc.disable()
    # structlog imports rich (and with it pygments and attrs) whenever rich is installed, for a console
    # renderer this server never uses: its logs are JSON. rich is no dependency of ours (a developer tool
    # may bring it); hiding it while the server loads saves 40-60 ms, and it is importable again after.
    hide_rich = "rich" not in sys.modules
    if hide_rich:
        sys.modules["rich"] = None  # type: ignore[assignment]  # None: "not installed" to the import system
    try:
        from server.app import build_server
        from server.config import load_settings
        from server.logs import configure_logging
        from server.transports import serve_stdio

        settings = load_settings(toolsets=args.toolsets, read_only=args.read_only, policy_path=args.policy)
        configure_logging(args.log_level)
        server = build_server(settings)
    except BaseException as exc:  # never leave the client waiting on a thread that died
        front.fail(*_one_line(exc))
        return
    finally:
        if hide_rich and "rich" in sys.modules and sys.modules["rich"] is None:
            del sys.modules["rich"]
        gc.freeze()
        gc.enable()
    inbox = LineQueue()
    front.handover(inbox)
    manifest_loaded.wait()
    if key is not None and not front.has_manifest:
        threading.Thread(target=_record, args=(server, key), name="devops-mcp-manifest", daemon=True).start()
    try:
        serve_stdio(server, stdin=inbox, stdout=LineSink(front.from_sdk))
    except BaseException as exc:
        message, _ = _one_line(exc)
        sys.stderr.write(message + "\n")
        front.finish(1)
        return
    front.finish(0)


def _record(server: Any, key: str) -> None:
    import logging

    try:
        manifests.store(key, manifests.record(server))
    except Exception as exc:
        logging.getLogger(__name__).warning("fast start: could not record the manifest: %s", exc)


def _read_stdin(front: Front, wire_in: int) -> None:
    # The same decoding the SDK's stdio transport applies: UTF-8, undecodable bytes replaced.
    stream = io.TextIOWrapper(os.fdopen(wire_in, "rb", closefd=False), encoding="utf-8", errors="replace")
    try:
        for line in stream:
            front.route(line)
    except (OSError, ValueError):
        pass
    front.end_of_input()


def serve(args: argparse.Namespace) -> int:
    """`devops-mcp serve` over stdio with the front. Returns the exit code."""
    try:
        wire_in, wire_out = _claim_std_streams()
    except OSError:
        return -1  # no usable standard streams: the caller serves without the front
    out = os.fdopen(wire_out, "wb", closefd=False)
    out_lock = threading.Lock()

    def write(line: str) -> None:
        data = line.encode("utf-8")
        with out_lock:
            out.write(data)
            out.flush()

    try:
        key = manifests.configuration_key(Launch(args.toolsets, args.read_only, args.policy))
    except Exception:  # e.g. a source file removed while walking: start without the front's answers
        key = None

    def on_mismatch(replay_id: str) -> None:
        import logging

        # Never serve that manifest again; this session goes on with the SDK's own answers.
        if key is not None:
            manifests.discard(key)
        logging.getLogger(__name__).warning("fast start: the SDK answered %s differently; discarded", replay_id)

    front = Front(write, on_mismatch)
    manifest_loaded = threading.Event()
    sys.setswitchinterval(_FRONT_SWITCH_INTERVAL)
    sdk = threading.Thread(target=_run_sdk, args=(front, args, key, manifest_loaded), name="devops-mcp-sdk")
    sdk.daemon = True
    sdk.start()
    try:
        manifest = manifests.load(key) if key is not None else None
    except Exception:  # no manifest: the front keeps every message for the SDK
        manifest = None
    front.use_manifest(manifest)
    manifest_loaded.set()
    threading.Thread(target=_read_stdin, args=(front, wire_in), name="devops-mcp-stdin", daemon=True).start()
    front.done.wait()
    for thread in threading.enumerate():
        if thread.name == "devops-mcp-manifest":
            thread.join(timeout=10)  # a short session still leaves its manifest for the next one
    sys.setswitchinterval(_DEFAULT_SWITCH_INTERVAL)
    sys.stdout.flush()  # stray prints belong on stderr, where fd 1 still points
    _restore_std_streams(wire_in, wire_out)
    return front.exit_code
