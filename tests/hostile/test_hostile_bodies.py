"""Hostile API answers over real HTTP on 127.0.0.1: each case's precise outcome.

Page 1 of every case is healthy (records ``a`` and ``b``); page 2 is the hostile answer. Each
case asserts what the partition keeps, whether it is complete (deletion trusts only complete
partitions), and the error or per-item problem text: it names the extractor (``(thing)``), the
key where one failed, and the URL.
"""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_opslevel.config import load_integration
from airflow_provider_opslevel.extract.http import HttpFetcher
from airflow_provider_opslevel.extract.parallel import run_partitions
from airflow_provider_opslevel.extract.results import collect, to_chunks
from airflow_provider_opslevel.extract.retry import RetryPolicy
from airflow_provider_opslevel.extract.runner import ExtractorRunner, PartitionResult
from airflow_provider_opslevel.extract.session import ExtractionSession
from airflow_provider_opslevel.extract.transport import DEFAULT_MAX_BODY_BYTES
from airflow_provider_opslevel.secrets import SecretRecorder

MIB = 1024 * 1024
Writer = Callable[[BaseHTTPRequestHandler, str], None]


# -- the server --------------------------------------------------------------------------------------


def _head(handler: BaseHTTPRequestHandler, lines: list[str]) -> None:
    handler.wfile.write(("HTTP/1.1 200 OK\r\n" + "".join(f"{line}\r\n" for line in lines) + "\r\n").encode())


def body(raw: bytes, *headers: str) -> Writer:
    def write(handler: BaseHTTPRequestHandler, base: str) -> None:
        _head(handler, ["Content-Type: application/json", f"Content-Length: {len(raw)}", *headers])
        handler.wfile.write(raw)

    return write


def page(items: list[Any], *headers: str) -> Writer:
    return body(json.dumps(items).encode(), *headers)


def endless(length: int | None) -> Writer:
    """``length`` bytes of JSON-ish spaces (``None``: chunked, never ending) until the client hangs up."""

    def write(handler: BaseHTTPRequestHandler, base: str) -> None:
        framing = "Transfer-Encoding: chunked" if length is None else f"Content-Length: {length}"
        _head(handler, ["Content-Type: application/json", framing])
        block = b"[" + b" " * (MIB - 1)
        chunk = f"{len(block):x}\r\n".encode() + block + b"\r\n" if length is None else block
        sent = 0
        while length is None or sent < length:
            handler.wfile.write(chunk)
            sent += len(block)

    return write


