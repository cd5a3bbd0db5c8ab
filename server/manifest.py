"""The fast-start manifest: the real server's own answers to its listing methods, for one configuration.

A manifest holds, for every protocol version the SDK serves, the exact JSON the SDK wrote for
`initialize`, `server/discover`, `ping` and the four list methods. It is cached per user under
`$XDG_CACHE_HOME/devops-engineer-mcp/`, in a file named by the configuration key: a hash of everything
the answers depend on. The key is computed with the standard library only (environment variables and
file bytes, read directly), because the stdio front computes it before anything heavy is imported.

Only `record` touches the SDK, and it imports it when called.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from server import __version__, config_names

try:
    # blake2b straight from CPython's built-in module: `import hashlib` loads OpenSSL first (about 3 ms),
    # a tenth of what the front may spend before its first answer.
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a CPython built without it
    from hashlib import blake2b

# Not `typing.TYPE_CHECKING`: importing typing costs the front 2 ms; mypy honours any TYPE_CHECKING name.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

    from mcp.server import Server

FORMAT = 1
CACHE_DIR = "devops-engineer-mcp"
KEEP = 16  # manifests kept in the cache directory
RECORD_TIMEOUT = 30.0  # seconds one recorded connection may take
# The distributions whose code shapes the wire JSON: the SDK, its types, and the serializer under both.
_DISTRIBUTIONS = ("mcp", "mcp_types", "pydantic", "pydantic_core")
# Our own code: any edit to a tool, prompt or the persona changes the answers, even at the same version.
_PACKAGES = ("server", "tools", "prompts")
_SOURCE_SUFFIXES = (".py", ".md", ".json", ".toml", ".txt")

LISTS = ("tools/list", "prompts/list", "resources/list", "resources/templates/list")
LEGACY_METHODS = ("initialize", *LISTS, "ping")
MODERN_METHODS = ("server/discover", *LISTS, "ping")
# What the SDK writes before the id in every response; the manifest keeps what comes after it.
RESPONSE_PREFIX = '{"jsonrpc":"2.0","id":'


class Launch:
    """The command-line part of the configuration: `serve`'s flags that change what the server lists."""

    __slots__ = ("policy", "read_only", "toolsets")

    def __init__(
        self, toolsets: tuple[str, ...] | None = None, read_only: bool | None = None, policy: Path | None = None
    ) -> None:
        self.toolsets, self.read_only, self.policy = toolsets, read_only, policy


def _lookup(environ: Mapping[str, str]) -> Callable[[str], str | None]:
    # pydantic-settings matches variable names case-insensitively; so must the key.
    folded = {name.upper(): value for name, value in environ.items()}
    return folded.get


def _digest(data: bytes) -> str:
    return blake2b(data, digest_size=32).hexdigest()


def _package_dir(name: str) -> Path | None:
    # Where `import name` will find it, without importing it (importlib.util costs more than this scan).
    for entry in sys.path:
        candidate = Path(os.path.abspath(entry or ".")) / name
        if (candidate / "__init__.py").is_file():
            return candidate
    return None


def _distributions() -> list[str]:
    """`name-version.dist-info` of the SDK and pydantic, from the directory they are installed in."""
    site = _package_dir("mcp")
    if site is None:
        return []
    wanted = tuple(f"{name}-" for name in _DISTRIBUTIONS)
    names = os.listdir(site.parent)
    return sorted(n for n in names if n.endswith(".dist-info") and n.startswith(wanted) and n.count("-") == 1)


def _sources() -> str:
    """A fingerprint (path, size, mtime) of our own packages and the persona file."""
    entries: list[str] = []
    # Our packages sit side by side, in a wheel's site-packages as in the source tree.
    home = Path(os.path.abspath(__file__)).parent.parent
    for package in _PACKAGES:
        root = home / package
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if name.endswith(_SOURCE_SUFFIXES):
                    stat = os.stat(os.path.join(folder, name))
                    entries.append(f"{folder}/{name} {stat.st_size} {stat.st_mtime_ns}")
        if package == "prompts":
            # A source checkout keeps agent.md beside the packages (prompts.agent_path).
            outside = root.parent / "agent.md"
            if outside.is_file():
                stat = outside.stat()
                entries.append(f"{outside} {stat.st_size} {stat.st_mtime_ns}")
    return _digest("\n".join(entries).encode())


