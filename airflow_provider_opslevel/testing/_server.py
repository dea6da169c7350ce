"""Shared plumbing for the fake HTTP servers: lifecycle, request log, fault hooks.

Each fake is a real :class:`http.server.ThreadingHTTPServer` bound to 127.0.0.1, serving
from a daemon thread, so the code under test talks plain HTTP to it (no mocking).
"""

from __future__ import annotations

import socket
import sys
import threading
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import msgspec

#: ``(status, headers, body)`` as returned by handlers and fault hooks.
Response = tuple[int, dict[str, str], bytes]
#: A fault hook: gets the request info dict, returns ``None`` or a response to send instead.
Fault = Callable[[dict[str, Any]], "Response | None"]
_Fake = TypeVar("_Fake", bound="FakeHTTPServer")
_encode = msgspec.json.Encoder().encode


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    """Build a JSON response tuple.

    :param status: HTTP status code.
    :param payload: any JSON-serialisable value.
    :param headers: extra headers (``Content-Type`` is added).
    """
    out = {"Content-Type": "application/json"}
    out.update(headers or {})
    # msgspec writes the same JSON ~8x faster than json.dumps, so the fakes do not eat the CPU
    # that a benchmark's client is measured on (compact, UTF-8 instead of \u escapes).
    return status, out, _encode(payload)


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps connections alive: the engine reuses sessions, and benchmarks are
    # dominated by connection setup otherwise. Every response carries Content-Length.
    protocol_version = "HTTP/1.1"
    # Buffer the response and disable Nagle: headers and body written separately would
    # otherwise meet the client's delayed ACK and cost ~40 ms per request.
    wbufsize = -1
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, open_=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, open_=False)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        fake = self.server.fake
        try:
            status, out_headers, payload = fake._dispatch(self.command, self.path, headers, body)
        except Exception:  # a bug in the fake: report it loudly rather than hang the client
            trace = traceback.format_exc()
            fake._internal_errors.append(trace)
            status, out_headers, payload = json_response(500, {"detail": "fake server error", "trace": trace})
        self.send_response(status)
        for name, value in out_headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], fake: FakeHTTPServer) -> None:
        self.fake = fake
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self._connections_lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a read timeout under test) closed the socket before the answer.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Drop kept-alive connections, so a stopped fake really stops answering."""
        with self._connections_lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class FakeHTTPServer:
    """Base class of the fakes: start/stop, context manager, request log and fault hooks.

    Subclasses implement :meth:`_dispatch`.

    :param port: TCP port to bind on 127.0.0.1; ``0`` picks a free one.
    """

    def __init__(self, *, port: int = 0) -> None:
        self._port = port
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._log_lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._internal_errors: list[str] = []
        #: Fault hooks, tried in order for every request; see the subclass docstring.
        self.faults: list[Fault] = []

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> str:
        """Bind and start serving in a daemon thread (idempotent).

        :returns: the base URL, ``http://127.0.0.1:PORT``.
        """
        if self._httpd is None:
            self._httpd = _HTTPServer(("127.0.0.1", self._port), self)
            self._port = self._httpd.server_address[1]
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"{type(self).__name__}:{self._port}",
                daemon=True,
            )
            self._thread.start()
            self._on_start()
        return self.url

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
            httpd.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self: _Fake) -> _Fake:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL ``http://127.0.0.1:PORT`` (only meaningful once started)."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def port(self) -> int:
        """The bound port (``0`` before :meth:`start` when a free port was requested)."""
        return self._port

    def _on_start(self) -> None:
        """Hook for subclasses, called once the port is known."""

    # -- observability ---------------------------------------------------------------------
    @property
    def requests(self) -> list[dict[str, Any]]:
        """A copy of the request log, oldest first (safe to read while serving)."""
        with self._log_lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        """Number of requests in :attr:`requests` (logged since the last :meth:`reset_log`)."""
        with self._log_lock:
            return len(self._requests)

    @property
    def internal_errors(self) -> list[str]:
        """Tracebacks of exceptions raised inside the fake (answered with HTTP 500)."""
        return list(self._internal_errors)

    def reset_log(self) -> None:
        """Forget logged requests."""
        with self._log_lock:
            self._requests.clear()

    def _record(self, entry: dict[str, Any]) -> None:
        with self._log_lock:
            self._requests.append(entry)

    def _run_faults(self, info: dict[str, Any]) -> Response | None:
        for fault in list(self.faults):  # copy: tests may edit the list while serving
            response = fault(info)
            if response is not None:
                return response
        return None

    def _dispatch(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Response:
        """Answer one request.

        :param method: HTTP method.
        :param raw_path: request target as received (path and query string).
        :param headers: request headers, names lower-cased.
        :param body: request body.
        """
        raise NotImplementedError


def bearer_token(headers: dict[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else ``None``."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
