"""Hostile jq: no environment, no files, errors are errors, bounded time, memory and output.

Two walls are tested separately: the load-time refusal (``jq_policy``: file:line:key errors) and,
with that wall switched off, the sandbox (a child with an empty environment and working
directory, the prologue shadowing ``env``/``$ENV``/``halt``). A canary secret sits in this
process's environment throughout; no output, error or request may carry it.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_opslevel import jq_policy, jq_sandbox
from airflow_provider_opslevel.config import load_integration
from airflow_provider_opslevel.errors import ConfigError, ExpressionError, Location
from airflow_provider_opslevel.expressions import JqExpression
from airflow_provider_opslevel.extract.http import HttpFetcher
from airflow_provider_opslevel.extract.runner import ExtractorRunner
from airflow_provider_opslevel.secrets import SecretRecorder

CANARY = "canary-s3cret-7f3a9c"
WHERE = Location("transform.yaml", 9, "transforms", 0, "sentry_issue", "properties.url")


@pytest.fixture(autouse=True)
def canary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_CANARY", f"generic://:{CANARY}@")
    monkeypatch.setenv("CANARY_PLAIN", CANARY)


# Every spelling of the environment we could think of. Each is refused at load time and, were
# it to slip through, finds an empty environment in the sandbox.
ENV_SPELLINGS = [
    "$ENV.AIRFLOW_CONN_CANARY",
    '$ENV["CANARY_PLAIN"]',
    "$ENV | tostring",
    "env.HOME",
    'env["CANARY_PLAIN"]',
    "[env[]]",
    "env as $e | $e.CANARY_PLAIN",
    "def f: env; f.CANARY_PLAIN",
    "def g: $ENV; g | to_entries",
    'env | getpath(["CANARY_PLAIN"])',
    '$ENV | getpath(["AIRFLOW_CONN_CANARY"])',
    '"\\(env)"',
    '"x\\("y\\(env.CANARY_PLAIN)")"',
    'reduce (env | keys[]) as $k (""; . + $k)',
    "try env catch .",
    "{x: env}",
    "(env)",
    ".a |\n  env.CANARY_PLAIN",
    "[.[]?, $ENV]",
    "..env",
]
FILE_SPELLINGS = [
    ('import "x" as x; x::leak', "import"),
    ('include "x"; leak', "include"),
    ('import "d" as $d; $d', "import"),
    ('"x" | modulemeta', "modulemeta"),
    ("input_filename", "input_filename"),
    ("get_search_list", "get_search_list"),
    ("get_jq_origin", "get_jq_origin"),
    ("$__prog_args", "$__prog_args"),
]


def _load(tmp_path: Path, *, cursor: str = ".next", prop: str = ".url") -> Any:
    extract = tmp_path / "extract.yaml"
    extract.write_text(
        "extractors:\n"
        "- external_kind: thing\n"
        "  external_id: .id\n"
        "  iterator: .items\n"
        "  http_polling:\n"
        "    url: 'https://api.example.com/things{% if cursor %}?c={{ cursor }}{% endif %}'\n"
        "    next_cursor:\n"
        "      from: payload\n"
        f"      value: {json.dumps(cursor)}\n"
    )
    transform = tmp_path / "transform.yaml"
    transform.write_text(
        "transforms:\n"
        "- external_kind: thing\n"
        "  opslevel_kind: service\n"
        "  opslevel_identifier: .id\n"
        "  on_component_not_found: create\n"
        "  properties:\n"
        f"    url: {json.dumps(prop)}\n"
    )
    return load_integration(extract, transform)


@pytest.mark.parametrize("source", ENV_SPELLINGS)
def test_every_spelling_of_the_environment_is_refused_at_load_with_file_line_and_key(
    tmp_path: Path, source: str
) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, cursor=source)
    (problem,) = info.value.problems
    assert problem.location is not None and problem.location.line == 9
    assert str(problem).startswith(
        f"{tmp_path / 'extract.yaml'}:9: extractors[0] (thing) http_polling.next_cursor.value: "
    )
    assert "reads the worker's environment" in problem.message
    assert CANARY not in str(info.value)


@pytest.mark.parametrize("source", ENV_SPELLINGS[:6])
def test_the_environment_is_refused_in_transforms_too(tmp_path: Path, source: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, prop=source)
    (problem,) = info.value.problems
    assert str(problem).startswith(f"{tmp_path / 'transform.yaml'}:7: transforms[0] (thing) properties.url: ")
    assert "environment" in problem.message


@pytest.mark.parametrize(("source", "name"), FILE_SPELLINGS)
def test_modules_and_file_names_are_refused(source: str, name: str) -> None:
    with pytest.raises(ConfigError) as info:
        JqExpression(source, WHERE)
    (problem,) = info.value.problems
    assert problem.location == WHERE
    assert f"'{name}'" in problem.message and "not allowed" in problem.message


@pytest.mark.parametrize(
    "source",
    [".env", "{env: 1}", "{a: 1, env}", "{env}", '"env and $ENV"', "# env\n.a", '.["env"]', ".a.env"],
)
def test_the_word_env_as_data_is_still_allowed(source: str) -> None:
    JqExpression(source, WHERE)


def test_the_refusal_names_the_line_inside_a_multi_line_program() -> None:
    with pytest.raises(ConfigError, match=r"'env' \(line 3 of the expression\)"):
        JqExpression(".a\n| .b\n| env", WHERE)


def test_an_over_long_program_is_refused() -> None:
    with pytest.raises(ConfigError, match="over the limit of 65,536"):
        JqExpression("." + " " * jq_policy.MAX_PROGRAM_CHARS, WHERE)


# ----------------------------------------------------------------- the sandbox, load check off


@pytest.mark.parametrize("source", ENV_SPELLINGS)
@pytest.mark.parametrize("prologue", [True, False], ids=["wrapped", "raw"])
def test_the_sandbox_has_no_environment_even_without_the_load_check(source: str, prologue: bool) -> None:
    program = jq_policy.wrap(source) if prologue else source
    try:
        outputs = jq_sandbox.evaluate(program, {"a": {"b": 1}})
    except jq_sandbox.SandboxError as error:
        outputs = [str(error)]
    assert CANARY not in json.dumps(outputs)
    assert "AIRFLOW_CONN" not in json.dumps(outputs)


def test_the_raw_environment_of_the_sandbox_is_empty() -> None:
    assert jq_sandbox.evaluate("[$ENV, env]", None) == [[{}, {}]]


@pytest.mark.parametrize(
    "source", ['import "x" as x; x::leak', 'include "x"; leak', 'import "d" as $d; $d', '"x" | modulemeta']
)
def test_the_sandbox_finds_no_files_even_where_the_worker_has_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    # In-process jq would read these from the working directory (that is how the bug was found).
    (tmp_path / "x.jq").write_text('def leak: "FROM-A-FILE";')
    (tmp_path / "d.json").write_text(json.dumps({"secret": CANARY}))
    monkeypatch.chdir(tmp_path)
    for program in (source, jq_policy.wrap(source)):
        with pytest.raises(jq_sandbox.SandboxError) as info:
            jq_sandbox.evaluate(program, None)
        assert "FROM-A-FILE" not in str(info.value) and CANARY not in str(info.value)


class _Recorder:
    """A JSON API on 127.0.0.1 recording every request line and header."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                recorder.requests.append(self.requestline + "\n" + str(self.headers))
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                last = "c" in query
                body = json.dumps(
                    {"items": [{"id": "2" if last else "1", "url": "u"}], "next": None if last else "p2"}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder() -> Iterator[_Recorder]:
    server = _Recorder()
    yield server
    server.close()


@pytest.mark.parametrize(
    "cursor",
    [
        'if .next then "\\(.next)-\\($ENV | tostring | @uri)" else null end',
        'if .next then .next + (env | tojson) else null end',
        'if .next then .next + ([env[]] | join(",")) else null end',
    ],
)
def test_an_env_cursor_that_slipped_through_carries_nothing_to_the_source_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, recorder: _Recorder, cursor: str
) -> None:
    monkeypatch.setattr(jq_policy, "forbidden_uses", lambda source: [])
    integration = _load(tmp_path, cursor=cursor, prop="$ENV.CANARY_PLAIN")
    secrets = SecretRecorder(lambda name: "unused")
    runner = ExtractorRunner(
        integration.extractor("thing"),
        fetcher=HttpFetcher(redact=secrets.redact, timeout=(2, 5)),
        secrets=secrets,
        origins={"https://api.example.com": recorder.url},
        redact=secrets.redact,
    )
    result = runner.run()
    assert result.complete, result.error
    assert len(recorder.requests) == 2
    assert CANARY not in "\n".join(recorder.requests)
    assert CANARY not in json.dumps(result.records)
    transform = integration.transforms_for("thing")[0]
    assert [transform.properties["url"].first(r["data"]) for r in result.records] == [None, None]