def configuration_key(launch: Launch, environ: Mapping[str, str] | None = None) -> str | None:
    """The key of the manifest for this launch, or None when it cannot be known (an unreadable policy file).

    Credentials count by presence only, never by value; the policy file by the hash of its bytes.
    """
    get = _lookup(os.environ if environ is None else environ)
    env: dict[str, str | bool | None] = {}
    for name in config_names.SECRET_VARIABLES:
        env[name] = bool(get(name))
    for name in config_names.PLAIN_VARIABLES:
        env[name] = get(name)
    policy_variable = get(config_names.POLICY)
    policy_path = launch.policy if launch.policy is not None else Path(policy_variable) if policy_variable else None
    policy: dict[str, str] | None = None
    if policy_path is not None:
        try:
            policy = {"path": str(policy_path), "blake2b": _digest(policy_path.read_bytes())}
        except OSError:
            return None  # the server will say what is wrong with it; nothing to serve early
    material = {
        "format": FORMAT,
        "package": __version__,
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "distributions": _distributions(),
        "sources": _sources(),
        "toolsets": list(launch.toolsets) if launch.toolsets is not None else None,
        "read_only": launch.read_only,
        "policy": policy,
        "env": env,
    }
    return _digest(json.dumps(material, sort_keys=True).encode())


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says a relative value is to be ignored.
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return root / CACHE_DIR


def manifest_path(key: str, environ: Mapping[str, str] | None = None) -> Path:
    return cache_dir(environ) / f"manifest-{key[:40]}.json"


class Manifest:
    """Response tails (everything after the id) by era and version, as the SDK wrote them."""

    __slots__ = ("handshake_versions", "latest_handshake", "legacy", "legacy_opening_ping", "modern")

    def __init__(
        self,
        handshake_versions: tuple[str, ...],
        latest_handshake: str,
        legacy: dict[str, dict[str, str]],
        legacy_opening_ping: str,
        modern: dict[str, dict[str, str]],
    ) -> None:
        self.handshake_versions, self.latest_handshake = handshake_versions, latest_handshake
        self.legacy, self.legacy_opening_ping, self.modern = legacy, legacy_opening_ping, modern

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Manifest:
        manifest = cls(
            handshake_versions=tuple(body["handshake_versions"]),
            latest_handshake=body["latest_handshake"],
            legacy=body["legacy"],
            legacy_opening_ping=body["legacy_opening_ping"],
            modern=body["modern"],
        )
        complete = all(set(manifest.legacy.get(v, {})) >= set(LEGACY_METHODS) for v in manifest.handshake_versions)
        complete &= manifest.latest_handshake in manifest.handshake_versions
        complete &= all(set(methods) >= set(MODERN_METHODS) for methods in manifest.modern.values())
        tails = [manifest.legacy_opening_ping]
        for era in (manifest.legacy, manifest.modern):
            tails += [tail for methods in era.values() for tail in methods.values()]
        if not complete or not all(isinstance(tail, str) and tail.endswith("}") for tail in tails):
            raise ValueError("incomplete manifest")
        return manifest


def encode(key: str, body: Mapping[str, Any]) -> bytes:
    """A header line (format, key, checksum of the body) and the body."""
    data = json.dumps(body, sort_keys=True, ensure_ascii=False).encode()
    header = {"format": FORMAT, "key": key, "blake2b": _digest(data)}
    return json.dumps(header).encode() + b"\n" + data


def decode(key: str, raw: bytes) -> Manifest | None:
    """The manifest in `raw` if it is for `key` and intact; None otherwise (never a stale or torn one)."""
    try:
        head, _, data = raw.partition(b"\n")
        header = json.loads(head)
        if header.get("format") != FORMAT or header.get("key") != key:
            return None
        if header.get("blake2b") != _digest(data):
            return None
        return Manifest.from_body(json.loads(data))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def load(key: str, environ: Mapping[str, str] | None = None) -> Manifest | None:
    try:
        raw = manifest_path(key, environ).read_bytes()
    except (OSError, RuntimeError):  # RuntimeError: no home directory to find the cache in
        return None
    return decode(key, raw)


