"""Transport over real sockets: proxies from the environment, compression, headers, errors."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from airflow_provider_opslevel.extract.errors import TransientTransportError, TransportError
from airflow_provider_opslevel.extract.transport import Transport


class Recorder(ThreadingHTTPServer):
    """Answers every request with JSON describing it; gzips when asked to and allowed."""

    daemon_threads = True

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.gzip = False
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Recorder

    def do_GET(self) -> None:
        entry = {"target": self.path, "headers": [[k.lower(), v] for k, v in self.headers.items()]}
        self.server.seen.append(entry)
        body = json.dumps(entry).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Repeated", "a")
        self.send_header("X-Repeated", "b")
        if self.server.gzip and "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body)
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Recorder]:
    httpd = Recorder()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def headers_of(entry: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in entry["headers"]:
        out.setdefault(name, []).append(value)
    return out


def test_headers_merge_case_insensitively_and_repeated_answers_are_joined(server: Recorder):
    transport = Transport()
    raw = transport.send("GET", f"{server.url}/x?a=1", {"accept": "application/json", "X-Token": "t"}, None)
    assert raw.status == 200 and raw.headers["x-repeated"] == "a, b"
    sent = headers_of(server.seen[0])
    assert sent["accept"] == ["application/json"]  # the default Accept replaced, not doubled
    assert sent["x-token"] == ["t"] and "gzip" in sent["accept-encoding"][0]
    assert server.seen[0]["target"] == "/x?a=1"


def test_a_gzipped_answer_arrives_decompressed(server: Recorder):
    server.gzip = True
    raw = Transport().send("GET", f"{server.url}/zipped", {}, None)
    assert raw.headers["content-encoding"] == "gzip"
    assert json.loads(raw.content)["target"] == "/zipped"


def test_requests_go_through_the_environment_proxy_with_its_credentials(
    server: Recorder, monkeypatch: pytest.MonkeyPatch
):
    # The recorder plays the proxy: a proxied plain-HTTP request arrives in absolute form.
    monkeypatch.setenv("HTTP_PROXY", f"http://user:p%40ss@127.0.0.1:{server.server_address[1]}")
    raw = Transport().send("GET", "http://api.example.invalid/v1/items", {}, None)
    assert raw.status == 200
    entry = server.seen[0]
    assert entry["target"] == "http://api.example.invalid/v1/items"
    assert headers_of(entry)["proxy-authorization"] == ["Basic dXNlcjpwQHNz"]  # user:p@ss


def test_no_proxy_hosts_are_reached_directly(server: Recorder, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    raw = Transport().send("GET", f"{server.url}/direct", {}, None)
    assert raw.status == 200 and server.seen[0]["target"] == "/direct"
    assert "proxy-authorization" not in headers_of(server.seen[0])


def test_a_socks_proxy_is_refused_clearly(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HTTPS_PROXY", "socks5://127.0.0.1:1080")
    with pytest.raises(TransportError, match=r"only http\(s\) proxies are supported"):
        Transport().send("GET", "https://api.example.invalid/", {}, None)


def test_a_refused_connection_is_transient_and_a_bad_url_is_not():
    transport = Transport(timeout=(1, 1))
    with pytest.raises(TransientTransportError, match="NewConnectionError"):
        transport.send("GET", "http://127.0.0.1:9/", {}, None)
    with pytest.raises(TransportError, match="invalid URL") as info:
        transport.send("GET", "http:///no-host", {}, None)
    assert not isinstance(info.value, TransientTransportError)
