"""A scriptable JSON API on 127.0.0.1 for pagination tests the Sentry fake does not cover."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

Reply = tuple[int, dict[str, str], Any]


@dataclass
class ScriptedApi:
    """``handler(method, path, query, headers, body) -> (status, headers, json-able body or bytes)``."""

    handler: Callable[..., Reply] = lambda *a: (404, {}, {"detail": "no handler"})
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def api() -> Iterator[ScriptedApi]:
    state = ScriptedApi()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else None
            query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            headers = {k.lower(): v for k, v in self.headers.items()}
            state.requests.append(
                {"method": self.command, "path": parts.path, "query": query, "headers": headers, "body": body}
            )
            status, reply_headers, payload = state.handler(self.command, parts.path, query, headers, body)
            raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            reply_headers = {"Content-Type": "application/json", **reply_headers}
            for name, value in reply_headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = _serve

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