# ----------------------------------------------------------------------------- errors are errors


@pytest.mark.parametrize(
    ("source", "value", "message"),
    [
        ('error("boom")', {}, "boom"),
        ("error", "raised-input", "raised-input"),
        ("error(null)", {}, "null"),
        ('error({"code": 7})', {}, '"code"'),
        ("halt", {}, "halt was called"),
        (".x | halt_error", {"x": "stop here"}, "halt_error(5): stop here"),
        ('{"a": 1} | halt_error(3)', {}, 'halt_error(3): {"a":1}'),
        (".a.b", {"a": "text"}, 'Cannot index string with string ("b")'),
        (".[0] + 1", [{"x": 1}], "cannot be added"),
        ("tonumber", "not-a-number", "cannot be parsed as a number"),
    ],
)
def test_jq_errors_raise_an_expression_error_naming_where(source: str, value: Any, message: str) -> None:
    expression = JqExpression(source, WHERE)
    for evaluate in (expression.all, expression.first, expression.test):
        with pytest.raises(ExpressionError) as info:
            evaluate(value)
        assert info.value.where == WHERE
        assert str(info.value).startswith("transform.yaml:9: transforms[0] (sentry_issue) properties.url: ")
        assert message in str(info.value), str(info.value)


# ---------------------------------------------------------------------------- bounded evaluation


