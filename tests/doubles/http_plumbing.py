"""What both API doubles share: a threaded loopback HTTP server, the reply type, body reading and JSON replies."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, Self


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON-able; None means an empty body
    headers: dict[str, str] = field(default_factory=dict)


class Double(Protocol):
    def _serve(self, http: DoubleHandler) -> None: ...


class DoubleServer(ThreadingHTTPServer):
    daemon_threads = True  # a request held by a delay must not keep the test process alive

    def __init__(self, double: Double) -> None:
        super().__init__(("127.0.0.1", 0), DoubleHandler)
        self.double = double

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out close their sockets; that is expected here, not an error.
        return None


class DoubleHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in one segment (flushed after each request) and without Nagle:
    # otherwise delayed ACKs add ~40 ms to every request.
    wbufsize = -1
    disable_nagle_algorithm = True
    server: DoubleServer

    def do_GET(self) -> None:
        self.server.double._serve(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        return None  # keep test output clean; each double's `requests` is the log


def read_body(http: DoubleHandler) -> bytes:
    if http.headers.get("Transfer-Encoding", "").lower() != "chunked":
        return http.rfile.read(int(http.headers.get("Content-Length") or 0))
    chunks = []
    while size := int(http.rfile.readline().split(b";")[0].strip() or b"0", 16):
        chunks.append(http.rfile.read(size))
        http.rfile.readline()  # the CRLF after each chunk
    while http.rfile.readline().strip():  # trailers, up to the blank line
        pass
    return b"".join(chunks)


def send(http: DoubleHandler, reply: Reply, defaults: Mapping[str, str] = {}) -> None:
    """`reply` as JSON after the double's default headers; an injected header replaces a default one."""
    data = b"" if reply.body is None else json.dumps(reply.body).encode()
    headers = dict(defaults)
    if data:
        headers["Content-Type"] = "application/json; charset=utf-8"
    for name, value in reply.headers.items():
        for existing in [h for h in headers if h.lower() == name.lower()]:
            del headers[existing]
        headers[name] = value
    headers["Content-Length"] = str(len(data))
    try:
        http.send_response(reply.status)
        for name, value in headers.items():
            http.send_header(name, value)
        http.end_headers()
        if http.command != "HEAD":
            http.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up (a timeout test); the request is already logged


class ServedDouble:
    """A double's lifecycle: its server on a background thread, used as a context manager."""

    name = "double"
    _server: DoubleServer | None = None
    _thread: threading.Thread | None = None

    def _serve(self, http: DoubleHandler) -> None:
        raise NotImplementedError

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"the {self.name} double is not running; use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        self._server = DoubleServer(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.name.lower()}-double",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