def store(key: str, body: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Path:
    """Write atomically (a reader sees the old file or the new one, never half of one); prune old ones."""
    path = manifest_path(key, environ)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(encode(key, body))
    os.replace(temporary, path)
    # Every edit of the code or the configuration makes a new key: keep the most recently written few.
    try:
        others = sorted(path.parent.glob("manifest-*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for stale in others[KEEP:]:
            stale.unlink(missing_ok=True)
    except OSError:
        pass  # another server pruning at the same time
    return path


def discard(key: str, environ: Mapping[str, str] | None = None) -> None:
    try:  # noqa: SIM105 - contextlib is one more import before the front's first answer
        manifest_path(key, environ).unlink()
    except OSError:
        pass


def _envelope(version: str) -> dict[str, Any]:
    return {
        "io.modelcontextprotocol/protocolVersion": version,
        "io.modelcontextprotocol/clientInfo": {"name": "devops-mcp-manifest", "version": __version__},
        "io.modelcontextprotocol/clientCapabilities": {},
    }


def _script(era: str, version: str) -> list[dict[str, Any]]:
    """The messages one recorded connection sends; request ids are 1, 2, ... in order."""
    calls: list[tuple[str, dict[str, Any] | None]]
    if era == "opening-ping":
        calls = [("ping", None)]
    elif era == "legacy":
        client = {"name": "devops-mcp-manifest", "version": __version__}
        initialize = {"protocolVersion": version, "capabilities": {}, "clientInfo": client}
        calls = [("initialize", initialize), ("notifications/initialized", None)]
        calls += [(method, None) for method in LEGACY_METHODS[1:]]
    else:
        calls = [(method, {"_meta": _envelope(version)}) for method in MODERN_METHODS]
    messages: list[dict[str, Any]] = []
    for method, params in calls:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if not method.startswith("notifications/"):
            message["id"] = sum("id" in m for m in messages) + 1
        if params is not None:
            message["params"] = params
        messages.append(message)
    return messages


def tail_of(line: str) -> tuple[str, str]:
    """Split an SDK response line into (id JSON, tail): `{"jsonrpc":"2.0","id":` + id + `,` + tail."""
    if not line.startswith(RESPONSE_PREFIX):
        raise ValueError(f"not a response line: {line[:80]!r}")
    rest = line[len(RESPONSE_PREFIX) :].rstrip("\n")
    decoder = json.JSONDecoder()
    _, end = decoder.raw_decode(rest)
    if rest[end : end + 1] != ",":
        raise ValueError(f"unexpected response layout: {line[:80]!r}")
    return rest[:end], rest[end + 1 :]


def _record_connection(server: Server[Any], script: list[dict[str, Any]]) -> dict[str, str]:
    """Run one connection through the SDK's own stdio transport and keep each answer's tail by method."""
    import threading

    from server.fast_start import LineQueue, LineSink
    from server.transports import serve_stdio

    requests = {message["id"]: message["method"] for message in script if "id" in message}
    answers: dict[str, str] = {}
    done = threading.Event()
    inbox = LineQueue()

    def collect(line: str) -> None:
        if not line.startswith(RESPONSE_PREFIX):
            return  # a notification: not an answer
        response_id, tail = tail_of(line)
        answers[requests[int(response_id)]] = tail
        if len(answers) == len(requests):
            inbox.close_input()  # only now: end of input cancels requests still in flight
            done.set()

    for message in script:
        inbox.put(json.dumps(message) + "\n")
    watchdog = threading.Timer(RECORD_TIMEOUT, inbox.close_input)  # a request left unanswered must not hang us
    watchdog.daemon = True
    watchdog.start()
    try:
        serve_stdio(server, stdin=inbox, stdout=LineSink(collect))
    finally:
        watchdog.cancel()
    if not done.is_set():
        raise RuntimeError("the server closed before answering every recorded request")
    return answers


def record(server: Server[Any]) -> dict[str, Any]:
    """The manifest body: `server`'s answers, recorded through the SDK's stdio transport for every version."""
    from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, LATEST_HANDSHAKE_VERSION, MODERN_PROTOCOL_VERSIONS

    legacy = {v: _record_connection(server, _script("legacy", v)) for v in HANDSHAKE_PROTOCOL_VERSIONS}
    modern = {v: _record_connection(server, _script("modern", v)) for v in MODERN_PROTOCOL_VERSIONS}
    opening = _record_connection(server, _script("opening-ping", LATEST_HANDSHAKE_VERSION))
    return {
        "handshake_versions": list(HANDSHAKE_PROTOCOL_VERSIONS),
        "latest_handshake": LATEST_HANDSHAKE_VERSION,
        "legacy": legacy,
        "legacy_opening_ping": opening["ping"],
        "modern": modern,
    }


def prepare(launch: Launch) -> Path | None:
    """Record and store the manifest for `launch` in this environment (`serve --prepare`, install)."""
    key = configuration_key(launch)
    if key is None:
        return None
    from server.app import build_server
    from server.config import load_settings

    settings = load_settings(toolsets=launch.toolsets, read_only=launch.read_only, policy_path=launch.policy)
    return store(key, record(build_server(settings)))