@pytest.fixture
def quick_limit(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setattr(jq_sandbox, "TIME_LIMIT_SECONDS", 1.5)
    monkeypatch.setattr(jq_sandbox, "MAX_OUTPUT_BYTES", 1 << 20)
    return 1.5


@pytest.mark.parametrize(
    ("source", "stopped_by"),
    [
        ("last(range(1e10))", "ran for more than 1.5 s"),
        ("reduce range(1e10) as $i (0; . + 1)", "ran for more than 1.5 s"),
        ("until(false; .)", "ran for more than 1.5 s"),
        ("def f: f; f", "ran for more than 1.5 s"),
        ("[range(3e8)]", "ran "),  # time or memory, whichever comes first
        ("def f: [f]; f", "ran "),
        ("range(1e9)", "output passed the limit of 1,048,576 bytes"),
        ('"x" * 2000000', "output passed the limit of 1,048,576 bytes"),
        ('[limit(2e5; repeat("xxxxxxxxxx"))]', "output passed the limit of 1,048,576 bytes"),
        ('"x" * 100000000', "output passed the limit of 1,048,576 bytes"),
    ],
)
def test_runaway_programs_are_stopped_with_a_clear_error(quick_limit: float, source: str, stopped_by: str) -> None:
    expression = JqExpression(source, WHERE)
    started = time.monotonic()
    with pytest.raises(ExpressionError) as info:
        expression.all(1)
    elapsed = time.monotonic() - started
    assert elapsed < quick_limit + 6, elapsed  # killed on time, or stopped by a limit sooner
    message = str(info.value)
    assert message.startswith("transform.yaml:9: transforms[0] (sentry_issue) properties.url: ")
    assert "stopped: " in message and stopped_by in message, message
    # The pool replaces a killed child: the next evaluation just works.
    assert JqExpression(".a + 1").first({"a": 1}) == 2


def test_first_stops_after_the_first_output_of_an_endless_program() -> None:
    assert JqExpression("range(1e10)").first(None) == 0
    assert JqExpression("repeat(1)").test(None) is True


def test_a_large_but_legitimate_output_is_allowed() -> None:
    page = {"items": [{"id": str(i), "text": "x" * 1000} for i in range(20_000)]}  # ~21 MB of JSON
    outputs = JqExpression("[.items[] | select(.id != \"0\")]").first(page)
    assert len(outputs) == 19_999


def test_many_threads_share_the_pool_without_mixing_answers() -> None:
    expression = JqExpression('"\\(.n)-\\(.n * 2)"')
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda n: expression.first({"n": n}), range(400)))
    assert answers == [f"{n}-{n * 2}" for n in range(400)]


def test_a_forked_process_does_not_share_the_parents_jq_children() -> None:
    expression = JqExpression(".a * 3")
    assert expression.first({"a": 2}) == 6  # the parent now has an idle child
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the fork
        try:
            os.write(write, json.dumps(expression.first({"a": 5})).encode())
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 100)
    os.waitpid(pid, 0)
    os.close(read)
    assert json.loads(answer) == 15
    assert expression.first({"a": 7}) == 21  # and the parent's child still answers the parent