def _bomb(wbits: int, size: int = 64 * MIB) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    parts = [packer.compress(b"[" + b" " * (MIB - 1))] + [
        packer.compress(b" " * MIB) for _ in range(size // MIB - 1)
    ]
    return b"".join(parts) + packer.compress(b"]") + packer.flush()


GZIP_BOMB = _bomb(zlib.MAX_WBITS | 16)
DEFLATE_BOMB = _bomb(zlib.MAX_WBITS)


@dataclass
class Server:
    url: str = ""
    pages: dict[str, Writer] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            state.hits.append(self.path)
            writer = state.pages.get(self.path.split("?")[0])
            if writer is None:
                self.send_error(404)
                return
            try:
                writer(self, state.url)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                pass  # the client stopped reading: that is the point of the case
            self.close_connection = True

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


# -- the extractor ------------------------------------------------------------------------------------

HEADER_CURSOR = "if .link.next then .link.next.target_url else null end"


def extractor(tmp_path: Path, url: str, **keys: str) -> Any:
    """``thing``: first page ``{url}/p1``; jq keys as given (JSON-quoted, which YAML reads)."""
    jq = {"iterator": ".", "external_id": ".id", **keys}
    cursor_from = jq.pop("cursor_from", "header")
    cursor = jq.pop("cursor", HEADER_CURSOR)
    first = "{% if cursor %}{{ cursor }}{% else %}" + url + "/p1{% endif %}"
    yaml = ["extractors:", "- external_kind: thing"]
    yaml += [f"  {key}: {json.dumps(value)}" for key, value in jq.items()]
    yaml += [
        "  http_polling:",
        f"    url: {json.dumps(first)}",
        "    next_cursor:",
        f"      from: {cursor_from}",
        f"      value: {json.dumps(cursor)}",
    ]
    (tmp_path / "extract.yaml").write_text("\n".join(yaml) + "\n")
    (tmp_path / "transform.yaml").write_text(
        "transforms:\n- external_kind: thing\n  opslevel_kind: service\n  opslevel_identifier: .id\n"
        "  on_component_not_found: skip\n"
    )
    return load_integration(tmp_path / "extract.yaml", tmp_path / "transform.yaml").extractor("thing")


def runner(extractor: Any, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> ExtractorRunner:
    policy = RetryPolicy(backoff_base=0.0, backoff_max=0.0, max_attempts=2, invalid_json_attempts=2)
    return ExtractorRunner(
        extractor,
        fetcher=HttpFetcher(timeout=(2, 5), retry=policy),
        secrets=None,
        max_body_bytes=max_body_bytes,
    )


# -- the cases ------------------------------------------------------------------------------------------


@dataclass
class Case:
    second: Callable[[str], Writer]
    """Page 2 (given the server's URL, for links)."""
    error: list[str] | None = None
    """Substrings of the partition's error (``{url}`` = page 2's URL), or ``None``: no error."""
    records: list[str] = field(default_factory=lambda: ["a", "b"])
    complete: bool = False
    rejected: int = 0
    problems: list[str] = field(default_factory=list)
    duplicates: int = 0
    keys: dict[str, str] = field(default_factory=dict)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    payload_cursor: bool = False


NOT_JSON = "{url} answered HTTP 200 with a body that is not JSON"
TOO_LARGE = "GET {url} failed: the response body is larger than 33554432 bytes (32 MiB"
HEADERS = "GET {url} failed: the response headers are over the limits"
TOO_DEEP = "JSON nested more deeply than the decoder allows"
THING = "extractors[0] (thing)"


def links(count: int) -> str:
    return "Link: " + ",".join("<x>" for _ in range(count))  # 40 KB: under http.client's 64 KiB line


CASES: dict[str, Case] = {
    "null body": Case(
        lambda u: body(b"null"), [THING + ": {url} answered null, not a JSON document (page 2)"]
    ),
    "non-JSON body": Case(
        lambda u: body(b"<html>maintenance</html>"), [THING, NOT_JSON, "<html>maintenance"]
    ),
    "empty body": Case(lambda u: body(b""), [THING, NOT_JSON, "0 bytes"]),
    "10,000-deep arrays": Case(lambda u: body(b"[" * 10_000 + b"]" * 10_000), [THING, NOT_JSON, TOO_DEEP]),
    "10,000-deep objects": Case(
        lambda u: body(b'{"a":' * 10_000 + b"1" + b"}" * 10_000), [THING, NOT_JSON, TOO_DEEP]
    ),
    "50 MB body (Content-Length)": Case(lambda u: endless(50 * MIB), [THING, TOO_LARGE]),
    "never-ending chunked body": Case(lambda u: endless(None), [THING, TOO_LARGE]),
    "gzip bomb": Case(lambda u: body(GZIP_BOMB, "Content-Encoding: gzip"), [THING, TOO_LARGE]),
    "deflate bomb": Case(lambda u: body(DEFLATE_BOMB, "Content-Encoding: deflate"), [THING, TOO_LARGE]),
    "page over a per-kind max_body_bytes": Case(
        lambda u: page([{"id": "c", "pad": "x" * 2000}]),
        [THING, "GET {url} failed: the response body is larger than 1500 bytes"],
        max_body_bytes=1500,
    ),
    "invalid UTF-8": Case(lambda u: body(b'[{"id": "\xff\xfe"}]'), [THING, NOT_JSON, "utf-8"]),
    "a JSON string where an array is expected": Case(
        lambda u: body(b'"just text"'),
        None,
        rejected=1,
        problems=[
            THING + " external_id: ",
            "Cannot index string",
            "(item 0 of the page, not kept) (page 2: {url})",
        ],
    ),
    "a JSON number where an array is expected": Case(
        lambda u: body(b"42"), None, rejected=1, problems=["Cannot index number", "(page 2: {url})"]
    ),
    "a header line over 64 KiB": Case(lambda u: page([], "X-Junk: " + "j" * 70_000), [THING, HEADERS]),
    "more than 100 headers": Case(lambda u: page([], *[f"X-H{i}: v" for i in range(150)]), [THING, HEADERS]),
    "a Link header over 64 KiB": Case(
        lambda u: page([], "Link: <" + "l" * 70_000 + '>; rel="next"'), [THING, HEADERS]
    ),
    "a Link header with 10,000 links": Case(
        lambda u: page([{"id": "c"}], links(10_000)),
        [THING + " http_polling.next_cursor: the Link header of {url}", "more than 1000 links"],
        records=["a", "b", "c"],
    ),
    "a malformed Link header": Case(
        lambda u: page([{"id": "c"}], "Link: next-page-please"),
        [THING + " http_polling.next_cursor: the Link header of {url}: malformed Link header"],
        records=["a", "b", "c"],
    ),
    "duplicates on one page and across pages": Case(
        lambda u: page([{"id": "a", "v": 2}, {"id": "c"}, {"id": "c", "v": 3}]),
        None,
        records=["a", "b", "c"],
        complete=True,
        duplicates=2,
    ),
    "iterator type error": Case(
        lambda u: page({"items": 5}),  # type: ignore[arg-type]
        [THING + " iterator: ", "Cannot iterate over number", "(page 2: {url})"],
        keys={"iterator": ".items? // . | .[]"},
    ),
    "iterator error()": Case(
        lambda u: page({"boom": "iterator says no"}),  # type: ignore[arg-type]
        [THING + " iterator: ", "iterator says no", "(page 2: {url})"],
        keys={"iterator": 'if type == "object" then error(.boom) else .[] end'},
    ),
    "next_cursor error() (payload cursor)": Case(
        lambda u: body(json.dumps({"items": [{"id": "c"}], "next": "stop"}).encode()),
        [THING + " http_polling.next_cursor.value: ", "cursor says stop", "(on the page from {url})"],
        records=["a", "b", "c"],
        keys={
            "iterator": ".items",
            "cursor_from": "payload",
            "cursor": 'if .next == "stop" then error("cursor says stop") else .next end',
        },
        payload_cursor=True,
    ),
    "next_cursor runtime type error (payload cursor)": Case(
        lambda u: body(json.dumps({"items": [{"id": "c"}], "next": {"an": "object"}}).encode()),
        [THING + " http_polling.next_cursor.value: ", "(on the page from {url})"],
        records=["a", "b", "c"],
        keys={
            "iterator": ".items",
            "cursor_from": "payload",
            "cursor": '.next | if type == "object" then . + 1 else . end',
        },
        payload_cursor=True,
    ),
    "next_cursor halt_error (payload cursor)": Case(
        lambda u: body(json.dumps({"items": [{"id": "c"}], "next": "halt"}).encode()),
        [THING + " http_polling.next_cursor.value: ", "(on the page from {url})"],
        records=["a", "b", "c"],
        keys={
            "iterator": ".items",
            "cursor_from": "payload",
            "cursor": 'if .next == "halt" then "halted\\n" | halt_error else .next end',
        },
        payload_cursor=True,
    ),
    "exclude runtime error on one item": Case(
        lambda u: page([{"id": "c", "name": 7}, {"id": "d", "name": "keep"}]),
        None,
        records=["a", "b", "d"],
        rejected=1,
        problems=[THING + " exclude: ", "(item 0 of the page, neither kept nor excluded) (page 2: {url})"],
        keys={"exclude": '.name | if . == null then false else test("production") end'},
    ),
    "external_id gives null": Case(
        lambda u: page([{"name": "no id"}, {"id": "d"}]),
        None,
        records=["a", "b", "d"],
        rejected=1,
        problems=[
            THING + " external_id: external_id '.id' gave null for item 0 of the page",
            "(page 2: {url})",
        ],
    ),
    "external_id gives an object": Case(
        lambda u: page([{"id": {"x": 1}}, {"id": "d"}]),
        None,
        records=["a", "b", "d"],
        rejected=1,
        problems=["external_id '.id' gave an object for item 0", "(page 2: {url})"],
    ),
    "external_id gives an array": Case(
        lambda u: page([{"id": [1]}, {"id": "d"}]),
        None,
        records=["a", "b", "d"],
        rejected=1,
        problems=["external_id '.id' gave an array for item 0", "(page 2: {url})"],
    ),
    "external_id gives no output": Case(
        lambda u: page([{"id": "d"}, {"name": "x"}]),
        None,
        records=["a", "b", "d"],
        rejected=1,
        problems=["external_id '.id // empty' gave no output for item 1", "(page 2: {url})"],
        keys={"external_id": ".id // empty"},
    ),
    "external_id error()": Case(
        lambda u: page([{"id": "d"}, {"bad": "id says no"}]),
        None,
        records=["a", "b", "d"],
        rejected=1,
        problems=[THING + " external_id: ", "id says no", "(item 1 of the page, not kept) (page 2: {url})"],
        keys={"external_id": "if .bad then error(.bad) else .id end"},
    ),
}


def first_page(case: Case, url: str) -> Writer:
    records = [{"id": "a", "v": 1}, {"id": "b"}]
    if case.payload_cursor:
        return body(json.dumps({"items": records, "next": f"{url}/p2"}).encode())
    return page(records, f'Link: <{url}/p2>; rel="next"')


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_second_page(name: str, server: Server, tmp_path: Path) -> None:
    case = CASES[name]
    server.pages["/p1"] = first_page(case, server.url)
    server.pages["/p2"] = case.second(server.url)
    result = runner(extractor(tmp_path, server.url, **case.keys), case.max_body_bytes).run()
    url = f"{server.url}/p2"

    assert sorted(r["external_id"] for r in result.records) == case.records  # what was read is kept
    assert result.complete is case.complete  # incomplete: nothing of the partition is deleted
    if case.error is None:
        assert result.error is None
    else:
        assert result.error is not None and result.error.startswith(str(tmp_path / "extract.yaml"))
        for text in case.error:
            assert text.format(url=url) in result.error, result.error
        assert "RecursionError" not in result.error and "MemoryError" not in result.error
    assert result.rejected == case.rejected and len(result.problems) == case.rejected
    for text in case.problems:
        assert text.format(url=url) in result.problems[0], result.problems
    assert result.duplicates == case.duplicates
    summary = result.summary()
    assert (summary["duplicates"], summary["rejected"], summary["error"]) == (
        case.duplicates,
        case.rejected,
        result.error,
    )
    if case.duplicates:  # the record read last wins
        assert next(r for r in result.records if r["external_id"] == "a")["data"] == {"id": "a", "v": 2}
        assert next(r for r in result.records if r["external_id"] == "c")["data"] == {"id": "c", "v": 3}


def test_duplicates_across_partitions_are_counted_for_the_kind_and_reported(server: Server, tmp_path: Path):
    server.pages["/p1"] = page([{"id": "a"}, {"id": "b"}, {"id": "b"}])
    thing = extractor(tmp_path, server.url, cursor="null")
    partitions: list[PartitionResult] = run_partitions(
        runner(thing), [{"external_id": "1", "data": {}}, {"external_id": "2", "data": {}}]
    )
    # Rendered without the parent, both partitions read the same page: a, b (b twice) each.
    assert [p.duplicates for p in partitions] == [1, 1] and all(p.complete for p in partitions)
    kind = collect([to_chunks("thing", partitions)])["thing"]
    assert kind.duplicates == 4  # 1 + 1 within, a and b again across
    assert [r["parent"] for r in kind.records] == ["1", "1", "2", "2"]  # each partition keeps its own


def test_rejected_items_are_problems_of_the_kind(server: Server, tmp_path: Path):
    server.pages["/p1"] = page([{"id": "a"}, {"name": "no id"}])
    result = runner(extractor(tmp_path, server.url, cursor="null")).run()
    kind = collect([to_chunks("thing", [result])])["thing"]
    assert kind.rejected == 1 and not kind.complete
    [line] = kind.record_problems()
    assert line.startswith("thing: 1 item(s) neither kept nor excluded, e.g. ")
    assert "extractors[0] (thing) external_id: external_id '.id' gave null for item 1 of the page" in line
    assert line.endswith(f"(not kept) (page 1: {server.url}/p1)")


def test_a_page_echoing_the_token_is_redacted_in_the_records_not_dropped(tmp_path: Path, server: Server):
    """An API that echoes the request's token (a debug field, an error text) must not carry it
    into XCom or OpsLevel: the page's records are kept with every form of it replaced."""
    token = 'tok/en+"s3cret"'
    escaped = json.dumps(token)[1:-1]

    def echo(handler: BaseHTTPRequestHandler, url: str) -> None:
        seen = handler.headers.get("Authorization", "")
        page([{"id": "1", "debug": seen, "note": f"seen {token} once"}, {"id": "2"}])(handler, url)

    server.pages["/things"] = echo
    extract = tmp_path / "extract.yaml"
    extract.write_text(
        "extractors:\n- external_kind: thing\n  external_id: .id\n  iterator: '.[]'\n  http_polling:\n"
        f"    url: {server.url}/things\n    headers:\n    - name: Authorization\n"
        "      value: Bearer {{ 'api' | secret }}\n"
    )
    transform = tmp_path / "transform.yaml"
    transform.write_text(
        "transforms:\n- external_kind: thing\n  opslevel_kind: service\n  opslevel_identifier: .id\n"
        "  on_component_not_found: skip\n"
    )
    secrets = SecretRecorder(lambda name: token)
    with ExtractionSession(load_integration(extract, transform), secrets) as session:
        (result,) = session.run("thing", [None])
    assert result.complete and sorted(r["external_id"] for r in result.records) == ["1", "2"]
    assert result.redacted_pages == 1 and result.summary()["redacted_pages"] == 1
    dumped = json.dumps(result.records)
    assert token not in dumped and escaped not in dumped
    first = next(r for r in result.records if r["external_id"] == "1")
    assert first["data"] == {"id": "1", "debug": "Bearer ***", "note": "seen *** once"}
